"""The meeting pages (sessions_log/views_log.py) and what administrators see of meetings.

Only the two people of a relationship reach its meetings (R8: everyone else gets 404,
administrators and the operator included); the guide may read the learner's reflection but
not write it (403); a form error keeps what was typed (R12); administrators see dates,
durations, statuses and topics in the console and never a reflection or an action item (R5).
"""

from __future__ import annotations

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import times
from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from mentoring import services
from sessions_log import logs
from sessions_log.models import ActionItem, Meeting, MeetingLog
from tests.factories import ProgramFactory, UserFactory

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)
SECRET_REFLECTION = "Reflection-7f3a: I am scared of failing the OSCE again."
SECRET_ITEM = "Item-91bc: talk to the counsellor about the panic attacks"


def _now() -> datetime.datetime:
    return timezone.now().replace(second=0, microsecond=0)


def make_meeting(relationship, *, at, status=Meeting.Status.BOOKED, minutes=60) -> Meeting:
    return Meeting.objects.create(
        relationship=relationship,
        starts_at=at,
        ends_at=at + datetime.timedelta(minutes=minutes),
        status=status,
        booked_by=relationship.learner,
        location="Room 4.12",
    )


def url(name: str, obj) -> str:
    return reverse(f"meetings:{name}", kwargs={"code": obj.code})


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def pair(program, mentor, learner):
    return services.relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=timezone.localdate() - datetime.timedelta(days=60),
    )


@pytest.fixture
def past(pair):
    return make_meeting(pair, at=_now() - 7 * DAY)


@pytest.fixture
def upcoming(pair):
    return make_meeting(pair, at=_now() + DAY)


@pytest.fixture
def other_pair(program, other_mentor):
    """other_mentor guides someone else in the same program: she is a guide, but not ours."""
    person = UserFactory(full_name="Second Learner")
    membership_grant(user=person, role=Role.LEARNER, program=program)
    return services.relationship_start(program=program, guide=other_mentor, learner=person)


@pytest.fixture
def logged(past, learner):
    """Last week's meeting, logged by the learner with a reflection and an action item."""
    logs.meeting_log_save(
        meeting=past,
        by=learner,
        status="completed",
        duration_minutes=40,
        topics=["career", "wellbeing"],
        reflection=SECRET_REFLECTION,
        action_item=SECRET_ITEM,
    )
    return past


# --- Who gets in -----------------------------------------------------------------------------

NOT_THE_PAIR = ["other_mentor", "outsider", "assessor", "program_admin", "dean", "superuser"]


@pytest.mark.parametrize("member", NOT_THE_PAIR)
def test_only_the_pair_reach_a_meeting_everyone_else_gets_404(
    client, cast, pair, other_pair, logged, member
):
    item = ActionItem.objects.get()
    client.force_login(cast[member])
    cases = [
        ("get", url("meeting", logged), {}),
        ("get", url("meeting-log", logged), {}),
        ("post", url("meeting-log", logged), {"status": "no_show"}),
        ("post", url("action-item-add", logged), {"text": "Intruding"}),
        ("post", url("action-item-done", item), {}),
        ("get", url("adhoc-new", pair), {}),
        ("post", url("adhoc-new", pair), {"date": "2020-01-01"}),
        ("get", reverse("meetings:meetings") + f"?with={pair.code}", {}),
    ]
    for method, target, data in cases:
        response = getattr(client, method)(target, data)
        assert response.status_code == 404, (member, method, target)
    logged.refresh_from_db()
    assert logged.status == Meeting.Status.COMPLETED
    assert ActionItem.objects.get().done_at is None and ActionItem.objects.count() == 1
    assert Meeting.objects.filter(relationship=pair).count() == 1


def test_the_guide_of_another_relationship_sees_only_her_own_meetings(
    client, other_mentor, other_pair, logged
):
    hers = make_meeting(other_pair, at=_now() - DAY)
    client.force_login(other_mentor)
    page = html(client.get(reverse("meetings:meetings")))
    assert url("meeting", hers) in page
    assert url("meeting", logged) not in page and "Lucia" not in page


def test_anonymous_visitor_is_sent_to_sign_in(client, logged):
    response = client.get(url("meeting", logged))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_posts_only(client, learner, logged):
    client.force_login(learner)
    item = ActionItem.objects.get()
    assert client.get(url("action-item-add", logged)).status_code == 405
    assert client.get(url("action-item-done", item)).status_code == 405


