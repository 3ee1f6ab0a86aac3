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
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dashboards import years as ay
from dashboards.cube import ALL_NODE, KINDS, LOAD_BUCKETS
from dashboards.models import SummaryCell, SummaryRefresh

KIND_LABELS = {"mentoring": "Mentoring", "coaching": "Coaching", "advising": "Advising"}
HIDDEN = "hidden"
NO_DATA = "–"  # noqa: RUF001 - an en dash: "no figure" in a table
DASHBOARD_SPLITS = ("", "guided", "not_guided", *LOAD_BUCKETS)


# --- What callers get -------------------------------------------------------------------------
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


def freshness() -> Freshness:
    """When the figures were last computed (one query)."""
    refresh = SummaryRefresh.objects.order_by("-finished_at").first()
    if refresh is None:
        return Freshness(None, None)
    return Freshness(refresh.finished_at, refresh.as_of, refresh.duration_ms)


# --- Formatting -------------------------------------------------------------------------------
def _count(n: int | None) -> Value:
    return Value.none() if n is None else Value(n, f"{n:,}")


def _percent(part: float, whole: int) -> Value:
    share = 100 * part / whole
    return Value(round(share, 1), f"{share:.1f}%")


def _mean(value: float, digits: int = 2) -> Value:
    return Value(round(value, digits), f"{value:.{digits}f}")


def _days(value: float | None) -> Value:
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


def _rate(cell: Cell, measure: str) -> tuple[Value, Value]:
    """(group size, share with `measure`) for a cell."""
    if cell.hidden:
        return Value.hidden_(), Value.hidden_()
    if not cell.n:
        return _count(0), Value.none()
    return _count(cell.n), _percent(cell.measures.get(measure, 0), cell.n)


def _share_of(part: Cell, whole: Cell) -> Value:
    if part.hidden or whole.hidden:
        return Value.hidden_()
    if not whole.n:
        return Value.none()
    return _percent(part.n or 0, whole.n)


def _hist_stats(cell: Cell, high_from: int) -> tuple[Value, Value, Value]:
    """(answers, mean 1-5, share answering `high_from` or more) of a survey cell."""
    if cell.hidden:
        return Value.hidden_(), Value.hidden_(), Value.hidden_()
    hist = cell.measures.get("hist") or [0] * 5
    n = sum(hist)
    if not n:
        return _count(0), Value.none(), Value.none()
    mean = sum((i + 1) * c for i, c in enumerate(hist)) / n
    return _count(n), _mean(mean), _percent(sum(hist[high_from - 1 :]), n)


# --- The dashboards -----------------------------------------------------------------------------
def _years(as_of: datetime.date | None) -> list[int]:
    if as_of is None:
        return []
    last = ay.academic_year(as_of)
    return list(range(last - ay.YEARS_BACK, last + 1))


def _year_label(year: int, current: int) -> str:
    label = ay.year_label(year)
    return f"{label} (so far)" if year == current else label


