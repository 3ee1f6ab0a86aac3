"""The retention tables: learners by year, by cohort and by program; faculty guides by year."""

from __future__ import annotations

from collections.abc import Iterable

from dashboards import years as ay
from dashboards.aggregates.cells import MISSING, rate
from dashboards.aggregates.scope import Scope, by_row_summary, node_key
from dashboards.aggregates.tables import Column, Row, Table

RETENTION_COLUMNS = (
    Column("learners", "Learners"),
    Column("retained", "Retained", "percent", chart=True),
    Column("guided_learners", "With a relationship: learners"),
    Column("guided_retained", "With a relationship: retained", "percent", chart=True),
    Column("unguided_learners", "Without: learners"),
    Column("unguided_retained", "Without: retained", "percent", chart=True),
)


def _retention_values(scope: Scope, year, node, cohort):
    values = []
    for split in ("", "guided", "not_guided"):
        values.extend(rate(scope.cells.get("learners", year, node, cohort, split), "retained"))
    return values


def retention_trend(scope: Scope) -> Table:
    node, cohort = scope.filters.node, scope.filters.cohort
    rows = scope.year_rows(lambda y: _retention_values(scope, y, node, cohort))
    return Table(
        "retention_trend",
        "Trainee retention by year",
        "Share of learners in school during the year (enrolled or on leave) who had not "
        "withdrawn by its end; with and without a mentoring, coaching or advising "
        "relationship during the year.",
        "Academic year",
        RETENTION_COLUMNS,
        rows,
        _retention_summary(rows),
        notes=(*scope.cohort_note(), scope.so_far_note()),
        chart="line",
    )


def _retention_summary(rows) -> str:
    row = next((r for r in rows if r.selected), None)
    if row is None:
        return "No figures yet."
    all_, guided, unguided = row.values[1], row.values[3], row.values[5]
    if all_.value is None:
        return f"{row.label}: retention is hidden (fewer than the minimum, or a complement)."
    text = f"In {row.label}, {all_.display} of {row.values[0].display} learners were retained"
    if guided.value is not None and unguided.value is not None:
        text += (
            f": {guided.display} of those with a relationship and {unguided.display} of "
            "those without"
        )
    return text + "."


def retention_by_cohort(scope: Scope, cohorts: Iterable[str]) -> Table:
    year, node = scope.filters.year, scope.filters.node
    rows = [
        Row(
            c, c, tuple(_retention_values(scope, year, node, c)), selected=c == scope.filters.cohort
        )
        for c in cohorts
        # Cohorts with nobody in school that year are left out (zero is no figure).
        if scope.cells.get("learners", year, node, c) is not MISSING
    ]
    rows.append(Row("", "All cohorts", tuple(_retention_values(scope, year, node, "")), total=True))
    shown = [r for r in rows[:-1] if r.values[1].value is not None]
    summary = f"Retention in {ay.year_label(year)} by cohort: " + (
        "; ".join(f"{r.label} {r.values[1].display}" for r in shown) or "all hidden"
    )
    return Table(
        "retention_by_cohort",
        f"Trainee retention by cohort, {ay.year_label(year)}",
        "Cohort: the class on the learner's profile, or the year they entered.",
        "Cohort",
        RETENTION_COLUMNS,
        tuple(rows),
        summary + ".",
        notes=(scope.node_label(node) + ".",),
    )


def retention_by_program(scope: Scope, nodes) -> Table:
    year, cohort = scope.filters.year, scope.filters.cohort
    rows = tuple(
        Row(
            node_key(node),
            scope.node_label(node),
            tuple(_retention_values(scope, year, node, cohort)),
            total=node[1] is None,
        )
        for node in nodes
    )
    return Table(
        "retention_by_program",
        f"Trainee retention by program, {ay.year_label(year)}",
        "A learner in two programs counts in each, and once in the totals.",
        "Program",
        RETENTION_COLUMNS,
        rows,
        by_row_summary(rows, 1, f"Retention in {ay.year_label(year)}"),
        notes=scope.cohort_note(),
    )


def faculty_retention(scope: Scope) -> Table:
    node = scope.filters.node
    rows = scope.year_rows(
        lambda y: rate(scope.cells.get("faculty", y, node), "retained"),
    )
    return Table(
        "faculty_retention",
        "Faculty mentor retention by year",
        "Faculty guides (mentors, coaches, advisors who are not learners) active during the "
        "year who were still active at its end.",
        "Academic year",
        (Column("guides", "Faculty guides"), Column("retained", "Retained", "percent", True)),
        rows,
        by_row_summary([r for r in rows if r.selected], 1, "Faculty guides retained"),
        notes=(*scope.not_by_cohort(), scope.so_far_note()),
        chart="line",
    )
