"""Program evaluation: formal vs informal, faculty vs peer guides, mentoring vs coaching vs
advising, on retention, satisfaction and wellbeing (the evidence gap the summary names).

Every group figure comes from the suppressed summary cells (dashboards/summaries.py), read
like the dashboards' (dashboards/aggregates/): a group hidden there is not compared here.
Over several years ("all years"), a group is the sum of its shown yearly cells, so pooling
publishes nothing the yearly figures do not; a year in which a group was hidden is left out of
that group (and said so). Statistics: dashboards/comparisons.py (statsmodels, scipy).

Groups, for the learners of the filter's programs in an academic year:
- formal: all their relationships that year were made by the program (matched, assigned,
  chosen from its suggestions); informal: all self-initiated. Learners with both are left out.
- faculty: all their guides were faculty; peer: all were learners themselves. Both: left out.
- mentoring, coaching, advising: relationships of that kind only. Several kinds: left out.
Survey answers carry the same attributes (surveys/answering.py), so satisfaction and
wellbeing compare answers about formal and informal relationships, and so on.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dashboards import years as ay
from dashboards.aggregates import KIND_LABELS, Cells, Choice
from dashboards.comparisons import (
    CAVEAT,
    Answers,
    Difference,
    Proportion,
    compare_means,
    compare_proportions,
    pairs,
)
from dashboards.cube import ALL_NODE, KINDS
from dashboards.models import SummaryRefresh
from mentoring.models import Program
from surveys.results import hidden_exclusive, mean_shown


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str
    words: str  # in a sentence: "retention was 2.0 percentage points higher..."
    figure: str
    statistic: str  # "share" or "mean"
    groups: dict  # comparison key -> ((split, label), ...)


LEARNER_GROUPS = {
    "formal_informal": (
        ("formal", "formal relationships"),
        ("informal", "informal (self-initiated) relationships"),
    ),
    "faculty_peer": (("faculty", "faculty guides"), ("peer", "peer guides")),
    "kinds": (
        ("only_mentoring", "mentoring"),
        ("only_coaching", "coaching"),
        ("only_advising", "advising"),
    ),
}
SURVEY_GROUPS = {
    "formal_informal": (
        ("formal", "formal relationships"),
        ("informal", "informal (self-initiated) relationships"),
    ),
    "faculty_peer": (("faculty", "faculty guides"), ("peer", "peer guides")),
    "kinds": (("mentoring", "mentoring"), ("coaching", "coaching"), ("advising", "advising")),
}
COMPARISONS = {
    "formal_informal": "Formal vs informal",
    "faculty_peer": "Faculty vs peer guides",
    "kinds": "Mentoring vs coaching vs advising",
}
OUTCOMES = (
    Outcome(
        "retention",
        "Retention (not withdrawn by the end of the year)",
        "retention",
        "learners",
        "share",
        LEARNER_GROUPS,
    ),
    Outcome(
        "satisfaction",
        "Learners' satisfaction with the relationship (1-5)",
        "satisfaction",
        "satisfaction_learners",
        "mean",
        SURVEY_GROUPS,
    ),
    Outcome(
        "wellbeing",
        "Learners reporting burnout (3 or more on the single item)",
        "the share reporting burnout",
        "wellbeing_learners",
        "share",
        SURVEY_GROUPS,
    ),
)
BURNOUT_FROM = 3


@dataclass(frozen=True)
class Group:
    key: str
    label: str
    n: int | None  # None: hidden (or nobody) in every year
    display: str  # "94.1%" or "mean 4.02"
    years_left_out: int = 0
    data: object = None  # Proportion or Answers, for the statistics

    @property
    def hidden(self) -> bool:
        return self.n is None


@dataclass(frozen=True)
class Comparison:
    outcome: str
    outcome_label: str
    comparison: str
    comparison_label: str
    groups: tuple[Group, ...]
    differences: tuple[tuple[str, str, Difference | None, str], ...]  # (first, second, d, text)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evaluation:
    year: int | None  # None: every year pooled
    kind: str
    program_id: int | None
    scope_label: str
    years: tuple[Choice, ...]
    refreshed_at: datetime.datetime | None
    as_of: datetime.date | None  # the day the figures describe
    min_cell: int
    comparisons: tuple[Comparison, ...]
    caveat: str = CAVEAT

    CSV_HEADER = (
        "outcome",
        "comparison",
        "group",
        "n",
        "figure",
        "versus",
        "n (versus)",
        "figure (versus)",
        "difference",
        "95% CI low",
        "95% CI high",
        "p value",
        "effect size",
        "effect size measure",
        "reading",
    )

    def csv_rows(self) -> list[list]:
        rows = []
        for c in self.comparisons:
            groups = {g.label: g for g in c.groups}
            for first, second, d, text in c.differences:
                a, b = groups[first], groups[second]
                row = [
                    c.outcome_label,
                    c.comparison_label,
                    a.label,
                    "hidden" if a.hidden else a.n,
                    a.display,
                    b.label,
                    "hidden" if b.hidden else b.n,
                    b.display,
                ]
                if d is None:
                    row += ["", "", "", "", "", "", text]
                else:
                    row += [
                        f"{d.estimate:.2f}",
                        f"{d.ci_low:.2f}",
                        f"{d.ci_high:.2f}",
                        f"{d.p_value:.3g}",
                        "" if d.effect_size is None else f"{d.effect_size:.2f}",
                        d.effect_size_name,
                        d.reading,
                    ]
                rows.append(row)
        return rows


def _pooled_group(cells: Cells, outcome: Outcome, split: str, label: str, years, node, minimum):
    n = count = 0
    hist = [0] * 5
    left_out = 0
    for year in years:
        cell = cells.get(outcome.figure, year, node, "", split)
        if cell.hidden:
            left_out += 1
            continue
        if not cell.n:
            continue
        n += cell.n
        if outcome.figure == "learners":
            count += cell.measures.get("retained", 0)
        else:
            hist = [a + b for a, b in zip(hist, cell.measures.get("hist", [0] * 5), strict=True)]
    if outcome.figure != "learners":
        n = sum(hist)
        count = sum(hist[BURNOUT_FROM - 1 :])
    if not n:
        return Group(split, label, None, "hidden" if left_out else "–", left_out)  # noqa: RUF001
    if outcome.statistic == "mean":
        # Its spread is published with the comparison: only a distribution results.py would
        # show in full (no count of 1 to minimum-1) enters.
        if not mean_shown(hidden_exclusive(hist, minimum), n, minimum):
            return Group(split, label, None, "hidden", left_out + 1)
        answers = Answers(label, tuple(hist))
        return Group(split, label, n, f"mean {answers.mean:.2f}", left_out, answers)
    share = 100 * count / n
    return Group(split, label, n, f"{share:.1f}%", left_out, Proportion(label, n, count))


def _compare(outcome: Outcome, first: Group, second: Group, minimum: int):
    if first.hidden or second.hidden:
        return (
            first.label,
            second.label,
            None,
            f"Not compared: fewer than {minimum} people in a group (or hidden to protect "
            "another figure).",
        )
    if outcome.statistic == "mean":
        d = compare_means(first.data, second.data, outcome=outcome.words)
    else:
        d = compare_proportions(first.data, second.data, outcome=outcome.words)
    return first.label, second.label, d, d.reading


def program_evaluation(*, year=None, program=None, kind: str = "", programs=None) -> Evaluation:
    """The comparisons for an academic year (`year`; None pools every year shown), over every
    program, one `kind`, or one `program`. `programs`: the programs the caller may see
    (administrators: theirs); `program` must then be one of them (`LookupError` otherwise: the
    view answers 404) and is required. Queries: three, whatever the size of the data."""
    refresh = SummaryRefresh.objects.order_by("-finished_at").first()
    last = ay.academic_year(refresh.as_of if refresh else timezone.localdate())
    all_years = list(range(last - ay.YEARS_BACK, last + 1))
    year = int(year) if year not in (None, "") and int(year) in all_years else None
    program_id = getattr(program, "pk", program)
    program_id = int(program_id) if program_id not in (None, "") else None
    names = dict(
        (programs if programs is not None else Program.objects.all()).values_list("pk", "name")
    )
    if programs is not None and program_id not in names:
        raise LookupError("Not a program the caller may see.")
    if program_id is not None and program_id not in names:
        program_id = None
    if program_id is not None:
        node = (Program.objects.values_list("kind", flat=True).get(pk=program_id), program_id)
        scope = names[program_id]
    elif kind in KINDS:
        node, scope = (kind, None), f"All {KIND_LABELS[kind].lower()} programs"
    else:
        node, scope = ALL_NODE, "All programs"
    years = [year] if year is not None else all_years
    splits = {s for o in OUTCOMES for groups in o.groups.values() for s, _label in groups}
    cells = (
        Cells.load(
            Q(figure__in=[o.figure for o in OUTCOMES], kind=node[0], program_id=node[1])
            & Q(cohort="", split__in=splits, year__in=years)
        )
        if refresh
        else Cells()
    )
    minimum = int(settings.SURVEY_MIN_CELL)
    results = []
    for outcome in OUTCOMES:
        for key, label in COMPARISONS.items():
            groups = tuple(
                _pooled_group(cells, outcome, split, group_label, years, node, minimum)
                for split, group_label in outcome.groups[key]
            )
            notes = []
            if year is None:
                notes.append("Every academic year shown, pooled.")
            left = [g for g in groups if g.years_left_out and not g.hidden]
            if left:
                notes.append(
                    "Left out where hidden: "
                    + "; ".join(f"{g.label}, {g.years_left_out} year(s)" for g in left)
                    + "."
                )
            results.append(
                Comparison(
                    outcome=outcome.key,
                    outcome_label=outcome.label,
                    comparison=key,
                    comparison_label=label,
                    groups=groups,
                    differences=tuple(_compare(outcome, a, b, minimum) for a, b in pairs(groups)),
                    notes=tuple(notes),
                )
            )
    return Evaluation(
        year=year,
        kind=node[0],
        program_id=node[1],
        scope_label=scope,
        years=tuple(Choice(str(y), ay.year_label(y)) for y in all_years),
        refreshed_at=refresh.finished_at if refresh else None,
        as_of=refresh.as_of if refresh else None,
        min_cell=minimum,
        comparisons=tuple(results),
    )
