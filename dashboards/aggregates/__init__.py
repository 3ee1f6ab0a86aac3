"""THE dean and administrator figures service (R6, R7): nothing else computes dean figures.

Every figure is read from the summary tables (dashboards/models.py), where the refresh stored
it already suppressed over every filter combination at once (dashboards/suppression.py). So a
page is a handful of queries whatever the size of the school, and a figure hidden under one
filter cannot be recovered by subtracting figures shown under others: they are slices of one
pattern. This module never shows a person: only counts, rates and means of at least
`settings.SURVEY_MIN_CELL` people (administrators' named lists are in dashboards/lists.py).

What a caller gets: a `Dashboard` with the resolved filters, the filter choices, when the
figures were computed, and `Table`s (title, columns, rows of `Value`s, a text summary for the
chart, notes, CSV rows). A hidden value has `hidden=True`, no number, and displays "hidden".

Functions:
- `dean_dashboard(year=, program=, kind=, cohort=)`: the institution, or the part a filter
  picks (a program, every program of a kind, one cohort).
- `admin_dashboard(user=, program=, year=, cohort=)`: the same figures for one program the
  user administers (`Program.DoesNotExist` otherwise: the view answers 404), with a table
  comparing their programs side by side (no total across them: it would be a figure outside
  the suppressed cube).
- `freshness()`: when the figures were computed.

Modules, one job each:
- `tables.py`: what callers get (`Dashboard`, `Table`, `Row`, `Column`, `Value`, `Choice`);
- `cells.py`: the summary cells read in one query (`Cells`) and the `Value`s made of them;
- `scope.py`: what every table shares (`Scope`: filters, years, names, cells; labels, notes);
- `retention.py`, `activity.py`, `survey_tables.py`, `guides.py`: the tables, one family each;
- `boards.py`: the entry points, which resolve the filters and build the tables in page order.
"""

from dashboards.aggregates.boards import (
    admin_dashboard,
    dean_dashboard,
    freshness,
)
from dashboards.aggregates.cells import Cell, Cells
from dashboards.aggregates.tables import (
    HIDDEN,
    KIND_LABELS,
    NO_DATA,
    Choice,
    Column,
    Dashboard,
    Filters,
    Freshness,
    Row,
    Table,
    Value,
)

__all__ = [
    "HIDDEN",
    "KIND_LABELS",
    "NO_DATA",
    "Cell",
    "Cells",
    "Choice",
    "Column",
    "Dashboard",
    "Filters",
    "Freshness",
    "Row",
    "Table",
    "Value",
    "admin_dashboard",
    "dean_dashboard",
    "freshness",
]
