"""What a dean comes to the site for, for their home page (`config.home` orders the items):
the figures, never a list of people (R7). New figures computed since the dean last opened the
institution dashboard come first; opening it marks them seen."""

from __future__ import annotations

from django.urls import reverse

from accounts.todo import SOON, TODO, TodoItem, review_mark, reviewed_at
from dashboards.models import SummaryRefresh

SUBJECT = "institution-dashboard"  # accounts.todo.review_mark's subject for the dean's visit


def dashboard_seen(user, at) -> None:
    """The dean opened the institution dashboard at `at`: the figures computed until then are
    no longer new to them (a visit, not a change: the figures stay as they are)."""
    review_mark(user, SUBJECT, at)


def dean_items(user) -> list[TodoItem]:
    computed = (
        SummaryRefresh.objects.order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    seen = reviewed_at(user, SUBJECT)
    dashboard = reverse("dashboards:institution")
    if computed is not None and (seen is None or computed > seen):
        first = TodoItem(
            "New figures on the institution dashboard",
            dashboard,
            detail="Retention, participation, engagement, satisfaction and wellbeing, "
            "computed since your last visit.",
            when=computed,
            when_label="Computed",
            priority=SOON,
            kind="dean-new-figures",
        )
    else:
        first = TodoItem(
            "Open the institution dashboard",
            dashboard,
            detail="Retention, participation, engagement, satisfaction and wellbeing.",
            priority=TODO,
            kind="dean-dashboard",
        )
    return [
        first,
        TodoItem(
            "Compare mentored and not mentored learners",
            reverse("dashboards:evaluation"),
            detail="Program evaluation, with the size of each group.",
            priority=TODO + 1,
            kind="dean-evaluation",
        ),
        TodoItem(
            "Read the survey results across programs",
            reverse("survey_results:all-programs"),
            detail="Closed surveys, small groups hidden.",
            priority=TODO + 2,
            kind="dean-surveys",
        ),
    ]
