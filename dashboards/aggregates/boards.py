"""The entry points: `dean_dashboard`, `admin_dashboard`, `freshness`; each resolves its
filters, loads one slice of cells and builds the tables in the order the pages show them."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dashboards import years as ay
from dashboards.aggregates import activity, guides, retention, survey_tables
from dashboards.aggregates.cells import Cells
from dashboards.aggregates.scope import Scope, year_label
from dashboards.aggregates.tables import KIND_LABELS, Choice, Dashboard, Filters, Freshness
from dashboards.cube import ALL_NODE, KINDS, LOAD_BUCKETS
from dashboards.models import SummaryCell, SummaryRefresh
from mentoring.models import Program

DASHBOARD_SPLITS = ("", "guided", "not_guided", *LOAD_BUCKETS)


def freshness() -> Freshness:
    """When the figures were last computed (one query)."""
    refresh = SummaryRefresh.objects.order_by("-finished_at").first()
    if refresh is None:
        return Freshness(None, None)
    return Freshness(refresh.finished_at, refresh.as_of, refresh.duration_ms)


def _years(as_of: datetime.date | None) -> list[int]:
    if as_of is None:
        return []
    last = ay.academic_year(as_of)
    return list(range(last - ay.YEARS_BACK, last + 1))


def _program_names() -> dict[int, tuple[str, str]]:
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
    scope = Scope(cells, filters, years, names)
    tables = (
        retention.retention_trend(scope),
        retention.retention_by_cohort(scope, cohorts),
        retention.retention_by_program(scope, nodes),
        activity.participation(scope),
        retention.faculty_retention(scope),
        activity.engagement_trend(scope),
        activity.engagement_by_program(scope, nodes),
        activity.active_recently(scope, nodes),
        activity.intake(scope),
        survey_tables.satisfaction(scope),
        survey_tables.wellbeing(scope),
        guides.guide_load(scope),
        guides.conflicts(scope),
    )
    return Dashboard(
        filters=filters,
        years=tuple(Choice(str(y), year_label(y, years[-1])) for y in years),
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
    scope = Scope(Cells(), filters, years, names)
    nodes = scope.program_nodes()
    return _build(
        filters,
        years,
        names,
        cohorts,
        nodes,
        refresh,
        scope.node_label(filters.node),
        institution=True,
    )


def admin_dashboard(*, user, program=None, year=None, cohort: str = "") -> Dashboard:
    """The dean's figures for one program `user` administers (default: the first of theirs
    by name), with "by program" tables listing each of their programs (no total across them).
    Raises Program.DoesNotExist when `program` is not one of theirs (the view answers 404,
    R8). Queries: five (six when it chooses the year)."""
    mine = list(Program.objects.administered_by(user).values_list("pk", "name", "kind"))
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
    scope = Scope(Cells(), filters, years, names)
    nodes = scope.program_nodes(programs=[pk for pk, _n, _k in mine])
    return _build(
        filters, years, names, cohorts, nodes, refresh, names[program_id][0], institution=False
    )
