"""Survey invitation emails and reminders (R11): claimed once, sent once, one survey email a
person a day (several surveys due together go out in one email, each with its own link),
skipped when answered or closed, swept when a worker died; the email holds the links and the
closing dates only."""

from __future__ import annotations

import datetime
import re
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from accounts.models import ParticipantProfile
from mentoring import services as mentoring_services
from mentoring.models import Term
from notify import engine
from sessions_log import reminders
from surveys import campaigns, delivery
from surveys.campaigns import campaign_close, campaigns_run
from surveys.models import Campaign, Invitation, InvitationDelivery, SurveyEmail
from surveys.tasks import run_campaigns, sweep_deliveries
from surveys.tokens import link_for
from tests.factories import UserFactory
from tests.surveys.survey_helpers import DAY, LEARNER_END_ANSWERS, answer_url, invite, open_campaign

MIN = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://mentoring.school.test"


# Noon on a Monday in the site's zone (UTC): a day's email and the next day are hours apart.
NOON = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def now():
    """The tests' "now", fixed (the clock ticks on from it): whether two emails fall on one
    day must not depend on the hour the suite runs."""
    with time_machine.travel(NOON, tick=True):
        yield NOON


@pytest.fixture
def pair(program, learner, mentor, now):
    return mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def campaign(program, now):
    return open_campaign(program)


def _claims() -> set[tuple[int, str, bool]]:
    return set(InvitationDelivery.objects.values_list("invitation_id", "kind", "skipped"))


def _claim_and_send(now) -> list[int]:
    """Claim what is due, gather it into each person's email of the day, send; returns the
    emails made."""
    delivery.deliveries_claim(now=now)
    ids = delivery.emails_make(now=now)
    delivery.emails_send(email_ids=ids, now=now)
    return ids


# --- Invitations ------------------------------------------------------------------------------


def test_each_invitation_is_emailed_once_with_its_link_and_closing_date(
    campaign, learner, pair, now
):
    invitation = invite(campaign, learner, pair)
    delivery.deliveries_claim(now=now)
    assert _claims() == {(invitation.pk, "invitation", False)}
    ids = delivery.emails_make(now=now)
    assert delivery.emails_send(email_ids=ids, now=now) == 1
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
    assert message.extra_headers["X-Mentoring-Claim"] == f"survey-email-{ids[0]}"
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
    emails = delivery.emails_make(now=now)
    assert len(emails) == 2 and delivery.emails_make(now=now) == []
    delivery.emails_send(email_ids=emails, now=now)
    delivery.emails_send(email_ids=emails, now=now)  # the task redelivered
    assert len(mail.outbox) == 2


