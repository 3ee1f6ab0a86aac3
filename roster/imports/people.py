"""People imports: each row and field checked without the database (`parse_people`), then
against it (`plan_people`), saying what committing each row would do. R3: a guide's capacity is
never set below their current load (mentoring.rules.check_capacity_floor). R9: someone who is
anything outside this program keeps their name, profile and status."""

from __future__ import annotations

import re

from allauth.account.models import EmailAddress
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import (
    FACULTY_STATUSES,
    INSTITUTION_ROLES,
    LEARNER_STATUSES,
    Membership,
    ParticipantProfile,
    Role,
    StatusChange,
    User,
)
from mentoring import rules
from roster.imports.reading import (
    _LEVELS,
    IMPORTABLE_ROLES,
    LIST_COLUMNS,
    MAX_CAPACITY,
    PEOPLE_COLUMNS,
    PEOPLE_REQUIRED,
    PERSON_COLUMNS,
    PLURAL,
    Parsed,
    Plan,
    RowError,
    RowPlan,
    _or,
    _read,
    _Row,
    _time_zones,
)


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
    load = rules.guide_loads(program, ids)
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
        if row.get("capacity") is not None and user is not None:
            try:
                rules.check_capacity_floor(
                    program=program,
                    guide=user,
                    capacity=row["capacity"],
                    current=load.get(user.pk, 0),
                )
            except rules.RuleViolation as violation:
                problems.append(("capacity", violation.text))
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
