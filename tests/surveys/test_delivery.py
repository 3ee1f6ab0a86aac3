"""Survey invitation emails and reminders (R11): claimed once, sent once, skipped when answered
or closed, swept when a worker died; the email holds the link and the closing date only."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core import mail
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from accounts.models import ParticipantProfile
from mentoring import services as mentoring_services
from sessions_log import reminders
from surveys import delivery
from surveys.campaigns import campaign_close
from surveys.models import Campaign, Invitation, InvitationDelivery
from surveys.tasks import run_campaigns, sweep_deliveries
from surveys.tokens import link_for
from tests.factories import UserFactory
from tests.surveys.survey_helpers import DAY, LEARNER_END_ANSWERS, answer_url, invite, open_campaign

MIN = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://mentoring.school.test"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def pair(program, learner, mentor):
    return mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def campaign(program):
    return open_campaign(program)


def _claims() -> set[tuple[int, str, bool]]:
    return set(InvitationDelivery.objects.values_list("invitation_id", "kind", "skipped"))


def _claim_and_send(now) -> list[int]:
    ids = delivery.deliveries_claim(now=now)
    delivery.deliveries_send(delivery_ids=ids, now=now)
    return ids


# --- Invitations ------------------------------------------------------------------------------


def test_each_invitation_is_emailed_once_with_its_link_and_closing_date(
    campaign, learner, pair, now
):
    invitation = invite(campaign, learner, pair)
    ids = delivery.deliveries_claim(now=now)
    assert _claims() == {(invitation.pk, "invitation", False)}
    assert delivery.deliveries_send(delivery_ids=ids, now=now) == 1
    (message,) = mail.outbox
    assert message.to == [learner.email]
    assert campaign.title in message.subject
    text, html = message.body, message.alternatives[0].content
    closes = timezone.localtime(campaign.closes_at).strftime("%A %-d %B %Y, %H:%M")
    for body in (text, html):
        assert link_for(invitation) in body
        assert closes in body
        assert "anonymous" in body
        assert "Kenji" not in body and "Ito" not in body  # nobody else's name
    assert message.extra_headers["X-Mentoring-Claim"] == f"survey-delivery-{ids[0]}"
    assert delivery.deliveries_claim(now=now + MIN) == []  # claimed: never again
    assert InvitationDelivery.objects.get().sent_at == now


def test_the_closing_date_is_in_the_recipients_time_zone(campaign, learner, now):
    ParticipantProfile.objects.create(user=learner, timezone="America/Chicago")
    Campaign.objects.filter(pk=campaign.pk).update(
        closes_at=datetime.datetime(2031, 1, 15, 15, 0, tzinfo=datetime.UTC)
    )
    invite(campaign, learner)
    _claim_and_send(now)
    assert "Wednesday 15 January 2031, 09:00 (America/Chicago)" in mail.outbox[0].body


def test_the_emailed_link_opens_the_survey(client, campaign, learner, now):
    invite(campaign, learner)
    _claim_and_send(now)
    path = mail.outbox[0].body.split("https://mentoring.school.test", 1)[1].split()[0]
    assert client.get(path).status_code == 200


def test_claiming_twice_and_sending_twice_sends_once(campaign, learner, mentor, now):
    invite(campaign, learner)
    invite(campaign, mentor)
    first = delivery.deliveries_claim(now=now)
    assert len(first) == 2 and delivery.deliveries_claim(now=now) == []
    delivery.deliveries_send(delivery_ids=first, now=now)
    delivery.deliveries_send(delivery_ids=first, now=now)  # the task redelivered
    assert len(mail.outbox) == 2


def test_the_claim_is_unique_in_the_database(campaign, learner, now):
    invitation = invite(campaign, learner)
    InvitationDelivery.objects.create(invitation=invitation, kind="invitation", claimed_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationDelivery.objects.create(invitation=invitation, kind="invitation", claimed_at=now)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_claim_each_email_once(program, now):
    campaign = open_campaign(program)
    for _ in range(15):
        invite(campaign, UserFactory())
    results: list[list[int]] = []
    barrier = threading.Barrier(6)

    def claimer():
        try:
            barrier.wait()
            results.append(delivery.deliveries_claim(now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [pk for ids in results for pk in ids]
    assert len(results) == 6
    assert len(claimed) == len(set(claimed)) == 15
    assert InvitationDelivery.objects.count() == 15


def test_someone_who_answered_or_left_is_not_emailed(client, campaign, learner, mentor, now):
    answered = invite(campaign, learner)
    client.post(answer_url(answered), {**LEARNER_END_ANSWERS, "action": "submit"})
    mentor.is_active = False
    mentor.save()
    invite(campaign, mentor)
    assert delivery.deliveries_claim(now=now) == []
    assert {(kind, skipped) for _, kind, skipped in _claims()} == {("invitation", True)}
    assert mail.outbox == []


def test_no_email_for_a_campaign_not_open(program, learner, now):
    scheduled = open_campaign(program, status=Campaign.Status.SCHEDULED)
    invite(scheduled, learner)
    closed = open_campaign(program, "guide_end")
    invite(closed, learner)
    campaign_close(campaign=closed)
    assert delivery.deliveries_claim(now=now) == []
    assert not InvitationDelivery.objects.exists()


def test_answered_or_closed_after_the_claim_is_not_sent(client, program, learner, mentor, now):
    campaign = open_campaign(program)
    answered = invite(campaign, learner)
    other = invite(open_campaign(program, "guide_end"), mentor)
    ids = delivery.deliveries_claim(now=now)
    client.post(answer_url(answered), {**LEARNER_END_ANSWERS, "action": "submit"})
    campaign_close(campaign=other.campaign)
    assert delivery.deliveries_send(delivery_ids=ids, now=now) == 0
    assert mail.outbox == []
    assert InvitationDelivery.objects.filter(skipped=True).count() == 2
    assert delivery.deliveries_sweep(now=now + datetime.timedelta(hours=1)) == 0


# --- Reminders ----------------------------------------------------------------------------------


def _campaign_opened(program, opened: datetime.datetime, **extra) -> Campaign:
    return open_campaign(program, opens_at=opened, closes_at=opened + 14 * DAY, **extra)


def _invited_at(campaign, person, at) -> Invitation:
    invitation = invite(campaign, person)
    Invitation.objects.filter(pk=invitation.pk).update(created_at=at)
    return invitation


def test_non_responders_are_reminded_on_the_configured_days(client, program, now):
    opened = now - 20 * DAY  # a campaign opened in the past, seen day by day
    campaign = _campaign_opened(program, opened, reminder_days=[4, 10])
    quiet, keen = UserFactory(), UserFactory()
    for person in (quiet, keen):
        _invited_at(campaign, person, opened)
    _claim_and_send(opened + MIN)
    assert len(mail.outbox) == 2
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=now + 14 * DAY)
    client.post(
        answer_url(Invitation.objects.get(person=keen)),
        {**LEARNER_END_ANSWERS, "action": "submit"},
    )
    assert Invitation.objects.get(person=keen).has_responded

    assert _claim_and_send(opened + 4 * DAY - MIN) == []  # not yet
    assert len(_claim_and_send(opened + 4 * DAY)) == 1
    reminder = mail.outbox[-1]
    assert reminder.to == [quiet.email] and reminder.subject.startswith("Reminder:")
    assert link_for(Invitation.objects.get(person=quiet)) in reminder.body
    assert _claim_and_send(opened + 5 * DAY) == []
    assert len(_claim_and_send(opened + 10 * DAY)) == 1
    assert _claim_and_send(opened + 12 * DAY) == []
    assert [m.to for m in mail.outbox[2:]] == [[quiet.email], [quiet.email]]
    kinds = sorted(
        InvitationDelivery.objects.filter(invitation__person=quiet).values_list("kind", flat=True)
    )
    assert kinds == ["invitation", "reminder-1", "reminder-2"]


def test_after_a_pause_only_the_latest_due_reminder_is_sent(program, now):
    opened = now - 11 * DAY
    campaign = _campaign_opened(program, opened, reminder_days=[4, 10])
    person = UserFactory()
    _invited_at(campaign, person, opened)
    _claim_and_send(opened + MIN)
    # The worker was down from day 3 to day 11: both reminders are due at once.
    sent = _claim_and_send(now)
    assert len(sent) == 1
    assert _claims() >= {
        (campaign.invitations.get().pk, "reminder-1", True),
        (campaign.invitations.get().pk, "reminder-2", False),
    }
    assert len(mail.outbox) == 2


def test_no_reminder_before_the_invitation_went_or_at_closing(program, now):
    opened = now - 20 * DAY
    campaign = _campaign_opened(program, opened, reminder_days=[4, 13])
    person = UserFactory()
    invitation = _invited_at(campaign, person, opened)
    # The invitation email is claimed but was never sent (its worker died): no reminder yet.
    InvitationDelivery.objects.create(invitation=invitation, kind="invitation", claimed_at=opened)
    assert delivery.deliveries_claim(now=opened + 5 * DAY) == []
    InvitationDelivery.objects.filter(kind="invitation").update(sent_at=opened)
    assert len(delivery.deliveries_claim(now=opened + 5 * DAY)) == 1
    # Reminder 2 would fall a day before closing; past closing nothing is sent.
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=opened + 13 * DAY)
    campaign.refresh_from_db()
    assert delivery.deliveries_claim(now=opened + 13 * DAY - MIN) == []


def test_a_person_invited_late_to_a_monthly_campaign_is_reminded_from_their_invitation(
    program, now
):
    opened = now - 20 * DAY
    campaign = _campaign_opened(program, opened, reminder_days=[7])
    Campaign.objects.filter(pk=campaign.pk).update(closes_at=now + 20 * DAY)
    early, late = UserFactory(), UserFactory()
    _invited_at(campaign, early, opened)
    _invited_at(campaign, late, now - 3 * DAY)
    _claim_and_send(now - 3 * DAY + MIN)
    mail.outbox.clear()
    _claim_and_send(now)
    assert [m.to for m in mail.outbox] == [[early.email]]
    _claim_and_send(now + 4 * DAY)
    assert [m.to for m in mail.outbox] == [[early.email], [late.email]]


@pytest.mark.parametrize("days", [[], ["4"], [0, -2], "4,10", [True]])
def test_odd_reminder_days_send_no_reminder_and_break_nothing(program, now, days):
    opened = now - 20 * DAY
    campaign = _campaign_opened(program, opened, reminder_days=days)
    _invited_at(campaign, UserFactory(), opened)
    _claim_and_send(opened + MIN)
    assert _claim_and_send(now) == []
    assert len(mail.outbox) == 1


# --- The sweeper ---------------------------------------------------------------------------------


def test_the_sweeper_sends_an_email_left_unsent_once(campaign, learner, mentor, now):
    invite(campaign, learner)
    invite(campaign, mentor)
    ids = delivery.deliveries_claim(now=now)  # the worker that should send them was killed
    assert delivery.deliveries_sweep(now=now + MIN) == 0  # not stale yet
    assert delivery.deliveries_sweep(now=now + 4 * MIN) == 2
    assert delivery.deliveries_sweep(now=now + 10 * MIN) == 0
    delivery.deliveries_send(delivery_ids=ids)  # the original task, redelivered late
    assert len(mail.outbox) == 2
    assert list(InvitationDelivery.objects.values_list("attempts", flat=True)) == [2, 2]


def test_the_sweeper_gives_up_after_five_attempts(campaign, learner, now, settings, caplog):
    settings.EMAIL_BACKEND = "tests.sessions_log.test_reminders.BrokenMailBackend"
    invite(campaign, learner)
    assert delivery.deliveries_send(delivery_ids=delivery.deliveries_claim(now=now), now=now) == 0
    at = now
    for attempt in range(2, reminders.MAX_ATTEMPTS + 1):
        at += reminders.SWEEP_AFTER * 2 ** (attempt - 2)
        delivery.deliveries_sweep(now=at)
        assert InvitationDelivery.objects.get().attempts == attempt
    with caplog.at_level("ERROR"):
        delivery.deliveries_sweep(now=at + 2 * datetime.timedelta(hours=1))
        delivery.deliveries_sweep(now=at + 4 * datetime.timedelta(hours=1))
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"][-1].startswith(
        "R11: gave up on invitationdelivery"
    )
    assert mail.outbox == []


# --- Through the tasks --------------------------------------------------------------------------


def test_the_beat_task_claims_and_sends_through_celery(campaign, learner, mentor, eager_tasks):
    invite(campaign, learner)
    invite(campaign, mentor)
    assert run_campaigns.apply().get() == 2
    assert run_campaigns.apply().get() == 0
    assert len(mail.outbox) == 2
    assert sweep_deliveries.apply(kwargs={"stale_seconds": 0}).get() == 0
    assert len(mail.outbox) == 2


def test_a_failing_calendar_step_does_not_stop_the_emails(
    campaign, learner, eager_tasks, monkeypatch, caplog
):
    from surveys import campaigns

    def broken(**kwargs):
        raise ValueError("odd data")

    monkeypatch.setattr(campaigns, "invite_check_ins", broken)
    invite(campaign, learner)
    with caplog.at_level("ERROR"):
        assert run_campaigns.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[learner.email]]
    assert "a step failed" in caplog.text