class _Builder:
    """Builds the tables of one dashboard from one slice of cells."""

    def __init__(self, cells: Cells, filters: Filters, years: list[int], names: dict):
        self.cells = cells
        self.f = filters
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
                _year_label(year, self.current),
                tuple(build(year)),
                selected=year == self.f.year,
            )
            for year in self.years
        )

    def cohort_note(self) -> tuple[str, ...]:
        return (f"Cohort: {self.f.cohort}.",) if self.f.cohort else ()

    def not_by_cohort(self) -> tuple[str, ...]:
        return ("Not available by cohort.",) if self.f.cohort else ()

    # Retention -----------------------------------------------------------------------------
    RETENTION_COLUMNS = (
        Column("learners", "Learners"),
        Column("retained", "Retained", "percent", chart=True),
        Column("guided_learners", "With a relationship: learners"),
        Column("guided_retained", "With a relationship: retained", "percent", chart=True),
        Column("unguided_learners", "Without: learners"),
        Column("unguided_retained", "Without: retained", "percent", chart=True),
    )

    def _retention_values(self, year, node, cohort):
        values = []
        for split in ("", "guided", "not_guided"):
            values.extend(_rate(self.cells.get("learners", year, node, cohort, split), "retained"))
        return values

    def retention_trend(self) -> Table:
        node, cohort = self.f.node, self.f.cohort
        rows = self.year_rows(lambda y: self._retention_values(y, node, cohort))
        return Table(
            "retention_trend",
            "Trainee retention by year",
            "Share of learners in school during the year (enrolled or on leave) who had not "
            "withdrawn by its end; with and without a mentoring, coaching or advising "
            "relationship during the year.",
            "Academic year",
            self.RETENTION_COLUMNS,
            rows,
            self._retention_summary(rows),
            notes=(*self.cohort_note(), self._so_far_note()),
            chart="line",
        )

    def _so_far_note(self) -> str:
        return f"{ay.year_label(self.current)} is counted up to the day of the figures."

    def _retention_summary(self, rows) -> str:
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

    def retention_by_cohort(self, cohorts: Iterable[str]) -> Table:
        year, node = self.f.year, self.f.node
        rows = [
            Row(c, c, tuple(self._retention_values(year, node, c)), selected=c == self.f.cohort)
            for c in cohorts
            # Cohorts with nobody in school that year are left out (zero is no figure).
            if self.cells.get("learners", year, node, c) is not MISSING
        ]
        rows.append(
            Row("", "All cohorts", tuple(self._retention_values(year, node, "")), total=True)
        )
        shown = [r for r in rows[:-1] if r.values[1].value is not None]
        summary = f"Retention in {ay.year_label(year)} by cohort: " + (
            "; ".join(f"{r.label} {r.values[1].display}" for r in shown) or "all hidden"
        )
        return Table(
            "retention_by_cohort",
            f"Trainee retention by cohort, {ay.year_label(year)}",
            "Cohort: the class on the learner's profile, or the year they entered.",
            "Cohort",
            self.RETENTION_COLUMNS,
            tuple(rows),
            summary + ".",
            notes=(self.node_label(node) + ".",),
        )

    def program_nodes(self, programs: Iterable[int] | None = None) -> list[tuple]:
        """The node and what is under it, top down (for "by program" tables)."""
        if programs is not None:
            return [(self.names[p][1], p) for p in programs]
        kind, program_id = self.f.node
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

    def retention_by_program(self, nodes) -> Table:
        year, cohort = self.f.year, self.f.cohort
        rows = tuple(
            Row(
                _node_key(node),
                self.node_label(node),
                tuple(self._retention_values(year, node, cohort)),
                total=node[1] is None,
            )
            for node in nodes
        )
        return Table(
            "retention_by_program",
            f"Trainee retention by program, {ay.year_label(year)}",
            "A learner in two programs counts in each, and once in the totals.",
            "Program",
            self.RETENTION_COLUMNS,
            rows,
            _by_row_summary(rows, 1, f"Retention in {ay.year_label(year)}"),
            notes=self.cohort_note(),
        )

    def faculty_retention(self) -> Table:
        node = self.f.node
        rows = self.year_rows(
            lambda y: _rate(self.cells.get("faculty", y, node), "retained"),
        )
        return Table(
            "faculty_retention",
            "Faculty mentor retention by year",
            "Faculty guides (mentors, coaches, advisors who are not learners) active during the "
            "year who were still active at its end.",
            "Academic year",
            (Column("guides", "Faculty guides"), Column("retained", "Retained", "percent", True)),
            rows,
            _by_row_summary([r for r in rows if r.selected], 1, "Faculty guides retained"),
            notes=(*self.not_by_cohort(), self._so_far_note()),
            chart="line",
        )

    # Participation and engagement --------------------------------------------------------------
    def participation(self) -> Table:
        year, cohort = self.f.year, self.f.cohort
        kind, program_id = self.f.node
        everyone = self.cells.get("learners", year, ALL_NODE, cohort)
        if program_id is not None:
            nodes = [(kind, program_id)]
        elif kind:
            nodes = [(kind, None)]
        else:
            nodes = [(k, None) for k in KINDS]
        rows = []
        for node in nodes:
            members = self.cells.get("learners", year, node, cohort)
            guided = self.cells.get("learners", year, node, cohort, "guided")
            rows.append(
                Row(
                    _node_key(node),
                    self.node_label(node),
                    (
                        _cell_count(members),
                        _cell_count(guided),
                        _share_of(guided, members),
                        _share_of(guided, everyone) if not any(self.f.node) else Value.none(),
                    ),
                )
            )
        guided_all = self.cells.get("learners", year, self.f.node, cohort, "guided")
        members_all = self.cells.get("learners", year, self.f.node, cohort)
        if len(rows) > 1:
            rows.append(
                Row(
                    "any",
                    "Any kind",
                    (
                        _cell_count(members_all),
                        _cell_count(guided_all),
                        _share_of(guided_all, members_all),
                        _share_of(guided_all, everyone),
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
            _by_row_summary(rows, 2, f"With a relationship in {ay.year_label(year)}"),
            notes=self.cohort_note(),
        )

    def _engagement_values(self, year, node, cohort):
        cell = self.cells.get("engagement", year, node, cohort)
        if cell.hidden:
            return [Value.hidden_(), Value.hidden_()]
        terms = cell.measures.get("relationship_terms", 0)
        per_term = _mean(cell.measures.get("meetings", 0) / terms, 1) if terms else Value.none()
        return [_count(cell.n or 0), per_term]

    ENGAGEMENT_COLUMNS = (
        Column("relationships", "Relationships"),
        Column("per_term", "Meetings per relationship per term", "ratio", True),
    )

    def engagement_trend(self) -> Table:
        node, cohort = self.f.node, self.f.cohort
        rows = self.year_rows(lambda y: self._engagement_values(y, node, cohort))
        return Table(
            "engagement_trend",
            "Meetings per relationship per term",
            "Completed meetings in the program's terms, per relationship and term it ran.",
            "Academic year",
            self.ENGAGEMENT_COLUMNS,
            rows,
            _by_row_summary(
                [r for r in rows if r.selected], 1, "Meetings per relationship per term"
            ),
            notes=(*self.cohort_note(), self._so_far_note()),
            chart="line",
        )

    def engagement_by_program(self, nodes) -> Table:
        year, cohort = self.f.year, self.f.cohort
        rows = tuple(
            Row(
                _node_key(node),
                self.node_label(node),
                tuple(self._engagement_values(year, node, cohort)),
                total=node[1] is None,
            )
            for node in nodes
        )
        return Table(
            "engagement_by_program",
            f"Meetings per relationship per term by program, {ay.year_label(year)}",
            "Completed meetings in the program's terms, per relationship and term it ran.",
            "Program",
            self.ENGAGEMENT_COLUMNS,
            rows,
            _by_row_summary(rows, 1, "Meetings per relationship per term"),
            notes=self.cohort_note(),
        )

    def active_recently(self, nodes) -> Table:
        cohort = self.f.cohort
        rows = []
        for node in nodes:
            size, share = _rate(self.cells.get("active_recently", None, node, cohort), "met")
            rows.append(
                Row(_node_key(node), self.node_label(node), (size, share), total=node[1] is None)
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
            _by_row_summary(rows[:1], 1, "Met in the last 60 days"),
            notes=self.cohort_note(),
        )

    def intake(self) -> Table:
        node, cohort = self.f.node, self.f.cohort

        def values(year):
            cell = self.cells.get("intake", year, node, cohort)
            size, matched = _rate(cell, "matched")
            if cell.hidden:
                return [size, matched, Value.hidden_(), Value.hidden_(), Value.hidden_()]
            m = cell.measures
            return [
                size,
                matched,
                _days(m.get("median_days")),
                _days(m.get("p25_days")),
                _days(m.get("p75_days")),
            ]

        rows = self.year_rows(values)
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
            _by_row_summary([r for r in rows if r.selected], 2, "Median days to match"),
            notes=self.cohort_note(),
            chart="line",
        )

    # Surveys ----------------------------------------------------------------------------------
    def satisfaction(self) -> Table:
        node = self.f.node

        def values(year):
            out = []
            for figure in ("satisfaction_learners", "satisfaction_guides"):
                out.extend(_hist_stats(self.cells.get(figure, year, node), high_from=4))
            return out

        rows = self.year_rows(values)
        return Table(
            "satisfaction",
            "Satisfaction from end-of-term surveys",
            "Learners: \u201cOverall, I am satisfied with my relationship\u201d; guides: "
            "\u201cOverall, I am satisfied with being a guide in this program\u201d (1 strongly "
            "disagree to 5 strongly agree). Closed campaigns only.",
            "Academic year",
            (
                Column("learner_answers", "Learners: answers"),
                Column("learner_mean", "Learners: mean (1-5)", "mean", True),
                Column("learner_agree", "Learners: satisfied", "percent"),
                Column("guide_answers", "Guides: answers"),
                Column("guide_mean", "Guides: mean (1-5)", "mean", True),
                Column("guide_agree", "Guides: satisfied", "percent"),
            ),
            rows,
            _by_row_summary([r for r in rows if r.selected], 2, "Learners satisfied"),
            notes=(*self.not_by_cohort(), _survey_note()),
            chart="line",
        )

    def wellbeing(self) -> Table:
        node = self.f.node

        def values(year):
            out = []
            for figure in ("wellbeing_learners", "wellbeing_guides"):
                out.extend(_hist_stats(self.cells.get(figure, year, node), high_from=3))
            return out

        rows = self.year_rows(values)
        return Table(
            "wellbeing",
            "Wellbeing trend",
            "The single-item burnout measure from wellbeing surveys and check-ins: 1 no "
            "symptoms of burnout to 5 completely burned out; 3 or more is burnout.",
            "Academic year",
            (
                Column("learner_answers", "Learners: answers"),
                Column("learner_mean", "Learners: mean score", "mean"),
                Column("learner_burnout", "Learners: burnout (3+)", "percent", True),
                Column("guide_answers", "Guides: answers"),
                Column("guide_mean", "Guides: mean score", "mean"),
                Column("guide_burnout", "Guides: burnout (3+)", "percent", True),
            ),
            rows,
            _by_row_summary([r for r in rows if r.selected], 2, "Learners with burnout"),
            notes=(*self.not_by_cohort(), _survey_note()),
            chart="line",
        )

    # Guides and conflicts ----------------------------------------------------------------------
    def guide_load(self) -> Table:
        node = self.f.node
        total = self.cells.get("guide_load", None, node)
        rows = []
        for bucket in LOAD_BUCKETS:
            cell = self.cells.get("guide_load", None, node, "", bucket)
            rows.append(
                Row(
                    bucket,
                    f"{bucket} current relationship{'' if bucket == '1' else 's'}",
                    (_cell_count(cell), _share_of(cell, total)),
                )
            )
        rows.append(
            Row("", "All guides", (_cell_count(total), _share_of(total, total)), total=True)
        )
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
            notes=self.not_by_cohort(),
            chart="histogram",
        )

    def conflicts(self) -> Table:
        node = self.f.node

        def values(year):
            cell = self.cells.get("conflicts", year, node)
            raised, resolved = _rate(cell, "resolved")
            if cell.hidden:
                return [raised, resolved, Value.hidden_()]
            return [raised, resolved, _days(cell.measures.get("median_days"))]

        rows = self.year_rows(values)
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
            _by_row_summary([r for r in rows if r.selected], 0, "Conflicts raised"),
            notes=self.not_by_cohort(),
            chart="bar",
        )


