"""Campaigns from the academic calendar: end of term, wellbeing at mid-term, check-ins after a
relationship starts and then every M days, relationship ends; opened once, closed on time."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring import services as mentoring_services
from mentoring.models import Relationship, Term
from surveys import campaigns
from surveys.campaigns import (
    campaigns_close_due,
    campaigns_open_due,
    campaigns_schedule,
    check_in_due,
    invite_check_ins,
    invite_relationship_ends,
    month_key,
    opening_time,
)
from surveys.defaults import templates_install
from surveys.models import Campaign, Invitation, InvitationDraft, SurveyTemplate
from tests.factories import UserFactory
from tests.surveys.survey_helpers import DAY, new_pair, open_campaign

H = datetime.timedelta(hours=1)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def templates(program):
    return {t.kind: t for t in templates_install(program=program)}


def _invited(campaign) -> set[tuple[int, int | None]]:
    return set(campaign.invitations.values_list("person_id", "relationship_id"))


# --- Check-in arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_since_start", "first", "every", "expected_days"),
    [
        (29, 30, 90, None),  # not yet
        (30, 30, 90, 30),  # the first, on its day
        (119, 30, 90, 30),  # still the first
        (120, 30, 90, 120),  # the second
        (400, 30, 90, 390),
        (400, 30, 0, 30),  # once only
    ],
)
def test_check_ins_fall_due_n_days_after_the_start_then_every_m_days(
    days_since_start, first, every, expected_days
):
    started = datetime.date(2026, 1, 10)
    today = started + days_since_start * DAY
    expected = None if expected_days is None else started + expected_days * DAY
    assert check_in_due(started, first, every, today) == expected


# --- End of term ----------------------------------------------------------------------------


@pytest.fixture
def term(program, today):
    return Term.objects.create(
        program=program, name="2026-27", starts_on=today - 100 * DAY, ends_on=today + 10 * DAY
    )


def test_end_of_term_campaigns_are_scheduled_ahead_and_open_on_the_last_day(
    program, templates, term, today
):
    now = timezone.now()
    assert campaigns_schedule(now=now) == 2  # learners' and guides' (wellbeing is past)
    learner_end, guide_end = (
        Campaign.objects.get(template=templates[kind], kind="end_of_term")
        for kind in ("learner_end", "guide_end")
    )
    for campaign in (learner_end, guide_end):
        assert campaign.status == Campaign.Status.SCHEDULED
        assert campaign.period_key == str(term.code) and campaign.term == term
        assert campaign.opens_at == opening_time(term.ends_on)
        assert timezone.localtime(campaign.opens_at).hour == 9  # in the site's zone
        assert campaign.closes_at == campaign.opens_at + 14 * DAY
        assert campaign.reminder_days == [4, 10]
        assert term.name in campaign.title
    assert not Invitation.objects.exists()  # nobody is asked before the day
    assert campaigns_schedule(now=now) == 0  # once per term
    assert campaigns_open_due(now=now) == 0


def test_a_term_too_far_ahead_is_not_scheduled_yet(program, templates, today):
    Term.objects.create(
        program=program, name="Later", starts_on=today + 40 * DAY, ends_on=today + 200 * DAY
    )
    assert campaigns_schedule(now=timezone.now()) == 0


def test_campaigns_not_yet_open_follow_the_terms_new_dates_unless_moved_by_hand(
    client, program, program_admin, templates, term, today
):
    """The administrator corrects the term's last day in the console: the end-of-term surveys
    still scheduled from the old day move with it (closing by as much); one the administrator
    had moved by hand keeps its time; an open campaign is never moved."""

    campaigns_schedule(now=timezone.now())
    learner_end = Campaign.objects.get(template=templates["learner_end"])
    guide_end = Campaign.objects.get(template=templates["guide_end"])
    by_hand = learner_end.opens_at + 2 * H
    Campaign.objects.filter(pk=guide_end.pk).update(
        opens_at=by_hand, closes_at=guide_end.closes_at + 2 * H
    )
    wellbeing = open_campaign(program, "wellbeing", term=term)  # open already: stays put
    wellbeing_window = (wellbeing.opens_at, wellbeing.closes_at)

    client.force_login(program_admin)
    response = client.post(
        reverse("console:term-edit", kwargs={"code": program.code, "term": term.code}),
        {"name": term.name, "starts_on": term.starts_on, "ends_on": term.ends_on + 5 * DAY},
        follow=True,
    )
    assert "1 survey not yet open moves with its dates" in response.content.decode()
    term.refresh_from_db()
    assert term.ends_on == today + 15 * DAY
    learner_end.refresh_from_db()
    assert learner_end.opens_at == opening_time(term.ends_on)
    assert learner_end.closes_at == learner_end.opens_at + 14 * DAY
    guide_end.refresh_from_db()
    assert guide_end.opens_at == by_hand
    wellbeing.refresh_from_db()
    assert (wellbeing.opens_at, wellbeing.closes_at) == wellbeing_window
    # Only the name changes: nothing moves, nothing is said about surveys.
    response = client.post(
        reverse("console:term-edit", kwargs={"code": program.code, "term": term.code}),
        {"name": "2026-27 (corrected)", "starts_on": term.starts_on, "ends_on": term.ends_on},
        follow=True,
    )
    assert "Term 2026-27 (corrected) saved." in response.content.decode()
    assert "not yet open" not in response.content.decode()


def test_end_of_term_asks_the_learners_and_guides_who_had_a_relationship_in_the_term(
    program, templates, term, learner, mentor, other_mentor, today
):
    # Lucia had Funmi first (ended, no-fault rematch), then Kenji: asked once, about Kenji.
    first = mentoring_services.relationship_start(
        program=program, guide=other_mentor, learner=learner, started_on=today - 90 * DAY
    )
    mentoring_services.relationship_end(
        relationship=first, reason="no_fault_rematch", ends_on=today - 60 * DAY
    )
    current = mentoring_services.relationship_start(
        program=program, guide=mentor, learner=learner, started_on=today - 59 * DAY
    )
    before_the_term = new_pair(program, started_on=today - 300 * DAY)
    mentoring_services.relationship_end(
        relationship=before_the_term, reason="completed", ends_on=today - 200 * DAY
    )
    declined = new_pair(program, started_on=today - 20 * DAY)
    mentoring_services.relationship_end(relationship=declined, reason="declined")
    unpaired = UserFactory()
    membership_grant(user=unpaired, role=Role.LEARNER, program=program)

    campaigns_schedule(now=timezone.now())
    opening = opening_time(term.ends_on) + H
    assert campaigns_open_due(now=opening) == 2
    learner_end = Campaign.objects.get(template=templates["learner_end"], kind="end_of_term")
    guide_end = Campaign.objects.get(template=templates["guide_end"], kind="end_of_term")
    assert learner_end.status == guide_end.status == Campaign.Status.OPEN
    assert _invited(learner_end) == {(learner.pk, current.pk)}
    assert _invited(guide_end) == {(mentor.pk, None), (other_mentor.pk, None)}

    assert campaigns_open_due(now=opening + H) == 0  # opened once
    assert Invitation.objects.count() == 3


def test_a_campaign_whose_whole_window_passed_unopened_closes_without_invitations(
    program, templates, learner, mentor
):
    campaign = open_campaign(program, status=Campaign.Status.SCHEDULED)
    mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    assert campaigns_open_due(now=campaign.closes_at + H) == 0
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert not campaign.invitations.exists()


def test_a_switched_off_template_starts_no_campaign_and_opens_none(
    program, templates, term, learner, mentor
):
    mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    campaigns_schedule(now=timezone.now())
    SurveyTemplate.objects.filter(kind="learner_end").update(is_active=False)
    assert campaigns_open_due(now=opening_time(term.ends_on) + H) == 1  # the guides' only
    scheduled = Campaign.objects.get(template=templates["learner_end"])
    assert scheduled.status == Campaign.Status.SCHEDULED
    Campaign.objects.all().delete()
    assert campaigns_schedule(now=timezone.now()) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_opening_at_once_invite_each_person_once(program, learner, mentor, today):
    templates_install(program=program)
    term = Term.objects.create(
        program=program, name="T1", starts_on=today - 100 * DAY, ends_on=today + 5 * DAY
    )
    mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    for _ in range(5):
        new_pair(program)
    campaigns_schedule(now=timezone.now())
    opening = opening_time(term.ends_on) + H
    barrier = threading.Barrier(4)
    opened = []

    def run():
        try:
            barrier.wait()
            opened.append(campaigns_open_due(now=opening))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(opened) == 2
    assert Invitation.objects.count() == 6 + 6
    assert Invitation.objects.values("campaign", "person").distinct().count() == 12


# --- Wellbeing ---------------------------------------------------------------------------------


def test_wellbeing_opens_mid_term_for_every_learner_and_guide_paired_or_not(
    program, templates, learner, mentor, other_mentor, program_admin, today
):
    term = Term.objects.create(
        program=program, name="Spring", starts_on=today - 10 * DAY, ends_on=today + 30 * DAY
    )
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    unpaired = UserFactory()
    membership_grant(user=unpaired, role=Role.LEARNER, program=program)
    left = UserFactory()
    membership_grant(user=left, role=Role.LEARNER, program=program)
    left.is_active = False
    left.save()

    campaigns_schedule(now=timezone.now())
    wellbeing = Campaign.objects.get(template=templates["wellbeing"])
    assert wellbeing.kind == Campaign.Kind.WELLBEING
    assert wellbeing.opens_at == opening_time(term.starts_on + 20 * DAY)
    campaigns_open_due(now=wellbeing.opens_at)
    assert _invited(wellbeing) == {
        (learner.pk, pair.pk),  # says she is mentored
        (unpaired.pk, None),
        (mentor.pk, None),
        (other_mentor.pk, None),
    }
    assert program_admin.pk not in {p for p, _ in _invited(wellbeing)}


# --- Check-ins ---------------------------------------------------------------------------------


@pytest.mark.today()  # invitations of the day go out from 09:00
def test_a_check_in_goes_to_both_people_once_first_after_days(program, templates, today):
    due = new_pair(program, started_on=today - 30 * DAY)
    not_yet = new_pair(program, started_on=today - 29 * DAY)
    now = timezone.now()
    assert invite_check_ins(now=now) == 2
    campaign = Campaign.objects.get(kind="check_in")
    assert campaign.period_key == month_key(today)
    assert campaign.status == Campaign.Status.OPEN and campaign.template == templates["check_in"]
    assert campaign.closes_at == campaigns.month_start(campaigns.next_month(today)) + 14 * DAY
    assert campaign.reminder_days == [7]
    assert _invited(campaign) == {(due.learner_id, due.pk), (due.guide_id, due.pk)}
    assert invite_check_ins(now=now + H) == 0  # once
    assert not Invitation.objects.filter(relationship=not_yet).exists()


@pytest.mark.today()  # invitations of the day go out from 09:00
def test_check_ins_repeat_every_m_days_and_stop_when_the_relationship_ends(
    program, templates, today
):
    templates["check_in"].first_after_days = 10
    templates["check_in"].repeat_every_days = 20
    templates["check_in"].save()
    pair = new_pair(program, started_on=today - 50 * DAY)  # due at day 10, 30, 50
    invite_check_ins(now=timezone.now())
    latest_due = today
    campaign = Campaign.objects.get(kind="check_in", period_key=month_key(latest_due))
    assert _invited(campaign) == {(pair.learner_id, pair.pk), (pair.guide_id, pair.pk)}
    # Only the latest due day is asked: not three at once after a pause.
    assert Invitation.objects.count() == 2

    mentoring_services.relationship_end(relationship=pair, reason="completed")
    tomorrow = timezone.now() + 21 * DAY
    assert invite_check_ins(now=tomorrow) == 0


def test_a_paused_relationship_or_an_inactive_person_gets_no_check_in(program, templates, today):
    paused = new_pair(program, started_on=today - 40 * DAY)
    Relationship.objects.filter(pk=paused.pk).update(status="paused")
    gone = new_pair(program, started_on=today - 40 * DAY)
    gone.guide.is_active = False
    gone.guide.save()
    invite_check_ins(now=timezone.now())
    assert set(Invitation.objects.values_list("person_id", flat=True)) == {gone.learner_id}


def test_a_check_in_due_last_month_is_still_asked_while_that_campaign_is_open(program, templates):
    # Today is the 3rd: a check-in that fell due on the last day of last month goes into last
    # month's campaign, which closes 14 days after this month began.
    now = timezone.now().replace(day=3, hour=12)
    today = timezone.localdate(now)
    last_day = today.replace(day=1) - DAY
    pair = new_pair(program, started_on=last_day - 30 * DAY)
    templates["check_in"].repeat_every_days = 0
    templates["check_in"].save()
    invite_check_ins(now=now)
    campaign = Campaign.objects.get(kind="check_in")
    assert campaign.period_key == month_key(last_day)
    assert _invited(campaign) == {(pair.learner_id, pair.pk), (pair.guide_id, pair.pk)}
    # After that campaign closes, a check-in due then is no longer asked.
    Invitation.objects.all().delete()
    assert invite_check_ins(now=campaign.closes_at + H) == 0


@pytest.mark.today()  # invitations of the day go out from 09:00
def test_named_follow_up_is_copied_to_the_check_in_campaign(program, templates, today):
    templates["check_in"].named_follow_up = True
    templates["check_in"].save()
    new_pair(program, started_on=today - 30 * DAY)
    invite_check_ins(now=timezone.now())
    assert Campaign.objects.get(kind="check_in").named_follow_up is True


@pytest.mark.today()  # invitations of the day go out from 09:00
def test_a_monthly_campaign_closed_early_takes_no_new_invitations(program, templates, today):
    new_pair(program, started_on=today - 30 * DAY)
    invite_check_ins(now=timezone.now())
    campaign = Campaign.objects.get(kind="check_in")
    campaigns.campaign_close(campaign=campaign)
    new_pair(program, started_on=today - 30 * DAY)
    assert invite_check_ins(now=timezone.now()) == 0
    assert campaign.invitations.count() == 2


# --- Relationship ends ------------------------------------------------------------------------


@pytest.mark.today()  # invitations of the day go out from 09:00
def test_a_relationship_that_ends_mid_term_asks_both_people(program, templates, today):
    Term.objects.create(
        program=program, name="Year", starts_on=today - 100 * DAY, ends_on=today + 100 * DAY
    )
    pair = new_pair(program, started_on=today - 60 * DAY)
    mentoring_services.relationship_end(relationship=pair, reason="no_fault_rematch")
    assert invite_relationship_ends(now=timezone.now()) == 2
    learner_side = Campaign.objects.get(template=templates["learner_end"])
    guide_side = Campaign.objects.get(template=templates["guide_end"])
    for campaign in (learner_side, guide_side):
        assert campaign.kind == Campaign.Kind.RELATIONSHIP_END
        assert campaign.period_key == month_key(today)
        assert "relationships ended in" in campaign.title
    assert _invited(learner_side) == {(pair.learner_id, pair.pk)}
    assert _invited(guide_side) == {(pair.guide_id, pair.pk)}
    assert invite_relationship_ends(now=timezone.now() + H) == 0


def test_no_relationship_end_survey_near_a_term_end_or_for_a_declined_pairing(
    program, templates, today
):
    Term.objects.create(
        program=program, name="Year", starts_on=today - 100 * DAY, ends_on=today + 10 * DAY
    )
    at_term_end = new_pair(program, started_on=today - 60 * DAY)
    mentoring_services.relationship_end(relationship=at_term_end, reason="completed")
    declined = new_pair(program, started_on=today)
    mentoring_services.relationship_end(relationship=declined, reason="declined")
    assert invite_relationship_ends(now=timezone.now()) == 0
    assert not Campaign.objects.exists()


# --- Closing ------------------------------------------------------------------------------------


def test_campaigns_close_on_time_and_drafts_go_with_them(program, learner):
    campaign = open_campaign(program)
    invitation = Invitation.objects.create(campaign=campaign, person=learner)
    InvitationDraft.objects.create(invitation=invitation, answers='{"q_fit": "good"}')
    assert campaigns_close_due(now=campaign.closes_at - H) == 0
    assert campaigns_close_due(now=campaign.closes_at) == 1
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED
    assert campaign.closed_at == campaign.closes_at
    assert not InvitationDraft.objects.exists()
    assert Invitation.objects.filter(pk=invitation.pk).exists()  # who was asked stays
    assert campaigns_close_due(now=campaign.closes_at + H) == 0


def test_a_campaign_closed_early_by_its_administrator_keeps_its_planned_closing(program):
    campaign = open_campaign(program)
    planned = campaign.closes_at
    assert campaigns.campaign_close(campaign=campaign) is True
    assert campaigns.campaign_close(campaign=campaign) is False
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CLOSED and campaign.closes_at == planned
    assert not campaign.is_open_at(timezone.now())
