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
3. **Send** (`deliveries_send`, in a worker, a batch per task): each claim in a transaction of
   its own that locks the row (SELECT ... FOR UPDATE SKIP LOCKED), re-checks that the message
   still applies, writes `sent_at`, hands the message to the mail server and commits. A
   duplicate task finds the row sent, or locked (someone is sending it right now) and moves on.
4. **Sweep** (`deliveries_sweep`, every five minutes): a claim still unsent SWEEP_AFTER after it
   was claimed (its worker was killed mid-send, or its task was lost) is taken with FOR UPDATE
   SKIP LOCKED, so two sweepers never take the same one, and sent again, waiting twice as long
   after each failed attempt; after MAX_ATTEMPTS it is given up and logged as an error.

Exactly once, and the honest exception: a worker killed before the mail server accepted the
message rolls its transaction back (the database drops a dead client's transaction), so the
claim stays unsent and the sweeper sends it: once in the end. A worker killed *after* the mail
server accepted it but before its COMMIT reached the database also rolls back, and that message
is sent twice. `sent_at` is written before the send, so that window is the COMMIT alone (one
round trip); no scheme can close it without a mail server that takes idempotency keys.

Weekly digests (`sessions_log/digests.py`) follow the same claim, send and sweep, with a
`NudgeDigest` row unique per person and week.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.times import zone_of
from mentoring.models.relationships import CURRENT_STATUSES, GUIDE_NOUN, LEARNER_NOUN
from sessions_log.models import Delivery, Meeting, MeetingLog, NudgeDigest

logger = logging.getLogger(__name__)

LOG_NUDGE = "log-nudge"
NUDGE_MAX_AGE = datetime.timedelta(days=7)  # no nudge for a meeting older than this
SWEEP_AFTER = datetime.timedelta(minutes=3)  # a claim unsent this long is taken as lost
MAX_ATTEMPTS = 5  # the first send and four sweeps; then an error is logged
SWEEP_LIMIT = 500  # claims per sweep: one run stays well inside the task time limit
SEND_BATCH = 100  # claims per send task
FAILURES_IN_A_ROW = 3  # failed sends in a row that stop a batch: the mail server is down


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


def claims_insert(
    model: type[models.Model],
    fields: tuple[str, ...],
    rows: list[tuple],
    *,
    conflict: tuple[str, ...],
    returning: str | None = None,
) -> list[tuple]:
    """INSERT `rows` (values of `fields`) into `model`'s table ON CONFLICT (`conflict`) DO
    NOTHING; returns (id,) or (id, `returning`) of each row this call inserted: its claims
    (R11). bulk_create(ignore_conflicts=True) cannot say which rows were inserted, and only the
    inserter may send. Shared by the R11 claimers of meetings, surveys and agreements."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    target = ", ".join(quote(meta.get_field(name).column) for name in conflict)
    back = quote(meta.pk.column)
    if returning:
        back += ", " + quote(meta.get_field(returning).column)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: list[tuple] = []
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        # Only quoted names from the model's metadata and placeholders; values are parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES {', '.join([placeholders] * len(chunk))} "
            f"ON CONFLICT ({target}) DO NOTHING RETURNING {back}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])
            inserted += [tuple(row) for row in cursor.fetchall()]
    return inserted


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


class Mailer:
    """One mail connection for a batch, opened at the first message (none if nothing is sent)."""

    def __init__(self) -> None:
        self.connection = None

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.connection is None:
            self.connection = get_connection()
            self.connection.open()
        message.connection = self.connection
        message.send()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# The person's time zone from their profile (UTC without one): the one helper of the app.
recipient_zone = zone_of


def meeting_url(meeting: Meeting) -> str:
    """The absolute URL of the meeting's page."""
    return settings.SITE_URL + reverse("meetings:meeting", kwargs={"code": meeting.code})


def render_email(
    name: str, context: dict, *, to: str, zone: ZoneInfo, claim: str
) -> EmailMultiAlternatives:
    """The house email: templates/emails/<name>_subject.txt, _body.txt and _body.html, with
    dates shown in the recipient's time zone. The X-Mentoring-Claim header names the claim row
    (an operator can trace a message, or a bounce, to it)."""
    with timezone.override(zone):
        subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string(f"emails/{name}_body.txt", context),
            to=[to],
            headers={"X-Mentoring-Claim": claim},
        )
        message.attach_alternative(
            render_to_string(f"emails/{name}_body.html", context), "text/html"
        )
    return message


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
    zone = recipient_zone(recipient)
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
        zone=recipient_zone(recipient),
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