# --- The meeting page ------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["learner", "mentor"])
def test_both_people_see_the_whole_log(client, cast, logged, member):
    client.force_login(cast[member])
    page = html(client.get(url("meeting", logged)))
    assert SECRET_REFLECTION in page
    assert SECRET_ITEM in page
    assert "40 minutes" in page and "Career, Wellbeing" in page


def test_meeting_page_shows_time_in_the_viewers_zone_place_and_other_person(
    client, learner, mentor, upcoming
):
    ParticipantProfile.objects.create(user=learner, timezone="Asia/Tokyo")
    client.force_login(learner)
    page = html(client.get(url("meeting", upcoming)))
    local = timezone.localtime(upcoming.starts_at, timezone=datetime.timezone(9 * HOUR))
    assert local.strftime("%H:%M") in page and "Asia/Tokyo" in page
    assert "Room 4.12" in page and "Kenji Ito" in page
    # Ahead and booked: not loggable yet.
    assert url("meeting-log", upcoming) not in page
    client.force_login(mentor)
    page = html(client.get(url("meeting", upcoming)))
    assert "Lucia Garcia" in page and "UTC" in page  # no profile: the site's zone


def test_reschedule_and_cancel_links_only_for_a_booked_meeting_ahead(
    client, learner, upcoming, past
):
    client.force_login(learner)
    page = html(client.get(url("meeting", upcoming)))
    for name in ("reschedule", "cancel"):
        assert url(name, upcoming) in page
    page = html(client.get(url("meeting", past)))
    assert "Reschedule" not in page and "Cancel the meeting" not in page
    assert url("meeting-log", past) in page


