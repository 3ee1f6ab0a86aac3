"""The outbox's contract (R11), checked for every kind of email the product sends: claimed
twice, one claim; sent twice, one email; a send killed mid-way, sent once by the sweeper;
failing every time, given up after MAX_ATTEMPTS with an error logged, never sent.

Each case makes its email due, claims it with the claimer its app uses, and sends it with the
send function its app registered with notify (so the registry's wiring is tested too)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.models import User
from matching import emails as matching_emails
from matching.models import MatchRequest
from mentoring import agreement_reminders
from mentoring import services as mentoring_services
from mentoring.models import Relationship
from notify import engine, registry
from notify.invitations import KIND as INVITATION_KIND
from notify.outbox import email_queue
from sessions_log import calendar, digests, reminders, time_requests
from sessions_log.models import Meeting, TimeRequest
from surveys import delivery
from tests.surveys.survey_helpers import invite, open_campaign

NOON = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)  # a Monday
MIN = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.SITE_URL = "https://mentoring.school.test"
    settings.MEETING_REMINDER_HOURS = [24, 1]
    settings.MEETING_LOG_NUDGE_HOURS = 2


@pytest.fixture
def now():
    with time_machine.travel(NOON, tick=True):
        yield NOON


@dataclass(frozen=True)
class World:
    program: object
    learner: User
    mentor: User
    now: datetime.datetime

    def pair(self, **extra) -> Relationship:
        return mentoring_services.relationship_start(
            program=self.program, guide=self.mentor, learner=self.learner, **extra
        )

    def meeting(self, starts_at: datetime.datetime) -> Meeting:
        return Meeting.objects.create(
            relationship=self.pair(),
            starts_at=starts_at,
            ends_at=starts_at + 30 * MIN,
            location="Room 3.14",
        )


@dataclass(frozen=True)
class Case:
    """`due(world)` makes the email due and returns a claimer: `claim(now)` claims what is due
    and returns the ids of the claims it made, in the table named `table`."""

    table: str
    due: Callable[[World], Callable[[datetime.datetime], list[int]]]


def _meeting_reminder(world):
    world.meeting(world.now + 5 * HOUR)
    return lambda now: reminders.dispatch_due(now)


def _log_nudge(world):
    world.meeting(world.now - 3 * HOUR)
    return lambda now: reminders.dispatch_due(now)


def _nudge_digest(world):
    for person in (world.learner, world.mentor):
        User.objects.filter(pk=person.pk).update(nudge_emails="digest")
    world.meeting(world.now - 3 * HOUR)
    assert reminders.dispatch_due(world.now - 10 * MIN) == []  # the nudges, claimed skipped
    return lambda now: digests.digests_claim(now=now)


def _agreement_reminder(world):
    world.pair(started_on=timezone.localdate() - DAY * world.program.agreement_due_days)
    return lambda now: agreement_reminders.reminders_claim(now)


def _survey_email(world):
    campaign = open_campaign(world.program)
    invite(campaign, world.learner)
    invite(campaign, world.mentor)

    def claim(now):
        delivery.deliveries_claim(now=now)
        return delivery.emails_make(now=now)

    return claim


def _queued(queue):
    """A claimer for an outbox kind: the kind's own queueing function, run in a transaction
    like the service that calls it; the ids of the rows it queued."""

    def claim(now):
        ids = queue()
        return [pk for pk in (ids if isinstance(ids, list) else [ids]) if pk is not None]

    return claim


def _invitation_to_join(world):
    # Each press of "invite" is an email of its own (a fresh key); the same key twice is one.
    return _queued(
        lambda: email_queue(
            kind=INVITATION_KIND, key=f"{world.learner.pk}:fixed", recipient=world.learner
        )
    )


def _match_request(world):
    match_request = MatchRequest.objects.create(
        program=world.program,
        learner=world.learner,
        guide=world.mentor,
        message="Confidential hopes",
        expires_at=world.now + 3 * DAY,
    )
    return _queued(lambda: matching_emails.request_queue(match_request=match_request, event="sent"))


def _pairing_notice(world):
    pair = world.pair()
    return _queued(lambda: matching_emails.pairing_queue(relationship=pair))


def _calendar_invitation(world):
    meeting = world.meeting(world.now + 3 * DAY)
    return _queued(lambda: calendar.invitations_queue(meeting=meeting, event="booked"))


def _time_request_notice(world):
    request = TimeRequest.objects.create(relationship=world.pair(), message="Evenings")
    return _queued(lambda: time_requests.time_request_queue(request=request, event="asked"))


CASES = {
    "meeting-reminder": Case("sessions_log.delivery", _meeting_reminder),
    "log-nudge": Case("sessions_log.delivery", _log_nudge),
    "nudge-digest": Case("sessions_log.digest", _nudge_digest),
    "agreement-reminder": Case("mentoring.agreement_reminder", _agreement_reminder),
    "survey-email": Case("surveys.survey_email", _survey_email),
    "invitation-to-join": Case("notify.outbox", _invitation_to_join),
    "match-request": Case("notify.outbox", _match_request),
    "pairing-notice": Case("notify.outbox", _pairing_notice),
    "calendar-invitation": Case("notify.outbox", _calendar_invitation),
    "booking-time-request": Case("notify.outbox", _time_request_notice),
}


@pytest.fixture(params=sorted(CASES))
def case(request, program, learner, mentor, now):
    spec = CASES[request.param]
    claim = spec.due(World(program, learner, mentor, now))
    return spec, registry.table(spec.table), claim


def _send(table, ids, now) -> int:
    return engine.send_each(ids, table.send, now)


def _unsent(table):
    unsent = table.model.objects.filter(sent_at__isnull=True)
    return unsent.filter(skipped=False) if table.skippable else unsent


class MailServerDown(Exception):
    pass


def _broken(self, message):
    # The message was rendered and `sent_at` written in the open transaction; the mail server
    # fails (or the worker dies) before it takes the message: the transaction rolls back.
    raise MailServerDown("the connection dropped mid-send")


def test_every_email_kind_is_in_the_contract():
    """A kind registered with notify but missing here would escape the contract."""
    registered = {t.name for t in registry.tables()}
    assert registered == {case.table for case in CASES.values()}
    outbox_kinds = set(registry.kinds())
    assert outbox_kinds == {
        "invitation",
        "match-request",
        "pairing",
        "meeting-invitation",
        "meeting-time-request",
    }


def test_claimed_twice_is_one_claim(case, now):
    _, table, claim = case
    first = claim(now)
    assert first
    count = table.model.objects.count()
    assert claim(now) == []
    assert claim(now + MIN) == []
    assert table.model.objects.count() == count


def test_sent_twice_is_one_email(case, now):
    _, table, claim = case
    ids = claim(now)
    assert _send(table, ids, now) == len(ids)
    assert _send(table, ids, now) == 0
    assert len(mail.outbox) == len(ids)
    assert len({m.extra_headers["X-Mentoring-Claim"] for m in mail.outbox}) == len(ids)
    assert not _unsent(table).filter(pk__in=ids).exists()


def test_a_send_killed_midway_is_sent_once_by_the_sweeper(case, now, monkeypatch):
    _, table, claim = case
    ids = claim(now)
    with monkeypatch.context() as patch:
        patch.setattr(engine.Mailer, "send", _broken)
        assert _send(table, ids, now) == 0
    assert mail.outbox == []
    assert _unsent(table).filter(pk__in=ids).count() == len(ids)  # rolled back, not lost
    assert engine.sweep_table(table, now=now + MIN) == 0  # too early: may be on its way
    later = now + table.stale_after + MIN
    assert engine.sweep_table(table, now=later) == len(ids)
    assert engine.sweep_table(table, now=later + DAY) == 0
    assert _send(table, ids, later) == 0  # the lost task, delivered late, sends nothing
    assert len(mail.outbox) == len(ids)


def test_a_claim_failing_every_time_is_given_up_and_logged(case, now, monkeypatch, caplog):
    _, table, claim = case
    ids = claim(now)
    at = now
    with monkeypatch.context() as patch:
        patch.setattr(engine.Mailer, "send", _broken)
        assert _send(table, ids, at) == 0
        for attempt in range(2, engine.MAX_ATTEMPTS + 1):
            at += table.stale_after * 2 ** (attempt - 2) + MIN
            assert engine.sweep_table(table, now=at) == 0
        assert set(table.model.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {
            engine.MAX_ATTEMPTS
        }
        at += table.stale_after * 2 ** (engine.MAX_ATTEMPTS - 1) + MIN
        with caplog.at_level(logging.ERROR, logger="notify.engine"):
            assert engine.sweep_table(table, now=at) == 0
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == len(ids)
    # Given up is final: the mail server back, later sweeps pass the claims over.
    assert engine.sweep_table(table, now=at + 30 * DAY) == 0
    assert mail.outbox == []
    assert set(table.model.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {
        engine.MAX_ATTEMPTS + 1
    }


def test_outbox_rows_hold_ids_not_what_people_wrote(program, learner, mentor, now):
    """A row keeps ids and codes; the email is prepared from the database when it is sent, and
    the learner's message to the guide stays in the app."""
    claim = _match_request(World(program, learner, mentor, now))
    (pk,) = claim(now)
    row = registry.table("notify.outbox").model.objects.get(pk=pk)
    assert set(row.params) == {"request", "event"}
    assert "Confidential" not in str(row.params) and "Confidential" not in row.key
    assert _send(registry.table("notify.outbox"), [pk], now) == 1
    (message,) = mail.outbox
    assert "Confidential" not in message.body
    assert "Confidential" not in message.alternatives[0][0]
