"""Reminders before meetings and "log this meeting" nudges, each sent exactly once (R11).

How a message goes out:
1. **Find** (`dispatch_due`, from beat every minute): the database says what is due now;
   nothing is ever scheduled as a countdown. A reminder `reminder-<h>h` (h in
   MEETING_REMINDER_HOURS) is due from `starts_at - h` until `starts_at`, never late; a
   "log this meeting" nudge (`log-nudge`) is due from MEETING_LOG_NUDGE_HOURS after the end of a
   meeting still booked and unlogged, for seven days. Both people of the relationship get each.
2. **Claim**: one `Delivery` row per (meeting, kind, recipient), inserted with
   INSERT ... ON CONFLICT DO NOTHING RETURNING: the unique constraint lets exactly one inserter
   win however many dispatchers run at once (a duplicated task, two beat processes), and only
   the winner sends. Nudges for people who chose a digest or none are claimed `skipped`.
3. **Send** (`deliveries_send`, in a worker, a batch per task): each claim under its row lock,
   re-checked, `sent_at` written before the send, as notify/engine.py describes.
4. **Sweep** (the outbox's sweeper, `notify.tasks.sweep`, every minute): a claim still unsent
   SWEEP_AFTER after it was claimed is sent again with back-off, given up after MAX_ATTEMPTS.

The claim, send and sweep machinery, its guarantees and the one crash window it leaves are
notify's (notify/engine.py, the one outbox); this module says what is due and what it says.

Weekly digests (`sessions_log/digests.py`) follow the same claim, send and sweep, with a
`NudgeDigest` row unique per person and week.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.times import zone_of
from mentoring.models.relationships import CURRENT_STATUSES, GUIDE_NOUN, LEARNER_NOUN
from notify import engine, registry
from notify.engine import SWEEP_LIMIT, Mailer, claims_insert, send_each
from notify.render import render_email
from sessions_log.models import Delivery, Meeting, MeetingLog

logger = logging.getLogger(__name__)

LOG_NUDGE = "log-nudge"
NUDGE_MAX_AGE = datetime.timedelta(days=7)  # no nudge for a meeting older than this
SWEEP_AFTER = datetime.timedelta(minutes=3)  # a claim unsent this long is taken as lost


def reminder_kind(hours: int) -> str:
    return f"reminder-{hours}h"


def reminder_hours(kind: str) -> int | None:
    """The offset of a reminder kind ("reminder-24h" -> 24), None for other kinds."""
    if kind.startswith("reminder-") and kind.endswith("h"):
        return int(kind[len("reminder-") : -1])
    return None


def _offsets() -> list[int]:
    return sorted({int(h) for h in settings.MEETING_REMINDER_HOURS if int(h) > 0})


def live_meetings() -> models.QuerySet[Meeting]:
    """Booked meetings of relationships that still run: the only ones anybody is told about."""
    return Meeting.objects.filter(
        status=Meeting.Status.BOOKED, relationship__status__in=CURRENT_STATUSES
    )


# --- Find and claim ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    meeting_id: int
    kind: str
    recipient_id: int
    skip: bool
    # Reminders: a claim made before this moment was for an earlier time of the meeting (it was
    # rescheduled since) and is claimed again for the new time.
    window_start: datetime.datetime | None = None

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.meeting_id, self.kind, self.recipient_id)


def _due_reminders(now: datetime.datetime) -> list[_Due]:
    """Reminders due at `now` and not claimed for the meeting's current time.

    When several offsets are due at once (a meeting booked 30 minutes ahead is inside both the
    24-hour and the 1-hour window), only the nearest is sent: the others are claimed skipped,
    so nobody gets two reminders of one meeting in the same minute."""
    offsets = _offsets()
    due: list[_Due] = []
    for hours in offsets:
        kind = reminder_kind(hours)
        window = datetime.timedelta(hours=hours)

        def claimed(person: str, kind=kind, window=window) -> Exists:
            return Exists(
                Delivery.objects.filter(
                    meeting=OuterRef("pk"),
                    kind=kind,
                    recipient=OuterRef(f"relationship__{person}"),
                    claimed_at__gte=OuterRef("starts_at") - window,
                )
            )

        meetings = (
            live_meetings()
            .filter(starts_at__gt=now, starts_at__lte=now + window)
            .filter(~claimed("guide") | ~claimed("learner"))
            .values_list(
                "pk",
                "starts_at",
                "relationship__guide_id",
                "relationship__guide__is_active",
                "relationship__learner_id",
                "relationship__learner__is_active",
            )
        )
        for pk, starts_at, guide_id, guide_active, learner_id, learner_active in meetings:
            nearest = min(h for h in offsets if starts_at - datetime.timedelta(hours=h) <= now)
            for person, active in ((guide_id, guide_active), (learner_id, learner_active)):
                due.append(
                    _Due(
                        pk,
                        kind,
                        person,
                        skip=hours != nearest or not active,
                        window_start=starts_at - window,
                    )
                )
    return due


def _due_nudges(now: datetime.datetime) -> list[_Due]:
    """ "Log this meeting" nudges due at `now` and not claimed yet. Only people who chose
    "each" are emailed; the others' nudges are claimed skipped (a digest gathers them)."""
    after = datetime.timedelta(hours=settings.MEETING_LOG_NUDGE_HOURS)

    def nudged(person: str) -> Exists:
        return Exists(
            Delivery.objects.filter(
                meeting=OuterRef("pk"),
                kind=LOG_NUDGE,
                recipient=OuterRef(f"relationship__{person}"),
            )
        )

    meetings = (
        live_meetings()
        .filter(ends_at__lte=now - after, ends_at__gt=now - NUDGE_MAX_AGE)
        .filter(~Exists(MeetingLog.objects.filter(meeting=OuterRef("pk"))))
        .filter(~nudged("guide") | ~nudged("learner"))
        .values_list(
            "pk",
            "relationship__guide_id",
            "relationship__guide__is_active",
            "relationship__guide__nudge_emails",
            "relationship__learner_id",
            "relationship__learner__is_active",
            "relationship__learner__nudge_emails",
        )
    )
    due = []
    for pk, g_id, g_active, g_choice, l_id, l_active, l_choice in meetings:
        for person, active, choice in ((g_id, g_active, g_choice), (l_id, l_active, l_choice)):
            due.append(_Due(pk, LOG_NUDGE, person, skip=choice != "each" or not active))
    return due


