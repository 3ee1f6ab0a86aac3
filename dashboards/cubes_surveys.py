"""The survey cubes of the refresh: satisfaction and wellbeing, suppressed together with
what surveys/results.py publishes per campaign (definitions: dashboards/summaries.py).

Besides surveys/results.py (the survey pages and the research export), this is the one reader
of survey answers: counts only (`answer_counts`), suppressed here as a whole cube together
with results.py's own per-campaign rule (`hidden_exclusive`, `mean_shown`), so that a year's
figure never gives back what a campaign's results hide."""

from __future__ import annotations

from collections import defaultdict

from dashboards.cube import (
    ALL_NODE,
    KINDS,
    NO_LINES,
    SURVEY_FIGURES,
    SURVEY_POINTS,
    SURVEY_SPLIT_LINES,
    Context,
    Family,
    ay_sql,
    local_date,
    params_of,
    program_dimension,
)
from dashboards.suppression import Dimension
from surveys.results import hidden_exclusive, mean_shown


def answer_counts(cursor, ctx: Context) -> list[tuple]:
    """Rows (campaign id, academic year, program kind, program id, audience, question key,
    formal, peer, relationship kind, answer 1-5, responses) for the keys in SURVEY_FIGURES,
    over closed campaigns that opened in the years shown. No text, no guide, no person."""
    opened = local_date("c.opens_at")
    cursor.execute(
        f"""
        SELECT c.id, {ay_sql(opened)}, p.kind, c.program_id, r.audience, q.key,
               r.formal, r.peer, r.relationship_kind,
               COALESCE(a.number::text, a.choice) AS value, COUNT(DISTINCT r.id)
        FROM surveys_answer a
        JOIN surveys_question q ON q.id = a.question_id
        JOIN surveys_response r ON r.id = a.response_id
        JOIN surveys_campaign c ON c.id = r.campaign_id
        JOIN mentoring_program p ON p.id = c.program_id
        WHERE c.status = 'closed' AND q.key = ANY(%(keys)s)
          AND {opened} BETWEEN %(first_day)s AND %(today)s
          AND COALESCE(a.number::text, a.choice) = ANY(%(points)s)
        GROUP BY c.id, 2, p.kind, c.program_id, r.audience, q.key, r.formal, r.peer,
                 r.relationship_kind, 10
        """,
        {
            **params_of(ctx),
            "keys": sorted({key for key, _ in SURVEY_FIGURES}),
            "points": list(SURVEY_POINTS),
        },
    )
    return cursor.fetchall()


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
