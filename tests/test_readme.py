"""The README, as a newcomer reads it: every file it names exists, every page it names
answers (a URL pattern of the project, not a 404)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from django.urls import Resolver404, resolve

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
NAMED = set(re.findall(r"`([^`\s]+)`", README))
# Made by the commands the README describes, not kept in the repository.
GENERATED = (".venv", "var/", "var")


def test_every_file_the_readme_names_exists():
    files = {
        name
        for name in NAMED
        if not name.startswith(("/", "...", "$", "-"))
        and not name.startswith(GENERATED)
        and ("/" in name or re.search(r"\.(py|md|sh|yml|toml|txt)$", name))
        and "://" not in name
    }
    assert "config/settings.py" in files  # the extraction works
    missing = sorted(name for name in files if not (ROOT / name.split(" ")[0]).exists())
    assert not missing
    assert "PRODUCT.md" not in README  # not in the repository


def test_every_page_the_readme_names_answers():
    pages = {name for name in NAMED if name.startswith("/") and not name.startswith("/usr/")}
    assert "/console/" in pages
    unknown = []
    for page in sorted(pages):
        try:
            resolve(page.replace("<code>", str(uuid.uuid4())))
        except Resolver404:
            unknown.append(page)
    assert not unknown