def _insert_claims(due: list[_Due], now: datetime.datetime) -> list[tuple[int, bool]]:
    """Insert the claim rows of `due`; returns (id, skipped) of those this call inserted."""
    inserted = claims_insert(
        Delivery,
        ("meeting", "kind", "recipient", "claimed_at", "attempts", "skipped"),
        [(d.meeting_id, d.kind, d.recipient_id, now, 1, d.skip) for d in due],
        conflict=("meeting", "kind", "recipient"),
        returning="skipped",
    )
    return [(pk, bool(skipped)) for pk, skipped in inserted]


def dispatch_due(now: datetime.datetime | None = None) -> list[int]:
    """Find the reminders and nudges due at `now` and claim each one (R11); returns the ids of
    the claims this call made that are to be sent (`deliveries_send`), and only those: a second
    dispatcher running at the same time, or later, gets none of the same.

    A reminder claimed for an earlier time of a meeting that was rescheduled since is claimed
    again for the new time, by a compare-and-set on its `claimed_at` (one dispatcher wins)."""
    now = now or timezone.now()
    due = _due_reminders(now) + _due_nudges(now)
    if not due:
        return []
    with transaction.atomic():
        existing = {
            (meeting_id, kind, recipient_id): (pk, claimed_at)
            for pk, meeting_id, kind, recipient_id, claimed_at in Delivery.objects.filter(
                meeting_id__in={d.meeting_id for d in due}, kind__in={d.kind for d in due}
            ).values_list("pk", "meeting_id", "kind", "recipient_id", "claimed_at")
        }
        # In one order for every dispatcher: two inserting the same rows in different orders
        # could deadlock; in the same order the second waits, then conflicts on each.
        fresh = sorted((d for d in due if d.key not in existing), key=lambda d: d.key)
        claimed = _insert_claims(fresh, now)
        for d in due:
            found = existing.get(d.key)
            if found and d.window_start is not None and found[1] < d.window_start:
                pk, old_claimed_at = found
                taken = Delivery.objects.filter(pk=pk, claimed_at=old_claimed_at).update(
                    claimed_at=now, sent_at=None, attempts=1, skipped=d.skip
                )
                if taken:
                    claimed.append((pk, d.skip))
    to_send = [pk for pk, skipped in claimed if not skipped]
    if claimed:
        logger.info("R11: claimed %d deliveries, %d to send", len(claimed), len(to_send))
    return to_send