def test_the_claim_is_unique_in_the_database(campaign, learner, now):
    invitation = invite(campaign, learner)
    InvitationDelivery.objects.create(invitation=invitation, kind="invitation", claimed_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        InvitationDelivery.objects.create(invitation=invitation, kind="invitation", claimed_at=now)


def _at_once(count: int, work) -> list:
    """Run `work` in `count` threads released together (each with its own connection);
    their results."""
    results: list = []
    barrier = threading.Barrier(count)

    def run():
        try:
            barrier.wait()
            results.append(work())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_claimers_claim_each_email_once(program, now):
    campaign = open_campaign(program)
    for _ in range(15):
        invite(campaign, UserFactory())
    results = _at_once(6, lambda: delivery.deliveries_claim(now=now))
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
    delivery.deliveries_claim(now=now)
    ids = delivery.emails_make(now=now)
    assert len(ids) == 2
    client.post(answer_url(answered), {**LEARNER_END_ANSWERS, "action": "submit"})
    campaign_close(campaign=other.campaign)
    assert delivery.emails_send(email_ids=ids, now=now) == 0
    assert mail.outbox == []
    assert InvitationDelivery.objects.filter(skipped=True).count() == 2
    assert SurveyEmail.objects.filter(skipped=True).count() == 2
    assert delivery.deliveries_sweep(now=now + datetime.timedelta(hours=1)) == 0


def test_answered_or_closed_before_the_email_is_made_is_not_put_in_one(
    client, program, learner, mentor, now
):
    campaign = open_campaign(program)
    answered = invite(campaign, learner)
    other = invite(open_campaign(program, "guide_end"), mentor)
    delivery.deliveries_claim(now=now)
    client.post(answer_url(answered), {**LEARNER_END_ANSWERS, "action": "submit"})
    campaign_close(campaign=other.campaign)
    assert delivery.emails_make(now=now) == []
    assert not SurveyEmail.objects.exists()
    assert InvitationDelivery.objects.filter(skipped=True).count() == 2


# --- One survey email a person a day ---------------------------------------------------------


def _text_and_html(message) -> tuple[str, str]:
    return message.body, message.alternatives[0].content


def test_two_surveys_due_the_same_day_go_out_as_one_email_with_each_link(
    program, learner, pair, now
):
    """The end-of-term survey and a wellbeing survey reach Lucia on the same day: one email,
    listing each survey with its own one-time link and closing date."""
    end_of_term = invite(open_campaign(program), learner, pair)
    wellbeing = invite(open_campaign(program, "wellbeing", closes_at=now + 20 * DAY), learner)
    assert len(delivery.deliveries_claim(now=now)) == 2  # one claim per invitation
    (email,) = delivery.emails_make(now=now)
    assert delivery.emails_send(email_ids=[email], now=now) == 1
    (message,) = mail.outbox
    assert message.to == [learner.email]
    assert message.subject == "2 short surveys are waiting for your answers"
    assert message.extra_headers["X-Mentoring-Claim"] == f"survey-email-{email}"
    for body in _text_and_html(message):
        for invitation in (end_of_term, wellbeing):
            assert link_for(invitation) in body
            assert invitation.campaign.title in body
            closes = timezone.localtime(invitation.campaign.closes_at)
            assert closes.strftime("%A %-d %B %Y, %H:%M") in body
        assert "Kenji" not in body and "Ito" not in body
    claims = InvitationDelivery.objects.all()
    assert {c.invitation_id for c in claims} == {end_of_term.pk, wellbeing.pk}
    assert {(c.sent_at, c.email_id) for c in claims} == {(now, email)}


def test_the_same_day_sends_one_email_through_the_task_and_the_other_person_gets_their_own(
    program, learner, mentor, pair, eager_tasks, now
):
    invite(open_campaign(program), learner, pair)
    invite(open_campaign(program, "wellbeing"), learner)
    invite(open_campaign(program, "check_in"), learner, pair)
    invite(open_campaign(program, "guide_end"), mentor)
    assert run_campaigns.apply().get() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([learner.email, mentor.email])
    (lucia,) = [m for m in mail.outbox if m.to == [learner.email]]
    assert lucia.subject == "3 short surveys are waiting for your answers"
    assert len(re.findall(r"/surveys/answer/[^/\s]+/", lucia.body)) == 3


def test_a_survey_due_after_todays_email_waits_for_the_next_day(program, learner, now):
    """Noon: the end-of-term email went; a minute later the wellbeing survey falls due and
    waits for the first run after midnight."""
    first = invite(open_campaign(program), learner)
    assert len(_claim_and_send(now)) == 1
    second = invite(open_campaign(program, "wellbeing"), learner)
    assert _claim_and_send(now + MIN) == []  # claimed, waiting: no second email today
    assert len(mail.outbox) == 1 and link_for(second) not in mail.outbox[0].body
    waiting = InvitationDelivery.objects.get(invitation=second)
    assert (waiting.sent_at, waiting.skipped, waiting.email_id) == (None, False, None)
    tomorrow = now.replace(hour=0, minute=1) + DAY
    assert len(_claim_and_send(tomorrow)) == 1
    assert [m.to for m in mail.outbox] == [[learner.email]] * 2
    assert link_for(second) in mail.outbox[1].body and link_for(first) not in mail.outbox[1].body


def test_the_day_is_the_recipients_own(program, learner, mentor, settings):
    """At 22:00 in New York it is already tomorrow in UTC: Lucia (New York) has had her email
    of the day; Kenji (UTC) starts a new day."""
    settings.TIME_ZONE = "UTC"
    ParticipantProfile.objects.create(user=learner, timezone="America/New_York")
    evening = datetime.datetime(2026, 12, 7, 22, 30, tzinfo=ZoneInfo("America/New_York"))
    window = {"opens_at": evening - DAY, "closes_at": evening + 13 * DAY}
    invite(open_campaign(program, **window), learner)
    invite(open_campaign(program, **window), mentor)
    _claim_and_send(evening - 4.5 * HOUR)  # 18:00 in New York, 23:00 UTC: both on the 7th
    wellbeing = open_campaign(program, "wellbeing", **window)
    invite(wellbeing, learner)
    invite(wellbeing, mentor)
    assert len(_claim_and_send(evening)) == 1  # 03:30 UTC on the 8th: Kenji's new day
    assert [m.to for m in mail.outbox] == [[learner.email], [mentor.email], [mentor.email]]
    assert SurveyEmail.objects.get(person=learner).day == datetime.date(2026, 12, 7)
    assert len(_claim_and_send(evening + 2 * HOUR)) == 1  # 00:30 in New York on the 8th
    assert mail.outbox[-1].to == [learner.email]


def test_the_latest_reminder_waiting_replaces_an_earlier_one_of_the_same_survey(program, now):
    opened = now - 20 * DAY
    campaign = _campaign_opened(program, opened, reminder_days=[4, 5])
    person = UserFactory()
    invitation = _invited_at(campaign, person, opened)
    _claim_and_send(opened + MIN)
    wellbeing = _campaign_opened(program, opened, kind="wellbeing", reminder_days=[])
    _invited_at(wellbeing, person, opened)
    day4 = opened + 4 * DAY
    assert len(_claim_and_send(day4 - HOUR)) == 1  # the wellbeing invitation, this morning
    assert _claim_and_send(day4) == []  # reminder 1 is claimed and waits for tomorrow
    assert len(_claim_and_send(day4 + DAY)) == 1  # reminder 2 fell due too: it alone goes
    kinds = dict(
        InvitationDelivery.objects.filter(invitation=invitation).values_list("kind", "skipped")
    )
    assert kinds == {"invitation": False, "reminder-1": True, "reminder-2": False}
    assert [m.subject.startswith("Reminder:") for m in mail.outbox] == [False, False, True]
    assert mail.outbox[-1].body.count(link_for(invitation)) == 1


def test_a_check_in_and_the_end_of_term_due_the_same_day_go_out_together_at_nine(
    program, learner, mentor
):
    """The term ends on 7 December and Lucia's first check-in falls due that day: the runs
    through the night send nothing, and the 09:05 run sends Lucia and Kenji one email each,
    listing both surveys (not the check-in at midnight and the end-of-term survey the day
    after)."""
    day = datetime.date(2026, 12, 7)
    Term.objects.create(program=program, name="Autumn", starts_on=day - 90 * DAY, ends_on=day)
    mentoring_services.relationship_start(
        program=program, guide=mentor, learner=learner, started_on=day - 30 * DAY
    )
    midnight = datetime.datetime.combine(day, datetime.time(0), tzinfo=datetime.UTC)
    for minutes in (5, 4 * 60, 9 * 60 + 5):
        at = midnight + minutes * MIN
        with time_machine.travel(at):
            campaigns_run(now=at)
            sent = _claim_and_send(at)
        assert len(sent) == (2 if minutes > 9 * 60 else 0), at
    assert sorted(m.to[0] for m in mail.outbox) == sorted([learner.email, mentor.email])
    for message in mail.outbox:
        assert message.subject == "2 short surveys are waiting for your answers"
        assert "check-in" in message.body and "End-of-term" in message.body


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_make_each_persons_email_once(program, now):
    people = [UserFactory() for _ in range(6)]
    for kind in ("learner_end", "wellbeing"):
        campaign = open_campaign(program, kind)
        for person in people:
            invite(campaign, person)
    delivery.deliveries_claim(now=now)
    results = _at_once(4, lambda: delivery.emails_make(now=now))
    made = [pk for ids in results for pk in ids]
    assert len(results) == 4
    assert len(made) == len(set(made)) == 6
    assert sorted(SurveyEmail.objects.values_list("pk", flat=True)) == sorted(made)
    assert not InvitationDelivery.objects.filter(email__isnull=True).exists()
    assert delivery.emails_send(email_ids=made, now=now) == 6
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)


