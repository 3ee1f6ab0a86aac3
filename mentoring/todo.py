"""What relationships, agreements, conflicts and rematch requests ask of a person today, for
their home page (`config.home` orders the items). Each function costs a fixed number of
queries whatever the number of rows."""

from __future__ import annotations

import datetime

from django.db.models import Count, Min
from django.urls import reverse

from accounts.todo import LATER, SOON, TodoItem
from mentoring.agreements import agreement_status
from mentoring.models import Conflict, Relationship, RematchRequest

NEW_MENTEE_DAYS = 14  # a relationship this recent is "new" on its guide's home page
SHOWN = 3


def agreement_items(user) -> list[TodoItem]:
    """Agreements of `user`'s active relationships that wait for `user`'s agreement (the
    other person or `user` wrote it; `user` has not agreed to it as it stands)."""
    relationships = (
        Relationship.objects.active()
        .for_participant(user)
        .filter(agreement__isnull=False)
        .select_related("agreement", "guide", "learner")
        .order_by("started_on", "pk")
    )
    items = []
    for relationship in relationships:
        is_learner = relationship.learner_id == user.pk
        if agreement_status(relationship.agreement, is_learner=is_learner) != "waiting_for_you":
            continue
        other = relationship.guide if is_learner else relationship.learner
        items.append(
            TodoItem(
                f"Agree to your agreement with {other.full_name}",
                reverse("agreements:agreement", kwargs={"code": relationship.code}),
                detail="Read the goals, how often you meet and how you keep in touch, then agree.",
                when=relationship.agreement.updated_at,
                when_label="Written",
                priority=SOON,
                kind="agreement",
            )
        )
    return items


def confirm_items(user) -> list[TodoItem]:
    """Informal relationships a learner proposed with `user` as guide, waiting for them."""
    proposed = (
        Relationship.objects.filter(guide=user, status=Relationship.Status.PROPOSED)
        .select_related("learner", "program")
        .order_by("created_at", "pk")[:SHOWN]
    )
    return [
        TodoItem(
            f"Confirm or decline {relationship.learner.full_name} as your "
            f"{relationship.learner_noun}",
            reverse("mentoring:relationship-detail", kwargs={"code": relationship.code}),
            detail=f"In {relationship.program.name}.",
            when=relationship.created_at,
            when_label="Asked",
            priority=SOON,
            kind="confirm",
        )
        for relationship in proposed
    ]


def new_mentee_items(user, today: datetime.date) -> list[TodoItem]:
    """Relationships `user` guides that began in the last two weeks: time to say hello."""
    recent = (
        Relationship.objects.active()
        .filter(guide=user, started_on__gt=today - datetime.timedelta(days=NEW_MENTEE_DAYS))
        .select_related("learner", "program")
        .order_by("-started_on", "-pk")[:SHOWN]
    )
    return [
        TodoItem(
            f"Welcome your new {relationship.learner_noun}, {relationship.learner.full_name}",
            reverse("mentoring:relationship-detail", kwargs={"code": relationship.code}),
            detail=f"In {relationship.program.name}. Introduce yourself and agree a first meeting.",
            priority=LATER,
            kind="new-mentee",
        )
        for relationship in recent
    ]


def conflict_items(user) -> list[TodoItem]:
    """Open conflicts in the programs `user` administers, counted per program (R9)."""
    rows = (
        Conflict.objects.open()
        .administered_by(user)
        .values("program__code", "program__name")
        .annotate(n=Count("id"), first=Min("raised_at"))
        .order_by("program__name")
    )
    return [
        TodoItem(
            f"{row['n']} open conflict{'s' if row['n'] != 1 else ''} in {row['program__name']}",
            reverse("console:conflicts", kwargs={"code": row["program__code"]}),
            detail="A relationship and an assessment role of the same two people overlap.",
            when=row["first"],
            when_label="Oldest",
            priority=SOON,
            kind="conflicts",
        )
        for row in rows
    ]


def rematch_items(user) -> list[TodoItem]:
    """Unanswered rematch requests in the programs `user` administers, per program (R9)."""
    rows = (
        RematchRequest.objects.open()
        .administered_by(user)
        .values("relationship__program__code", "relationship__program__name")
        .annotate(n=Count("id"), first=Min("created_at"))
        .order_by("relationship__program__name")
    )
    return [
        TodoItem(
            f"{row['n']} rematch request{'s' if row['n'] != 1 else ''} to answer in "
            f"{row['relationship__program__name']}",
            reverse(
                "console:rematch-requests", kwargs={"code": row["relationship__program__code"]}
            ),
            detail="Learners who asked to be paired with someone else.",
            when=row["first"],
            when_label="Oldest",
            priority=SOON,
            kind="rematch",
        )
        for row in rows
    ]