# --- Send ----------------------------------------------------------------------------------


# The person's time zone from their profile (UTC without one): the one helper of the app.


def meeting_url(meeting: Meeting) -> str:
    """The absolute URL of the meeting's page."""
    return settings.SITE_URL + reverse("meetings:meeting", kwargs={"code": meeting.code})


def starts_in(delta: datetime.timedelta) -> str:
    """How long until a meeting, rounded as people say it: "25 minutes", "2 hours", "3 days"
    (1 h 59 min is "2 hours", not the "1 hour" that truncating would give)."""
    minutes = max(0, round(delta.total_seconds() / 60))
    if minutes < 55:
        minutes = max(5, 5 * round(minutes / 5))
        return f"{minutes} minutes"
    hours = round(minutes / 60)
    if hours < 36:
        return "1 hour" if hours == 1 else f"{hours} hours"
    days = round(hours / 24)
    return f"{days} days"


def _meeting_context(meeting: Meeting, recipient, now: datetime.datetime) -> dict:
    """Names, time, place and link; nothing from the log (R5: no reflection, no action item)."""
    relationship = meeting.relationship
    is_guide = recipient.pk == relationship.guide_id
    zone = zone_of(recipient)
    return {
        "recipient": recipient,
        "other": relationship.learner if is_guide else relationship.guide,
        "other_noun": LEARNER_NOUN.get(relationship.kind, "learner")
        if is_guide
        else GUIDE_NOUN.get(relationship.kind, "mentor"),
        "program": relationship.program,
        "meeting": meeting,
        "zone_name": str(zone),
        "starts_in": starts_in(meeting.starts_at - now),
        "meeting_url": meeting_url(meeting),
        "profile_url": settings.SITE_URL + reverse("accounts:profile"),
    }


def _why_not(delivery: Delivery, now: datetime.datetime) -> str:
    """Why this claimed message no longer applies at `now` (empty: it does)."""
    meeting = delivery.meeting
    if meeting.status != Meeting.Status.BOOKED:
        return f"the meeting is {meeting.status}"
    if meeting.relationship.status not in CURRENT_STATUSES:
        return "the relationship has ended"
    if not delivery.recipient.is_active:
        return "the recipient's account is inactive"
    hours = reminder_hours(delivery.kind)
    if hours is not None:
        if now >= meeting.starts_at:
            return "the meeting has started (a reminder is never sent late)"
        if now < meeting.starts_at - datetime.timedelta(hours=hours):
            return "the meeting was moved later (it will be claimed again for the new time)"
        return ""
    if delivery.kind == LOG_NUDGE:
        if MeetingLog.objects.filter(meeting=meeting).exists():
            return "the meeting is logged"
        if now >= meeting.ends_at + NUDGE_MAX_AGE:
            return "the meeting is more than a week old"
        if delivery.recipient.nudge_emails != "each":
            return f"the recipient chose nudges: {delivery.recipient.nudge_emails}"
        return ""
    return f"unknown kind {delivery.kind!r}"


