"""Assessment role imports: each row and field checked without the database
(`parse_assessment_roles`), then against it (`plan_assessment_roles`). R2 is not decided here:
the preview asks mentoring.rules.role_separation, about the relationships that
RelationshipQuerySet.overlapping finds, exactly what assessment_role_add will ask at commit."""

from __future__ import annotations

import datetime

from django.db.models import IntegerField, Value

from accounts.models import Membership, Role, User
from mentoring import rules
from mentoring.models import AssessmentRole, Relationship
from roster.imports.reading import (
    ASSESSMENT_COLUMNS,
    ASSESSMENT_IGNORED,
    ASSESSMENT_REQUIRED,
    Parsed,
    Plan,
    RowError,
    RowPlan,
    _column_name,
    _or,
    _read,
    _Row,
)


def _kinds() -> dict[str, str]:
    kinds = {value: value for value in AssessmentRole.Kind.values}
    kinds.update(
        {label.lower().replace(" ", "_"): value for value, label in AssessmentRole.Kind.choices}
    )
    return kinds


def parse_assessment_roles(data: bytes) -> Parsed:
    """Read an assessment roles CSV and check every row and field (no database)."""

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


def _plan_role(row: dict, *, users, learners, existing, collisions) -> tuple[str, str, list]:
    """(action, note, [(field, problem)]) for one assessment role row; `collisions` are the
    current relationships of its assessor guiding its learner on a day it covers."""
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
    role = AssessmentRole(
        assessor=assessor,
        learner=learner,
        kind=row["kind"],
        context=row["context"],
        starts_on=datetime.date.fromisoformat(row["starts_on"]),
        ends_on=datetime.date.fromisoformat(ends_on) if ends_on else None,
    )
    try:
        verdicts = rules.role_separation_verdicts(role, collisions)
    except rules.RuleViolation as violation:
        return "error", "Not imported", [("assessor_email", violation.text)]
    if any(verdict.queued for verdict in verdicts):
        return "queued", f"Goes to the conflict queue: {assessor} guides {learner}", []
    if verdicts:
        return "flagged", "Recorded and flagged: the advisor also assesses this learner", []
    return "new", "New assessment role", []


def _collisions(rows: list[dict], users: dict, relationships: dict) -> dict[int, list]:
    """Row number -> the current relationships its role would share a day with, in one query
    whatever the number of rows: one branch per row whose two people are paired at all, each
    asking RelationshipQuerySet.overlapping (R2's one overlap test)."""
    branches = []
    for row in rows:
        assessor, learner = users.get(row["assessor_email"]), users.get(row["learner_email"])
        if assessor is None or learner is None or (assessor.pk, learner.pk) not in relationships:
            continue
        ends_on = row["ends_on"] or None
        branches.append(
            Relationship.objects.current()
            .filter(guide=assessor, learner=learner)
            .overlapping(
                datetime.date.fromisoformat(row["starts_on"]),
                datetime.date.fromisoformat(ends_on) if ends_on else None,
            )
            .annotate(row=Value(row["row"], output_field=IntegerField()))
            .order_by()
            .values_list("pk", "row")
        )
    if not branches:
        return {}
    by_pk = {rel.pk: rel for pair in relationships.values() for rel in pair}
    found: dict[int, list] = {}
    for pk, number in branches[0].union(*branches[1:], all=True):
        found.setdefault(number, []).append(by_pk[pk])
    for pair in found.values():
        pair.sort(key=lambda rel: (rel.started_on, rel.pk), reverse=True)
    return found


def plan_assessment_roles(program, rows: list[dict], *, predict: bool = True) -> Plan:
    """Check assessment role rows against the database (four queries) and say what each would
    do. Both people must exist and the learner must be a learner in `program` (R9).

    With `predict`, a row that R2 would refuse is reported now, and one that would wait in the
    conflict queue says so; mentoring.services.assessment_role_add decides at commit time.
    """

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
    collisions = _collisions(rows, users, relationships) if predict else {}
    plans = []
    for row in rows:
        action, note, problems = _plan_role(
            row,
            users=users,
            learners=learners,
            existing=existing,
            collisions=collisions.get(row["row"], []),
        )
        plans.append(RowPlan(row["row"], action, note))
        errors += [RowError(row["row"], name, row[name], text) for name, text in problems]
    return Plan(rows=plans, errors=errors, users=users)
