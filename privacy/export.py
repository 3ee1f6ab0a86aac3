"""The download of a person's own data: a zip of `data.json` (every section, keyed by section
name), one CSV per section and a README.txt that explains each file.

The sections are registered by each app in its `privacy.py` (accounts/privacy_registry.py,
loaded at startup by privacy/apps.py) and run in their `order`; the access log comes last so
it includes this export's own entries. Reading confidential notes writes access-log entries
(one per note), so `export_person` is not a pure read. Queries are bounded: one or two per
section whatever the number of meetings; the note reads are one per note, since each is logged.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import textwrap
import uuid
import zipfile

from django.utils import timezone

from accounts.models import User
from accounts.privacy_registry import SECTIONS, Section
from mentoring.csv_export import spreadsheet_safe
from mentoring.export_context import ExportContext
from mentoring.notes import Access

FORMAT_VERSION = 1


def _plain(value):
    """A JSON-ready value: dates and times in ISO 8601, UUIDs as text."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


README_HEAD = """Your data from Mentoring
========================

Downloaded {at} (UTC) by {name}.

Every file but this one holds the same data in two forms: data.json has all of it, one key
per section below (an object for "account" and "profile", a list of records for the others);
each CSV file holds one section, one record per line, for a spreadsheet. Times are ISO 8601
in UTC; "code" columns are the identifiers the pages use, and link the files (a meeting's
"relationship" is the code of a record in relationships.csv). "you" marks what you did.

What is not here, and why:
- Survey answers. Surveys are anonymous: nothing stored links an answer to the person who
  gave it, so nobody, including us, can find yours. survey_invitations.csv says which surveys
  you were invited to and whether you answered.
- Other people's confidential notes. A guide's notes are their author's alone; you have the
  notes you wrote and the notes shared with you.
- Secrets: your password, your authenticators' secrets and your calendar address.
- The program's administrative records, such as matching proposals and assessment roles
  imported from the school's schedules: ask your program administrator.

Downloading your confidential notes (and the notes shared with you) was recorded in the
access log, one entry per note, like every other read of a note.

Files
-----
"""


def _indented(text: str) -> str:
    return textwrap.fill(text, width=92, initial_indent="  ", subsequent_indent="  ")


def _csv_bytes(sec: Section, rows: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(sec.columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(_plain(row[c])) for c in sec.columns])
    # The byte-order mark makes spreadsheets read the file as UTF-8 (accents in names).
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_person(user: User, *, address: str | None = None) -> bytes:
    """The zip of everything about `user` that `user` may see (see the module docstring).

    Reading notes writes access-log entries (with `address` as the source)."""
    ctx = ExportContext(user=user, access=Access(user=user, address=address))
    now = timezone.now()
    data: dict = {
        "export": {
            "format_version": FORMAT_VERSION,
            "generated_at": now.isoformat(),
            "person": str(user.code),
        }
    }
    buffer = io.BytesIO()
    readme = [README_HEAD.format(at=now.strftime("%Y-%m-%d %H:%M"), name=user.full_name)]
    readme.append("data.json\n" + _indented("Everything below, in one file.") + "\n")
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for sec in SECTIONS:
            rows = [{c: _plain(row[c]) for c in sec.columns} for row in sec.rows(ctx)]
            data[sec.name] = (rows[0] if rows else None) if sec.single else rows
            archive.writestr(f"{sec.name}.csv", _csv_bytes(sec, rows))
            count = f"{len(rows)} record{'s' if len(rows) != 1 else ''}"
            readme.append(f"{sec.name}.csv  ({sec.title}; {count})")
            readme.append(_indented(sec.description))
            readme.append(_indented("Columns: " + ", ".join(sec.columns)) + "\n")
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("README.txt", "\n".join(readme))
    return buffer.getvalue()


def export_filename(now: datetime.datetime | None = None) -> str:
    return f"my-mentoring-data-{timezone.localdate(now or timezone.now()):%Y-%m-%d}.zip"
