"""Reading an import's CSV file: the columns, the row and field checks every import shares,
and what a plan is made of (R12: an import with a bad row imports nothing and names every bad
row and field). `read_csv` turns the uploaded bytes into a header and rows, or refuses the
whole file (`ImportFileError`: not UTF-8, too big, empty, binary, too many rows).

Row numbers are the ones a spreadsheet shows: the header is row 1, the first data row 2.
"""

from __future__ import annotations

import csv
import datetime
import functools
import io
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import ParticipantProfile, Role
from accounts.text import label_problem
from mentoring.csv_export import FORMULA_PREFIXES

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_VALUE_SHOWN = 100

PEOPLE_COLUMNS = (
    "email",
    "full_name",
    "role",
    "level",
    "cohort",
    "track",
    "campus",
    "specialty_interests",
    "research_interests",
    "languages",
    "capacity",
    "timezone",
    "status",
    "status_effective_on",
)
PEOPLE_REQUIRED = ("email", "full_name", "role")
LIST_COLUMNS = ("specialty_interests", "research_interests", "languages")
TEXT_LIMITS = {"full_name": 200, "cohort": 50, "track": 100, "campus": 100}
# The columns that describe the person (not their role): two rows for one person must agree.
PERSON_COLUMNS = ("full_name", "level", "cohort", "track", "campus", *LIST_COLUMNS, "timezone")
IMPORTABLE_ROLES = (Role.LEARNER, Role.MENTOR, Role.COACH, Role.ADVISOR)
PLURAL = {"learner": "learners", "mentor": "mentors", "coach": "coaches", "advisor": "advisors"}
MAX_CAPACITY = 50
MAX_TAG_LENGTH = 100

