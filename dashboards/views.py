"""Dashboard pages (namespace `dashboards`, at /dashboards/).

Every figure comes from dashboards/aggregates/ or dashboards/evaluation.py, already
suppressed (R6, R7): these views only choose the filters, lay the tables out, and hand the
same tables to the CSV downloads. Who sees what:

- deans (`accounts.permissions.is_dean`): the institution dashboard and its CSVs, the
  evaluation of every program or any, the research export institution-wide;
- program administrators: the dashboards, operational lists, CSVs, evaluation and research
  export of the programs they administer only (R9), fetched through
  `get_administered_program_or_404`;
- everyone else, and an administrator asking for another program: 404 (R8).

Filters arrive as GET parameters (a program by its UUID `code`, never its id). A value that
is not one of the choices falls back to "all" (the aggregation service's rule), so bad input
never answers 500 (R12).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import is_dean
from dashboards import aggregates
from dashboards.charts import chart_for
from dashboards.evaluation import program_evaluation
from dashboards.lists import operational_lists
from dashboards.research_export import research_export
from dashboards.todo import dashboard_seen
from mentoring.csv_export import csv_response
from mentoring.models import Program
from mentoring.permissions import get_administered_program_or_404
from mentoring.views import is_uuid

# How the dean's page groups its tables (a table not named here is still shown, last).
SECTIONS = (
    (
        "retention",
        "Retention",
        ("retention_trend", "retention_by_cohort", "retention_by_program", "faculty_retention"),
    ),
    (
        "engagement",
        "Participation and engagement",
        (
            "participation",
            "engagement_trend",
            "engagement_by_program",
            "active_recently",
            "intake_to_match",
        ),
    ),
    ("surveys", "Satisfaction and wellbeing", ("satisfaction", "wellbeing")),
    ("guides", "Guides and conflicts", ("guide_load", "conflicts")),
)


# --- Filters ----------------------------------------------------------------------------------
def _year(value) -> int | None:
    """An academic year from a query string ("2024"), or None: anything else is ignored."""
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) == 4 else None


@dataclass(frozen=True)
class ProgramChoice:
    pk: int
    code: str
    name: str
    kind: str


def _program_choices(programs) -> list[ProgramChoice]:
    return [
        ProgramChoice(pk, str(code), name, kind)
        for pk, code, name, kind in programs.order_by("name", "pk").values_list(
            "pk", "code", "name", "kind"
        )
    ]


def _chosen(choices: list[ProgramChoice], code) -> ProgramChoice | None:
    """The program a `code` parameter names among `choices`; None for "all" or no match."""
    code = (code or "").strip()
    if not is_uuid(code):
        return None
    return next((c for c in choices if c.code == code), None)


def _query(**params) -> str:
    """A query string of the non-empty parameters ("" when none)."""
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


# --- The figures' layout ----------------------------------------------------------------------
def _figure(table, csv_url: str) -> dict:
    dom_id = "figure-" + table.key.replace("_", "-")
    return {
        "table": table,
        "id": dom_id,
        "chart": chart_for(table),
        "data_id": dom_id + "-data",
        "csv_url": csv_url,
    }


def _sections(board, csv_url) -> list[dict]:
    """The board's tables grouped under headings, each with its chart and CSV link."""
    tables = {t.key: t for t in board.tables}
    sections = []
    for slug, title, keys in SECTIONS:
        figures = [_figure(tables.pop(k), csv_url(k)) for k in keys if k in tables]
        if figures:
            sections.append({"slug": slug, "title": title, "figures": figures})
    if tables:
        sections.append(
            {
                "slug": "more",
                "title": "More figures",
                "figures": [_figure(t, csv_url(t.key)) for t in tables.values()],
            }
        )
    return sections


def _table_or_404(board, key: str):
    try:
        return board.table(key)
    except KeyError:
        raise Http404 from None


def _table_csv(table, filename: str) -> HttpResponse:
    # SECURITY (R6, R7): the rows are what the page shows; a hidden value is the word
    # "hidden" (Value.display), never its number: the summary cell does not hold one.
    response = csv_response(filename, table.csv_header(), table.csv_rows())
    response["Cache-Control"] = "no-store"
    return response


# --- Deans ------------------------------------------------------------------------------------
def _dean_or_404(user) -> None:
    if not is_dean(user):
        raise Http404


def _dean_board(params):
    programs = _program_choices(Program.objects.all())
    program = _chosen(programs, params.get("program"))
    board = aggregates.dean_dashboard(
        year=_year(params.get("year")),
        program=program.pk if program else None,
        kind=params.get("kind", ""),
        cohort=params.get("cohort", ""),
    )
    return board, programs, program


def _dean_query(board, program) -> str:
    f = board.filters
    return _query(
        year=f.year,
        program=program.code if program else "",
        kind="" if program else f.kind,
        cohort=f.cohort,
    )


