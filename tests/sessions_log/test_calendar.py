"""iCalendar invitations and private feeds (sessions_log/calendar.py), parsed back with
`icalendar`: one UID per meeting across a move, SEQUENCE rising with each change,
METHOD:CANCEL on cancellation, DTSTART at the right instant whatever the zones; the feed
works without sign-in and answers 404 once revoked. Nothing confidential is emailed."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from sessions_log import availability, booking, calendar
from sessions_log.models import CalendarFeed, Meeting, MeetingLog
from sessions_log.tasks_booking import send_meeting_invitation
from tests.sessions_log.booking_helpers import (
    DAY,
    HOUR,
    event_of,
    invitations,
    now,
    set_zone,
    slot_of,
    start_pair,
)

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


@pytest.fixture
def pair(program, mentor, learner):
    return start_pair(program, mentor, learner)


@pytest.fixture
def sent(eager_tasks, django_capture_on_commit_callbacks):
    """Run a change and its on-commit tasks (emails go to the locmem outbox)."""

    def run(change):
        with django_capture_on_commit_callbacks(execute=True):
            return change()

    return run


def test_booking_moving_and_cancelling_send_one_event_updated_in_place(pair, mentor, learner, sent):
    first = slot_of(mentor, at=now() + 3 * DAY, video_link="https://video.example/k")
    second = slot_of(mentor, at=now() + 4 * DAY, location="Room 9")
    meeting = sent(lambda: booking.meeting_book(relationship=pair, slot=first, learner=learner))

    booked = invitations(mail.outbox)
    assert sorted(to for to, _, _ in booked) == sorted([learner.email, mentor.email])
    _, cal, part = booked[0]
    assert part.get_param("method") == "REQUEST"
    assert part.get_filename() == "meeting.ics"
    assert cal["method"] == "REQUEST"
    event = event_of(cal)
    assert str(event["uid"]) == meeting.ical_uid
    assert event["sequence"] == 0
    assert event.decoded("dtstart") == first.starts_at
    assert event.decoded("dtend") == first.ends_at
    assert str(event["status"]) == "CONFIRMED"
    assert str(event["organizer"]) == f"mailto:{mentor.email}"
    assert {str(a) for a in event["attendee"]} == {
        f"mailto:{mentor.email}",
        f"mailto:{learner.email}",
    }
    assert str(event["url"]) == "https://video.example/k"
    assert str(event["location"]) == "Room 4.12"

    mail.outbox.clear()
    sent(lambda: booking.meeting_reschedule(meeting=meeting, slot=second, by=learner))
    moved = invitations(mail.outbox)
    assert len(moved) == 2
    event = event_of(moved[0][1])
    assert str(event["uid"]) == meeting.ical_uid
    assert event["sequence"] == 1
    assert event.decoded("dtstart") == second.starts_at
    assert str(event["location"]) == "Room 9"

    mail.outbox.clear()
    sent(lambda: booking.meeting_cancel(meeting=meeting, by=mentor, message="Sorry."))
    cancelled = invitations(mail.outbox)
    assert len(cancelled) == 2
    _, cal, part = cancelled[0]
    assert cal["method"] == "CANCEL" and part.get_param("method") == "CANCEL"
    event = event_of(cal)
    assert str(event["uid"]) == meeting.ical_uid
    assert event["sequence"] == 2
    assert str(event["status"]) == "CANCELLED"


def test_dtstart_is_the_right_instant_and_each_email_reads_in_its_readers_zone(
    pair, mentor, learner, sent
):
    set_zone(mentor, "America/Chicago")
    set_zone(learner, "Europe/London")
    day = (now() + 10 * DAY).astimezone(CHICAGO).date()
    _, expansion = availability.pattern_add(
        guide=mentor,
        weekday=day.weekday(),
        start_time=datetime.time(17, 0),
        duration_minutes=45,
        timezone_name="America/Chicago",
        location="Clinic B",
        starts_on=day,
    )
    slot = expansion.created[0]
    sent(lambda: booking.meeting_book(relationship=pair, slot=slot, learner=learner))
    expected = datetime.datetime.combine(day, datetime.time(17), tzinfo=CHICAGO)
    for _to, cal, _ in invitations(mail.outbox):
        start = event_of(cal).decoded("dtstart")
        assert start == expected
        assert start.utcoffset() == datetime.timedelta(0)  # a UTC instant: DTSTART:...Z
    by_reader = {m.to[0]: m for m in mail.outbox}
    london = expected.astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert f"{expected:%H:%M}-" in by_reader[mentor.email].body
    assert "(America/Chicago)" in by_reader[mentor.email].body
    assert f"{london:%H:%M}-" in by_reader[learner.email].body
    assert "(Europe/London)" in by_reader[learner.email].body


def test_cancellation_messages_stay_out_of_email(pair, mentor, learner, sent):
    meeting = sent(
        lambda: booking.meeting_book(
            relationship=pair, slot=slot_of(mentor, at=now() + 3 * DAY), learner=learner
        )
    )
    mail.outbox.clear()
    secret = "Personal-4c1e: family emergency, please keep this between us."
    sent(lambda: booking.meeting_cancel(meeting=meeting, by=mentor, message=secret))
    (to_learner,) = [m for m in mail.outbox if m.to == [learner.email]]
    assert "left you a message" in to_learner.body
    for message in mail.outbox:
        html = message.alternatives[0][0]
        ics = b"".join(p.get_payload(decode=True) for p in message.attachments)
        assert secret not in message.body and secret not in html
        assert secret.encode() not in ics


def test_a_stale_invitation_task_sends_nothing(pair, mentor, learner):
    meeting = booking.meeting_book(
        relationship=pair, slot=slot_of(mentor, at=now() + 3 * DAY), learner=learner
    )
    Meeting.objects.filter(pk=meeting.pk).update(sequence=3)
    send_meeting_invitation.apply(args=(meeting.pk, 0, "booked"))
    assert mail.outbox == []
    send_meeting_invitation.apply(args=(meeting.pk, 3, "booked"))
    assert len(mail.outbox) == 2


# --- The private feed ---------------------------------------------------------------------


def _feed_events(response) -> dict:
    cal = Calendar.from_ical(response.content)
    assert "method" not in cal  # a subscription, not an invitation
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_the_feed_works_without_sign_in_and_stops_once_revoked(client, pair, mentor, learner):
    upcoming = booking.meeting_book(
        relationship=pair, slot=slot_of(mentor, at=now() + 3 * DAY), learner=learner
    )
    recent = Meeting.objects.create(
        relationship=pair,
        starts_at=now() - 20 * DAY,
        ends_at=now() - 20 * DAY + HOUR,
        status="completed",
    )
    MeetingLog.objects.create(meeting=recent, reflection="Reflection-99: private words")
    old = Meeting.objects.create(
        relationship=pair, starts_at=now() - 120 * DAY, ends_at=now() - 120 * DAY + HOUR
    )
    cancelled = booking.meeting_cancel(
        meeting=booking.meeting_book(
            relationship=pair, slot=slot_of(mentor, at=now() + 5 * DAY), learner=learner
        ),
        by=learner,
    )

    client.force_login(learner)
    settings_url = reverse("meetings:feed-settings")
    assert "Make my calendar address" in client.get(settings_url).content.decode()
    client.post(settings_url, {"action": "create"})
    feed = CalendarFeed.objects.get(user=learner, revoked_at__isnull=True)
    page = client.get(settings_url).content.decode()
    url = reverse("meetings:feed", kwargs={"token": feed.token})
    assert url in page and "webcal://" in page
    client.logout()

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = _feed_events(response)
    assert set(events) == {upcoming.ical_uid, recent.ical_uid}
    assert old.ical_uid not in events and cancelled.ical_uid not in events
    assert events[upcoming.ical_uid].decoded("dtstart") == upcoming.starts_at
    assert b"Reflection-99" not in response.content
    # The guide's feed is his own, with the same meetings.
    mentor_feed = calendar.feed_create(user=mentor)
    mentor_events = _feed_events(
        client.get(reverse("meetings:feed", kwargs={"token": mentor_feed.token}))
    )
    assert set(mentor_events) == set(events)

    client.force_login(learner)
    client.post(settings_url, {"action": "revoke"})
    client.logout()
    assert client.get(url).status_code == 404
    new = CalendarFeed.objects.get(user=learner, revoked_at__isnull=True)
    assert new.token != feed.token
    assert client.get(reverse("meetings:feed", kwargs={"token": new.token})).status_code == 200
    assert client.get(reverse("meetings:feed", kwargs={"token": "x" * 43})).status_code == 404


def test_creating_a_feed_twice_keeps_one_live_address(learner):
    first = calendar.feed_create(user=learner)
    assert calendar.feed_create(user=learner) == first
    second = calendar.feed_revoke(user=learner)
    assert second != first
    assert list(CalendarFeed.objects.filter(user=learner, revoked_at__isnull=True)) == [second]


def test_an_inactive_persons_feed_is_gone(client, learner):
    feed = calendar.feed_create(user=learner)
    learner.is_active = False
    learner.save(update_fields=["is_active"])
    assert client.get(reverse("meetings:feed", kwargs={"token": feed.token})).status_code == 404