def test_action_items_of_earlier_meetings_are_at_the_top_of_the_next(
    client, mentor, logged, upcoming
):
    client.force_login(mentor)
    page = html(client.get(url("meeting", upcoming)))
    assert "Still to do from earlier meetings" in page
    assert page.index(SECRET_ITEM) < page.index("The meeting</h2>")
    item = ActionItem.objects.get()
    # Marked done with htmx: the item's new markup comes back in place, no page load.
    response = client.post(
        url("action-item-done", item), {"shown_on": upcoming.code}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith(("<li", "\n<li")) or "<li" in fragment[:200]
    assert "Done" in fragment and "Open it again" in fragment and "<html" not in fragment
    item.refresh_from_db()
    assert item.done_at is not None
    assert SECRET_ITEM not in html(client.get(url("meeting", upcoming)))


def test_marking_done_without_javascript_returns_to_the_page_it_was_on(
    client, learner, logged, upcoming
):
    item = ActionItem.objects.get()
    client.force_login(learner)
    response = client.post(url("action-item-done", item), {"shown_on": upcoming.code})
    assert response.status_code == 302
    assert response["Location"] == url("meeting", upcoming) + "#action-items"
    item.refresh_from_db()
    assert item.done_at is not None
    response = client.post(url("action-item-done", item), {"done": "0", "shown_on": "junk"})
    assert response["Location"] == url("meeting", logged) + "#action-items"
    item.refresh_from_db()
    assert item.done_at is None


def test_action_item_added_on_the_meeting_page(client, mentor, past):
    client.force_login(mentor)
    response = client.post(url("action-item-add", past), {"text": "Send the elective list"})
    assert response.status_code == 302
    assert ActionItem.objects.get().created_by == mentor


def test_action_item_error_keeps_what_was_typed(client, learner, past):
    client.force_login(learner)
    long_text = "Plan " + "x" * 400
    response = client.post(url("action-item-add", past), {"text": long_text})
    assert response.status_code == 200
    assert long_text in html(response)
    assert not ActionItem.objects.exists()


def test_action_item_on_a_meeting_ahead_is_refused_with_a_message(client, learner, upcoming):
    client.force_login(learner)
    response = client.post(url("action-item-add", upcoming), {"text": "Too early"}, follow=True)
    assert "not begun" in html(response)
    assert not ActionItem.objects.exists()


# --- The log form ----------------------------------------------------------------------------


def test_learner_form_has_the_reflection_and_its_prompts(client, learner, past):
    client.force_login(learner)
    page = html(client.get(url("meeting-log", past)))
    assert 'name="reflection"' in page
    for prompt in logs.REFLECTION_PROMPTS:
        assert prompt in page
    assert 'value="60"' in page  # the booked length, to start from


def test_learner_logs_with_reflection_and_action_item(client, learner, past):
    client.force_login(learner)
    response = client.post(
        url("meeting-log", past),
        {
            "status": "completed",
            "duration_minutes": "55",
            "topics": ["research", "career"],
            "reflection": "I will draft two options and choose one.",
            "action_item": "Email the lab",
        },
    )
    assert response.status_code == 302 and response["Location"] == url("meeting", past)
    log = MeetingLog.objects.get(meeting=past)
    assert (log.duration_minutes, log.topics) == (55, ["career", "research"])
    assert log.reflection == "I will draft two options and choose one."
    assert ActionItem.objects.get().text == "Email the lab"


def test_guide_logs_without_a_reflection_field_and_cannot_write_one(client, mentor, logged):
    client.force_login(mentor)
    page = html(client.get(url("meeting-log", logged)))
    assert 'name="reflection"' not in page
    data = {"status": "completed", "duration_minutes": "30", "topics": ["academic"]}
    response = client.post(url("meeting-log", logged), {**data, "reflection": "Rewritten"})
    assert response.status_code == 403
    assert MeetingLog.objects.get().reflection == SECRET_REFLECTION
    assert MeetingLog.objects.get().duration_minutes == 40
    response = client.post(url("meeting-log", logged), data)
    assert response.status_code == 302
    log = MeetingLog.objects.get()
    assert (log.duration_minutes, log.topics, log.reflection) == (
        30,
        ["academic"],
        SECRET_REFLECTION,
    )


def test_log_errors_keep_what_was_typed(client, learner, past):
    client.force_login(learner)
    typed = "What I took from it: three options, " + "and more " * 10
    response = client.post(
        url("meeting-log", past),
        {
            "status": "completed",
            "duration_minutes": "0",
            "topics": ["wellbeing"],
            "reflection": typed,
            "action_item": "Call the dean's office",
        },
    )
    assert response.status_code == 200
    page = html(response)
    assert typed.strip() in page
    assert "Call the dean&#x27;s office" in page
    assert re.search(r'<input[^>]*value="wellbeing"[^>]*checked', page)
    assert "Please correct" in page
    assert not MeetingLog.objects.exists()
    # Too long a reflection: refused next to it, and still all there.
    too_long = "z" * (logs.REFLECTION_MAX_CHARS + 1)
    response = client.post(
        url("meeting-log", past),
        {"status": "completed", "duration_minutes": "30", "reflection": too_long},
    )
    assert response.status_code == 200 and too_long in html(response)
    assert not MeetingLog.objects.exists()
    # A completed meeting without a length.
    response = client.post(url("meeting-log", past), {"status": "completed"})
    assert response.status_code == 200 and "how long" in html(response)


def test_garbage_input_never_answers_500(client, learner, past):
    client.force_login(learner)
    for data in (
        {},
        {"status": "booked"},
        {"status": "completed", "duration_minutes": "forty"},
        {"status": "completed", "duration_minutes": "30", "topics": ["gossip"]},
    ):
        assert client.post(url("meeting-log", past), data).status_code == 200
    assert not MeetingLog.objects.exists()


def test_a_meeting_ahead_cannot_be_logged(client, learner, upcoming):
    client.force_login(learner)
    response = client.get(url("meeting-log", upcoming))
    assert response.status_code == 302 and response["Location"] == url("meeting", upcoming)
    response = client.post(
        url("meeting-log", upcoming), {"status": "completed", "duration_minutes": "30"}, follow=True
    )
    assert "not begun" in html(response)
    assert not MeetingLog.objects.exists()


# --- Ad-hoc meetings -------------------------------------------------------------------------


def test_learner_logs_a_corridor_conversation(client, learner, pair):
    client.force_login(learner)
    page = html(client.get(url("adhoc-new", pair)))
    assert 'name="reflection"' in page and logs.REFLECTION_PROMPTS[0] in page
    # She types the time as her clock shows it: in her own zone, not the site's.
    when = (_now() - 3 * HOUR).astimezone(times.zone_of(learner))
    response = client.post(
        url("adhoc-new", pair),
        {
            "date": when.date().isoformat(),
            "start_time": when.strftime("%H:%M"),
            "duration_minutes": "10",
            "location": "Corridor",
            "topics": ["professionalism"],
            "reflection": "I can handle the next ward round myself.",
        },
    )
    meeting = Meeting.objects.get()
    assert response.status_code == 302 and response["Location"] == url("meeting", meeting)
    assert meeting.slot is None and meeting.status == Meeting.Status.COMPLETED
    assert meeting.starts_at == when
    assert "Logged without a booking" in html(client.get(url("meeting", meeting)))
    booked = make_meeting(pair, at=_now() - DAY)
    assert "Booked by you" in html(client.get(url("meeting", booked)))


def test_adhoc_errors_keep_what_was_typed(client, learner, pair):
    client.force_login(learner)
    ahead = timezone.localtime(_now() + 3 * DAY)
    response = client.post(
        url("adhoc-new", pair),
        {
            "date": ahead.date().isoformat(),
            "start_time": "09:30",
            "duration_minutes": "20",
            "location": "Cafeteria",
            "reflection": "Typed before the mistake",
        },
    )
    assert response.status_code == 200
    page = html(response)
    assert "still to come" in page
    assert "Typed before the mistake" in page and "Cafeteria" in page and "09:30" in page
    assert not Meeting.objects.exists()


def test_guide_logs_an_adhoc_meeting_but_not_a_reflection(client, mentor, pair):
    client.force_login(mentor)
    assert 'name="reflection"' not in html(client.get(url("adhoc-new", pair)))
    when = timezone.localtime(_now() - 2 * HOUR)
    data = {
        "date": when.date().isoformat(),
        "start_time": when.strftime("%H:%M"),
        "duration_minutes": "10",
    }
    assert client.post(url("adhoc-new", pair), {**data, "reflection": "x"}).status_code == 403
    assert not Meeting.objects.exists()
    assert client.post(url("adhoc-new", pair), data).status_code == 302
    assert Meeting.objects.get().log.logged_by == mentor


def test_adhoc_for_an_unconfirmed_relationship_is_refused(client, program, other_mentor, learner):
    proposal = services.relationship_propose_informal(
        program=program, guide=other_mentor, learner=learner
    )
    client.force_login(learner)
    response = client.get(url("adhoc-new", proposal))
    assert response.status_code == 302
    assert response["Location"] == reverse("mentoring:relationship-detail", args=[proposal.code])


# --- Lists and navigation --------------------------------------------------------------------


def test_my_meetings_lists_upcoming_first_then_past(client, learner, pair, logged, upcoming):
    later = make_meeting(pair, at=_now() + 9 * DAY)
    client.force_login(learner)
    page = html(client.get(reverse("meetings:meetings")))
    positions = [page.index(url("meeting", m)) for m in (upcoming, later, logged)]
    assert positions == sorted(positions)
    assert page.index("Upcoming") < page.index("Past meetings")


def test_past_meetings_are_paginated_and_queries_bounded(
    client, learner, pair, django_assert_max_num_queries
):
    for week in range(1, 26):
        make_meeting(pair, at=_now() - week * 7 * DAY)
    for day in range(1, 4):
        make_meeting(pair, at=_now() + day * DAY)
    client.force_login(learner)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("meetings:meetings"))
    page = html(response)
    assert "Page 1 of 2" in page
    assert html(client.get(reverse("meetings:meetings") + "?page=2")).count("Log this meeting") == 5


