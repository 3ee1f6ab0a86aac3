"""Weekly digests of "log this meeting" nudges, for people who chose `nudge_emails = "digest"`
(R11: each sent once).

The nudges themselves are claimed by `reminders.dispatch_due`, skipped for these people. Once a
week (`send_nudge_digests`), `digests_claim` claims one `NudgeDigest` per person who has
gathered nudges of meetings still to log, unique per person and week, so a second beat or a
duplicated task claims nothing; `digests_send` sends each claim as `reminders.deliveries_send`
does (row lock, `sent_at` written before the send, committed after); the outbox's
sweeper (notify) sends claims left unsent. A digest covers the nudges claimed in
[covers_from, covers_until): each starts where the person's previous one ended, so every
gathered nudge is in exactly one digest, even after a missed week.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse
from django.utils import timezone

from accounts.times import zone_of
from notify import registry
from notify.engine import Mailer, send_each
from notify.render import render_email
from sessions_log import reminders
from sessions_log.models import Delivery, Meeting, MeetingLog, NudgeDigest

LOOKBACK = datetime.timedelta(days=14)  # a first digest reaches back this far
# A nudge claimed in a transaction still open when the digest is claimed must not fall between
# two digests: a digest covers nudges claimed up to this long before its own claim.
SETTLE = datetime.timedelta(minutes=1)


def digest_items(digest: NudgeDigest) -> list[Meeting]:
    """The meetings still to log whose nudges the digest covers, oldest first."""
    nudged = Delivery.objects.filter(
        meeting=OuterRef("pk"),
        kind=reminders.LOG_NUDGE,
        recipient_id=digest.recipient_id,
        skipped=True,
        claimed_at__gte=digest.covers_from,
        claimed_at__lt=digest.covers_until,
    )
    return list(
        reminders.live_meetings()
        .filter(Exists(nudged))
        .filter(~Exists(MeetingLog.objects.filter(meeting=OuterRef("pk"))))
        .select_related("relationship__guide", "relationship__learner", "relationship__program")
        .order_by("starts_at")
    )


def digests_claim(*, now: datetime.datetime | None = None) -> list[int]:
    """Claim this week's digest (R11: one per person per week) for each active person who
    chose "digest" and has nudges gathered since their previous digest (at most
    LOOKBACK back) for meetings still to log; returns the ids of the claims made."""
    now = now or timezone.now()
    until = now - SETTLE
    week = (until - datetime.timedelta(days=until.weekday())).date()
    gathered = (
        Delivery.objects.filter(
            kind=reminders.LOG_NUDGE,
            skipped=True,
            claimed_at__lt=until,
            claimed_at__gte=until - LOOKBACK,
            recipient__nudge_emails="digest",
            recipient__is_active=True,
        )
        .filter(meeting__in=reminders.live_meetings())
        .filter(~Exists(MeetingLog.objects.filter(meeting=OuterRef("meeting"))))
        .values("recipient_id")
        .annotate(latest=Max("claimed_at"))
    )
    latest = {row["recipient_id"]: row["latest"] for row in gathered}
    previous = dict(
        NudgeDigest.objects.filter(recipient_id__in=latest)
        .values("recipient_id")
        .annotate(until=Max("covers_until"))
        .values_list("recipient_id", "until")
    )
    claimed = []
    for recipient_id, last_nudge in latest.items():
        since = max(previous.get(recipient_id) or until - LOOKBACK, until - LOOKBACK)
        if last_nudge < since or since >= until:
            continue  # everything gathered is in an earlier digest
        with transaction.atomic():
            digest, created = NudgeDigest.objects.get_or_create(
                recipient_id=recipient_id,
                week=week,
                defaults={"covers_from": since, "covers_until": until, "claimed_at": now},
            )
        if created:
            claimed.append(digest.pk)
    return claimed


def digest_send(pk: int, mailer: Mailer, now: datetime.datetime | None) -> bool:
    """Send one claimed digest if still unsent and unlocked (a row lock held to the COMMIT,
    `sent_at` written before the send, as for a reminder); True if sent."""
    with transaction.atomic():
        digest = (
            NudgeDigest.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient__profile")
            .filter(pk=pk, sent_at__isnull=True, skipped=False)
            .first()
        )
        if digest is None:
            return False
        recipient = digest.recipient
        meetings = digest_items(digest)
        if not meetings or not recipient.is_active or recipient.nudge_emails != "digest":
            digest.skipped = True
            digest.save(update_fields=["skipped"])
            return False
        at = now or timezone.now()
        zone = zone_of(recipient)
        items = []
        for meeting in meetings:
            relationship = meeting.relationship
            is_guide = recipient.pk == relationship.guide_id
            items.append(
                {
                    "meeting": meeting,
                    "other": relationship.learner if is_guide else relationship.guide,
                    "program": relationship.program,
                    "meeting_url": reminders.meeting_url(meeting),
                }
            )
        context = {
            "recipient": recipient,
            "items": items,
            "zone_name": str(zone),
            "profile_url": settings.SITE_URL + reverse("accounts:profile"),
        }
        message = render_email(
            "nudge_digest", context, to=recipient.email, zone=zone, claim=f"digest-{digest.pk}"
        )
        digest.sent_at = at
        digest.save(update_fields=["sent_at"])
        mailer.send(message)
    return True


def digests_send(*, digest_ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Send the claimed digests `digest_ids` (R11, as `reminders.deliveries_send`); returns
    how many were sent."""
    return send_each(digest_ids, digest_send, now)


DIGESTS = registry.register_table(
    registry.ClaimTable(
        name="sessions_log.digest",
        model=NudgeDigest,
        send=digest_send,
        stale_after=reminders.SWEEP_AFTER,
        kinds=("nudge-digest",),
    )
)
