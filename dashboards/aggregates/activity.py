"""The activity tables: participation, meetings per relationship per term, relationships
active lately, and the time from intake to match."""

from __future__ import annotations

from dashboards import years as ay
from dashboards.aggregates.cells import as_count, as_days, as_mean, cell_count, rate, share_of
from dashboards.aggregates.scope import Scope, by_row_summary, node_key
from dashboards.aggregates.tables import Column, Row, Table, Value
from dashboards.cube import ALL_NODE, KINDS


def participation(scope: Scope) -> Table:
    year, cohort = scope.filters.year, scope.filters.cohort
    kind, program_id = scope.filters.node
    everyone = scope.cells.get("learners", year, ALL_NODE, cohort)
    if program_id is not None:
        nodes = [(kind, program_id)]
    elif kind:
        nodes = [(kind, None)]
    else:
        nodes = [(k, None) for k in KINDS]
    rows = []
    for node in nodes:
        members = scope.cells.get("learners", year, node, cohort)
        guided = scope.cells.get("learners", year, node, cohort, "guided")
        rows.append(
            Row(
                node_key(node),
                scope.node_label(node),
                (
                    cell_count(members),
                    cell_count(guided),
                    share_of(guided, members),
                    share_of(guided, everyone) if not any(scope.filters.node) else Value.none(),
                ),
            )
        )
    guided_all = scope.cells.get("learners", year, scope.filters.node, cohort, "guided")
    members_all = scope.cells.get("learners", year, scope.filters.node, cohort)
    if len(rows) > 1:
        rows.append(
            Row(
                "any",
                "Any kind",
                (
                    cell_count(members_all),
                    cell_count(guided_all),
                    share_of(guided_all, members_all),
                    share_of(guided_all, everyone),
                ),
                total=True,
            )
        )
    return Table(
        "participation",
        f"Participation, {ay.year_label(year)}",
        "Learners of the programs (members, or paired in them, during the year) who had a "
        "relationship during the year.",
        "Programs",
        (
            Column("learners", "Learners in these programs"),
            Column("paired", "With a relationship"),
            Column("share", "Share of them", "percent", True),
            Column("share_all", "Share of all learners", "percent"),
        ),
        tuple(rows),
        by_row_summary(rows, 2, f"With a relationship in {ay.year_label(year)}"),
        notes=scope.cohort_note(),
    )


def _engagement_values(scope: Scope, year, node, cohort):
    cell = scope.cells.get("engagement", year, node, cohort)
    if cell.hidden:
        return [Value.hidden_(), Value.hidden_()]
    terms = cell.measures.get("relationship_terms", 0)
    per_term = as_mean(cell.measures.get("meetings", 0) / terms, 1) if terms else Value.none()
    return [as_count(cell.n or 0), per_term]


ENGAGEMENT_COLUMNS = (
    Column("relationships", "Relationships"),
    Column("per_term", "Meetings per relationship per term", "ratio", True),
)


def engagement_trend(scope: Scope) -> Table:
    node, cohort = scope.filters.node, scope.filters.cohort
    rows = scope.year_rows(lambda y: _engagement_values(scope, y, node, cohort))
    return Table(
        "engagement_trend",
        "Meetings per relationship per term",
        "Completed meetings in the program's terms, per relationship and term it ran.",
        "Academic year",
        ENGAGEMENT_COLUMNS,
        rows,
        by_row_summary([r for r in rows if r.selected], 1, "Meetings per relationship per term"),
        notes=(*scope.cohort_note(), scope.so_far_note()),
        chart="line",
    )


def engagement_by_program(scope: Scope, nodes) -> Table:
    year, cohort = scope.filters.year, scope.filters.cohort
    rows = tuple(
        Row(
            node_key(node),
            scope.node_label(node),
            tuple(_engagement_values(scope, year, node, cohort)),
            total=node[1] is None,
        )
        for node in nodes
    )
    return Table(
        "engagement_by_program",
        f"Meetings per relationship per term by program, {ay.year_label(year)}",
        "Completed meetings in the program's terms, per relationship and term it ran.",
        "Program",
        ENGAGEMENT_COLUMNS,
        rows,
        by_row_summary(rows, 1, "Meetings per relationship per term"),
        notes=scope.cohort_note(),
    )


def active_recently(scope: Scope, nodes) -> Table:
    cohort = scope.filters.cohort
    rows = []
    for node in nodes:
        size, share = rate(scope.cells.get("active_recently", None, node, cohort), "met")
        rows.append(
            Row(node_key(node), scope.node_label(node), (size, share), total=node[1] is None)
        )
    return Table(
        "active_recently",
        "Relationships active in the last 60 days",
        "Active relationships today with a completed meeting in the last 60 days.",
        "Program",
        (
            Column("relationships", "Active relationships"),
            Column("met", "Met in the last 60 days", "percent", True),
        ),
        tuple(rows),
        by_row_summary(rows[:1], 1, "Met in the last 60 days"),
        notes=scope.cohort_note(),
    )


def intake(scope: Scope) -> Table:
    node, cohort = scope.filters.node, scope.filters.cohort

    def values(year):
        cell = scope.cells.get("intake", year, node, cohort)
        size, matched = rate(cell, "matched")
        if cell.hidden:
            return [size, matched, Value.hidden_(), Value.hidden_(), Value.hidden_()]
        m = cell.measures
        return [
            size,
            matched,
            as_days(m.get("median_days")),
            as_days(m.get("p25_days")),
            as_days(m.get("p75_days")),
        ]

    rows = scope.year_rows(values)
    return Table(
        "intake_to_match",
        "Time from intake to match",
        "Learners who joined a program during the year: the share paired since, and the "
        "days from joining to their first relationship (quartiles over the paired, shown "
        "when at least the minimum were paired).",
        "Academic year joined",
        (
            Column("entries", "Joined a program"),
            Column("matched", "Paired since", "percent"),
            Column("median", "Median days to match", "days", True),
            Column("p25", "25th percentile (days)", "days"),
            Column("p75", "75th percentile (days)", "days"),
        ),
        rows,
        by_row_summary([r for r in rows if r.selected], 2, "Median days to match"),
        notes=scope.cohort_note(),
        chart="line",
    )