def send_each(pks: Iterable[int], send, now: datetime.datetime | None, retake=None) -> int:
    """Send the claims `pks` with `send`, over one mail connection; returns how many were sent.
    A failed send is logged and the next claim tried (its own claim stays unsent, for the
    sweeper), until FAILURES_IN_A_ROW fail in a row: the mail server is down, and the rest wait
    for the sweeper rather than each waiting out a timeout. `retake`, when given, must take
    each claim first (the sweeper's attempt count)."""
    mailer = Mailer()
    sent = failures = 0
    try:
        for pk in pks:
            if retake is not None and not retake(pk):
                continue
            try:
                sent += send(pk, mailer, now)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                logger.exception("R11: sending claim %s failed; it stays unsent", pk)
                mailer.close()  # a connection that failed is not reused
                failures += 1
                if failures >= FAILURES_IN_A_ROW:
                    logger.error("R11: %d sends failed in a row; the rest wait", failures)
                    break
            else:
                failures = 0
    finally:
        mailer.close()
    return sent


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


# --- Sweep ---------------------------------------------------------------------------------


def claims_stale(
    now: datetime.datetime, stale_after: datetime.timedelta, *, skippable: bool = True
) -> Q:
    """Unsent claims whose last attempt is old enough for another: `stale_after` after the
    first, then twice as long after each further attempt (3, 6, 12, 24 minutes, then given up
    after 48 more), so a mail server down for an hour does not use up every attempt. Claims
    of a `skippable` model (it has a `skipped` flag) that were claimed skipped are never sent.
    Shared by every R11 sweeper (meetings, surveys, agreements)."""
    condition = Q()
    for attempts in range(1, MAX_ATTEMPTS + 1):
        condition |= Q(attempts=attempts, claimed_at__lte=now - stale_after * 2 ** (attempts - 1))
    unsent = Q(sent_at__isnull=True, skipped=False) if skippable else Q(sent_at__isnull=True)
    return unsent & condition


def claim_retake(
    model: type[models.Model],
    pk: int,
    stale: Q,
    now: datetime.datetime,
    *,
    given_up: dict | None = None,
) -> bool:
    """Take a stale unsent claim for one more attempt (R11): lock it (SKIP LOCKED: a row being
    sent, or taken by another sweeper, is not ours), count the attempt and move `claimed_at` to
    now, committed before the send, so a crash mid-send still counts and the next attempt
    waits its turn. After MAX_ATTEMPTS the claim is given up: an error is logged, once, and
    `attempts` is set past MAX_ATTEMPTS, which the sweeper passes over (with the `given_up`
    field values, if the model records more)."""
    with transaction.atomic():
        row = model.objects.select_for_update(skip_locked=True).filter(stale, pk=pk).first()
        if row is None:
            return False
        if row.attempts >= MAX_ATTEMPTS:
            logger.error(
                "R11: gave up on %s %s after %d attempts: never sent",
                model._meta.model_name,
                pk,
                row.attempts,
            )
            row.attempts = MAX_ATTEMPTS + 1
            for name, value in (given_up or {}).items():
                setattr(row, name, value)
            row.save(update_fields=["attempts", *(given_up or {})])
            return False
        row.attempts += 1
        row.claimed_at = now
        row.save(update_fields=["attempts", "claimed_at"])
    return True


def deliveries_sweep(
    *,
    now: datetime.datetime | None = None,
    stale_after: datetime.timedelta = SWEEP_AFTER,
    limit: int = SWEEP_LIMIT,
) -> int:
    """Send again the claims (deliveries and digests) left unsent `stale_after` after they were
    claimed (longer after each further attempt, see `claims_stale`): their worker was killed
    mid-send or their task was lost (R11). Two sweepers never send the same claim (FOR UPDATE
    SKIP LOCKED), and a claim a worker is sending right now is locked, so passed over. Returns
    how many were sent."""
    from sessions_log.digests import digest_send  # digests build on this module

    given_now = now
    now = now or timezone.now()
    stale = claims_stale(now, stale_after)
    sent = 0
    for model, send in ((Delivery, _delivery_send), (NudgeDigest, digest_send)):
        pks = list(
            model.objects.filter(stale).order_by("claimed_at").values_list("pk", flat=True)[:limit]
        )
        sent += send_each(
            pks,
            send,
            given_now,
            retake=lambda pk, model=model: claim_retake(model, pk, stale, now),
        )
    if sent:
        logger.warning("R11: the sweeper sent %d claims left unsent", sent)
    return sent