def _node_key(node) -> str:
    kind, program_id = node
    return str(program_id) if program_id is not None else (kind or "all")


def _cell_count(cell: Cell) -> Value:
    return Value.hidden_() if cell.hidden else _count(cell.n or 0)


def _survey_note() -> str:
    return (
        "Survey figures of a program's year are hidden when a campaign in it has fewer than "
        f"{settings.SURVEY_MIN_CELL} answers or a hidden cell in its results."
    )


def _by_row_summary(rows, column: int, what: str) -> str:
    parts = [
        f"{row.label}: {row.values[column].display}"
        for row in rows
        if row.values[column].value is not None
    ]
    if not parts:
        return f"{what}: no figure to show (none, or fewer than the minimum)."
    return f"{what}: " + "; ".join(parts) + "."


# --- Entry points -------------------------------------------------------------------------------
def _program_names() -> dict[int, tuple[str, str]]:
    from mentoring.models import Program

    return {
        pk: (name, kind) for pk, name, kind in Program.objects.values_list("pk", "name", "kind")
    }


def _cohorts() -> list[str]:
    return list(
        SummaryCell.objects.filter(figure="learners", year__isnull=False)
        .exclude(cohort="")
        .order_by("cohort")
        .values_list("cohort", flat=True)
        .distinct()
    )