ASSESSMENT_COLUMNS = (
    "assessor_email",
    "learner_email",
    "kind",
    "context",
    "starts_on",
    "ends_on",
    "status",
)
ASSESSMENT_REQUIRED = ("assessor_email", "learner_email", "kind", "context", "starts_on")
# Written by the export so the administrator can read it; a role's status is the rules' to
# decide (R2), so the import ignores it.
ASSESSMENT_IGNORED = ("status",)


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message tells the administrator why."""


@dataclass(frozen=True)
class RowError:
    """One problem: spreadsheet row, column, what was typed there, and what is wrong."""

    row: int
    field: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "field": self.field, "value": self.value, "message": self.message}


@dataclass
class Parsed:
    """A file read and checked: its columns, its valid rows (normalised), every problem."""

    columns: list[str]
    rows: list[dict]
    errors: list[RowError]


@dataclass
class RowPlan:
    """What committing one row would do: `action` for code, `note` for the administrator."""

    row: int
    action: str
    note: str


@dataclass
class Plan:
    rows: list[RowPlan]
    errors: list[RowError]
    users: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def shown(value: str) -> str:
    """A typed value as an error message may repeat it (shortened)."""
    value = str(value)
    return value if len(value) <= MAX_VALUE_SHOWN else value[: MAX_VALUE_SHOWN - 1] + "…"


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- Reading the file ---------------------------------------------------------------------------


def read_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> tuple[int, list[str], list]:
    """(header row number, header cells, [(row number, cells)]) of a UTF-8 CSV file.

    Blank rows are skipped but counted, so row numbers match the spreadsheet. Raises
    ImportFileError, never anything else, for a file that cannot be read as a whole.
    """
    if not data or not data.strip():
        raise ImportFileError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ImportFileError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; the most one import takes is "
            f"{MAX_BYTES // 1024 // 1024} MB. Split it into smaller files."
        )
    if b"\x00" in data:
        raise ImportFileError(
            "This is not a CSV text file. In your spreadsheet, choose Save as (or Download) "
            "and the format 'CSV UTF-8 (comma-delimited)'."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not in UTF-8 (the text encoding this site reads; byte {exc.start + 1} "
            "is not UTF-8). In your spreadsheet, save it again as 'CSV UTF-8 (comma-delimited)'."
        ) from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header_row, header, rows = 0, None, []
    try:
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header_row, header = number, cells
                continue
            rows.append((number, cells))
            if len(rows) > max_rows:
                raise ImportFileError(
                    f"The file has more than {max_rows:,} rows; split it into smaller files."
                )
    except csv.Error as exc:
        raise ImportFileError(
            f"The file could not be read as CSV near line {reader.line_num}: {exc}. Check for a "
            "stray quotation mark."
        ) from exc
    if header is None:
        raise ImportFileError("The file is empty.")
    if not rows:
        raise ImportFileError("The file has a header row but no rows below it.")
    return header_row, header, rows


def _column_name(cell: str) -> str:
    return re.sub(r"[\s\-]+", "_", cell.strip().lower())


def _cell(value: str) -> str:
    value = value.strip()
    if value[:1] == "'" and value[1:2] in FORMULA_PREFIXES:
        value = value[1:]
    return value


def _read(
    data: bytes, *, columns: tuple, required: tuple, ignored: tuple = ()
) -> tuple[list[str], list[tuple[int, dict]], list[RowError]]:
    """Check the header and turn each row into {column: value}; returns columns, rows, errors.

    Rows are left out (and only the header is reported) when a required column is missing:
    every row would fail on it.
    """
    header_row, header, raw_rows = read_csv(data)
    errors: list[RowError] = []
    names = [_column_name(cell) for cell in header]
    if len(names) == 1 and ";" in header[0] and "," not in header[0]:
        raise ImportFileError(
            "The columns are separated by semicolons. Save the file as 'CSV UTF-8 "
            "(comma-delimited)', so commas separate the columns."
        )
    seen: set[str] = set()
    for index, (name, cell) in enumerate(zip(names, header, strict=True)):
        if not name:
            continue
        if name not in columns:
            errors.append(
                RowError(
                    header_row,
                    cell.strip(),
                    cell,
                    f"Unknown column (column {column_letter(index)}). The columns are: "
                    f"{', '.join(columns)}.",
                )
            )
        elif name in seen:
            errors.append(RowError(header_row, name, cell, "This column appears twice."))
        seen.add(name)
    missing = [name for name in required if name not in seen]
    for name in missing:
        errors.append(RowError(header_row, name, "", "This column is required and missing."))
    used = [name for name in dict.fromkeys(names) if name in columns and name not in ignored]
    if missing:
        return used, [], errors
    position = {}
    for index, name in enumerate(names):
        position.setdefault(name, index)
    rows = []
    for number, cells in raw_rows:
        for index in range(len(cells)):
            nameless = index >= len(names) or not names[index]
            if nameless and cells[index].strip():
                errors.append(
                    RowError(
                        number,
                        f"column {column_letter(index)}",
                        cells[index],
                        f"This cell has a value but its column has no name in row {header_row}.",
                    )
                )
        values = {
            name: _cell(cells[position[name]]) if position[name] < len(cells) else ""
            for name in used
        }
        rows.append((number, values))
    return used, rows, errors


class _Row:
    """Collects the problems of one row while its fields are checked."""

    def __init__(self, number: int, values: dict[str, str], errors: list[RowError]):
        self.number = number
        self.values = values
        self.errors = errors
        self.ok = True

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.number, name, shown(self.values.get(name, "")), message))
        self.ok = False

    def text(self, name: str, *, required: str = "") -> str:
        value = " ".join(self.values.get(name, "").split())
        if not value and required:
            self.error(name, required)
        elif len(value) > TEXT_LIMITS.get(name, 200):
            self.error(name, f"At most {TEXT_LIMITS.get(name, 200)} characters.")
        elif problem := label_problem(value, "This cell"):
            self.error(name, problem)  # names, cohorts, campuses are shown to other people
        return value

    def email(self, name: str) -> str:
        value = self.values.get(name, "").strip().lower()
        if not value:
            self.error(name, "Enter an email address.")
            return ""
        try:
            if len(value) > 254:
                raise ValidationError("too long")
            validate_email(value)
        except ValidationError:
            self.error(name, "This is not an email address.")
        return value

    def date(self, name: str, *, required: bool = False) -> str:
        value = self.values.get(name, "").strip()
        if not value:
            if required:
                self.error(name, "Enter a date as YYYY-MM-DD.")
            return ""
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(value)
            return datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            self.error(name, "Enter a real date as YYYY-MM-DD (for example 2026-09-01).")
            return ""

    def tags(self, name: str) -> list[str]:
        items: dict[str, str] = {}
        for part in self.values.get(name, "").split(";"):
            item = " ".join(part.split())
            if len(item) > MAX_TAG_LENGTH:
                self.error(
                    name, f"Each item (between semicolons) is at most {MAX_TAG_LENGTH} characters."
                )
            elif item:
                items.setdefault(item.casefold(), item)
        return list(items.values())


@functools.cache
def _time_zones() -> dict[str, str]:
    # available_timezones() reads the tz database from disk; once per process is enough.
    return {name.lower(): name for name in zoneinfo.available_timezones()}


_LEVELS = {value.lower(): value for value in ParticipantProfile.Level.values}


def _or(words: Iterable[str]) -> str:
    words = list(words)
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else "".join(words)
