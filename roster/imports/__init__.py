"""CSV imports of people and of assessment roles: reading, validation, and the plan of what a
commit would do (R12: an import with a bad row imports nothing and names every bad row and
field).

Three layers, each usable alone:
- `read_csv` (reading.py) turns the uploaded bytes into a header and rows, or refuses the whole
  file (`ImportFileError`: not UTF-8, too big, empty, binary, too many rows).
- `parse_people` (people.py) / `parse_assessment_roles` (assessments.py) check every row and
  field without the database and return the normalised rows and every `RowError`.
- `plan_people` / `plan_assessment_roles` check the rows against the database in a fixed
  number of queries, whatever the number of rows, and say what committing each row would do.
  The upload, the preview and the commit (roster.services.import_batch_commit) use them.

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row 2.
"""

from roster.imports.assessments import parse_assessment_roles, plan_assessment_roles
from roster.imports.people import parse_people, plan_people
from roster.imports.reading import (
    ASSESSMENT_COLUMNS,
    IMPORTABLE_ROLES,
    MAX_BYTES,
    MAX_CAPACITY,
    MAX_ROWS,
    MAX_VALUE_SHOWN,
    PEOPLE_COLUMNS,
    PLURAL,
    ImportFileError,
    Parsed,
    Plan,
    RowError,
    RowPlan,
    read_csv,
)

__all__ = [
    "ASSESSMENT_COLUMNS",
    "IMPORTABLE_ROLES",
    "MAX_BYTES",
    "MAX_CAPACITY",
    "MAX_ROWS",
    "MAX_VALUE_SHOWN",
    "PEOPLE_COLUMNS",
    "PLURAL",
    "ImportFileError",
    "Parsed",
    "Plan",
    "RowError",
    "RowPlan",
    "parse_assessment_roles",
    "parse_people",
    "plan_assessment_roles",
    "plan_people",
    "read_csv",
]