def _years_with_relationships(node) -> set[int]:
    """The academic years in which a learner had a relationship in the node's programs (kind,
    program id); a hidden count (too few to show) is still a year with data."""
    kind, program_id = node
    return set(
        SummaryCell.objects.filter(
            Q(n__gt=0) | Q(hidden=True),
            figure="learners",
            kind=kind,
            program_id=program_id,
            cohort="",
            split="guided",
        ).values_list("year", flat=True)
    )


def _default_year(years: list[int], node) -> int:
    """The year a dashboard opens on: the latest that has data (a relationship held in the
    node's programs), a complete one before the current, which is only "so far"; the
    latest complete year when no year has any."""
    if not years:
        return ay.academic_year(timezone.localdate())
    complete, current = years[:-1], years[-1]
    with_data = _years_with_relationships(node)
    for year in reversed(complete):
        if year in with_data:
            return year
    if current in with_data or not complete:
        return current
    return complete[-1]


def _resolve(year, kind, program_id, cohort, years, names, cohorts) -> Filters:
    year = int(year) if year not in (None, "") else None
    program_id = int(program_id) if program_id not in (None, "") else None
    if program_id is not None and program_id not in names:
        program_id = None
    if program_id is not None:
        kind = names[program_id][1]  # the program decides the kind
    if kind not in KINDS:
        kind = ""
    if year not in years:
        year = _default_year(years, (kind, program_id))
    if cohort not in cohorts:
        cohort = ""
    return Filters(year=year, kind=kind, program_id=program_id, cohort=cohort)


