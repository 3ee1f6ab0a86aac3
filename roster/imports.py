"""CSV imports of people and of assessment roles: reading, validation, and the plan of what a
commit would do (R12: an import with a bad row imports nothing and names every bad row and
field).

Three layers, each usable alone:
- `read_csv` turns the uploaded bytes into a header and rows, or refuses the whole file
  (`ImportFileError`: not UTF-8, too big, empty, binary, too many rows).
- `parse_people` / `parse_assessment_roles` check every row and field without the database
  and return the normalised rows and every `RowError`.
- `plan_people` / `plan_assessment_roles` check the rows against the database in a fixed
  number of queries, whatever the number of rows, and say what committing each row would do.
  The upload, the preview and the commit (roster.services.import_batch_commit) use them.

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
from django.utils import timezone

from accounts.models import (
    FACULTY_STATUSES,
    INSTITUTION_ROLES,
    LEARNER_STATUSES,
    ParticipantProfile,
    Role,
)
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


# --- People -------------------------------------------------------------------------------------


def parse_people(data: bytes, *, program) -> Parsed:
    """Read a people CSV for `program` and check every row and field (no database)."""
    columns, raw_rows, errors = _read(data, columns=PEOPLE_COLUMNS, required=PEOPLE_REQUIRED)
    guide_role = program.guide_role
    rows: list[dict] = []
    first_row: dict[tuple[str, str], int] = {}
    person: dict[str, dict] = {}
    for number, values in raw_rows:
        row = _Row(number, values, errors)
        clean: dict = {"row": number}
        clean["email"] = row.email("email")
        clean["full_name"] = row.text("full_name", required="Enter the person's full name.")
        role = values.get("role", "").strip().lower()
        if not role:
            row.error("role", f"Enter the role: learner or {guide_role}.")
        elif role not in IMPORTABLE_ROLES:
            row.error("role", f"Not a role in this program. Use learner or {guide_role}.")
        elif role != Role.LEARNER and role != guide_role:
            row.error(
                "role",
                f"This is a {program.get_kind_display().lower()} program: its guides are "
                f"{PLURAL[guide_role]}, not {PLURAL[role]}. Use learner or {guide_role}.",
            )
        clean["role"] = role
        # None while the role is unknown: role-specific checks then wait for a valid role.
        is_guide = None if role not in IMPORTABLE_ROLES else role != Role.LEARNER
        if "level" in columns:
            level = values["level"].strip()
            clean["level"] = _LEVELS.get(level.lower(), "") if level else ""
            if level and not clean["level"]:
                row.error("level", f"Unknown level. Use {_or(ParticipantProfile.Level.values)}.")
        for name in ("cohort", "track", "campus"):
            if name in columns:
                clean[name] = row.text(name)
        for name in LIST_COLUMNS:
            if name in columns:
                clean[name] = row.tags(name)
        if "capacity" in columns:
            clean["capacity"] = _capacity(row, is_guide=is_guide, guide_role=guide_role)
        if "timezone" in columns:
            tz = values["timezone"].strip()
            clean["timezone"] = _time_zones().get(tz.lower(), "") if tz else "UTC"
            if not clean["timezone"]:
                row.error(
                    "timezone",
                    "Unknown time zone. Use a name like Europe/London or America/New_York.",
                )
        if "status" in columns or "status_effective_on" in columns:
            clean["status"], clean["status_effective_on"] = _status(row, is_guide=is_guide)
        if row.ok:
            _check_duplicate(row, clean, first_row, person)
        if row.ok:
            rows.append(clean)
    return Parsed(columns=columns, rows=rows, errors=errors)


def _capacity(row: _Row, *, is_guide: bool | None, guide_role: str) -> int | None:
    value = row.values.get("capacity", "").strip()
    if not value:
        return None
    if is_guide is False:
        row.error("capacity", f"Only a {guide_role} has a capacity; leave it empty for learners.")
        return None
    if not re.fullmatch(r"\d{1,3}", value) or int(value) > MAX_CAPACITY:
        row.error("capacity", f"Enter a whole number from 0 to {MAX_CAPACITY}.")
        return None
    return int(value)


def _status(row: _Row, *, is_guide: bool | None) -> tuple[str, str]:
    status = row.values.get("status", "").strip().lower()
    if is_guide is None:
        allowed, whose = (*LEARNER_STATUSES, *FACULTY_STATUSES), "The"
    else:
        allowed = FACULTY_STATUSES if is_guide else LEARNER_STATUSES
        whose = "A guide's" if is_guide else "A learner's"
    if status and status not in allowed:
        row.error("status", f"{whose} status is {_or(allowed)}.")
    effective_on = row.date("status_effective_on")
    if status and not row.values.get("status_effective_on", "").strip():
        row.error("status_effective_on", "Enter the date the status starts, as YYYY-MM-DD.")
    if not status and effective_on:
        row.error("status", "Enter the status that starts on this date, or leave the date empty.")
    return status, effective_on


def _check_duplicate(row: _Row, clean: dict, first_row: dict, person: dict) -> None:
    """One row per person and role; two rows for one person (two roles) must agree on them."""
    key = (clean["email"], clean["role"])
    if key in first_row:
        row.error("email", f"This person is already a {clean['role']} on row {first_row[key]}.")
        return
    earlier = person.get(clean["email"])
    if earlier is not None:
        for name in PERSON_COLUMNS:
            if name in clean and name in earlier and clean[name] != earlier[name]:
                row.error(
                    name,
                    f"Row {earlier['row']} gives this person a different {name.replace('_', ' ')}"
                    "; a person has one profile, so the two rows must agree.",
                )
    if row.ok:
        first_row[key] = clean["row"]
        person.setdefault(clean["email"], clean)


def _changes(row: dict, user, profile, membership, status_at, *, program_only: bool) -> list[str]:
    """Names of what committing `row` would change for an existing person (`program_only`:
    their membership in this program alone; R9)."""
    changed = []
    if row.get("capacity") is not None and membership.capacity != row["capacity"]:
        changed.append("capacity")
    if program_only:
        return changed
    if user.full_name != row["full_name"]:
        changed.append("full_name")
    for name in ("level", "cohort", "track", "campus", *LIST_COLUMNS, "timezone"):
        if name in row:
            default = [] if name in LIST_COLUMNS else ("UTC" if name == "timezone" else "")
            current = getattr(profile, name) if profile is not None else default
            if current != row[name]:
                changed.append(name)
    if row.get("status") and status_at != row["status"]:
        changed.append("status")
    return changed


def plan_people(program, rows: list[dict]) -> Plan:
    """Check people rows against the database (six queries) and say what each would do.

    `users` maps email -> existing User; `extra` holds the profiles, memberships and status
    records the commit reuses.
    """
    from allauth.account.models import EmailAddress
    from django.db.models import Count
    from django.db.models.functions import Lower

    from accounts.models import Membership, StatusChange, User
    from mentoring.models import Relationship

    errors: list[RowError] = []
    emails = {row["email"] for row in rows}
    users = {user.email: user for user in User.objects.filter(email__in=emails)}
    ids = [user.pk for user in users.values()]
    # SECURITY: an address someone added to their own account must not become a new person's
    # login (allauth would refuse it, half-way through the commit).
    taken = set(
        EmailAddress.objects.annotate(lowered=Lower("email"))
        .filter(lowered__in=emails - set(users))
        .values_list("lowered", flat=True)
    )
    memberships = {
        (m.user_id, m.role): m for m in Membership.objects.filter(program=program, user__in=ids)
    }
    profiles = {p.user_id: p for p in ParticipantProfile.objects.filter(user__in=ids)}
    dates = {row["status_effective_on"] for row in rows if row.get("status")}
    statuses = {
        (s.user_id, s.population, s.effective_on.isoformat()): s.status
        for s in StatusChange.objects.filter(user__in=ids, effective_on__in=dates)
    }
    # R9: someone who is anything outside this program (a member of another program, a dean)
    # keeps their name, profile and status; the import adds them to this program or changes
    # their membership in it, nothing else. Operators and deans are never participants.
    elsewhere = Membership.objects.filter(user__in=ids).exclude(program=program)
    outside, barred = set(), {u.pk for u in users.values() if u.is_superuser or u.is_staff}
    for user_id, role, ended_at in elsewhere.values_list("user_id", "role", "ended_at"):
        outside.add(user_id)
        if role in INSTITUTION_ROLES and (ended_at is None or ended_at > timezone.now()):
            barred.add(user_id)
    load = dict(
        Relationship.objects.current()
        .filter(program=program, guide__in=ids)
        .values_list("guide")
        .annotate(n=Count("id"))
    )
    plans = []
    for row in rows:
        number, email, role = row["row"], row["email"], row["role"]
        user, problems = users.get(email), []
        if role != Role.LEARNER and role != program.guide_role:
            problems.append(("role", f"This program's guides are {PLURAL[program.guide_role]}."))
        if email in taken:
            problems.append(("email", "This is a second address of another person's account."))
        if user is not None and user.pk in barred:
            problems.append(
                (
                    "email",
                    "This address belongs to an operator's or a dean's account, which cannot be "
                    "imported as a participant.",
                )
            )
        current = load.get(user.pk, 0) if user is not None else 0
        if row.get("capacity") is not None and row["capacity"] < current:
            problems.append(
                (
                    "capacity",
                    f"{user} has {current} current relationships in this program, so the "
                    f"capacity cannot be below {current} (R3).",
                )
            )
        errors += [RowError(number, name, str(row[name]), text) for name, text in problems]
        membership = memberships.get((user.pk, role)) if user is not None else None
        kept = user is not None and user.pk in outside
        unchanged = "; name, profile and status unchanged" if kept else ""
        if user is None:
            plans.append(RowPlan(number, "new", f"New person, {role}"))
        elif membership is None or membership.ended_at is not None:
            words = f"Exists: will be added to this program as {role}{unchanged}"
            plans.append(RowPlan(number, "join", words if kept else f"Joins the program as {role}"))
        else:
            population = "learner" if role == Role.LEARNER else "faculty"
            status_at = statuses.get((user.pk, population, row.get("status_effective_on")))
            changed = _changes(
                row, user, profiles.get(user.pk), membership, status_at, program_only=kept
            )
            words = ", ".join(name.replace("_", " ") for name in changed)
            plans.append(
                RowPlan(number, "update", f"Updates {words}{unchanged}")
                if changed
                else RowPlan(number, "unchanged", f"No change{unchanged}")
            )
    extra = {
        "memberships": memberships,
        "profiles": profiles,
        "statuses": statuses,
        "outside": outside,
    }
    return Plan(rows=plans, errors=errors, users=users, extra=extra)


# --- Assessment roles ---------------------------------------------------------------------------


def _kinds() -> dict[str, str]:
    from mentoring.models import AssessmentRole

    kinds = {value: value for value in AssessmentRole.Kind.values}
    kinds.update(
        {label.lower().replace(" ", "_"): value for value, label in AssessmentRole.Kind.choices}
    )
    return kinds


def parse_assessment_roles(data: bytes) -> Parsed:
    """Read an assessment roles CSV and check every row and field (no database)."""
    from mentoring.models import AssessmentRole

    columns, raw_rows, errors = _read(
        data, columns=ASSESSMENT_COLUMNS, required=ASSESSMENT_REQUIRED, ignored=ASSESSMENT_IGNORED
    )
    kinds = _kinds()
    rows: list[dict] = []
    first_row: dict[tuple, int] = {}
    for number, values in raw_rows:
        row = _Row(number, values, errors)
        clean: dict = {"row": number}
        clean["assessor_email"] = row.email("assessor_email")
        clean["learner_email"] = row.email("learner_email")
        if clean["assessor_email"] and clean["assessor_email"] == clean["learner_email"]:
            row.error("learner_email", "The assessor and the learner are the same person.")
        kind = _column_name(values.get("kind", ""))
        clean["kind"] = kinds.get(kind, "")
        if not clean["kind"]:
            row.error(
                "kind",
                f"{'Unknown kind. ' if kind else ''}Use {_or(AssessmentRole.Kind.values)}.",
            )
        clean["context"] = row.text(
            "context", required="Enter the context, e.g. Surgery clerkship, Block 3."
        )
        clean["starts_on"] = row.date("starts_on", required=True)
        clean["ends_on"] = row.date("ends_on") if "ends_on" in columns else ""
        if clean["starts_on"] and clean["ends_on"] and clean["ends_on"] < clean["starts_on"]:
            row.error("ends_on", f"The end date is before the start date ({clean['starts_on']}).")
        if row.ok:
            key = (
                clean["assessor_email"],
                clean["learner_email"],
                clean["kind"],
                clean["context"].casefold(),
                clean["starts_on"],
            )
            if key in first_row:
                row.error("assessor_email", f"The same role is already on row {first_row[key]}.")
            else:
                first_row[key] = number
        if row.ok:
            rows.append(clean)
    return Parsed(columns=columns, rows=rows, errors=errors)


def _plan_role(row: dict, *, users, learners, existing, relationships) -> tuple[str, str, list]:
    """(action, note, [(field, problem)]) for one assessment role row."""
    from mentoring.models import AssessmentRole, Program

    assessor, learner = users.get(row["assessor_email"]), users.get(row["learner_email"])
    problems = [
        (name, "No one has this email address here. Import them as people first.")
        for name, person in (("assessor_email", assessor), ("learner_email", learner))
        if person is None
    ]
    if learner is not None and learner.pk not in learners:
        problems.append(("learner_email", f"{learner} is not a learner in this program."))
    if problems:
        return "error", "Not imported", problems
    key = (assessor.pk, learner.pk, row["kind"], row["context"].casefold(), row["starts_on"])
    found, ends_on = existing.get(key), row["ends_on"] or None
    if found is not None:
        recorded_end = found.ends_on.isoformat() if found.ends_on else None
        if recorded_end != ends_on:
            problem = (
                f"This role is already recorded with the end date {recorded_end or '(none)'}; "
                "an import does not change it."
            )
            return "error", "Not imported", [("ends_on", problem)]
        if found.status == AssessmentRole.Status.REJECTED:
            return "rejected", "Already recorded and rejected by an administrator: skipped", []
        return "recorded", "Already recorded: no change", []
    starts = datetime.date.fromisoformat(row["starts_on"])
    ends = datetime.date.fromisoformat(ends_on) if ends_on else None
    pair = relationships.get((assessor.pk, learner.pk), [])
    colliding = [rel for rel in pair if _overlaps(rel, starts, ends)]
    blocking = [rel for rel in colliding if not rel.program.overlap_is_flagged]
    refusing = [
        rel
        for rel in blocking
        if rel.program.assessment_conflict == Program.AssessmentConflict.REFUSE
    ]
    if refusing:
        rel = refusing[0]
        problem = (
            f"R2 Role separation: {assessor} is {learner}'s "
            f"{rel.get_kind_display().lower()} guide in {rel.program} (since "
            f"{rel.started_on}), which overlaps this role, and that program refuses it. "
            "End or transfer the relationship first."
        )
        return "error", "Not imported", [("assessor_email", problem)]
    if blocking:
        return "queued", f"Goes to the conflict queue: {assessor} guides {learner}", []
    if colliding:
        return "flagged", "Recorded and flagged: the advisor also assesses this learner", []
    return "new", "New assessment role", []


def _overlaps(relationship, starts_on: datetime.date, ends_on: datetime.date | None) -> bool:
    # The same test as RelationshipQuerySet.overlapping, on rows already fetched.
    return (relationship.ends_on is None or relationship.ends_on >= starts_on) and (
        ends_on is None or relationship.started_on <= ends_on
    )


def plan_assessment_roles(program, rows: list[dict], *, predict: bool = True) -> Plan:
    """Check assessment role rows against the database (four queries) and say what each would
    do. Both people must exist and the learner must be a learner in `program` (R9).

    With `predict`, a row that R2 would refuse is reported now, and one that would wait in the
    conflict queue says so; mentoring.services.assessment_role_add decides at commit time.
    """
    from accounts.models import Membership, User
    from mentoring.models import AssessmentRole, Relationship

    errors: list[RowError] = []
    emails = {row["assessor_email"] for row in rows} | {row["learner_email"] for row in rows}
    users = {user.email: user for user in User.objects.filter(email__in=emails)}
    learners = set(
        Membership.objects.current()
        .filter(program=program, role=Role.LEARNER, user__in=[u.pk for u in users.values()])
        .values_list("user_id", flat=True)
    )
    assessor_ids = {users[r["assessor_email"]].pk for r in rows if r["assessor_email"] in users}
    learner_ids = learners & {
        users[r["learner_email"]].pk for r in rows if r["learner_email"] in users
    }
    existing: dict[tuple, AssessmentRole] = {}
    for role in AssessmentRole.objects.filter(assessor__in=assessor_ids, learner__in=learner_ids):
        key = (
            role.assessor_id,
            role.learner_id,
            role.kind,
            role.context.casefold(),
            role.starts_on.isoformat(),
        )
        existing.setdefault(key, role)
    relationships: dict[tuple, list] = {}
    if predict:
        for rel in (
            Relationship.objects.current()
            .filter(guide__in=assessor_ids, learner__in=learner_ids)
            .select_related("program")
        ):
            relationships.setdefault((rel.guide_id, rel.learner_id), []).append(rel)
    plans = []
    for row in rows:
        action, note, problems = _plan_role(
            row, users=users, learners=learners, existing=existing, relationships=relationships
        )
        plans.append(RowPlan(row["row"], action, note))
        errors += [RowError(row["row"], name, row[name], text) for name, text in problems]
    return Plan(rows=plans, errors=errors, users=users)
