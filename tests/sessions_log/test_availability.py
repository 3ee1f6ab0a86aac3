"""A guide's availability (sessions_log/availability.py and its pages).

R10: a guide's open slots never overlap; the service refuses naming the clashing slot, and on
PostgreSQL the exclusion constraint refuses a direct insert and backs the service in a race.
Weekly patterns expand MEETING_SLOT_WEEKS ahead, idempotently, at the same local time across
daylight-saving changes, skipping (and reporting) times that would overlap; editing or ending
a pattern never touches a booked slot. R12: a refused form keeps what was typed.
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from config.celery import app
from mentoring.rules import RuleViolation
from sessions_log import availability, booking
from sessions_log.models import AvailabilityPattern, Slot
from tests.factories import ProgramFactory
from tests.sessions_log.booking_helpers import DAY, HOUR, now, set_zone, slot_of, start_pair

LONDON = zoneinfo.ZoneInfo("Europe/London")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
UTC = datetime.UTC


def add(guide, at, minutes=30, **kwargs) -> Slot:
    kwargs.setdefault("location", "Room 4.12")
    return availability.slot_add(guide=guide, starts_at=at, duration_minutes=minutes, **kwargs)


def weekly(guide, *, at_now, weekday, hour, zone="UTC", minutes=30, **kwargs):
    kwargs.setdefault("location", "Room 2")
    kwargs.setdefault("starts_on", at_now.date())
    return availability.pattern_add(
        guide=guide,
        weekday=weekday,
        start_time=datetime.time(hour, 0),
        duration_minutes=minutes,
        timezone_name=zone,
        now=at_now,
        **kwargs,
    )


# --- One-off slots and R10 ----------------------------------------------------------------


def test_overlapping_slot_is_refused_naming_the_clash(mentor):
    set_zone(mentor, "Europe/London")
    at = datetime.datetime(2031, 3, 4, 17, 0, tzinfo=LONDON)
    add(mentor, at, minutes=30)
    with pytest.raises(RuleViolation) as refused:
        add(mentor, at + datetime.timedelta(minutes=15), minutes=30)
    assert refused.value.rule == "R10"
    assert "your free slot on Tuesday 4 March 2031, 17:00-17:30 (Europe/London)" in str(
        refused.value
    )
    assert Slot.objects.filter(guide=mentor).count() == 1


def test_back_to_back_slots_and_another_guides_same_time_are_fine(mentor, other_mentor):
    at = now() + 3 * DAY
    add(mentor, at, minutes=30)
    add(mentor, at + datetime.timedelta(minutes=30), minutes=30)
    add(mentor, at - datetime.timedelta(minutes=30), minutes=30)
    add(other_mentor, at, minutes=30)
    assert Slot.objects.filter(guide=mentor).count() == 3


def test_a_withdrawn_slot_no_longer_blocks_its_time(mentor):
    at = now() + 3 * DAY
    first = add(mentor, at)
    availability.slot_withdraw(slot=first)
    again = add(mentor, at)
    assert again.pk != first.pk


def test_database_refuses_an_overlapping_slot_inserted_directly(mentor, other_mentor):
    at = now() + 3 * DAY
    slot_of(mentor, at=at, minutes=60)
    with pytest.raises(IntegrityError, match="slot_no_overlap"), transaction.atomic():
        slot_of(mentor, at=at + 30 * datetime.timedelta(minutes=1), minutes=60)
    # Withdrawn slots, back-to-back slots and other guides are outside the constraint.
    slot_of(mentor, at=at + 10 * datetime.timedelta(minutes=1), withdrawn_at=now())
    slot_of(mentor, at=at + HOUR)
    slot_of(other_mentor, at=at)


def test_a_race_past_the_check_meets_the_constraint_and_gets_the_same_refusal(mentor, monkeypatch):
    at = now() + 3 * DAY
    existing = slot_of(mentor, at=at, minutes=60)
    real = availability.clashing_slot
    calls = []

    def blind_first_time(*args, **kwargs):
        # The check runs before the other writer's slot exists: it sees nothing.
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(availability, "clashing_slot", blind_first_time)
    with pytest.raises(RuleViolation) as refused:
        add(mentor, at + 30 * datetime.timedelta(minutes=1))
    assert refused.value.rule == "R10"
    assert refused.value.record == existing
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("kwargs", "rule", "words"),
    [
        ({"location": "", "video_link": ""}, "BOOKING", "room or a video link"),
        ({"minutes": 5}, "BOOKING", "10 to 240 minutes"),
        ({"past": True}, "DATES", "in the future"),
    ],
)
def test_slot_add_refusals(mentor, kwargs, rule, words):
    at = now() - HOUR if kwargs.pop("past", False) else now() + DAY
    with pytest.raises(RuleViolation) as refused:
        add(mentor, at, **kwargs)
    assert refused.value.rule == rule
    assert words in str(refused.value)


def test_only_a_guide_publishes_and_only_for_their_own_programs(learner, mentor):
    with pytest.raises(RuleViolation) as refused:
        add(learner, now() + DAY)
    assert refused.value.rule == "ROLE"
    elsewhere = ProgramFactory(name="Elsewhere")
    with pytest.raises(RuleViolation):
        add(mentor, now() + DAY, programs=[elsewhere])
    assert not Slot.objects.exists()


def test_a_booked_slot_is_never_withdrawn(program, mentor, learner):
    pair = start_pair(program, mentor, learner)
    slot = slot_of(mentor, at=now() + 3 * DAY)
    booking.meeting_book(relationship=pair, slot=slot, learner=learner)
    with pytest.raises(RuleViolation) as refused:
        availability.slot_withdraw(slot=slot)
    assert refused.value.rule == "R10"
    slot.refresh_from_db()
    assert slot.withdrawn_at is None


# --- Weekly patterns ----------------------------------------------------------------------


def test_a_weekly_time_expands_weeks_ahead_and_again_adds_nothing(mentor, settings):
    settings.MEETING_SLOT_WEEKS = 8
    at_now = datetime.datetime(2031, 1, 6, 9, 0, tzinfo=UTC)  # a Monday morning
    pattern, expansion = weekly(mentor, at_now=at_now, weekday=1, hour=17)
    # Tuesdays from 7 January up to 3 March 2031 (8 weeks ahead): 7 January to 25 February.
    assert len(expansion.created) == 8
    assert not expansion.skipped
    assert {s.starts_at.weekday() for s in expansion.created} == {1}
    again = availability.expand_patterns(now=at_now)
    assert again.created == [] and again.skipped == []
    later = availability.expand_patterns(now=at_now + 7 * DAY)
    assert [s.starts_at.date() for s in later.created] == [datetime.date(2031, 3, 4)]
    assert Slot.objects.filter(pattern=pattern).count() == 9
    assert all(s.location == "Room 2" for s in Slot.objects.filter(pattern=pattern))


@pytest.mark.parametrize(
    ("zone", "at_now", "before", "after"),
    [
        # London springs forward on 30 March 2031: 17:00 local is 17:00 UTC, then 16:00 UTC.
        ("Europe/London", datetime.datetime(2031, 3, 17, 9, tzinfo=UTC), 17, 16),
        # New York falls back on 2 November 2031: 17:00 local is 21:00 UTC, then 22:00 UTC.
        ("America/New_York", datetime.datetime(2031, 10, 20, 9, tzinfo=UTC), 21, 22),
    ],
)
def test_a_weekly_time_keeps_its_local_time_across_daylight_saving(
    mentor, zone, at_now, before, after
):
    _, expansion = weekly(mentor, at_now=at_now, weekday=1, hour=17, zone=zone)
    local = zoneinfo.ZoneInfo(zone)
    assert {s.starts_at.astimezone(local).time() for s in expansion.created} == {
        datetime.time(17, 0)
    }
    hours = [s.starts_at.astimezone(UTC).hour for s in expansion.created]
    assert hours[0] == before and hours[-1] == after
    # The length is real minutes, whatever the clocks did.
    assert {s.ends_at - s.starts_at for s in expansion.created} == {datetime.timedelta(minutes=30)}


def test_expansion_skips_and_reports_a_time_that_overlaps_an_open_slot(mentor):
    at_now = datetime.datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    clash = slot_of(mentor, at=datetime.datetime(2031, 1, 14, 16, 45, tzinfo=UTC), minutes=30)
    _, expansion = weekly(mentor, at_now=at_now, weekday=1, hour=17)
    assert len(expansion.created) == 7
    (skipped,) = expansion.skipped
    assert skipped.startswith("Tuesday 14 January 2031, 17:00-17:30 (UTC)")
    assert "16:45-17:15" in skipped
    assert Slot.objects.open().filter(guide=mentor).count() == 8
    assert clash.pk in Slot.objects.values_list("pk", flat=True)


def test_a_week_the_guide_withdrew_is_not_put_back(mentor):
    at_now = datetime.datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    pattern, expansion = weekly(mentor, at_now=at_now, weekday=1, hour=17)
    availability.slot_withdraw(slot=expansion.created[2], now=at_now)
    again = availability.expand_patterns(now=at_now)
    assert again.created == []
    assert Slot.objects.open().filter(pattern=pattern).count() == 7


def test_an_overlapping_weekly_time_is_refused(mentor):
    at_now = datetime.datetime(2031, 1, 6, 9, 0, tzinfo=UTC)
    weekly(mentor, at_now=at_now, weekday=1, hour=17, minutes=60)
    with pytest.raises(RuleViolation) as refused:
        availability.pattern_add(
            guide=mentor,
            weekday=1,
            start_time=datetime.time(17, 30),
            duration_minutes=30,
            timezone_name="UTC",
            location="Room 9",
            starts_on=at_now.date(),
            now=at_now,
        )
    assert refused.value.rule == "R10"
    assert "every Tuesday, 17:00 for 60 minutes (UTC)" in str(refused.value)
    assert AvailabilityPattern.objects.count() == 1


def test_editing_a_weekly_time_leaves_booked_slots_alone(program, mentor, learner):
    pair = start_pair(program, mentor, learner)
    at_now = now()
    weekday = (at_now + 3 * DAY).weekday()
    pattern, expansion = weekly(mentor, at_now=at_now, weekday=weekday, hour=10)
    booked_slot = expansion.created[0]
    meeting = booking.meeting_book(relationship=pair, slot=booked_slot, learner=learner)
    free_before = {s.pk for s in expansion.created[1:]}

    # Half an hour later in another room: the free ones are replaced, the booked one is not.
    result = availability.pattern_edit(
        pattern=pattern,
        weekday=weekday,
        start_time=datetime.time(10, 15),
        duration_minutes=30,
        timezone_name="UTC",
        location="Room 7",
        starts_on=pattern.starts_on,
        now=at_now,
    )
    booked_slot.refresh_from_db()
    assert booked_slot.withdrawn_at is None and booked_slot.pattern_id == pattern.pk
    assert (booked_slot.starts_at.hour, booked_slot.starts_at.minute) == (10, 0)
    assert booked_slot.location == "Room 2"
    meeting.refresh_from_db()
    assert meeting.slot_id == booked_slot.pk and meeting.starts_at == booked_slot.starts_at
    assert not Slot.objects.open().filter(pk__in=free_before).exists()
    # The new time overlaps the booked slot's week: left out and reported.
    assert len(result.skipped) == 1 and "10:00-10:30" in result.skipped[0]
    new = Slot.objects.open().filter(pattern=pattern).exclude(pk=booked_slot.pk)
    assert new.count() == len(expansion.created) - 1
    assert {(s.starts_at.hour, s.starts_at.minute, s.location) for s in new} == {(10, 15, "Room 7")}


def test_editing_only_the_place_refreshes_free_slots_at_the_same_times(mentor):
    at_now = now()
    pattern, expansion = weekly(mentor, at_now=at_now, weekday=(at_now + DAY).weekday(), hour=9)
    times = sorted(s.starts_at for s in expansion.created)
    availability.pattern_edit(
        pattern=pattern,
        weekday=pattern.weekday,
        start_time=pattern.start_time,
        duration_minutes=30,
        timezone_name="UTC",
        location="",
        video_link="https://video.example/kenji",
        starts_on=pattern.starts_on,
        now=at_now,
    )
    open_slots = Slot.objects.open().filter(pattern=pattern).order_by("starts_at")
    assert [s.starts_at for s in open_slots] == times
    assert {(s.location, s.video_link) for s in open_slots} == {("", "https://video.example/kenji")}


def test_ending_a_weekly_time_takes_its_free_slots_down_and_keeps_booked_ones(
    program, mentor, learner
):
    pair = start_pair(program, mentor, learner)
    at_now = now()
    pattern, expansion = weekly(mentor, at_now=at_now, weekday=(at_now + 2 * DAY).weekday(), hour=8)
    booked = expansion.created[1]
    booking.meeting_book(relationship=pair, slot=booked, learner=learner)
    taken_down = availability.pattern_end(pattern=pattern, now=at_now)
    assert taken_down == len(expansion.created) - 1
    assert list(Slot.objects.open().filter(guide=mentor)) == [booked]
    pattern.refresh_from_db()
    assert not pattern.is_active
    assert availability.expand_patterns(now=at_now).created == []


def test_the_beat_task_is_registered_under_its_scheduled_name(mentor, settings):
    task_name = settings.CELERY_BEAT_SCHEDULE["expand-availability"]["task"]
    assert task_name == "sessions_log.tasks.expand_availability"
    AvailabilityPattern.objects.create(
        guide=mentor,
        weekday=(now() + 2 * DAY).weekday(),
        start_time=datetime.time(11, 0),
        starts_on=now().date(),
        location="Room 1",
    )
    created = app.tasks[task_name].apply().get()
    assert created == Slot.objects.filter(guide=mentor).count() >= settings.MEETING_SLOT_WEEKS
    assert app.tasks[task_name].apply().get() == 0


# --- Pages --------------------------------------------------------------------------------


def test_availability_page_shows_booked_and_free_times_in_the_guides_zone(
    client, program, mentor, learner, django_assert_max_num_queries
):
    set_zone(mentor, "America/Chicago")
    pair = start_pair(program, mentor, learner)
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    day = (now() + 5 * DAY).astimezone(chicago).date()
    free = slot_of(mentor, at=datetime.datetime.combine(day, datetime.time(9), tzinfo=chicago))
    taken = slot_of(mentor, at=datetime.datetime.combine(day, datetime.time(14), tzinfo=chicago))
    booking.meeting_book(relationship=pair, slot=taken, learner=learner)
    for hours in range(20):  # more slots must not mean more queries
        slot_of(mentor, at=free.starts_at + (30 + hours) * DAY)
    client.force_login(mentor)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("meetings:availability"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Times are in America/Chicago" in page
    assert "09:00\N{EN DASH}10:00" in page and "14:00\N{EN DASH}15:00" in page
    assert "Lucia Garcia" in page
    assert reverse("meetings:slot-withdraw", kwargs={"code": free.code}) in page
    assert reverse("meetings:slot-withdraw", kwargs={"code": taken.code}) not in page


def test_adding_a_slot_reads_the_time_in_the_guides_zone(client, mentor):
    set_zone(mentor, "America/Chicago")
    client.force_login(mentor)
    day = (now() + 10 * DAY).date()
    response = client.post(
        reverse("meetings:slot-add"),
        {
            "slot-date": day.isoformat(),
            "slot-start_time": "17:00",
            "slot-duration_minutes": "45",
            "slot-location": "Clinic B, room 3",
        },
    )
    assert response.status_code == 302
    slot = Slot.objects.get(guide=mentor)
    local = slot.starts_at.astimezone(zoneinfo.ZoneInfo("America/Chicago"))
    assert (local.date(), local.hour, local.minute) == (day, 17, 0)
    assert slot.ends_at - slot.starts_at == datetime.timedelta(minutes=45)


def _add_slot_at(client, day: str, time: str, minutes: int = 30):
    return client.post(
        reverse("meetings:slot-add"),
        {
            "slot-date": day,
            "slot-start_time": time,
            "slot-duration_minutes": str(minutes),
            "slot-location": "Clinic B, room 3",
        },
    )


@pytest.mark.today("2026-12-07")
def test_a_time_the_clocks_skip_is_refused_with_words_not_a_500(client, mentor):
    """02:30 on 14 March 2027 does not exist in New York (the clocks go from 02:00 to 03:00)."""
    set_zone(mentor, "America/New_York")
    client.force_login(mentor)
    response = _add_slot_at(client, "2027-03-14", "02:30")
    assert response.status_code == 200
    page = response.content.decode()
    assert "02:30 does not exist on Sunday 14 March 2027 in America/New_York" in page
    assert 'value="02:30"' in page
    assert not Slot.objects.exists()
    assert _add_slot_at(client, "2027-03-14", "03:30").status_code == 302


@pytest.mark.today("2026-12-07")
@pytest.mark.parametrize(
    ("zone", "day", "time", "utc_hour"),
    [
        ("America/New_York", "2027-11-07", "01:30", 5),  # 01:30 happens twice: the first, EDT
        ("Europe/London", "2027-10-31", "01:15", 0),  # the first, BST
        ("America/New_York", "2027-03-14", "01:45", 6),  # ends in the hour after the gap
    ],
)
def test_a_slot_at_a_clock_change_lasts_exactly_its_minutes(
    client, mentor, zone, day, time, utc_hour
):
    set_zone(mentor, zone)
    client.force_login(mentor)
    assert _add_slot_at(client, day, time, minutes=30).status_code == 302
    slot = Slot.objects.get(guide=mentor)
    assert slot.ends_at - slot.starts_at == datetime.timedelta(minutes=30)
    assert slot.starts_at.astimezone(UTC).hour == utc_hour


def test_a_refused_slot_shows_the_clash_and_keeps_what_was_typed(client, mentor):
    at = datetime.datetime.combine((now() + 10 * DAY).date(), datetime.time(17), tzinfo=UTC)
    slot_of(mentor, at=at, minutes=60)
    client.force_login(mentor)
    response = client.post(
        reverse("meetings:slot-add"),
        {
            "slot-date": at.date().isoformat(),
            "slot-start_time": "17:30",
            "slot-duration_minutes": "30",
            "slot-location": "Typed room 12",
            "slot-video_link": "https://video.example/typed",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "R10 Slots and bookings: this time overlaps your free slot" in page
    assert 'value="Typed room 12"' in page
    assert 'value="https://video.example/typed"' in page
    assert 'value="17:30"' in page
    assert Slot.objects.count() == 1


def test_an_invalid_weekly_time_keeps_what_was_typed(client, mentor):
    client.force_login(mentor)
    response = client.post(
        reverse("meetings:pattern-add"),
        {
            "pattern-weekday": "2",
            "pattern-start_time": "08:30",
            "pattern-duration_minutes": "30",
            "pattern-timezone": "Mars/Olympus",
            "pattern-location": "Typed room 5",
            "pattern-starts_on": now().date().isoformat(),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "is not a time zone we know" in page
    assert 'value="Typed room 5"' in page and 'value="Mars/Olympus"' in page
    assert not AvailabilityPattern.objects.exists()


def test_adding_a_weekly_time_from_the_page_publishes_its_slots(client, mentor, settings):
    client.force_login(mentor)
    response = client.post(
        reverse("meetings:pattern-add"),
        {
            "pattern-weekday": str((now() + 2 * DAY).weekday()),
            "pattern-start_time": "08:30",
            "pattern-duration_minutes": "30",
            "pattern-timezone": "Europe/London",
            "pattern-video_link": "https://video.example/kenji",
            "pattern-starts_on": now().date().isoformat(),
        },
        follow=True,
    )
    pattern = AvailabilityPattern.objects.get(guide=mentor)
    count = Slot.objects.filter(pattern=pattern).count()
    assert count >= settings.MEETING_SLOT_WEEKS
    assert f"{count} slots in the next {settings.MEETING_SLOT_WEEKS} weeks" in (
        response.content.decode()
    )


def test_another_guide_cannot_edit_end_or_withdraw(client, mentor, other_mentor):
    pattern, expansion = weekly(mentor, at_now=now(), weekday=3, hour=12)
    client.force_login(other_mentor)
    code = {"code": pattern.code}
    assert client.get(reverse("meetings:pattern-edit", kwargs=code)).status_code == 404
    assert client.post(reverse("meetings:pattern-end", kwargs=code)).status_code == 404
    slot_code = {"code": expansion.created[0].code}
    assert client.post(reverse("meetings:slot-withdraw", kwargs=slot_code)).status_code == 404
    pattern.refresh_from_db()
    assert pattern.is_active
    assert Slot.objects.open().filter(pattern=pattern).count() == len(expansion.created)


def test_far_away_dates_are_refused_or_harmless_never_an_error(client, mentor):
    client.force_login(mentor)
    response = client.post(
        reverse("meetings:slot-add"),
        {
            "slot-date": "9999-12-31",
            "slot-start_time": "23:50",
            "slot-duration_minutes": "240",
            "slot-location": "Room 1",
        },
    )
    assert response.status_code == 200
    assert "within the coming year" in response.content.decode()
    response = client.post(
        reverse("meetings:pattern-add"),
        {
            "pattern-weekday": "4",
            "pattern-start_time": "23:50",
            "pattern-duration_minutes": "240",
            "pattern-timezone": "Pacific/Kiritimati",
            "pattern-location": "Room 1",
            "pattern-starts_on": "9999-12-31",
        },
    )
    assert response.status_code == 302
    assert not Slot.objects.exists()