def _slice(filters: Filters, nodes: list[tuple], *, institution: bool) -> Q:
    """The rows a dashboard reads: its nodes (the filter's and those under it), the cohort
    chosen or all, the splits the pages show; plus every cohort of the year and node (for the
    table by cohort)."""
    node_q = Q()
    wanted = {*nodes, filters.node} | ({ALL_NODE} if institution else set())
    for kind, program_id in wanted:
        node_q |= Q(kind=kind, program_id=program_id)
    by_cohort = Q(
        figure="learners",
        year=filters.year,
        kind=filters.kind,
        program_id=filters.program_id,
        split__in=("", "guided", "not_guided"),
    )
    return (node_q & Q(cohort__in=(filters.cohort, "")) & Q(split__in=DASHBOARD_SPLITS)) | by_cohort


def _build(filters, years, names, cohorts, nodes, refresh, scope_label, *, institution):
    if refresh is None:  # nothing computed yet: the page says the figures are coming
        return Dashboard(
            filters=filters,
            years=(),
            kinds=tuple(Choice(k, KIND_LABELS[k]) for k in KINDS),
            programs=(),
            cohorts=(),
            refreshed_at=None,
            as_of=None,
            min_cell=int(settings.SURVEY_MIN_CELL),
            tables=(),
            scope_label=scope_label,
        )
    cells = Cells.load(_slice(filters, nodes, institution=institution))
    b = _Builder(cells, filters, years, names)
    tables = (
        b.retention_trend(),
        b.retention_by_cohort(cohorts),
        b.retention_by_program(nodes),
        b.participation(),
        b.faculty_retention(),
        b.engagement_trend(),
        b.engagement_by_program(nodes),
        b.active_recently(nodes),
        b.intake(),
        b.satisfaction(),
        b.wellbeing(),
        b.guide_load(),
        b.conflicts(),
    )
    return Dashboard(
        filters=filters,
        years=tuple(Choice(str(y), _year_label(y, years[-1])) for y in years),
        kinds=tuple(Choice(k, KIND_LABELS[k]) for k in KINDS),
        programs=tuple(
            Choice(str(pk), name) for pk, (name, _k) in sorted(names.items(), key=lambda i: i[1])
        ),
        cohorts=tuple(Choice(c, c) for c in cohorts),
        refreshed_at=refresh.finished_at if refresh else None,
        as_of=refresh.as_of if refresh else None,
        min_cell=int(settings.SURVEY_MIN_CELL),
        tables=tables,
        scope_label=scope_label,
    )