@require_GET
def institution(request: HttpRequest) -> HttpResponse:
    _dean_or_404(request.user)
    board, programs, program = _dean_board(request.GET)
    query = _dean_query(board, program)
    dashboard_seen(request.user, timezone.now())  # the home page's "new figures" are seen

    def csv_url(key):
        return reverse("dashboards:institution-csv", kwargs={"table": key}) + query

    context = {
        "board": board,
        "programs": programs,
        "program": program,
        "sections": _sections(board, csv_url),
        "evaluation_url": reverse("dashboards:evaluation")
        + _query(
            program=program.code if program else "", kind="" if program else board.filters.kind
        ),
    }
    return render(request, "dashboards/institution.html", context)


@require_GET
def institution_csv(request: HttpRequest, table: str) -> HttpResponse:
    _dean_or_404(request.user)
    board, _programs, program = _dean_board(request.GET)
    found = _table_or_404(board, table)
    scope = program.code[:8] if program else (board.filters.kind or "all")
    cohort = "-cohort" if board.filters.cohort else ""
    return _table_csv(found, f"institution-{found.key}-{board.filters.year}-{scope}{cohort}.csv")


# --- Program administrators -----------------------------------------------------------------
@require_GET
def program_list(request: HttpRequest) -> HttpResponse:
    programs = list(Program.objects.administered_by(request.user))
    if not programs:
        raise Http404  # R8: only administrators have program dashboards
    context = {"programs": programs, "freshness": aggregates.freshness()}
    return render(request, "dashboards/program_list.html", context)


def _admin_board(user, program, params):
    try:
        return aggregates.admin_dashboard(
            user=user,
            program=program,
            year=_year(params.get("year")),
            cohort=params.get("cohort", ""),
        )
    except Program.DoesNotExist:  # not theirs (any more): R8
        raise Http404 from None


# Where an administrator acts on each list: the list's console page, and each row's page.
LIST_PAGES = {
    "quiet": ("console:quiet", "Open the quiet relationships page"),
    "rematch_requests": ("console:rematch-requests", "Answer rematch requests"),
    "open_conflicts": ("console:conflicts", "Resolve conflicts"),
    "agreements_not_done": ("console:relationships", "See the relationships"),
    "response_rates": ("survey_console:rates", "See every campaign's response rate"),
}


def _list_view(program, item) -> dict:
    page, action = LIST_PAGES.get(item.key, ("console:program-detail", "Open the console"))
    # Columns of numbers (days, counts) are right-aligned, header and cells alike.
    numeric = [
        bool(item.rows) and all(isinstance(row[key], int) for row in item.rows)
        for key, _label in item.columns
    ]
    rows = []
    for row in item.rows:
        if item.key == "response_rates":
            url = reverse(
                "survey_console:campaign-detail",
                kwargs={"code": program.code, "campaign": row["code"]},
            )
        else:
            url = reverse("console:relationship-detail", kwargs={"code": row["code"]})
        cells = list(zip((row[key] for key, _label in item.columns), numeric, strict=True))
        rows.append({"url": url, "cells": cells})
    return {
        "list": item,
        "id": "list-" + item.key.replace("_", "-"),
        "headers": list(zip((label for _key, label in item.columns), numeric, strict=True)),
        "rows": rows,
        "page_url": reverse(page, kwargs={"code": program.code}),
        "action": action,
        "csv_url": reverse(
            "dashboards:program-list-csv", kwargs={"code": program.code, "key": item.key}
        ),
    }


