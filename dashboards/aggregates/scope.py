"""What every table of a dashboard shares: the `Scope` (filters, years, names, cells) and the
way rows are keyed, labelled and summarised."""

from __future__ import annotations

from collections.abc import Iterable

from dashboards import years as ay
from dashboards.aggregates.cells import Cells
from dashboards.aggregates.tables import KIND_LABELS, Filters, Row
from dashboards.cube import ALL_NODE, KINDS


def year_label(year: int, current: int) -> str:
    label = ay.year_label(year)
    return f"{label} (so far)" if year == current else label


class Scope:
    """One dashboard being built: its filters, years, program names and cells, and what every
    table says the same way (row labels, the year rows, the notes)."""

    def __init__(self, cells: Cells, filters: Filters, years: list[int], names: dict):
        self.cells = cells
        self.filters = filters
        self.years = years
        self.current = years[-1] if years else None
        self.names = names  # program id -> (name, kind)

    def node_label(self, node) -> str:
        kind, program_id = node
        if program_id is not None:
            return self.names[program_id][0]
        if kind:
            return f"All {KIND_LABELS[kind].lower()} programs"
        return "All programs"

    def year_rows(self, build) -> tuple[Row, ...]:
        return tuple(
            Row(
                str(year),
                year_label(year, self.current),
                tuple(build(year)),
                selected=year == self.filters.year,
            )
            for year in self.years
        )

    def cohort_note(self) -> tuple[str, ...]:
        return (f"Cohort: {self.filters.cohort}.",) if self.filters.cohort else ()

    def not_by_cohort(self) -> tuple[str, ...]:
        return ("Not available by cohort.",) if self.filters.cohort else ()

    def so_far_note(self) -> str:
        return f"{ay.year_label(self.current)} is counted up to the day of the figures."

    def program_nodes(self, programs: Iterable[int] | None = None) -> list[tuple]:
        """The node and what is under it, top down (for "by program" tables)."""
        if programs is not None:
            return [(self.names[p][1], p) for p in programs]
        kind, program_id = self.filters.node
        if program_id is not None:
            return [(kind, program_id)]
        ordered = sorted(self.names.items(), key=lambda item: item[1][0])
        if kind:
            return [(kind, None)] + [(kind, p) for p, (_n, k) in ordered if k == kind]
        nodes = [ALL_NODE]
        for k in KINDS:
            nodes.append((k, None))
            nodes.extend((k, p) for p, (_n, kk) in ordered if kk == k)
        return nodes


def node_key(node) -> str:
    kind, program_id = node
    return str(program_id) if program_id is not None else (kind or "all")


def by_row_summary(rows, column: int, what: str) -> str:
    parts = [
        f"{row.label}: {row.values[column].display}"
        for row in rows
        if row.values[column].value is not None
    ]
    if not parts:
        return f"{what}: no figure to show (none, or fewer than the minimum)."
    return f"{what}: " + "; ".join(parts) + "."
