"""The guides' tables: guide load today, and conflicts of interest raised and resolved."""

from __future__ import annotations

from dashboards.aggregates.cells import as_days, cell_count, rate, share_of
from dashboards.aggregates.scope import Scope, by_row_summary
from dashboards.aggregates.tables import Column, Row, Table, Value
from dashboards.cube import LOAD_BUCKETS


def guide_load(scope: Scope) -> Table:
    node = scope.filters.node
    total = scope.cells.get("guide_load", None, node)
    rows = []
    for bucket in LOAD_BUCKETS:
        cell = scope.cells.get("guide_load", None, node, "", bucket)
        rows.append(
            Row(
                bucket,
                f"{bucket} current relationship{'' if bucket == '1' else 's'}",
                (cell_count(cell), share_of(cell, total)),
            )
        )
    rows.append(Row("", "All guides", (cell_count(total), share_of(total, total)), total=True))
    if total.shown:
        relationships = total.measures.get("relationships", 0)
        capacity = total.measures.get("capacity", 0)
        summary = (
            f"{total.n:,} guides hold {relationships:,} current relationships, "
            f"{relationships / total.n:.1f} each on average"
        )
        if capacity:
            summary += f", {100 * relationships / capacity:.0f}% of their stated capacity"
        summary += "."
    else:
        summary = "Guide load is hidden (fewer than the minimum)."
    return Table(
        "guide_load",
        "Guide load today",
        "Guides with a current role, by how many current (active or paused) relationships "
        "they hold in these programs.",
        "Load",
        (Column("guides", "Guides", chart=True), Column("share", "Share", "percent")),
        tuple(rows),
        summary,
        notes=scope.not_by_cohort(),
        chart="histogram",
    )


def conflicts(scope: Scope) -> Table:
    node = scope.filters.node

    def values(year):
        cell = scope.cells.get("conflicts", year, node)
        raised, resolved = rate(cell, "resolved")
        if cell.hidden:
            return [raised, resolved, Value.hidden_()]
        return [raised, resolved, as_days(cell.measures.get("median_days"))]

    rows = scope.year_rows(values)
    return Table(
        "conflicts",
        "Conflicts of interest raised and resolved",
        "R2 conflicts (a guide who also assesses their learner) raised during the year.",
        "Academic year",
        (
            Column("raised", "Raised", chart=True),
            Column("resolved", "Resolved", "percent"),
            Column("median_days", "Median days to resolve", "days"),
        ),
        rows,
        by_row_summary([r for r in rows if r.selected], 0, "Conflicts raised"),
        notes=scope.not_by_cohort(),
        chart="bar",
    )
