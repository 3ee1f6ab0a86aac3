"""The summary cells a dashboard reads (`Cells`, loaded in one query), and the `Value`s made
from them: counts, shares, means, days, hidden where the refresh suppressed the cell."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from dashboards.aggregates.tables import Value
from dashboards.models import SummaryCell


# --- Formatting -------------------------------------------------------------------------------
def as_count(n: int | None) -> Value:
    return Value.none() if n is None else Value(n, f"{n:,}")


def as_percent(part: float, whole: int) -> Value:
    share = 100 * part / whole
    return Value(round(share, 1), f"{share:.1f}%")


def as_mean(value: float, digits: int = 2) -> Value:
    return Value(round(value, digits), f"{value:.{digits}f}")


def as_days(value: float | None) -> Value:
    if value is None:
        return Value.none()
    return Value(round(value, 1), f"{value:.0f}")


# --- Reading cells ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    n: int | None
    measures: dict
    hidden: bool

    @property
    def shown(self) -> bool:
        return not self.hidden and bool(self.n)


MISSING = Cell(0, {}, False)  # nobody: shown as zero, or NO_DATA for a rate


@dataclass
class Cells:
    """A slice of SummaryCell rows, looked up by coordinates."""

    rows: dict = field(default_factory=dict)

    def get(self, figure, year, node, cohort="", split="") -> Cell:
        return self.rows.get((figure, year, node[0], node[1], cohort, split), MISSING)

    @classmethod
    def load(cls, query: Q) -> Cells:
        found = cls()
        for figure, year, kind, program_id, cohort, split, n, measures, hidden in (
            SummaryCell.objects.filter(query)
            .values_list(
                "figure", "year", "kind", "program_id", "cohort", "split", "n", "measures", "hidden"
            )
            .iterator(chunk_size=5000)
        ):
            found.rows[(figure, year, kind, program_id, cohort, split)] = Cell(n, measures, hidden)
        return found


def rate(cell: Cell, measure: str) -> tuple[Value, Value]:
    """(group size, share with `measure`) for a cell."""
    if cell.hidden:
        return Value.hidden_(), Value.hidden_()
    if not cell.n:
        return as_count(0), Value.none()
    return as_count(cell.n), as_percent(cell.measures.get(measure, 0), cell.n)


def share_of(part: Cell, whole: Cell) -> Value:
    if part.hidden or whole.hidden:
        return Value.hidden_()
    if not whole.n:
        return Value.none()
    return as_percent(part.n or 0, whole.n)


def hist_stats(cell: Cell, high_from: int) -> tuple[Value, Value, Value]:
    """(answers, mean 1-5, share answering `high_from` or more) of a survey cell."""
    if cell.hidden:
        return Value.hidden_(), Value.hidden_(), Value.hidden_()
    hist = cell.measures.get("hist") or [0] * 5
    n = sum(hist)
    if not n:
        return as_count(0), Value.none(), Value.none()
    mean = sum((i + 1) * c for i, c in enumerate(hist)) / n
    return as_count(n), as_mean(mean), as_percent(sum(hist[high_from - 1 :]), n)


def cell_count(cell: Cell) -> Value:
    return Value.hidden_() if cell.hidden else as_count(cell.n or 0)
