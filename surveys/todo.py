"""Surveys waiting for a person's answer, for their home page (`config.home` orders them).
One query whatever the number of invitations."""

from __future__ import annotations

import datetime

from django.urls import reverse

from accounts.todo import TODO, TodoItem
from surveys.models import Campaign, Invitation

SHOWN = 3


def survey_items(user, now: datetime.datetime) -> list[TodoItem]:
    """`user`'s own invitations of open campaigns not answered yet, closing soonest first.
    Who answered is known (the invitation), never what (R6)."""
    invitations = (
        Invitation.objects.for_person(user)
        .filter(
            has_responded=False,
            campaign__status=Campaign.Status.OPEN,
            campaign__closes_at__gt=now,
        )
        .select_related("campaign")
        .order_by("campaign__closes_at", "pk")[:SHOWN]
    )
    return [
        TodoItem(
            f"Answer the survey “{invitation.campaign.title}”",
            reverse("surveys:answer-mine", kwargs={"code": invitation.code}),
            detail="Anonymous: your answers are never linked to you.",
            when=invitation.campaign.closes_at,
            when_label="Closes",
            priority=TODO,
            kind="survey",
        )
        for invitation in invitations
    ]
