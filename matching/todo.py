"""What self-match requests and match runs ask of a person today, for their home page
(`config.home` orders the items). Each function costs one query whatever the number of rows."""

from __future__ import annotations

import datetime

from django.db.models import Count, Max, Min
from django.urls import reverse

from accounts.todo import SOON, TODO, WAITING, TodoItem
from matching.models import MatchRequest, MatchRun
from mentoring.models.programs import GUIDE_NOUN

SHOWN = 3


def requests_to_answer(user, now: datetime.datetime) -> list[TodoItem]:
    """Learners asking `user` to be their guide, per program, before the requests expire."""
    rows = (
        MatchRequest.objects.pending()
        .filter(guide=user, expires_at__gt=now)
        .values("program__code", "program__name", "program__kind")
        .annotate(n=Count("id"), first=Min("expires_at"))
        .order_by("first")
    )
    return [
        TodoItem(
            f"{row['n']} learner{' asks' if row['n'] == 1 else 's ask'} you to be their "
            f"{GUIDE_NOUN.get(row['program__kind'], 'guide')} in {row['program__name']}",
            reverse("choosing:offer", kwargs={"code": row["program__code"]}),
            detail="Accept or decline; a request not answered in time expires.",
            when=row["first"],
            when_label="Answer by",
            priority=SOON,
            kind="match-request",
        )
        for row in rows
    ]


def requests_sent(user, now: datetime.datetime) -> list[TodoItem]:
    """`user`'s own requests to a guide, still waiting for the answer."""
    requests = (
        MatchRequest.objects.pending()
        .filter(learner=user, expires_at__gt=now)
        .select_related("guide", "program")
        .order_by("expires_at", "pk")[:SHOWN]
    )
    return [
        TodoItem(
            f"Waiting for {request.guide.full_name}'s answer",
            reverse("choosing:choose", kwargs={"code": request.program.code}),
            detail=f"You asked them to be your {request.program.guide_role} in "
            f"{request.program.name}.",
            when=request.expires_at,
            when_label="Answer due by",
            priority=WAITING,
            kind="match-request-sent",
        )
        for request in requests
    ]


def runs_to_review(user) -> list[TodoItem]:
    """Finished match runs waiting for review in the programs `user` administers (R9)."""
    rows = (
        MatchRun.objects.filter(status=MatchRun.Status.DONE)
        .administered_by(user)
        .values("program__code", "program__name")
        .annotate(n=Count("id"), last=Max("created_at"))
        .order_by("program__name")
    )
    return [
        TodoItem(
            f"{row['n']} match run{'s' if row['n'] != 1 else ''} ready for review in "
            f"{row['program__name']}",
            reverse("matching:runs", kwargs={"code": row["program__code"]}),
            detail="Review the proposed pairs, then approve them.",
            when=row["last"],
            when_label="Run",
            priority=TODO,
            kind="match-runs",
        )
        for row in rows
    ]
