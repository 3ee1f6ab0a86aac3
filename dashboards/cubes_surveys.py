"""The survey cubes of the refresh: satisfaction and wellbeing, suppressed together with
what surveys/results.py publishes per campaign (definitions: dashboards/summaries.py)."""

from __future__ import annotations

from collections import defaultdict

from dashboards import years as ay
from dashboards.cube import (
    ALL_NODE,
    KINDS,
    NO_LINES,
    SURVEY_FIGURES,
    SURVEY_POINTS,
    SURVEY_SPLIT_LINES,
    Context,
    Family,
    params_of,
    program_dimension,
)
from dashboards.suppression import Dimension
from surveys.results import hidden_exclusive, mean_shown, scale_answer_counts

# --- Surveys ----------------------------------------------------------------------------------
# The raw counts come from surveys/results.py (`scale_answer_counts`), the one reader of
# survey responses; this module says which questions, answers and days it needs, places each
# campaign in its academic year, and suppresses the whole cube together with what results.py
# publishes per campaign (`hidden_exclusive`, `mean_shown`).


def answer_counts(cursor, ctx: Context) -> list[tuple]:
    """Rows (campaign id, academic year, program kind, program id, audience, question key,
    formal, peer, relationship kind, answer 1-5, responses) for the keys in SURVEY_FIGURES,
    over closed campaigns that opened in the years shown. No text, no guide, no person."""
    rows = scale_answer_counts(
        cursor,
        keys=sorted({key for key, _ in SURVEY_FIGURES}),
        points=SURVEY_POINTS,
        first_day=params_of(ctx)["first_day"],
        today=ctx.today,
        tz=ctx.tz,
    )
    # A campaign's rows share its opening day, so its academic year is computed here (the
    # grouping by campaign is the same as by campaign and year).
    return [(campaign, ay.academic_year(opened), *rest) for campaign, opened, *rest in rows]


def survey_family(cursor, ctx: Context) -> Family:
    rows = answer_counts(cursor, ctx)
    hists: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SURVEY_POINTS))
    pooled: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(SURVEY_POINTS))
    sides: dict[tuple, int] = defaultdict(int)
    campaigns_of: dict[tuple, set] = defaultdict(set)
    for campaign, year, kind, pid, audience, key, formal, peer, rkind, value, count in rows:
        point = SURVEY_POINTS.index(value)
        pooled[("campaign", key, campaign)][point] += count
        sides[("campaign", key, campaign, audience)] += count
        figure = SURVEY_FIGURES.get((key, audience))
        if figure is None:
            continue
        campaigns_of[(figure, year, (kind, pid))].add(campaign)
        splits = (
            "",
            {True: "formal", False: "informal"}.get(formal, "formal_unknown"),
            {True: "peer", False: "faculty"}.get(peer, "guide_unknown"),
            rkind if rkind in KINDS else "kind_unknown",
        )
        for node in ((kind, pid), (kind, None), ALL_NODE):
            for split in splits:
                hists[(figure, year, node, "", split)][point] += count
    family = Family()
    cells = {key: (sum(hist), {"hist": hist}) for key, hist in hists.items()}
    family.add_cube(
        cells,
        [
            NO_LINES,
            NO_LINES,
            program_dimension(ctx.programs),
            NO_LINES,
            Dimension("split", SURVEY_SPLIT_LINES),
        ],
    )
    # surveys/results.py publishes each closed campaign's results (both sides pooled), hiding
    # small cells and withholding means. A program's year adds up its campaigns, so they take
    # part in the suppression as cells of another service: shown where results.py shows
    # everything (fixed: never a complement), hidden (and protected) where it hides anything;
    # each side's part of a campaign is published by nobody (unknown).
    for key, hist in pooled.items():
        family.counts[key] = sum(hist)
        family.external.add(key)
        if mean_shown(hidden_exclusive(hist, ctx.min_cell), sum(hist), ctx.min_cell):
            family.fixed_shown.add(key)
        else:
            family.also_hidden.add(key)
        parts = tuple((*key, audience) for audience in ("learners", "guides"))
        family.lines.append((key, parts))
    for key, count in sides.items():
        family.counts[key] = count
        family.external.add(key)
        family.unknown.add(key)
    for (figure, year, node), campaigns in campaigns_of.items():
        question, audience = next(k for k, f in SURVEY_FIGURES.items() if f == figure)
        family.lines.append(
            (
                (figure, year, node, "", ""),
                tuple(("campaign", question, c, audience) for c in sorted(campaigns)),
            )
        )
    return family