@require_GET
def program_dashboard(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    board = _admin_board(request.user, program, request.GET)
    query = _query(year=board.filters.year, cohort=board.filters.cohort)

    def csv_url(key):
        return (
            reverse("dashboards:program-csv", kwargs={"code": program.code, "table": key}) + query
        )

    lists = operational_lists(user=request.user, program=program)
    context = {
        "program": program,
        "section": "dashboard",
        "board": board,
        "lists": [_list_view(program, item) for item in lists],
        "sections": _sections(board, csv_url),
        "evaluation_url": reverse("dashboards:evaluation") + _query(program=program.code),
    }
    return render(request, "dashboards/program.html", context)


@require_GET
def program_csv(request: HttpRequest, code, table: str) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    board = _admin_board(request.user, program, request.GET)
    found = _table_or_404(board, table)
    cohort = "-cohort" if board.filters.cohort else ""
    return _table_csv(
        found, f"program-{str(program.code)[:8]}-{found.key}-{board.filters.year}{cohort}.csv"
    )


@require_GET
def program_list_csv(request: HttpRequest, code, key: str) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    found = next(
        (item for item in operational_lists(user=request.user, program=program) if item.key == key),
        None,
    )
    if found is None:
        raise Http404
    response = csv_response(
        f"program-{str(program.code)[:8]}-{found.key}.csv", found.csv_header(), found.csv_rows()
    )
    response["Cache-Control"] = "no-store"
    return response


# --- Program evaluation ---------------------------------------------------------------------
@dataclass(frozen=True)
class EvaluationScope:
    dean: bool
    programs: list[ProgramChoice]  # the programs the person may pick
    program: ProgramChoice | None  # None: every program (deans only)
    kind: str
    year: int | None  # None: every year pooled


def _evaluation_scope(user, params) -> EvaluationScope:
    """What a person may evaluate: deans any program or all; administrators one of theirs
    (the first by name unless they pick another). 404 for everyone else, and for an
    administrator naming a program that is not theirs (R8, R9)."""
    year = _year(params.get("year"))
    if is_dean(user):
        programs = _program_choices(Program.objects.all())
        program = _chosen(programs, params.get("program"))
        kind = program.kind if program else params.get("kind", "")
        kind = kind if kind in aggregates.KIND_LABELS else ""
        return EvaluationScope(True, programs, program, kind, year)
    programs = _program_choices(Program.objects.administered_by(user))
    if not programs:
        raise Http404
    code = (params.get("program") or "").strip()
    program = _chosen(programs, code) if code else programs[0]
    if program is None:
        raise Http404
    return EvaluationScope(False, programs, program, program.kind, year)


def _difference(first, second, d, text) -> dict:
    if d is None:
        return {"first": first, "second": second, "compared": False, "reading": text}
    digits = 1 if d.unit == "percentage points" else 2
    # The effect size is in the difference's unit (risk difference) or Cohen's d.
    effect = "–" if d.effect_size is None else f"{d.effect_size:+.{digits}f}"  # noqa: RUF001
    return {
        "first": first,
        "second": second,
        "compared": True,
        "estimate": f"{d.estimate:+.{digits}f}",
        "unit": d.unit,
        "ci": f"{d.ci_low:+.{digits}f} to {d.ci_high:+.{digits}f}",
        "p_value": "< 0.001" if d.p_value < 0.001 else f"{d.p_value:.3f}",
        "effect": effect,
        "effect_name": d.effect_size_name,
        "effect_words": d.effect_words,
        "detectable": d.detectable,
        "reading": text,
    }


def _outcomes(evaluation) -> list[dict]:
    """The comparisons grouped by outcome, in the service's order."""
    grouped: dict[str, dict] = {}
    for c in evaluation.comparisons:
        outcome = grouped.setdefault(
            c.outcome, {"key": c.outcome, "label": c.outcome_label, "comparisons": []}
        )
        outcome["comparisons"].append(
            {
                "comparison": c,
                "id": f"cmp-{c.outcome}-{c.comparison}".replace("_", "-"),
                "differences": [_difference(*item) for item in c.differences],
            }
        )
    return list(grouped.values())


def _evaluation_for(scope: EvaluationScope):
    programs = None if scope.dean else Program.objects.filter(pk__in=[p.pk for p in scope.programs])
    try:
        return program_evaluation(
            year=scope.year,
            program=scope.program.pk if scope.program else None,
            kind=scope.kind,
            programs=programs,
        )
    except LookupError:
        raise Http404 from None


def _evaluation_query(scope: EvaluationScope) -> str:
    return _query(
        year=scope.year,
        program=scope.program.code if scope.program else "",
        kind="" if scope.program else scope.kind,
    )


@require_GET
def evaluation(request: HttpRequest) -> HttpResponse:
    scope = _evaluation_scope(request.user, request.GET)
    result = _evaluation_for(scope)
    context = {
        "scope": scope,
        "evaluation": result,
        "outcomes": _outcomes(result),
        "kinds": [aggregates.Choice(k, label) for k, label in aggregates.KIND_LABELS.items()],
        "csv_url": reverse("dashboards:evaluation-csv") + _evaluation_query(scope),
        "dashboard_url": (
            reverse("dashboards:institution")
            if scope.dean
            else reverse("dashboards:program", kwargs={"code": scope.program.code})
        ),
    }
    return render(request, "dashboards/evaluation.html", context)


@require_GET
def evaluation_csv(request: HttpRequest) -> HttpResponse:
    scope = _evaluation_scope(request.user, request.GET)
    result = _evaluation_for(scope)
    year = scope.year or "all-years"
    name = scope.program.code[:8] if scope.program else (scope.kind or "all")
    response = csv_response(f"evaluation-{name}-{year}.csv", result.CSV_HEADER, result.csv_rows())
    response["Cache-Control"] = "no-store"
    return response


# A POST (with CSRF), not a link: each export is a new artefact (its random keys are made for
# it), it reads every relationship in scope, and nothing should start it but a person's click
# (no prefetching, no cross-site request).
@require_POST
def research_export_download(request: HttpRequest) -> HttpResponse:
    scope = _evaluation_scope(request.user, request.POST)
    if scope.program is not None:
        programs = Program.objects.filter(pk=scope.program.pk)
    elif scope.kind:
        programs = Program.objects.filter(kind=scope.kind)
    else:
        programs = None  # deans only: every program
    export = research_export(programs=programs)
    response = HttpResponse(export.zip_bytes(), content_type="application/zip")
    name = scope.program.code[:8] if scope.program else (scope.kind or "all-programs")
    response["Content-Disposition"] = (
        f'attachment; filename="research-export-{name}-{export.made_in}.zip"'
    )
    response["Cache-Control"] = "no-store"
    return response
