"""Data rights: a person's own data as a download, and erasure by anonymisation.

- `export.py`: `export_person(user)`, the zip of `data.json` (every section, keyed by section
  name), one CSV per section and a README.txt that explains each file;
- `sections.py`: what goes in it, one function per section (registered with `@section`): only
  what the person may see in the product. A new section is one more function there;
- `erasure.py`: `erase_person(user, by=None)`, which anonymises a person and keeps the access
  log and every row that aggregates count (`manage.py erase_person`).
"""

from accounts.data_rights.erasure import (
    ERASED_DOMAIN,
    ERASED_NAME,
    ERASED_TEXT,
    ErasureRefused,
    ErasureSummary,
    erase_person,
    is_erased,
)
from accounts.data_rights.export import SECTIONS, Section, export_filename, export_person, section

__all__ = [
    "ERASED_DOMAIN",
    "ERASED_NAME",
    "ERASED_TEXT",
    "SECTIONS",
    "ErasureRefused",
    "ErasureSummary",
    "Section",
    "erase_person",
    "export_filename",
    "export_person",
    "is_erased",
    "section",
]
