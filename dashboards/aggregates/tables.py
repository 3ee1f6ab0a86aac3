"""What a dashboard caller gets: a `Dashboard` of `Table`s of `Value`s, the filter choices
and when the figures were computed (`Freshness`). Plain frozen dataclasses, no ORM."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

KIND_LABELS = {"mentoring": "Mentoring", "coaching": "Coaching", "advising": "Advising"}
HIDDEN = "hidden"
NO_DATA = "–"  # noqa: RUF001 - an en dash: "no figure" in a table


@dataclass(frozen=True)
class Value:
    """One figure. `value` is None when hidden (suppressed) or when there is nothing to show."""

    value: float | int | None
    display: str
    hidden: bool = False

    @classmethod
    def hidden_(cls) -> Value:
        return cls(None, HIDDEN, True)

    @classmethod
    def none(cls) -> Value:
        return cls(None, NO_DATA)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit: str = "count"  # count, percent, mean, days, ratio
    chart: bool = False  # plotted by the table's chart


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    values: tuple[Value, ...]
    selected: bool = False  # the row of the filter's year (or program)
    total: bool = False  # a total of the rows above it


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    description: str
    row_header: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    summary: str
    notes: tuple[str, ...] = ()
    chart: str = "bar"  # bar, line or histogram

    def value(self, row_key: str, column_key: str) -> Value:
        index = [c.key for c in self.columns].index(column_key)
        for row in self.rows:
            if row.key == row_key:
                return row.values[index]
        raise KeyError(row_key)

    @property
    def any_hidden(self) -> bool:
        return any(v.hidden for row in self.rows for v in row.values)

    def csv_header(self) -> list[str]:
        return [self.row_header, *(c.label for c in self.columns)]

    def csv_rows(self) -> list[list[str]]:
        """Rows for a CSV download: what the table shows ("hidden" for a hidden value)."""
        return [[row.label, *(v.display for v in row.values)] for row in self.rows]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class Filters:
    """The filters a dashboard was computed for (after defaults were applied)."""

    year: int
    kind: str = ""
    program_id: int | None = None
    cohort: str = ""

    @property
    def node(self) -> tuple:
        return (self.kind, self.program_id)


@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    years: tuple[Choice, ...]
    kinds: tuple[Choice, ...]
    programs: tuple[Choice, ...]
    cohorts: tuple[Choice, ...]
    refreshed_at: datetime.datetime | None
    as_of: datetime.date | None
    min_cell: int
    tables: tuple[Table, ...]
    scope_label: str = "All programs"

    @property
    def available(self) -> bool:
        """False until the first refresh has run (the page says the figures are coming)."""
        return self.refreshed_at is not None

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)


@dataclass(frozen=True)
class Freshness:
    refreshed_at: datetime.datetime | None
    as_of: datetime.date | None
    duration_ms: int | None = None