def test_meetings_with_one_relationship(client, learner, pair, logged, program, mentor):
    # The learner's second relationship (coaching is another kind, so R3 allows it).
    coaching = services.relationship_start(
        program=_coaching_program(mentor, learner), guide=mentor, learner=learner
    )
    theirs = make_meeting(coaching, at=_now() - DAY)
    client.force_login(learner)
    page = html(client.get(reverse("meetings:meetings") + f"?with={pair.code}"))
    assert url("meeting", logged) in page and url("meeting", theirs) not in page
    assert url("adhoc-new", pair) in page
    assert client.get(reverse("meetings:meetings") + "?with=not-a-code").status_code == 404


def _coaching_program(mentor, learner):
    coaching = ProgramFactory(name="Coaching for residents", kind="coaching")
    membership_grant(user=mentor, role=Role.COACH, program=coaching)
    membership_grant(user=learner, role=Role.LEARNER, program=coaching)
    return coaching


def test_navigation_shows_meetings_to_learners_and_guides_only(
    client, learner, mentor, program_admin
):
    target = reverse("meetings:meetings")
    for person in (learner, mentor):
        client.force_login(person)
        assert f'href="{target}"' in html(client.get(reverse("home")))
    client.force_login(program_admin)
    assert f'href="{target}"' not in html(client.get(reverse("home")))


def test_relationship_page_links_to_its_meetings(client, mentor, pair):
    client.force_login(mentor)
    page = html(client.get(reverse("mentoring:relationship-detail", args=[pair.code])))
    assert reverse("meetings:meetings") + f"?with={pair.code}" in page
    assert url("adhoc-new", pair) in page


# --- Administrators: metadata only (R5) -------------------------------------------------------


