"""Survey invitation emails and reminders to non-responders, each sent exactly once (R11), and
never more than one survey email to a person on one day.

The claim, send and sweep machinery is the one outbox's (notify/engine.py, whose docstring
explains the guarantees and the one crash window left); this module says what is due, how a
day's claims become one email, and what it says:

1. **Find** (`deliveries_claim`, each campaign run): an invitation of an open campaign with no
   "invitation" claim is due one; a non-responder whose invitation email went out is due
   reminder n (`reminder-n`) `reminder_days[n-1]` days after they were invited (the campaign's
   opening, or their later invitation in a monthly campaign), never at or after the closing
   time. When several reminders are due at once (a worker was down), only the latest is sent;
   the others are claimed skipped.
2. **Claim**: one `InvitationDelivery` row per (invitation, kind), inserted with INSERT ... ON
   CONFLICT DO NOTHING RETURNING: only the inserter sends, however many runs race. People who
   answered already or whose account is inactive are claimed skipped.
3. **Gather** (`emails_make`, each campaign run after the claims): the claims waiting for a
   person go into that person's `SurveyEmail` of the day (their own time zone's day), one row
   per person and day inserted the same way, so two runs make it once. Someone who has had
   their survey email today keeps the rest waiting until tomorrow: survey fatigue lowers
   response rates, and response rates are what the dashboards report. A claim that no longer
   applies (answered, closed, account inactive) is skipped, and of two reminders of the same
   invitation waiting (the later one fell due while the first waited) only the later is sent.
4. **Send** (`emails_send`): each email in its own transaction holding its row lock (FOR UPDATE
   SKIP LOCKED) and its claims' row locks, re-checking each claim (campaign open, not
   answered, account active), writing `sent_at` on the email and its claims before handing
   one message, listing each survey with its own one-time link, to the mail server, and
   committing after. An email whose every claim fell away is skipped, not sent.
5. **Sweep** (the outbox's sweeper, `notify.tasks.sweep`, every minute): emails left unsent
   (a worker killed mid-send) are taken with SKIP LOCKED and sent again, waiting longer
   after each attempt, given up with an error after five. Claims left waiting (a run killed
   between 2 and 3) are gathered by the next campaign run.

The email holds the one-time links, the closing dates and the surveys' titles; nothing about
the answers (there are none to tell) and no other person's name.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.times import zone_named, zone_of
from notify import engine, registry
from notify.engine import Mailer, claims_insert, send_each
from notify.render import render_email
from surveys.models import Campaign, Invitation, InvitationDelivery, SurveyEmail
from surveys.tokens import link_for

logger = logging.getLogger(__name__)

INVITATION = "invitation"
DAY = datetime.timedelta(days=1)
SEND_BATCH = engine.SEND_BATCH
SWEEP_AFTER = datetime.timedelta(minutes=3)  # an email unsent this long is taken as lost
SWEEP_LIMIT = engine.SWEEP_LIMIT


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
    """Insert claim rows; returns (id, skipped) of the rows this call inserted, its claims."""
    inserted = claims_insert(
        InvitationDelivery,
        ("invitation", "kind", "claimed_at", "attempts", "skipped"),
        [(d.invitation_id, d.kind, now, 1, d.skip) for d in due],
        conflict=("invitation", "kind"),
        returning="skipped",
    )
    return [(pk, bool(skipped)) for pk, skipped in inserted]


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


# --- Gather: one email a person a day ------------------------------------------------------------


def _why_not(*, campaign_open: bool, answered: bool, active: bool, kind: str) -> str:
    """Why a claimed email no longer applies (empty: it does)."""
    if not campaign_open:
        return "the campaign is closed"
    if answered:
        return "already answered"
    if not active:
        return "the recipient's account is inactive"
    if kind != INVITATION and reminder_number(kind) is None:
        return f"unknown kind {kind!r}"
    return ""


def _waiting() -> QuerySet[InvitationDelivery]:
    """Claims to send that are in no email yet."""
    return InvitationDelivery.objects.filter(
        sent_at__isnull=True, skipped=False, email__isnull=True
    )


def _claims_attach(pairs: list[tuple[int, int]]) -> list[int]:
    """Put each waiting claim of `pairs` (claim id, email id) into its email, in one UPDATE
    whatever their number (an end of term makes thousands); a claim taken meanwhile is left
    as it is. Returns the ids of the emails that received a claim, in order."""
    if not pairs:
        return []
    table = InvitationDelivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {connection.ops.quote_name(table)} AS d SET email_id = m.email "  # noqa: S608
            "FROM unnest(%s::bigint[], %s::bigint[]) AS m(claim, email) "
            "WHERE d.id = m.claim AND d.email_id IS NULL AND d.sent_at IS NULL "
            "AND NOT d.skipped RETURNING d.email_id",
            [[claim for claim, _ in pairs], [email for _, email in pairs]],
        )
        return list(dict.fromkeys(row[0] for row in cursor.fetchall()))


def emails_make(*, now: datetime.datetime | None = None) -> list[int]:
    """Gather the claims waiting to be sent into each person's survey email of the day (R11:
    one survey email a person a day, the day in their own time zone); returns the ids of the
    emails this call made, to send (`emails_send`). A person who has had today's email keeps
    their claims waiting until tomorrow. Safe to run twice or at the same time as itself: the
    email row is unique per person and day, and a claim goes into one email only."""
    now = now or timezone.now()
    rows = _waiting().values_list(
        "pk",
        "kind",
        "invitation_id",
        "invitation__person_id",
        "invitation__person__is_active",
        "invitation__person__profile__timezone",
        "invitation__has_responded",
        "invitation__campaign__status",
        "invitation__campaign__closes_at",
    )
    skip: list[int] = []
    # The claim to send for each invitation: the latest reminder beats an earlier one.
    latest: dict[int, tuple[int, int, int, datetime.date]] = {}
    for pk, kind, invitation_id, person_id, active, zone, answered, status, closes_at in rows:
        reason = _why_not(
            campaign_open=status == Campaign.Status.OPEN and now < closes_at,
            answered=answered,
            active=active,
            kind=kind,
        )
        if reason:
            logger.info("R11: survey email claim %s (%s) not sent: %s", pk, kind, reason)
            skip.append(pk)
            continue
        rank = reminder_number(kind) or 0
        day = timezone.localdate(now, zone_named(zone))
        held = latest.get(invitation_id)
        if held is not None and held[1] >= rank:
            skip.append(pk)  # an earlier reminder than the one held
            continue
        if held is not None:
            skip.append(held[0])
        latest[invitation_id] = (pk, rank, person_id, day)
    # Every claim of a person has the same day (one zone, one `now`).
    days: dict[int, datetime.date] = {}
    claims: dict[int, list[int]] = defaultdict(list)
    for pk, _, person_id, day in latest.values():
        days[person_id] = day
        claims[person_id].append(pk)
    already = set(
        SurveyEmail.objects.filter(person_id__in=days, day__in=set(days.values())).values_list(
            "person_id", "day"
        )
    )
    with transaction.atomic():
        if skip:
            _waiting().filter(pk__in=skip).update(skipped=True)
        # One order for every run: two inserting the same rows in different orders could
        # deadlock; in the same order the second waits, then conflicts on each.
        new = sorted((person, day) for person, day in days.items() if (person, day) not in already)
        inserted = claims_insert(
            SurveyEmail,
            ("person", "day", "claimed_at", "attempts", "skipped"),
            [(person, day, now, 1, False) for person, day in new],
            conflict=("person", "day"),
            returning="person",
        )
        made = _claims_attach(
            [(pk, email_id) for email_id, person_id in inserted for pk in claims[person_id]]
        )
        # An email left empty (its claims taken into another one meanwhile, by a run at the
        # same time on the other side of midnight) is removed.
        SurveyEmail.objects.filter(pk__in={pk for pk, _ in inserted} - set(made)).delete()
    if made or skip:
        logger.info("R11: made %d survey emails, %d claims skipped", len(made), len(skip))
    return made


# --- Send --------------------------------------------------------------------------------------

_RELATED = ("invitation__campaign__program",)


def _item(delivery: InvitationDelivery) -> dict:
    """One survey of an email: its title, program, link and closing time."""
    invitation = delivery.invitation
    campaign = invitation.campaign
    return {
        "campaign": campaign,
        "program": campaign.program,
        "link": link_for(invitation),
        "closes_at": campaign.closes_at,
        "named_follow_up": campaign.named_follow_up,
        "reminder": delivery.kind != INVITATION,
    }


def _message(email: SurveyEmail, deliveries: list[InvitationDelivery]):
    """One email for the person: the invitation or reminder wording when it holds one survey,
    a list of the surveys, each with its own link, when it holds several."""
    person = email.person
    zone = zone_of(person)
    items = [_item(d) for d in deliveries]
    context = {"recipient": person, "zone_name": str(zone), "items": items, **items[0]}
    if len(items) > 1:
        name = "surveys_due"
    else:
        name = "survey_reminder" if items[0]["reminder"] else "survey_invitation"
    return render_email(name, context, to=person.email, zone=zone, claim=f"survey-email-{email.pk}")


def _email_send(pk: int, mailer: Mailer, now: datetime.datetime | None) -> bool:
    """Send one survey email if it is still unsent, unlocked and holds a claim that applies;
    True if sent. Its row and its claims' rows stay locked from the check to the COMMIT, with
    `sent_at` written before the send."""
    with transaction.atomic():
        email = (
            SurveyEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("person__profile")
            .filter(pk=pk, sent_at__isnull=True, skipped=False)
            .first()
        )
        if email is None:
            return False  # sent, skipped, or being sent by another worker right now
        at = now or timezone.now()
        deliveries = list(
            email.deliveries.select_for_update(of=("self",))
            .select_related(*_RELATED)
            .filter(sent_at__isnull=True, skipped=False)
            .order_by("invitation__campaign__closes_at", "pk")
        )
        keep, skip = [], []
        for delivery in deliveries:
            invitation = delivery.invitation
            reason = _why_not(
                campaign_open=invitation.campaign.is_open_at(at),
                answered=invitation.has_responded,
                active=email.person.is_active,
                kind=delivery.kind,
            )
            if reason:
                logger.info("R11: survey email claim %s not sent: %s", delivery.pk, reason)
                skip.append(delivery.pk)
            else:
                keep.append(delivery)
        if skip:
            InvitationDelivery.objects.filter(pk__in=skip).update(skipped=True)
        if not keep:
            email.skipped = True
            email.save(update_fields=["skipped"])
            return False
        message = _message(email, keep)
        email.sent_at = at
        email.save(update_fields=["sent_at"])
        InvitationDelivery.objects.filter(pk__in=[d.pk for d in keep]).update(sent_at=at)
        mailer.send(message)
    return True


def emails_send(*, email_ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Send the survey emails `email_ids`, each in a transaction of its own; returns how many
    this call sent. Safe to run twice, or beside the sweeper."""
    return send_each(list(email_ids), _email_send, now)


EMAILS = registry.register_table(
    registry.ClaimTable(
        name="surveys.survey_email",
        model=SurveyEmail,
        send=_email_send,
        stale_after=SWEEP_AFTER,
        kinds=("survey-invitation", "survey-reminder"),
    )
)


def deliveries_sweep(
    *,
    now: datetime.datetime | None = None,
    stale_after: datetime.timedelta = SWEEP_AFTER,
    limit: int = SWEEP_LIMIT,
) -> int:
    """Send again the survey emails left unsent `stale_after` after they were made (longer
    after each further attempt): the outbox's sweep of this table. Returns how many were
    sent."""
    return engine.sweep(now=now, tables=[EMAILS], stale_after=stale_after, limit=limit)