def _delivery_message(delivery: Delivery, now: datetime.datetime) -> EmailMultiAlternatives:
    recipient = delivery.recipient
    context = _meeting_context(delivery.meeting, recipient, now)
    name = "log_nudge" if delivery.kind == LOG_NUDGE else "reminder"
    return render_email(
        name,
        context,
        to=recipient.email,
        zone=zone_of(recipient),
        claim=f"delivery-{delivery.pk}",
    )


_DELIVERY_RELATED = (
    "meeting__relationship__program",
    "meeting__relationship__guide",
    "meeting__relationship__learner",
    "recipient__profile",
)
# What decides whether and what to send, re-read under the row lock: a claim loaded ahead (a
# batch is loaded in one query) that differs in any of these is loaded again.
_DECISIVE = (
    "meeting__status",
    "meeting__starts_at",
    "meeting__ends_at",
    "meeting__location",
    "meeting__video_link",
    "meeting__relationship__status",
    "recipient__is_active",
    "recipient__nudge_emails",
    "recipient__email",
)


def _decisive(delivery: Delivery) -> tuple:
    meeting, recipient = delivery.meeting, delivery.recipient
    return (
        meeting.status,
        meeting.starts_at,
        meeting.ends_at,
        meeting.location,
        meeting.video_link,
        meeting.relationship.status,
        recipient.is_active,
        recipient.nudge_emails,
        recipient.email,
    )


def _delivery_send(
    pk: int, mailer: Mailer, now: datetime.datetime | None, loaded: Delivery | None = None
) -> bool:
    """Send one claimed delivery if it is still unsent, unlocked and applies; True if sent.
    `loaded`: the claim as loaded ahead with its batch, used if it is still current.

    The row stays locked from the check to the COMMIT, with `sent_at` written before the send:
    see the module docstring for the one-COMMIT window this leaves."""
    with transaction.atomic():
        current = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=pk, sent_at__isnull=True, skipped=False)
            .values_list(*_DECISIVE)[:1]
        )
        if not current:
            return False  # sent, skipped, or being sent by another worker right now
        delivery = loaded
        if delivery is None or _decisive(delivery) != current[0]:
            delivery = Delivery.objects.select_related(*_DELIVERY_RELATED).get(pk=pk)
        at = now or timezone.now()
        reason = _why_not(delivery, at)
        if reason:
            delivery.skipped = True
            delivery.save(update_fields=["skipped"])
            logger.info("R11: delivery %s (%s) not sent: %s", pk, delivery.kind, reason)
            return False
        message = _delivery_message(delivery, at)
        delivery.sent_at = at
        delivery.save(update_fields=["sent_at"])
        mailer.send(message)
    return True


def deliveries_send(*, delivery_ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Send the claimed deliveries `delivery_ids` (R11), each in a transaction of its own;
    returns how many this call sent. Safe to run twice, or at the same time as the sweeper:
    a row already sent, skipped or locked by another sender is passed over."""
    delivery_ids = list(delivery_ids)
    # One query loads the batch; each send still locks and re-reads its own row.
    loaded = (
        Delivery.objects.select_related(*_DELIVERY_RELATED)
        .filter(sent_at__isnull=True, skipped=False)
        .in_bulk(delivery_ids)
    )

    def send(pk: int, mailer: Mailer, now: datetime.datetime | None) -> bool:
        return _delivery_send(pk, mailer, now, loaded.get(pk))

    return send_each(delivery_ids, send, now)


DELIVERIES = registry.register_table(
    registry.ClaimTable(
        name="sessions_log.delivery",
        model=Delivery,
        send=_delivery_send,
        stale_after=SWEEP_AFTER,
        kinds=("reminder", LOG_NUDGE),
    )
)


def deliveries_sweep(
    *,
    now: datetime.datetime | None = None,
    stale_after: datetime.timedelta = SWEEP_AFTER,
    limit: int = SWEEP_LIMIT,
) -> int:
    """Send again the claims (deliveries and digests) left unsent `stale_after` after they were
    claimed (longer after each further attempt): the outbox's sweep of these two tables."""
    tables = [DELIVERIES, registry.table("sessions_log.digest")]
    return engine.sweep(now=now, tables=tables, stale_after=stale_after, limit=limit)
