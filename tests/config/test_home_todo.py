"""The home page's to-do lists: their order (a meeting within the hour first) with "now" fixed,
their times in the reader's zone, and a number of queries that does not grow with the work
waiting (1 and 50 items of each kind cost the same)."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from accounts.todo import LATER, NOW, SOON, TODO, TodoItem, in_order
from config.home import todo_lists, when_text
from dashboards.models import SummaryRefresh
from matching.models import MatchRequest, MatchRun
from mentoring.models import (
    AccessLogEntry,
    AssessmentRole,
    Conflict,
    MentoringAgreement,
    Relationship,
    RematchRequest,
)
from sessions_log.models import ActionItem, Meeting, TimeRequest
from surveys.models import SurveyTemplate
from tests.conftest import give_mfa
from tests.factories import ProgramFactory, UserFactory
from tests.surveys.survey_helpers import invite, open_campaign

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
NOW_ = "2026-12-07T10:00+00:00"


def _kinds(user, roles, programs=()):
    return {
        todo.key: [item.kind for item in todo.items] for todo in todo_lists(user, roles, programs)
    }


def _meeting(pair, starts_at, minutes=30, **extra) -> Meeting:
    return Meeting.objects.create(
        relationship=pair,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        **extra,
    )


def _pair(program, guide, learner, *, started=None, status=Relationship.Status.ACTIVE):
    return Relationship.objects.create(
        program=program,
        guide=guide,
        learner=learner,
        kind=program.kind,
        status=status,
        started_on=started or timezone.localdate() - 30 * DAY,
    )


def _agreement(pair, *, agreed_by: str) -> MentoringAgreement:
    return MentoringAgreement.objects.create(
        relationship=pair,
        goals="Choose a specialty",
        meeting_frequency="monthly",
        preferred_contact="email",
        **{f"{agreed_by}_agreed_at": timezone.now()},
    )


# --- Order ------------------------------------------------------------------------------------


def test_in_order_puts_urgency_first_then_time_then_untimed():
    at = datetime.datetime(2026, 12, 7, 10, tzinfo=datetime.UTC)
    items = [
        TodoItem("Later meeting", "/m", when=at + DAY, priority=LATER),
        TodoItem("Survey", "/s", when=at + 3 * DAY, priority=TODO),
        TodoItem("Untimed todo", "/u", priority=TODO),
        TodoItem("Sign", "/a", priority=SOON),
        TodoItem("Soon meeting", "/n", when=at + HOUR, priority=NOW),
        TodoItem("Earlier survey", "/e", when=at + DAY, priority=TODO),
    ]
    assert [item.title for item in in_order(items)] == [
        "Soon meeting",
        "Sign",
        "Earlier survey",
        "Survey",
        "Untimed todo",
        "Later meeting",
    ]


@pytest.mark.today(NOW_)
def test_learner_meeting_within_the_hour_comes_first(program, learner, mentor):
    pair = _pair(program, mentor, learner)
    _agreement(pair, agreed_by="guide")
    invite(open_campaign(program, SurveyTemplate.Kind.LEARNER_END), learner, pair)
    past = _meeting(pair, timezone.now() - 2 * DAY, status=Meeting.Status.COMPLETED)
    ActionItem.objects.create(meeting=past, text="Read the chapter", created_by=mentor)
    _meeting(pair, timezone.now() + 40 * datetime.timedelta(minutes=1))
    assert _kinds(learner, {Role.LEARNER})["learner"] == [
        "meeting-soon",
        "agreement",
        "action-items",
        "survey",
    ]


@pytest.mark.today(NOW_)
def test_a_meeting_more_than_an_hour_away_is_the_next_meeting_last(program, learner, mentor):
    pair = _pair(program, mentor, learner)
    _agreement(pair, agreed_by="guide")
    _meeting(pair, timezone.now() + HOUR + datetime.timedelta(minutes=1))
    TimeRequest.objects.create(relationship=pair, message="Any evening?")
    lists = todo_lists(learner, {Role.LEARNER}, [])
    items = lists[0].items
    assert [item.kind for item in items] == ["agreement", "meeting", "time-request-sent"]
    assert items[1].title == "Your next meeting with Kenji Ito"


@pytest.mark.today(NOW_)
def test_a_meeting_under_way_is_first_for_the_guide(program, learner, mentor):
    pair = _pair(program, mentor, learner)
    _agreement(pair, agreed_by="learner")
    _meeting(pair, timezone.now() - datetime.timedelta(minutes=10))
    _meeting(pair, timezone.now() - 3 * HOUR)  # over, not logged
    TimeRequest.objects.create(relationship=pair)
    # Both wait for him: the agreement (written first) before the request for times.
    assert _kinds(mentor, {Role.MENTOR})["guide"] == [
        "meeting-soon",
        "agreement",
        "time-request",
        "log-due",
    ]


@pytest.mark.today(NOW_)
def test_agreement_already_agreed_or_unwritten_is_not_waiting(program, learner, mentor):
    pair = _pair(program, mentor, learner)
    _agreement(pair, agreed_by="learner")
    assert _kinds(learner, {Role.LEARNER})["learner"] == []
    assert _kinds(mentor, {Role.MENTOR})["guide"] == ["agreement"]


def test_nothing_waiting_says_so(client, learner):
    client.force_login(learner)
    html = client.get("/").content.decode()
    assert "Nothing is waiting for you right now." in html


@pytest.mark.today(NOW_)
def test_times_are_in_the_reader_s_zone(client, program, learner, mentor):
    ParticipantProfile.objects.create(user=learner, timezone="America/New_York")
    pair = _pair(program, mentor, learner)
    _meeting(pair, timezone.now() + 30 * datetime.timedelta(minutes=1))
    client.force_login(learner)
    html = client.get("/").content.decode()
    assert "Monday 7 December, 05:30 (America/New_York)" in html
    assert when_text(timezone.now(), datetime.UTC) == "Monday 7 December, 10:00 (UTC)"


def test_admin_sees_counts_only_of_their_own_programs(
    program, other_program, program_admin, learner, mentor, other_admin
):
    pair = _pair(program, mentor, learner, started=timezone.localdate() - 90 * DAY)
    RematchRequest.objects.create(relationship=pair, reason="Timetables")
    other = _pair(other_program, UserFactory(), UserFactory())
    RematchRequest.objects.create(relationship=other, reason="Elsewhere")
    kinds = _kinds(program_admin, {Role.PROGRAM_ADMIN}, [program])["admin"]
    assert kinds == ["rematch", "quiet"]
    titles = [
        item.title for item in todo_lists(program_admin, {Role.PROGRAM_ADMIN}, [program])[0].items
    ]
    assert titles[0] == "1 rematch request to answer in MS1 faculty mentoring"


def test_privacy_officer_is_given_the_access_log_not_told_to_wait(client, db):
    officer = UserFactory()
    officer.user_permissions.add(
        Permission.objects.get(content_type__app_label="mentoring", codename="view_accesslogentry")
    )
    give_mfa(officer)
    client.force_login(officer)
    html = client.get("/").content.decode()
    assert "You are not in a program yet" not in html
    assert 'id="todo-privacy"' in html and "/privacy/access-log/" in html


@pytest.mark.today(NOW_)
def test_privacy_officer_is_shown_recent_refusals_first(db):
    officer = UserFactory()
    officer.user_permissions.add(
        Permission.objects.get(content_type__app_label="mentoring", codename="view_accesslogentry")
    )
    for _ in range(2):
        AccessLogEntry.objects.create(
            actor=UserFactory(), action="read", outcome="refused", reason="not the author"
        )
    AccessLogEntry.objects.create(
        at=timezone.now() - 40 * DAY, action="read", outcome="refused", reason="too old"
    )
    lists = todo_lists(officer, frozenset(), [])
    items = lists[0].items
    assert [item.kind for item in items] == ["access-refused", "access-log"]
    assert items[0].title == (
        "2 refused attempts to open a confidential record in the last 30 days"
    )
    assert items[0].url == "/privacy/access-log/?outcome=refused&date_from=2026-11-07"


def test_privacy_officer_counts_only_what_came_after_the_review(client, db):
    officer = UserFactory()
    officer.user_permissions.add(
        Permission.objects.get(content_type__app_label="mentoring", codename="view_accesslogentry")
    )
    give_mfa(officer)
    AccessLogEntry.objects.create(action="read", outcome="refused", reason="before")
    client.force_login(officer)
    assert client.get("/privacy/access-log/reviewed/").status_code == 405  # POST only
    response = client.post("/privacy/access-log/reviewed/")
    assert response.status_code == 302
    assert [i.kind for i in todo_lists(officer, frozenset(), [])[0].items] == ["access-log"]
    AccessLogEntry.objects.create(action="read", outcome="refused", reason="after")
    items = todo_lists(officer, frozenset(), [])[0].items
    assert items[0].title == (
        "1 refused attempt to open a confidential record since you last reviewed the log"
    )


def test_only_a_privacy_officer_marks_the_log_reviewed(client, learner):
    client.force_login(learner)
    assert client.post("/privacy/access-log/reviewed/").status_code == 404


def test_dean_sees_new_figures_until_the_dashboard_is_opened(client, dean):
    now = timezone.now()
    SummaryRefresh.objects.create(started_at=now, finished_at=now, as_of=now.date())
    assert _kinds(dean, {Role.DEAN})["dean"][0] == "dean-new-figures"
    client.force_login(dean)
    assert client.get("/dashboards/institution/").status_code == 200
    assert _kinds(dean, {Role.DEAN})["dean"] == [
        "dean-dashboard",
        "dean-evaluation",
        "dean-surveys",
    ]


# --- Queries do not grow with the work waiting --------------------------------------------------


def _guide_world(program, n: int):
    """A guide with `n` of every kind of work: learners, meetings to log and coming, open
    action items, agreements to agree, time requests, informal proposals, self-match requests
    and surveys."""
    guide = UserFactory()
    membership_grant(user=guide, role=Role.MENTOR, program=program)
    now = timezone.now()
    for index in range(n):
        learner = UserFactory()
        membership_grant(user=learner, role=Role.LEARNER, program=program)
        pair = _pair(program, guide, learner, started=timezone.localdate() - index * DAY)
        _agreement(pair, agreed_by="learner")
        past = _meeting(pair, now - 3 * HOUR - index * datetime.timedelta(minutes=31))
        ActionItem.objects.create(meeting=past, text=f"Item {index}", created_by=guide)
        _meeting(pair, now + DAY + index * HOUR)
        TimeRequest.objects.create(relationship=pair)
        asker = UserFactory()
        _pair(program, guide, asker, status=Relationship.Status.PROPOSED)
        MatchRequest.objects.create(
            program=program, learner=asker, guide=guide, expires_at=now + 3 * DAY
        )
        invite(open_campaign(program, SurveyTemplate.Kind.GUIDE_END), guide, pair)
    return guide


def _learner_world(program, n: int):
    """A learner with `n` coming meetings, surveys and open action items."""
    learner = UserFactory()
    membership_grant(user=learner, role=Role.LEARNER, program=program)
    guide = UserFactory()
    pair = _pair(program, guide, learner)
    _agreement(pair, agreed_by="guide")
    TimeRequest.objects.create(relationship=pair)
    now = timezone.now()
    for index in range(n):
        past = _meeting(pair, now - (index + 1) * DAY, status=Meeting.Status.COMPLETED)
        ActionItem.objects.create(meeting=past, text=f"Item {index}", created_by=guide)
        _meeting(pair, now + (index + 1) * DAY)
        invite(open_campaign(program, SurveyTemplate.Kind.LEARNER_END), learner, pair)
    return learner


def _admin_world(program, n: int):
    """An administrator whose program has `n` open conflicts, rematch requests, quiet
    relationships and runs to review."""
    admin = UserFactory()
    membership_grant(user=admin, role=Role.PROGRAM_ADMIN, program=program)
    for _ in range(n):
        guide, learner = UserFactory(), UserFactory()
        pair = _pair(program, guide, learner, started=timezone.localdate() - 90 * DAY)
        RematchRequest.objects.create(relationship=pair, reason="Timetables")
        role = AssessmentRole.objects.create(
            assessor=guide,
            learner=learner,
            kind=AssessmentRole.Kind.choices[0][0],
            context="Clerkship",
            starts_on=timezone.localdate(),
        )
        Conflict.objects.create(
            program=program,
            relationship=pair,
            assessment_role=role,
            kind=Conflict.Kind.FLAGGED_OVERLAP,
        )
        MatchRun.objects.create(program=program, status=MatchRun.Status.DONE)
    return admin


def _home_queries(client, user) -> tuple[int, str]:
    give_mfa(user)
    client.force_login(user)
    client.get("/")  # warm: sessions, content types
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("world", ["guide", "learner", "admin"])
def test_home_queries_are_flat_from_1_to_50_items_of_each_kind(client, world, db):
    build = {"guide": _guide_world, "learner": _learner_world, "admin": _admin_world}[world]
    small = build(ProgramFactory(name="Small program"), 1)
    large = build(ProgramFactory(name="Large program"), 50)
    small_count, small_html = _home_queries(client, small)
    large_count, large_html = _home_queries(client, large)
    assert small_count == large_count
    assert 'class="todo-item' in small_html and 'class="todo-item' in large_html
    if world == "admin":
        assert "50 open conflicts in Large program" in large_html
        assert "50 quiet relationships in Large program" in large_html
        assert "50 match runs ready for review in Large program" in large_html
    if world == "guide":
        assert "47 more meetings to log" in large_html
