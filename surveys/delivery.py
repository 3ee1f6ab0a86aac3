"""Survey invitation emails and reminders to non-responders, each sent exactly once (R11).

The same design as meeting reminders (sessions_log/reminders.py, whose docstring explains the
guarantees and the one crash window left), and its mail helpers (`Mailer`, `render_email`,
`send_each`) and sweeper steps (`claims_stale`, `claim_retake`) are reused as they are:

1. **Find** (`deliveries_claim`, each campaign run): an invitation of an open campaign with no
   "invitation" claim is due one; a non-responder whose invitation email went out is due
   reminder n (`reminder-n`) `reminder_days[n-1]` days after they were invited (the campaign's
   opening, or their later invitation in a monthly campaign), never at or after the closing
   time. When several reminders are due at once (a worker was down), only the latest is sent;
   the others are claimed skipped.
2. **Claim**: one `InvitationDelivery` row per (invitation, kind), inserted with INSERT ... ON
   CONFLICT DO NOTHING RETURNING: only the inserter sends, however many runs race. People who
   answered already or whose account is inactive are claimed skipped.
3. **Send** (`deliveries_send`): each claim in its own transaction holding the claim's row lock
   (FOR UPDATE SKIP LOCKED), re-checking that it still applies (campaign open, not answered,
   account active), writing `sent_at` before handing the message to the mail server, and
   committing after.
4. **Sweep** (`deliveries_sweep`, every five minutes): claims left unsent (a worker killed
   mid-send) are taken with SKIP LOCKED and sent again, waiting longer after each attempt, given
   up with an error after five.

The email holds the one-time link, the closing date and the survey's title; nothing about the
answers (there are none to tell) and no other person's name.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from sessions_log import reminders
from surveys.models import Campaign, Invitation, InvitationDelivery
from surveys.tokens import link_for

logger = logging.getLogger(__name__)

INVITATION = "invitation"
DAY = datetime.timedelta(days=1)
SEND_BATCH = reminders.SEND_BATCH
SWEEP_AFTER = reminders.SWEEP_AFTER
SWEEP_LIMIT = reminders.SWEEP_LIMIT


def reminder_kind(number: int) -> str:
    return f"reminder-{number}"


def reminder_number(kind: str) -> int | None:
    """ "reminder-2" -> 2; None for other kinds."""
    head, _, tail = kind.partition("-")
    return int(tail) if head == "reminder" and tail.isdigit() else None


def reminder_days(value) -> list[int]:
    """A campaign's reminder days as sorted positive whole numbers (anything else in the JSON
    is ignored rather than failing a run)."""
    days = set()
    for day in value if isinstance(value, list) else []:
        if isinstance(day, int) and not isinstance(day, bool) and 0 < day <= 365:
            days.add(day)
    return sorted(days)


# --- Find and claim ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Due:
    invitation_id: int
    kind: str
    skip: bool

    @property
    def key(self) -> tuple[int, str]:
        return (self.invitation_id, self.kind)


def _claim_of(kind: str, **extra):
    return InvitationDelivery.objects.filter(invitation=OuterRef("pk"), kind=kind, **extra)


def _due_invitations(now: datetime.datetime) -> list[_Due]:
    rows = (
        Invitation.objects.filter(
            campaign__status=Campaign.Status.OPEN, campaign__closes_at__gt=now
        )
        .filter(~Exists(_claim_of(INVITATION)))
        .values_list("pk", "has_responded", "person__is_active")
    )
    return [_Due(pk, INVITATION, skip=answered or not active) for pk, answered, active in rows]


def _due_reminders(now: datetime.datetime) -> list[_Due]:
    due: list[_Due] = []
    campaigns = (
        Campaign.objects.open_at(now)
        .exclude(reminder_days=[])
        .values_list("pk", "opens_at", "closes_at", "reminder_days")
    )
    for campaign_id, opens_at, closes_at, raw_days in campaigns:
        days = reminder_days(raw_days)
        if not days:
            continue
        first = days[0] * DAY
        candidates = (
            Invitation.objects.filter(
                campaign_id=campaign_id,
                has_responded=False,
                person__is_active=True,
                created_at__lte=now - first,
                created_at__lt=closes_at - first,
            )
            .filter(Exists(_claim_of(INVITATION, sent_at__isnull=False)))
            .exclude(Exists(_claim_of(reminder_kind(len(days)))))
        )
        rows = list(candidates.values_list("pk", "created_at"))
        if not rows:
            continue
        claimed: dict[int, set[int]] = defaultdict(set)
        for invitation_id, kind in InvitationDelivery.objects.filter(
            invitation__in=candidates, kind__startswith="reminder-"
        ).values_list("invitation_id", "kind"):
            number = reminder_number(kind)
            if number is not None:
                claimed[invitation_id].add(number)
        for invitation_id, created_at in rows:
            base = max(opens_at, created_at)
            numbers = [
                n
                for n, day in enumerate(days, start=1)
                if base + day * DAY <= now and base + day * DAY < closes_at
            ]
            if not numbers or max(claimed[invitation_id], default=0) >= numbers[-1]:
                continue
            for number in numbers:
                if number not in claimed[invitation_id]:
                    due.append(
                        _Due(invitation_id, reminder_kind(number), skip=number != numbers[-1])
                    )
    return due


def _insert_claims(due: list[_Due], now: datetime.datetime) -> list[tuple[int, bool]]:
    """Insert claim rows ON CONFLICT DO NOTHING; returns (id, skipped) of the rows this call
    inserted, its claims (as sessions_log.reminders._insert_claims; PostgreSQL and SQLite)."""
    if not due:
        return []
    meta = InvitationDelivery._meta
    quote = connection.ops.quote_name
    columns = [
        meta.get_field(name).column
        for name in ("invitation", "kind", "claimed_at", "attempts", "skipped")
    ]
    conflict = ", ".join(quote(meta.get_field(n).column) for n in ("invitation", "kind"))
    claimed_at = connection.ops.adapt_datetimefield_value(now)
    claimed: list[tuple[int, bool]] = []
    for start in range(0, len(due), 1000):
        chunk = due[start : start + 1000]
        params: list = []
        for d in chunk:
            params += [d.invitation_id, d.kind, claimed_at, 1, d.skip]
        # Only quoted names from the model's metadata and placeholders; values are parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) "  # noqa: S608
            f"VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(chunk))} "
            f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {quote(meta.pk.column)}, "
            f"{quote(meta.get_field('skipped').column)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            claimed += [(pk, bool(skipped)) for pk, skipped in cursor.fetchall()]
    return claimed


def deliveries_claim(*, now: datetime.datetime | None = None) -> list[int]:
    """Claim every invitation email and reminder due at `now` (R11); returns the ids of the
    claims this call made that are to be sent, and only those: a second run at the same time,
    or later, gets none of the same."""
    now = now or timezone.now()
    due = _due_invitations(now) + _due_reminders(now)
    if not due:
        return []
    with transaction.atomic():
        # One order for every claimer: two inserting the same rows in different orders could
        # deadlock; in the same order the second waits, then conflicts on each.
        claimed = _insert_claims(sorted(due, key=lambda d: d.key), now)
    to_send = [pk for pk, skipped in claimed if not skipped]
    if claimed:
        logger.info("R11: claimed %d survey emails, %d to send", len(claimed), len(to_send))
    return to_send


# --- Send --------------------------------------------------------------------------------------

_RELATED = ("invitation__campaign__program", "invitation__person__profile")


def _why_not(delivery: InvitationDelivery, now: datetime.datetime) -> str:
    """Why this claimed email no longer applies at `now` (empty: it does)."""
    invitation = delivery.invitation
    if not invitation.campaign.is_open_at(now):
        return "the campaign is closed"
    if invitation.has_responded:
        return "already answered"
    if not invitation.person.is_active:
        return "the recipient's account is inactive"
    if delivery.kind != INVITATION and reminder_number(delivery.kind) is None:
        return f"unknown kind {delivery.kind!r}"
    return ""


def _message(delivery: InvitationDelivery, now: datetime.datetime):
    invitation = delivery.invitation
    person, campaign = invitation.person, invitation.campaign
    zone = reminders.recipient_zone(person)
    context = {
        "recipient": person,
        "campaign": campaign,
        "program": campaign.program,
        "link": link_for(invitation),
        "closes_at": campaign.closes_at,
        "zone_name": str(zone),
        "named_follow_up": campaign.named_follow_up,
    }
    name = "survey_invitation" if delivery.kind == INVITATION else "survey_reminder"
    return reminders.render_email(
        name, context, to=person.email, zone=zone, claim=f"survey-delivery-{delivery.pk}"
    )


def _delivery_send(pk: int, mailer: reminders.Mailer, now: datetime.datetime | None) -> bool:
    """Send one claimed email if it is still unsent, unlocked and applies; True if sent. The
    row stays locked from the check to the COMMIT, with `sent_at` written before the send."""
    with transaction.atomic():
        delivery = (
            InvitationDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related(*_RELATED)
            .filter(pk=pk, sent_at__isnull=True, skipped=False)
            .first()
        )
        if delivery is None:
            return False  # sent, skipped, or being sent by another worker right now
        at = now or timezone.now()
        reason = _why_not(delivery, at)
        if reason:
            delivery.skipped = True
            delivery.save(update_fields=["skipped"])
            logger.info("R11: survey email %s (%s) not sent: %s", pk, delivery.kind, reason)
            return False
        message = _message(delivery, at)
        delivery.sent_at = at
        delivery.save(update_fields=["sent_at"])
        mailer.send(message)
    return True


def deliveries_send(*, delivery_ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Send the claimed emails `delivery_ids`, each in a transaction of its own; returns how
    many this call sent. Safe to run twice, or beside the sweeper."""
    return reminders.send_each(list(delivery_ids), _delivery_send, now)


def deliveries_sweep(
    *,
    now: datetime.datetime | None = None,
    stale_after: datetime.timedelta = SWEEP_AFTER,
    limit: int = SWEEP_LIMIT,
) -> int:
    """Send again the claims left unsent `stale_after` after they were claimed (longer after
    each further attempt): their worker was killed mid-send or their task was lost. Two
    sweepers never send the same claim; one being sent right now is locked, so passed over.
    Returns how many were sent."""
    given_now = now
    now = now or timezone.now()
    stale = reminders.claims_stale(now, stale_after)
    pks = list(
        InvitationDelivery.objects.filter(stale)
        .order_by("claimed_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = reminders.send_each(
        pks,
        _delivery_send,
        given_now,
        retake=lambda pk: reminders.claim_retake(InvitationDelivery, pk, stale, now),
    )
    if sent:
        logger.warning("R11: the sweeper sent %d survey emails left unsent", sent)
    return sent