def test_console_shows_meeting_metadata_and_never_the_log(
    client, program_admin, program, pair, logged
):
    client.force_login(program_admin)
    page = html(client.get(reverse("console:relationship-detail", args=[pair.code])))
    assert "Completed" in page and "40 min" in page and "Career, Wellbeing" in page
    assert logged.starts_at.strftime("%Y-%m-%d") in page
    assert "Reflection-7f3a" not in page and "Item-91bc" not in page


def test_the_reflection_never_reaches_administrators(
    client, program_admin, superuser, program, learner, pair, logged
):
    # Make the relationship quiet (its only completed meeting is older than the interval).
    Meeting.objects.filter(pk=logged.pk).update(
        starts_at=_now() - 40 * DAY, ends_at=_now() - 40 * DAY + HOUR
    )
    secrets = ("Reflection-7f3a", "Item-91bc")
    client.force_login(program_admin)
    console_pages = [
        reverse("console:relationship-detail", args=[pair.code]),
        reverse("console:quiet", args=[program.code]),
        reverse("console:relationships", args=[program.code]),
        reverse("console:person-detail", args=[program.code, learner.code]),
        reverse("console:people-export", args=[program.code]),
        reverse("console:assessments-export", args=[program.code]),
        reverse("console:program-detail", args=[program.code]),
    ]
    quiet = client.get(console_pages[1])
    assert "Lucia Garcia" in html(quiet)  # the page does list the pair
    for page in console_pages:
        response = client.get(page)
        assert response.status_code == 200, page
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert not any(s.encode() in body for s in secrets), page
    client.force_login(superuser)
    item = ActionItem.objects.get()
    admin_pages = [
        "/admin/",
        "/admin/sessions_log/meeting/",
        f"/admin/sessions_log/meeting/{logged.pk}/change/",
        "/admin/sessions_log/meetinglog/",
        f"/admin/sessions_log/meetinglog/{logged.log.pk}/change/",
        f"/admin/mentoring/relationship/{pair.pk}/change/",
        f"/admin/mentoring/relationship/{pair.pk}/delete/",  # lists what a delete would take
        f"/admin/sessions_log/meetinglog/?q={SECRET_REFLECTION[:10]}",
        "/admin/sessions_log/delivery/",
    ]
    for page in admin_pages:
        response = client.get(page)
        assert response.status_code == 200, page
        body = html(response)
        assert not any(s in body for s in secrets), page
        assert str(item.text) not in body
    assert client.get("/admin/sessions_log/actionitem/").status_code == 404


def test_quiet_page_uses_real_meetings(client, program_admin, program, pair, logged):
    client.force_login(program_admin)
    target = reverse("console:quiet", args=[program.code])
    assert "Lucia Garcia" not in html(client.get(target))  # met a week ago
    Meeting.objects.filter(pk=logged.pk).update(
        starts_at=_now() - 40 * DAY, ends_at=_now() - 40 * DAY + HOUR
    )
    page = html(client.get(target))
    assert "Lucia Garcia" in page
    assert timezone.localdate(_now() - 40 * DAY).isoformat() in page


def test_operator_cannot_add_or_delete_meetings_or_logs(client, superuser, logged):
    client.force_login(superuser)
    for model in ("meeting", "meetinglog"):
        assert client.get(f"/admin/sessions_log/{model}/add/").status_code == 403
    assert client.get(f"/admin/sessions_log/meeting/{logged.pk}/delete/").status_code == 403


def test_the_guide_is_offered_cancel_but_not_reschedule(client, mentor, upcoming):
    # Moving a meeting is the learner's (the reschedule page answers the guide 403).
    client.force_login(mentor)
    page = html(client.get(url("meeting", upcoming)))
    assert url("cancel", upcoming) in page
    assert url("reschedule", upcoming) not in page
    assert client.get(url("reschedule", upcoming)).status_code == 403


def test_the_meetings_list_never_reads_reflections_or_profiles(client, learner, past, upcoming):
    """The list shows each meeting's time, place, status, duration and topics: it selects
    those columns, not the reflection (R5) nor anyone's profile."""
    logs.meeting_log_save(
        meeting=past,
        by=learner,
        status=Meeting.Status.COMPLETED,
        duration_minutes=45,
        topics=[],
        reflection=SECRET_REFLECTION,
    )
    client.force_login(learner)
    client.get(reverse("meetings:meetings"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("meetings:meetings"))
    page = html(response)
    assert "45 minutes" in page
    assert "Room 4.12" in page
    assert SECRET_REFLECTION not in page
    listed = [q["sql"] for q in queries.captured_queries if "sessions_log_meeting" in q["sql"]]
    assert listed
    for sql in listed:
        assert "reflection" not in sql
        assert "accounts_participantprofile" not in sql