def dean_dashboard(*, year=None, program=None, kind: str = "", cohort: str = "") -> Dashboard:
    """Institution-wide figures (R7: aggregates only, suppressed), for the filters given:
    `year` (an academic year's first calendar year; default the latest complete one),
    `program` (a Program or its id), `kind` (mentoring, coaching, advising), `cohort` (one of
    the dashboard's cohort choices). Unknown filter values fall back to "all".
    Queries: four, whatever the size of the data (five when it chooses the year)."""
    refresh = SummaryRefresh.objects.order_by("-finished_at").first()
    years = _years(refresh.as_of if refresh else None)
    names = _program_names()
    cohorts = _cohorts() if refresh else []
    program_id = getattr(program, "pk", program)
    filters = _resolve(year, kind, program_id, cohort, years, names, cohorts)
    b = _Builder(Cells(), filters, years, names)
    nodes = b.program_nodes()
    return _build(
        filters, years, names, cohorts, nodes, refresh, b.node_label(filters.node), institution=True
    )


def administered_programs(user):
    """The programs whose dashboards `user` may open (R9)."""
    from mentoring.models import Program

    return Program.objects.administered_by(user).order_by("name")


def admin_dashboard(*, user, program=None, year=None, cohort: str = "") -> Dashboard:
    """The dean's figures for one program `user` administers (default: the first of theirs
    by name), with "by program" tables listing each of their programs (no total across them).
    Raises Program.DoesNotExist when `program` is not one of theirs (the view answers 404,
    R8). Queries: five (six when it chooses the year)."""
    from mentoring.models import Program

    mine = list(administered_programs(user).values_list("pk", "name", "kind"))
    if not mine:
        raise Program.DoesNotExist("This person administers no program.")
    program_id = getattr(program, "pk", program)
    if program_id in (None, ""):
        program_id = mine[0][0]
    program_id = int(program_id)
    if program_id not in {pk for pk, _n, _k in mine}:
        raise Program.DoesNotExist("Not a program this person administers.")
    refresh = SummaryRefresh.objects.order_by("-finished_at").first()
    years = _years(refresh.as_of if refresh else None)
    names = {pk: (name, kind) for pk, name, kind in mine}
    cohorts = _cohorts() if refresh else []
    filters = _resolve(year, "", program_id, cohort, years, names, cohorts)
    b = _Builder(Cells(), filters, years, names)
    nodes = b.program_nodes(programs=[pk for pk, _n, _k in mine])
    return _build(
        filters, years, names, cohorts, nodes, refresh, names[program_id][0], institution=False
    )
