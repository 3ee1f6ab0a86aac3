"""The reminder to complete the mentoring agreement, sent once to each person (R11).

After `program.agreement_due_days` days of an active relationship whose agreement is not done,
each person who has not agreed gets one email ("please complete your mentoring agreement", a
link to the page). The hourly task `mentoring.tasks.send_agreement_reminders` runs
`reminders_claim`, `reminders_send` and `reminders_sweep`; how they keep "once" is in
`reminders_claim`. SECURITY: the email carries names, the program and a link, never a word of
the agreement.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from accounts.times import zone_of
from mentoring.models import AgreementReminder, MentoringAgreement, Relationship
from mentoring.models.relationships import GUIDE_NOUN, LEARNER_NOUN
from notify import engine, registry
from notify.engine import claims_insert, send_each
from notify.render import render_email

logger = logging.getLogger(__name__)

SWEEP_AFTER = datetime.timedelta(minutes=10)  # a claim unsent this long is taken as lost
# A reminder more than this late is not sent: relationships that began long before agreements
# existed (or before a long outage) are not emailed out of the blue.
LATE_WINDOW = datetime.timedelta(days=30)
MAX_DUE_DAYS = 90  # Program.agreement_due_days' upper bound


@dataclass(frozen=True)
class _Due:
    relationship_id: int
    recipient_id: int


def _due(today: datetime.date) -> list[_Due]:
    """Who is due a reminder on `today`: each person of an active relationship started at least
    `program.agreement_due_days` days ago who has not agreed and was never claimed for."""

    def agreed(person: str) -> Exists:
        return Exists(
            MentoringAgreement.objects.filter(
                relationship=OuterRef("pk"), **{f"{person}_agreed_at__isnull": False}
            )
        )

    def claimed(person: str) -> Exists:
        return Exists(
            AgreementReminder.objects.filter(
                relationship=OuterRef("pk"), recipient=OuterRef(person)
            )
        )

    rows = (
        Relationship.objects.active()
        .filter(started_on__lt=today)  # every program gives at least one day
        .filter(started_on__gte=today - datetime.timedelta(days=MAX_DUE_DAYS) - LATE_WINDOW)
        .annotate(
            learner_agreed=agreed("learner"),
            guide_agreed=agreed("guide"),
            learner_claimed=claimed("learner"),
            guide_claimed=claimed("guide"),
        )
        .filter(
            Q(learner_agreed=False, learner_claimed=False, learner__is_active=True)
            | Q(guide_agreed=False, guide_claimed=False, guide__is_active=True)
        )
        .values_list(
            "pk",
            "started_on",
            "program__agreement_due_days",
            "learner_id",
            "learner__is_active",
            "learner_agreed",
            "learner_claimed",
            "guide_id",
            "guide__is_active",
            "guide_agreed",
            "guide_claimed",
        )
    )
    due: list[_Due] = []
    for pk, started_on, days, *people in rows:
        due_on = started_on + datetime.timedelta(days=days)
        if due_on > today or due_on + LATE_WINDOW < today:
            continue
        for person, active, has_agreed, was_claimed in (people[:4], people[4:]):
            if active and not has_agreed and not was_claimed:
                due.append(_Due(pk, person))
    return due


def _insert_claims(due: list[_Due], now: datetime.datetime) -> list[int]:
    """Insert the claim rows of `due`; returns the ids of those this call inserted."""
    inserted = claims_insert(
        AgreementReminder,
        ("relationship", "recipient", "claimed_at", "attempts", "last_error"),
        [(d.relationship_id, d.recipient_id, now, 1, "") for d in due],
        conflict=("relationship", "recipient"),
    )
    return [pk for (pk,) in inserted]


def reminders_claim(now: datetime.datetime | None = None) -> list[int]:
    """Claim the agreement reminders due at `now` (R11); returns the ids of the claims this call
    made, and only those: the unique (relationship, recipient) constraint lets one inserter win
    however many run at once, and a person is claimed for once per relationship, ever.

    Then `reminders_send` sends each claim under a row lock with `sent_at` written in the same
    transaction, and `reminders_sweep` sends again a claim left unsent by a killed worker. The
    one window left (a worker killed after the mail server accepted a message, before COMMIT)
    is the one described in notify/engine.py."""
    now = now or timezone.now()
    due = sorted(_due(timezone.localdate(now)), key=lambda d: (d.relationship_id, d.recipient_id))
    if not due:
        return []
    with transaction.atomic():
        claimed = _insert_claims(due, now)
    if claimed:
        logger.info("R11: claimed %d agreement reminders", len(claimed))
    return claimed


def agreement_url(relationship: Relationship) -> str:
    return settings.SITE_URL + reverse("agreements:agreement", kwargs={"code": relationship.code})


def _why_not(claim: AgreementReminder) -> str:
    """Why a claimed reminder no longer applies (empty: it does)."""
    relationship = claim.relationship
    if relationship.status != Relationship.Status.ACTIVE:
        return f"the relationship is {relationship.status}"
    if not claim.recipient.is_active:
        return "the recipient's account is inactive"
    role = "learner" if claim.recipient_id == relationship.learner_id else "guide"
    agreed = (
        MentoringAgreement.objects.filter(relationship=relationship)
        .values_list(f"{role}_agreed_at", flat=True)
        .first()
    )
    if agreed is not None:
        return "the recipient has agreed"
    return ""


def _message(claim: AgreementReminder):
    relationship, recipient = claim.relationship, claim.recipient
    is_learner = recipient.pk == relationship.learner_id
    other = relationship.guide if is_learner else relationship.learner
    context = {
        # SECURITY: names, program and link only; never a word of the agreement.
        "recipient": recipient,
        "other": other,
        "other_noun": GUIDE_NOUN[relationship.kind]
        if is_learner
        else LEARNER_NOUN[relationship.kind],
        "program": relationship.program,
        "started_on": relationship.started_on,
        "agreement_url": agreement_url(relationship),
    }
    return render_email(
        "agreement_reminder",
        context,
        to=recipient.email,
        zone=zone_of(recipient),
        claim=f"agreement-reminder-{claim.pk}",
    )


_CLAIM_RELATED = (
    "relationship__program",
    "relationship__guide",
    "relationship__learner",
    "recipient__profile",
)


def _reminder_send(pk: int, mailer, now: datetime.datetime | None) -> bool:
    """Send one claimed reminder if it is unsent, unlocked and still applies; True if sent.
    A claim that no longer applies (the person agreed, the relationship paused or ended) is
    withdrawn: nothing was sent, so if it applies again later it is claimed afresh."""
    with transaction.atomic():
        locked = list(
            AgreementReminder.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, sent_at__isnull=True)
            .values_list("pk", flat=True)[:1]
        )
        if not locked:
            return False  # sent, withdrawn, or being sent by another worker right now
        claim = AgreementReminder.objects.select_related(*_CLAIM_RELATED).get(pk=pk)
        reason = _why_not(claim)
        if reason:
            claim.delete()
            logger.info("R11: agreement reminder %s withdrawn: %s", pk, reason)
            return False
        message = _message(claim)
        claim.sent_at = now or timezone.now()
        claim.save(update_fields=["sent_at"])
        mailer.send(message)
    return True


def reminders_send(*, reminder_ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Send the claimed reminders `reminder_ids`, each in a transaction of its own; returns how
    many were sent. Safe to run twice, or beside the sweeper."""
    return send_each(list(reminder_ids), _reminder_send, now)


REMINDERS = registry.register_table(
    registry.ClaimTable(
        name="mentoring.agreement_reminder",
        model=AgreementReminder,
        send=_reminder_send,
        stale_after=SWEEP_AFTER,
        kinds=("agreement-reminder",),
        skippable=False,
        given_up={"last_error": "given up"},
    )
)


def reminders_sweep(
    *, now: datetime.datetime | None = None, stale_after: datetime.timedelta = SWEEP_AFTER
) -> int:
    """Send again the claims left unsent `stale_after` after they were claimed (a worker killed
    mid-send, a send that failed); returns how many were sent: the outbox's sweep of this
    table."""
    return engine.sweep(now=now, tables=[REMINDERS], stale_after=stale_after)
