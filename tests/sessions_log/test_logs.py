"""Meeting logs (sessions_log/logs.py): who logs what and when, action items carried to the
next meeting, ad-hoc meetings, and the metadata administrators read (R5), including the quiet
relationships list computed from real meetings."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import Relationship
from mentoring.rules import RuleViolation
from sessions_log import logs
from sessions_log.models import ActionItem, Meeting, MeetingLog
from tests.factories import UserFactory

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def _now() -> datetime.datetime:
    return timezone.now().replace(second=0, microsecond=0)


def make_meeting(relationship, *, at, status=Meeting.Status.BOOKED, minutes=60) -> Meeting:
    return Meeting.objects.create(
        relationship=relationship,
        starts_at=at,
        ends_at=at + datetime.timedelta(minutes=minutes),
        status=status,
        booked_by=relationship.learner,
    )


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


def _log(meeting, by, **kwargs):
    fields = {"status": "completed", "duration_minutes": 45, "topics": ["career"]}
    fields.update(kwargs)
    return logs.meeting_log_save(meeting=meeting, by=by, **fields)


# --- Logging ---------------------------------------------------------------------------------


def test_either_person_logs_a_meeting_that_has_begun(past, learner, mentor):
    log = _log(past, mentor, topics=["wellbeing", "academic", "wellbeing"])
    past.refresh_from_db()
    assert past.status == Meeting.Status.COMPLETED
    assert past.sequence == 1  # a change of status counts for calendar invitations
    assert log.duration_minutes == 45
    assert log.topics == ["academic", "wellbeing"]  # once each, in the order of TOPICS
    assert log.logged_by == mentor
    # The learner corrects it: still one log per meeting.
    _log(past, learner, duration_minutes=50)
    assert MeetingLog.objects.filter(meeting=past).count() == 1
    assert MeetingLog.objects.get(meeting=past).duration_minutes == 50


def test_a_meeting_in_progress_can_be_logged_but_a_future_one_cannot(pair, learner):
    started = make_meeting(pair, at=_now() - 10 * datetime.timedelta(minutes=1))
    _log(started, learner)
    future = make_meeting(pair, at=_now() + 2 * HOUR)
    with pytest.raises(RuleViolation) as refusal:
        _log(future, learner)
    assert refusal.value.rule == "BOOKING" and "not begun" in str(refusal.value)
    assert not MeetingLog.objects.filter(meeting=future).exists()
    future.refresh_from_db()
    assert future.status == Meeting.Status.BOOKED


def test_a_meeting_cancelled_ahead_cannot_be_logged(pair, learner):
    cancelled = make_meeting(pair, at=_now() - DAY, status=Meeting.Status.CANCELLED)
    with pytest.raises(RuleViolation, match="cancelled ahead"):
        _log(cancelled, learner)


@pytest.mark.parametrize("minutes", [0, -5, 601, None])
def test_a_completed_meeting_needs_a_duration_of_1_to_600_minutes(past, learner, minutes):
    with pytest.raises(ValidationError) as error:
        _log(past, learner, duration_minutes=minutes)
    assert "duration_minutes" in error.value.message_dict
    assert not MeetingLog.objects.filter(meeting=past).exists()


@pytest.mark.parametrize("minutes", [1, 600])
def test_duration_bounds_are_accepted(past, learner, minutes):
    assert _log(past, learner, duration_minutes=minutes).duration_minutes == minutes


def test_topics_must_be_known_categories(past, learner):
    with pytest.raises(ValidationError) as error:
        _log(past, learner, topics=["career", "gossip"])
    assert "topics" in error.value.message_dict


def test_no_show_and_late_cancel_keep_no_duration_or_topics(past, learner):
    log = _log(past, learner, status="no_show", duration_minutes=30, topics=["career"])
    assert (log.duration_minutes, log.topics) == (None, [])
    past.refresh_from_db()
    assert past.status == Meeting.Status.NO_SHOW
    _log(past, learner, status="late_cancel")
    past.refresh_from_db()
    assert past.status == Meeting.Status.LATE_CANCEL


@pytest.mark.parametrize("status", ["booked", "cancelled", "nonsense"])
def test_a_log_sets_only_the_three_logged_statuses(past, learner, status):
    with pytest.raises(ValidationError):
        _log(past, learner, status=status)


def test_only_the_learner_writes_the_reflection(past, learner, mentor):
    _log(past, learner, reflection="  I will ask two residents how they chose.  ")
    assert MeetingLog.objects.get(meeting=past).reflection == (
        "I will ask two residents how they chose."
    )
    with pytest.raises(PermissionDenied):
        _log(past, mentor, reflection="Overwritten by the guide")
    # The guide's own log changes duration and topics and leaves her words as they were.
    _log(past, mentor, duration_minutes=30, topics=["research"])
    log = MeetingLog.objects.get(meeting=past)
    assert log.reflection == "I will ask two residents how they chose."
    assert (log.duration_minutes, log.topics) == (30, ["research"])


def test_reflection_is_at_most_5000_characters(past, learner):
    _log(past, learner, reflection="x" * logs.REFLECTION_MAX_CHARS)
    with pytest.raises(ValidationError) as error:
        _log(past, learner, reflection="y" * (logs.REFLECTION_MAX_CHARS + 1))
    assert "reflection" in error.value.message_dict
    assert MeetingLog.objects.get(meeting=past).reflection == "x" * logs.REFLECTION_MAX_CHARS


def test_nobody_else_logs_a_meeting(past, other_mentor, program_admin, superuser):
    for person in (other_mentor, program_admin, superuser):
        with pytest.raises(PermissionDenied):
            _log(past, person)
    assert not MeetingLog.objects.exists()


def test_a_paused_relationship_still_logs(pair, past, learner):
    services.relationship_pause(relationship=pair)
    _log(past, learner)
    assert MeetingLog.objects.filter(meeting=past).exists()


def test_an_ended_relationship_logs_only_meetings_up_to_its_last_day(pair, learner):
    before = make_meeting(pair, at=_now() - 5 * DAY)
    after = make_meeting(pair, at=_now() - HOUR)
    services.relationship_end(
        relationship=pair,
        reason=Relationship.EndReason.COMPLETED,
        ends_on=timezone.localdate() - 2 * DAY,
    )
    _log(before, learner)
    with pytest.raises(RuleViolation) as refusal:
        _log(after, learner)
    assert refusal.value.rule == "STATE" and "ended on" in str(refusal.value)


def test_a_proposed_relationship_logs_nothing(program, other_mentor, learner):
    proposal = services.relationship_propose_informal(
        program=program, guide=other_mentor, learner=learner
    )
    meeting = make_meeting(proposal, at=_now() - HOUR)
    with pytest.raises(RuleViolation) as refusal:
        _log(meeting, learner)
    assert refusal.value.rule == "STATE"


def test_the_prompts_ask_the_learner_for_their_own_options_and_next_step():
    text = " ".join(logs.REFLECTION_PROMPTS).lower()
    assert all(prompt.endswith("?") for prompt in logs.REFLECTION_PROMPTS)
    assert "options" in text and "you will" in text and "you" in text
    assert "advice" not in text  # prompts about what the learner finds, not what they were told


# --- Action items ----------------------------------------------------------------------------


def test_action_items_show_at_the_top_of_the_next_meeting_until_done(pair, past, learner, mentor):
    _log(past, learner, action_item="Ask Dr Osei about the research elective")
    item = ActionItem.objects.get()
    extra = logs.action_item_add(meeting=past, by=mentor, text="Send the reading list")
    upcoming = make_meeting(pair, at=_now() + 2 * DAY)
    assert list(logs.open_items_before(upcoming)) == [item, extra]
    # Not on the meeting it came from, nor on earlier ones.
    assert list(logs.open_items_before(past)) == []
    logs.action_item_set_done(item=item, by=mentor)
    assert list(logs.open_items_before(upcoming)) == [extra]
    logs.action_item_set_done(item=item, by=learner, done=False)
    assert list(logs.open_items_before(upcoming)) == [item, extra]


def test_action_items_stay_within_their_relationship(program, pair, past, learner, other_mentor):
    _log(past, learner, action_item="Mine")
    second = UserFactory()
    membership_grant(user=second, role=Role.LEARNER, program=program)
    theirs = services.relationship_start(program=program, guide=other_mentor, learner=second)
    assert list(logs.open_items_before(make_meeting(theirs, at=_now() + DAY))) == []


def test_action_items_are_added_once_a_meeting_began_by_its_two_people(
    pair, past, learner, other_mentor
):
    future = make_meeting(pair, at=_now() + DAY)
    with pytest.raises(RuleViolation):
        logs.action_item_add(meeting=future, by=learner, text="Too early")
    with pytest.raises(PermissionDenied):
        logs.action_item_add(meeting=past, by=other_mentor, text="Not mine")
    with pytest.raises(ValidationError):
        logs.action_item_add(meeting=past, by=learner, text="   ")
    with pytest.raises(ValidationError):
        logs.action_item_add(meeting=past, by=learner, text="x" * 301)
    item = logs.action_item_add(meeting=past, by=learner, text="Fine")
    with pytest.raises(PermissionDenied):
        logs.action_item_set_done(item=item, by=other_mentor)
    assert ActionItem.objects.get().done_at is None


# --- Ad-hoc meetings -------------------------------------------------------------------------


def test_an_adhoc_meeting_is_a_completed_meeting_with_no_slot_and_its_log(pair, learner):
    at = _now() - 2 * DAY
    meeting = logs.meeting_adhoc_create(
        relationship=pair,
        by=learner,
        starts_at=at,
        duration_minutes=15,
        topics=["wellbeing"],
        location="Corridor, ward 4",
        reflection="I know whom to ask now.",
        action_item="Book the skills lab",
    )
    assert meeting.slot is None and meeting.status == Meeting.Status.COMPLETED
    assert meeting.booked_by is None and meeting.log.logged_by == learner  # nobody booked it
    assert meeting.ends_at - meeting.starts_at == datetime.timedelta(minutes=15)
    assert meeting.log.reflection == "I know whom to ask now."
    assert meeting.log.topics == ["wellbeing"]
    assert meeting.action_items.get().text == "Book the skills lab"
    # A second submission of the same form does not log it twice.
    with pytest.raises(RuleViolation, match="logged already"):
        logs.meeting_adhoc_create(relationship=pair, by=learner, starts_at=at, duration_minutes=15)
    assert Meeting.objects.count() == 1


def test_an_adhoc_meeting_is_in_the_past_and_within_the_relationship(pair, learner, mentor):
    with pytest.raises(ValidationError):
        logs.meeting_adhoc_create(
            relationship=pair, by=learner, starts_at=_now() + HOUR, duration_minutes=15
        )
    with pytest.raises(RuleViolation, match="started on"):
        logs.meeting_adhoc_create(
            relationship=pair, by=learner, starts_at=_now() - 90 * DAY, duration_minutes=15
        )
    with pytest.raises(PermissionDenied):
        logs.meeting_adhoc_create(
            relationship=pair,
            by=mentor,
            starts_at=_now() - HOUR,
            duration_minutes=15,
            reflection="The guide's words",
        )
    assert not Meeting.objects.exists()
    # The guide logs one too, without a reflection.
    meeting = logs.meeting_adhoc_create(
        relationship=pair, by=mentor, starts_at=_now() - HOUR, duration_minutes=20
    )
    assert meeting.log.reflection == "" and meeting.log.logged_by == mentor


# --- What administrators read ----------------------------------------------------------------


def test_meeting_facts_carry_metadata_only(pair, past, learner):
    _log(past, learner, reflection="Private thoughts", action_item="Private plan")
    make_meeting(pair, at=_now() + DAY)
    facts = logs.meeting_facts(pair)
    assert [f.status for f in facts] == ["booked", "completed"]  # newest first
    assert facts[1].duration_minutes == 45 and facts[1].topics == ["Career"]
    assert {f.name for f in dataclasses.fields(logs.MeetingFacts)} == {
        "starts_at",
        "status",
        "status_label",
        "duration_minutes",
        "topics",
    }
    assert "Private" not in repr(facts)


@pytest.fixture
def quiet_world(program, mentor):
    """Relationships of the program by how recently they met (the interval is 30 days)."""
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=20)
    today = timezone.localdate()

    def pair(name, *, started_days_ago=90):
        person = UserFactory(full_name=name)
        membership_grant(user=person, role=Role.LEARNER, program=program)
        return services.relationship_start(
            program=program,
            guide=mentor,
            learner=person,
            started_on=today - datetime.timedelta(days=started_days_ago),
        )

    pairs = {
        "never_met": pair("Never Met"),
        "met_recently": pair("Met Recently"),
        "met_long_ago": pair("Met Long Ago"),
        "only_no_show_recently": pair("Only No Show"),
        "booked_ahead_only": pair("Booked Ahead"),
        "new": pair("Just Started", started_days_ago=5),
        "paused": pair("Paused Pair"),
    }
    make_meeting(pairs["met_recently"], at=_now() - 10 * DAY, status="completed")
    make_meeting(pairs["met_recently"], at=_now() - 50 * DAY, status="completed")
    make_meeting(pairs["met_long_ago"], at=_now() - 40 * DAY, status="completed")
    make_meeting(pairs["only_no_show_recently"], at=_now() - 45 * DAY, status="completed")
    make_meeting(pairs["only_no_show_recently"], at=_now() - 5 * DAY, status="no_show")
    make_meeting(pairs["only_no_show_recently"], at=_now() - 3 * DAY, status="late_cancel")
    make_meeting(pairs["booked_ahead_only"], at=_now() - 50 * DAY, status="completed")
    make_meeting(pairs["booked_ahead_only"], at=_now() + 2 * DAY)
    services.relationship_pause(relationship=pairs["paused"])
    return pairs


def test_quiet_relationships_use_completed_meetings(program, quiet_world):
    cutoff = logs.quiet_cutoff(program)
    quiet = {
        r.learner.full_name: r.last_met for r in logs.quiet_relationships(program, cutoff=cutoff)
    }
    assert set(quiet) == {"Never Met", "Met Long Ago", "Only No Show", "Booked Ahead"}
    assert quiet["Never Met"] is None
    assert timezone.localdate(quiet["Met Long Ago"]) == timezone.localdate() - 40 * DAY
    assert timezone.localdate(quiet["Only No Show"]) == timezone.localdate() - 45 * DAY
    # Longest quiet first: never met, then the oldest last meeting.
    ordered = [r.learner.full_name for r in logs.quiet_relationships(program, cutoff=cutoff)]
    assert ordered == ["Never Met", "Booked Ahead", "Only No Show", "Met Long Ago"]


def test_quiet_interval_is_the_programs(program, quiet_world):
    program.expected_meeting_interval_days = 42
    program.save(update_fields=["expected_meeting_interval_days"])
    cutoff = logs.quiet_cutoff(program)
    names = {r.learner.full_name for r in logs.quiet_relationships(program, cutoff=cutoff)}
    assert names == {"Never Met", "Only No Show", "Booked Ahead"}
