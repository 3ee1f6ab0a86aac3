"""The survey tables: satisfaction and wellbeing from closed campaigns."""

from __future__ import annotations

from django.conf import settings

from dashboards.aggregates.cells import hist_stats
from dashboards.aggregates.scope import Scope, by_row_summary
from dashboards.aggregates.tables import Column, Table


def satisfaction(scope: Scope) -> Table:
    node = scope.filters.node

    def values(year):
        out = []
        for figure in ("satisfaction_learners", "satisfaction_guides"):
            out.extend(hist_stats(scope.cells.get(figure, year, node), high_from=4))
        return out

    rows = scope.year_rows(values)
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
        by_row_summary([r for r in rows if r.selected], 2, "Learners satisfied"),
        notes=(*scope.not_by_cohort(), survey_note()),
        chart="line",
    )


def wellbeing(scope: Scope) -> Table:
    node = scope.filters.node

    def values(year):
        out = []
        for figure in ("wellbeing_learners", "wellbeing_guides"):
            out.extend(hist_stats(scope.cells.get(figure, year, node), high_from=3))
        return out

    rows = scope.year_rows(values)
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
        by_row_summary([r for r in rows if r.selected], 2, "Learners with burnout"),
        notes=(*scope.not_by_cohort(), survey_note()),
        chart="line",
    )


def survey_note() -> str:
    return (
        "Survey figures of a program's year are hidden when a campaign in it has fewer than "
        f"{settings.SURVEY_MIN_CELL} answers or a hidden cell in its results."
    )
