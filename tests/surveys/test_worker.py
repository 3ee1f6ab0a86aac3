"""Exactly once with real Celery workers on Redis (R11): survey invitations sent by duplicated
campaign runs, one email a person a day (a person with two surveys due gets one email with
both links), with the sending worker killed with SIGKILL mid-send, then the sweeper; and a
prefork pool process killed mid-send whose task is redelivered. The approach (and the
`Workers` harness) is the meeting reminders' (tests/sessions_log/test_reminders.py)."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from django.utils import timezone

from config.celery import app as celery_app
from surveys.models import Campaign, Invitation, InvitationDelivery, SurveyEmail
from surveys.tasks import run_campaigns, sweep_deliveries
from surveys.tokens import invitation_for_token
from tests.factories import UserFactory
from tests.sessions_log.test_reminders import Workers
from tests.surveys.survey_helpers import DAY, invite, open_campaign

pytestmark = pytest.mark.worker


@pytest.fixture
def workers(transactional_db, tmp_path):
    assert celery_app.conf.broker_url.startswith("redis://"), "set REDIS_URL"
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.kill_all()


def _invitations(program, count: int) -> list[Invitation]:
    campaign = open_campaign(program, reminder_days=[])
    return [invite(campaign, UserFactory()) for _ in range(count)]


def _assert_each_person_emailed_exactly_once(workers: Workers, invitations) -> None:
    """Every invitation's claim sent, each person one message, which carries the one-time link
    of each of their invitations and of nobody else's."""
    due = InvitationDelivery.objects.filter(skipped=False)
    assert due.count() == len(invitations)
    assert not due.filter(sent_at__isnull=True).exists(), workers.logs()
    people = {i.person.email for i in invitations}
    messages = workers.messages()
    claims = [m["X-Mentoring-Claim"] for m in messages]
    assert len(messages) == len(people), sorted(claims)
    sent = SurveyEmail.objects.filter(sent_at__isnull=False).values_list("pk", flat=True)
    assert sorted(claims) == sorted(f"survey-email-{pk}" for pk in sent)
    assert sorted(m["To"] for m in messages) == sorted(people)
    for message in messages:
        body = next(
            part.get_payload(decode=True).decode()
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        )
        linked = {
            invitation_for_token(token).pk
            for token in re.findall(r"/surveys/answer/([^/\s]+)/", body)
        }
        assert linked == {i.pk for i in invitations if i.person.email == message["To"]}


def test_duplicated_runs_and_a_worker_killed_mid_send_email_each_invitation_once(program, workers):
    """Two workers run the campaign task at once; the one sending is killed with SIGKILL in the
    middle of a send (after the claim, before the message is written); a worker is started
    again and the sweeper runs: every invitation is emailed exactly once, and nobody who
    answered already or whose campaign closed is emailed."""
    invitations = _invitations(program, 8)
    # Three of them have a wellbeing survey due the same day too: one email each, both links.
    wellbeing = open_campaign(program, "wellbeing", reminder_days=[])
    invitations += [invite(wellbeing, i.person) for i in invitations[5:]]
    answered = invite(invitations[0].campaign, UserFactory())
    Invitation.objects.filter(pk=answered.pk).update(has_responded=True)
    closed = open_campaign(program, "guide_end", status=Campaign.Status.CLOSED)
    invite(closed, UserFactory())

    stall = {"STALL_MAIL_DIR": str(workers.stall_dir), "STALL_MAIL_AFTER": "3"}
    first, second = workers.start(**stall), workers.start(**stall)
    workers.enqueue(run_campaigns)
    workers.enqueue(run_campaigns)
    workers.stalled(1)
    time.sleep(0.5)  # let the other worker finish whatever it holds
    workers.kill(first)
    workers.kill(second)
    assert len(workers.messages()) == 3  # written before the kill
    assert SurveyEmail.objects.filter(sent_at__isnull=False).count() == 3  # committed
    assert SurveyEmail.objects.filter(sent_at__isnull=True, skipped=False).count() == 5
    assert InvitationDelivery.objects.filter(sent_at__isnull=False).count() == sum(
        e.deliveries.count() for e in SurveyEmail.objects.filter(sent_at__isnull=False)
    )

    workers.start()  # restarted; the killed task waits in Redis for its visibility timeout
    workers.enqueue(run_campaigns)  # beat goes on: nothing new to claim
    workers.enqueue(sweep_deliveries, kwargs={"stale_seconds": 0})
    workers.drain()

    _assert_each_person_emailed_exactly_once(workers, invitations)
    assert InvitationDelivery.objects.get(invitation=answered).skipped is True
    assert not InvitationDelivery.objects.filter(invitation__campaign=closed).exists()
    attempts = sorted(SurveyEmail.objects.values_list("attempts", flat=True))
    assert attempts == [1, 1, 1] + [2] * 5


def test_a_killed_pool_process_task_is_redelivered_and_emails_each_invitation_once(
    program, workers
):
    """Late acknowledgement: the pool process running a send is killed with SIGKILL mid-send;
    its task goes back to the queue (reject on worker lost) and the next pool process sends
    every email of it, the interrupted one included, once, without the sweeper."""
    invitations = _invitations(program, 4)
    workers.start(
        pool="prefork",
        STALL_MAIL_DIR=str(workers.stall_dir),
        STALL_MAIL_AFTER="1",
        STALL_MAIL_MAX="1",
    )
    workers.enqueue(run_campaigns)
    workers.enqueue(run_campaigns)
    (child,) = workers.stalled(1)
    os.kill(child, signal.SIGKILL)
    workers.wait_for(lambda: not InvitationDelivery.objects.filter(sent_at__isnull=True).exists())
    workers.drain()
    _assert_each_person_emailed_exactly_once(workers, invitations)
    assert set(SurveyEmail.objects.values_list("attempts", flat=True)) == {1}


def test_reminders_through_a_worker_are_sent_once(program, workers):
    """Reminders are claimed like invitations: two runs at once remind each non-responder
    once."""
    opened = timezone.now() - 5 * DAY
    campaign = open_campaign(program, opens_at=opened, reminder_days=[4])
    people = [UserFactory() for _ in range(3)]
    for person in people:
        invitation = invite(campaign, person)
        Invitation.objects.filter(pk=invitation.pk).update(created_at=opened)
        InvitationDelivery.objects.create(
            invitation=invitation, kind="invitation", claimed_at=opened, sent_at=opened
        )
    workers.start()
    workers.start()
    workers.enqueue(run_campaigns)
    workers.enqueue(run_campaigns)
    sent = InvitationDelivery.objects.filter(kind="reminder-1", sent_at__isnull=False)
    workers.wait_for(lambda: sent.count() >= 3)
    workers.enqueue(run_campaigns)  # a later run finds nothing more to send
    workers.drain()
    workers.drain()  # two heartbeats: with two workers, each has had its turn after the run
    messages = workers.messages()
    assert sorted(m["To"] for m in messages) == sorted(p.email for p in people)
    assert all(m["Subject"].startswith("Reminder:") for m in messages)
    assert InvitationDelivery.objects.filter(kind="reminder-1", sent_at__isnull=False).count() == 3