def test_making_the_days_emails_runs_a_bounded_number_of_queries(
    program, now, django_assert_max_num_queries
):
    """An end of term makes thousands of emails at once: a few statements, not one a person."""
    people = [UserFactory() for _ in range(30)]
    for kind in ("learner_end", "wellbeing"):
        campaign = open_campaign(program, kind)
        for person in people:
            invite(campaign, person)
    delivery.deliveries_claim(now=now)
    with django_assert_max_num_queries(8):
        made = delivery.emails_make(now=now)
    assert len(made) == 30
    assert InvitationDelivery.objects.filter(email__isnull=True).count() == 0


def test_one_email_a_person_a_day_is_held_by_the_database(learner, now):
    SurveyEmail.objects.create(person=learner, day=now.date(), claimed_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyEmail.objects.create(person=learner, day=now.date(), claimed_at=now)


# --- Reminders ----------------------------------------------------------------------------------


def _campaign_opened(
    program, opened: datetime.datetime, kind: str = "learner_end", **extra
) -> Campaign:
    return open_campaign(program, kind, opens_at=opened, closes_at=opened + 14 * DAY, **extra)


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
    delivery.deliveries_claim(now=now)
    ids = delivery.emails_make(now=now)  # the worker that should send them was killed
    assert delivery.deliveries_sweep(now=now + MIN) == 0  # not stale yet
    assert delivery.deliveries_sweep(now=now + 4 * MIN) == 2
    assert delivery.deliveries_sweep(now=now + 10 * MIN) == 0
    delivery.emails_send(email_ids=ids)  # the original task, redelivered late
    assert len(mail.outbox) == 2
    assert list(SurveyEmail.objects.values_list("attempts", flat=True)) == [2, 2]
    assert InvitationDelivery.objects.filter(sent_at__isnull=True).count() == 0


def test_the_sweeper_gives_up_after_five_attempts(campaign, learner, now, settings, caplog):
    settings.EMAIL_BACKEND = "tests.sessions_log.test_reminders.BrokenMailBackend"
    invite(campaign, learner)
    delivery.deliveries_claim(now=now)
    assert delivery.emails_send(email_ids=delivery.emails_make(now=now), now=now) == 0
    at = now
    for attempt in range(2, engine.MAX_ATTEMPTS + 1):
        at += reminders.SWEEP_AFTER * 2 ** (attempt - 2)
        delivery.deliveries_sweep(now=at)
        assert SurveyEmail.objects.get().attempts == attempt
    with caplog.at_level("ERROR"):
        delivery.deliveries_sweep(now=at + 2 * datetime.timedelta(hours=1))
        delivery.deliveries_sweep(now=at + 4 * datetime.timedelta(hours=1))
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"][-1].startswith(
        "R11: gave up on surveyemail"
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
    def broken(**kwargs):
        raise ValueError("odd data")

    monkeypatch.setattr(campaigns, "invite_check_ins", broken)
    invite(campaign, learner)
    with caplog.at_level("ERROR"):
        assert run_campaigns.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[learner.email]]
    assert "a step failed" in caplog.text
