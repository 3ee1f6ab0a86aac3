"""Booking, rescheduling, cancelling and asking for times (sessions_log/booking.py, pages).

R10: a slot is never double-booked. Sixteen learners racing for one slot on their own
database connections: exactly one booking, fifteen friendly "just taken" refusals, twenty
times over. The page answers a lost race with the next free slots, never a 500. Notice rules:
the learner moves or cancels up to the program's notice; later, moving is refused and
cancelling is recorded as late; the guide cancels any time, with a message. A learner whose
guide has no free time asks for one; a new slot answers and emails them. R8 and R12 on pages.
"""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from accounts.models import Role
from accounts.services import membership_grant
from mentoring.models import Relationship
from mentoring.rules import RuleViolation
from sessions_log import availability, booking, time_requests
from sessions_log.availability import constraint_name
from sessions_log.models import Meeting, Slot, TimeRequest
from tests.factories import ProgramFactory, UserFactory
from tests.sessions_log.booking_helpers import DAY, HOUR, now, slot_of, start_pair


@pytest.fixture
def pair(program, mentor, learner):
    return start_pair(program, mentor, learner)


def book(pair, slot) -> Meeting:
    return booking.meeting_book(relationship=pair, slot=slot, learner=pair.learner)


# --- Booking ------------------------------------------------------------------------------


def test_the_learner_books_a_free_slot_and_the_meeting_copies_it(pair, mentor):
    slot = slot_of(mentor, at=now() + 3 * DAY, video_link="https://video.example/k")
    meeting = book(pair, slot)
    assert (meeting.starts_at, meeting.ends_at) == (slot.starts_at, slot.ends_at)
    assert (meeting.location, meeting.video_link) == ("Room 4.12", "https://video.example/k")
    assert (meeting.status, meeting.sequence, meeting.booked_by) == ("booked", 0, pair.learner)
    assert slot not in booking.free_slots_for(pair)


def test_a_booked_slot_is_refused_as_just_taken(program, pair, mentor):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    book(pair, slot)
    rival = UserFactory()
    membership_grant(user=rival, role=Role.LEARNER, program=program)
    rival_pair = start_pair(program, mentor, rival)
    with pytest.raises(RuleViolation) as refused:
        book(rival_pair, slot)
    assert refused.value.rule == "R10"
    assert "just taken" in str(refused.value)
    assert Meeting.objects.filter(slot=slot).count() == 1


def test_the_unique_constraint_decides_when_both_pass_the_checks(
    program, pair, mentor, monkeypatch
):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    book(pair, slot)
    with pytest.raises(IntegrityError) as broken, transaction.atomic():
        Meeting.objects.create(
            relationship=pair, slot=slot, starts_at=slot.starts_at, ends_at=slot.ends_at
        )
    assert constraint_name(broken.value) == "meeting_one_per_slot"
    # A second learner whose checks ran before the first booking committed: the insert meets
    # the constraint, and the answer is the same friendly refusal.
    rival = UserFactory()
    membership_grant(user=rival, role=Role.LEARNER, program=program)
    monkeypatch.setattr(booking, "_check_slot", lambda relationship, slot, now: slot)
    with pytest.raises(RuleViolation) as refused:
        book(start_pair(program, mentor, rival), slot)
    assert refused.value.rule == "R10" and "just taken" in str(refused.value)


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ("past", "BOOKING"),
        ("withdrawn", "R10"),
        ("other_guide", "BOOKING"),
        ("other_program", "BOOKING"),
        ("paused", "STATE"),
    ],
)
def test_booking_refusals(pair, mentor, other_mentor, change, rule):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    if change == "past":
        slot = slot_of(mentor, at=now() - 2 * HOUR)
    elif change == "withdrawn":
        availability.slot_withdraw(slot=slot)
    elif change == "other_guide":
        slot = slot_of(other_mentor, at=now() + 3 * DAY)
    elif change == "other_program":
        slot.programs.set([ProgramFactory(name="Residency advising")])
    elif change == "paused":
        Relationship.objects.filter(pk=pair.pk).update(status="paused")
        pair.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        book(pair, slot)
    assert refused.value.rule == rule
    assert not Meeting.objects.exists()


def test_a_slot_kept_for_the_relationships_program_is_bookable(program, pair, mentor):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    slot.programs.set([program])
    assert list(booking.free_slots_for(pair)) == [slot]
    assert book(pair, slot).slot == slot


def test_only_the_learner_books(pair, mentor):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    with pytest.raises(RuleViolation) as refused:
        booking.meeting_book(relationship=pair, slot=slot, learner=mentor)
    assert refused.value.rule == "ROLE"


# --- The race (R10), real threads on their own connections -------------------------------

RACERS = 16
ROUNDS = 20


def _race(relationship, slot, barrier, won, refused, failed) -> None:
    """One learner's attempt, on this thread's own database connection."""
    try:
        barrier.wait(timeout=30)
        book(relationship, slot)
        won.append(relationship.pk)
    except RuleViolation as violation:
        refused.append(violation)
    except Exception as exc:  # anything else fails the test
        failed.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_sixteen_learners_racing_for_one_slot_get_one_booking_and_fifteen_refusals(
    program, mentor, eager_tasks
):
    pairs = []
    for n in range(RACERS):
        person = UserFactory(full_name=f"Racer {n}")
        membership_grant(user=person, role=Role.LEARNER, program=program)
        pairs.append(
            Relationship.objects.create(
                program=program,
                guide=mentor,
                learner=person,
                kind=program.kind,
                started_on=now().date(),
            )
        )
    start = now() + 2 * DAY
    for round_ in range(ROUNDS):
        slot = slot_of(mentor, at=start + round_ * HOUR)
        barrier = threading.Barrier(RACERS)
        won, refused, failed = [], [], []
        threads = [
            threading.Thread(target=_race, args=(p, slot, barrier, won, refused, failed))
            for p in pairs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failed, f"round {round_}: {failed!r}"
        assert len(won) == 1, f"round {round_}: {len(won)} bookings"
        assert len(refused) == RACERS - 1
        assert {v.rule for v in refused} == {"R10"}
        assert all("just taken" in str(v) for v in refused)
        assert Meeting.objects.filter(slot=slot, status="booked").count() == 1
    assert Meeting.objects.count() == ROUNDS
    # Each winner (and their mentor) got the invitation once the booking committed.
    assert len(mail.outbox) == 2 * ROUNDS


# --- Rescheduling -------------------------------------------------------------------------


def test_the_learner_moves_a_meeting_to_another_free_slot(pair, mentor):
    first = slot_of(mentor, at=now() + 3 * DAY)
    second = slot_of(mentor, at=now() + 4 * DAY, location="Room 9")
    meeting = book(pair, first)
    moved = booking.meeting_reschedule(meeting=meeting, slot=second, by=pair.learner)
    assert moved.pk == meeting.pk and moved.code == meeting.code
    assert (moved.slot, moved.starts_at, moved.location) == (second, second.starts_at, "Room 9")
    assert moved.sequence == 1
    assert list(booking.free_slots_for(pair)) == [first]
    assert Meeting.objects.count() == 1


def test_moving_later_than_the_notice_is_refused(program, pair, mentor):
    program.cancel_notice_hours = 48
    program.save(update_fields=["cancel_notice_hours"])
    meeting = book(pair, slot_of(mentor, at=now() + 30 * HOUR))
    later = slot_of(mentor, at=now() + 5 * DAY)
    with pytest.raises(RuleViolation) as refused:
        booking.meeting_reschedule(meeting=meeting, slot=later, by=pair.learner)
    assert refused.value.rule == "BOOKING"
    assert "48 hours' notice" in str(refused.value)
    meeting.refresh_from_db()
    assert (meeting.slot_id, meeting.sequence) != (later.pk, 1)


def test_moving_into_a_taken_slot_is_just_taken_and_the_guide_cannot_move(program, pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 3 * DAY))
    rival = UserFactory()
    membership_grant(user=rival, role=Role.LEARNER, program=program)
    taken = slot_of(mentor, at=now() + 4 * DAY)
    book(start_pair(program, mentor, rival), taken)
    with pytest.raises(RuleViolation) as refused:
        booking.meeting_reschedule(meeting=meeting, slot=taken, by=pair.learner)
    assert refused.value.rule == "R10" and "just taken" in str(refused.value)
    free = slot_of(mentor, at=now() + 5 * DAY)
    with pytest.raises(RuleViolation) as refused:
        booking.meeting_reschedule(meeting=meeting, slot=free, by=mentor)
    assert refused.value.rule == "ROLE"


# --- Cancelling ---------------------------------------------------------------------------


def test_the_learner_cancels_in_time_and_the_slot_is_free_again(pair, mentor):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    meeting = booking.meeting_cancel(meeting=book(pair, slot), by=pair.learner)
    assert (meeting.status, meeting.cancelled_by, meeting.sequence) == (
        "cancelled",
        pair.learner,
        1,
    )
    assert list(booking.free_slots_for(pair)) == [slot]


def test_a_learner_cancelling_later_than_the_notice_is_recorded_as_late(pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 5 * HOUR))  # notice: 24 hours
    meeting = booking.meeting_cancel(meeting=meeting, by=pair.learner, message="Sorry, ill.")
    assert meeting.status == Meeting.Status.LATE_CANCEL
    assert meeting.cancel_message == "Sorry, ill."


def test_the_cancel_message_is_on_the_meeting_page_for_the_other_person_late_or_not(
    client, pair, mentor
):
    """The email says there is a message and that it is in the app: it must be there, for a
    late cancellation too."""

    late = booking.meeting_cancel(
        meeting=book(pair, slot_of(mentor, at=now() + 5 * HOUR)),
        by=pair.learner,
        message="Sorry, ill.",
    )
    in_time = booking.meeting_cancel(
        meeting=book(pair, slot_of(mentor, at=now() + 3 * DAY)),
        by=pair.learner,
        message="Exam moved.",
    )
    assert (late.status, in_time.status) == ("late_cancel", "cancelled")
    client.force_login(mentor)
    for meeting, message in ((late, "Sorry, ill."), (in_time, "Exam moved.")):
        page = client.get(reverse("meetings:meeting", kwargs={"code": meeting.code}))
        assert f"Message from {pair.learner}" in page.content.decode()
        assert message in page.content.decode()


def test_the_guide_cancels_any_time_with_a_message(pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 2 * HOUR))
    meeting = booking.meeting_cancel(
        meeting=meeting, by=mentor, message="  Called into theatre; please book next week.  "
    )
    assert meeting.status == Meeting.Status.CANCELLED  # never "late" for the guide
    assert meeting.cancelled_by == mentor
    assert meeting.cancel_message == "Called into theatre; please book next week."


def test_a_meeting_that_started_or_was_cancelled_cannot_be_cancelled(pair, mentor):
    started = Meeting.objects.create(
        relationship=pair,
        starts_at=now() - HOUR,
        ends_at=now() + HOUR,
        booked_by=pair.learner,
    )
    with pytest.raises(RuleViolation) as refused:
        booking.meeting_cancel(meeting=started, by=mentor)
    assert refused.value.rule == "BOOKING"
    cancelled = booking.meeting_cancel(
        meeting=book(pair, slot_of(mentor, at=now() + 3 * DAY)), by=mentor
    )
    with pytest.raises(RuleViolation) as refused:
        booking.meeting_cancel(meeting=cancelled, by=pair.learner)
    assert refused.value.rule == "STATE"


def test_an_outsider_cannot_cancel(pair, mentor, other_mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 3 * DAY))
    with pytest.raises(RuleViolation):
        booking.meeting_cancel(meeting=meeting, by=other_mentor)
    meeting.refresh_from_db()
    assert meeting.status == "booked"


# --- Asking for times ---------------------------------------------------------------------


def test_asking_for_times_only_when_none_is_free_and_once(pair, mentor, settings):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    with pytest.raises(RuleViolation) as refused:
        booking.time_request_create(relationship=pair, learner=pair.learner)
    assert "has free slots" in str(refused.value)
    slot.delete()
    # A slot beyond the weeks shown does not count.
    slot_of(mentor, at=now() + (settings.MEETING_SLOT_WEEKS * 7 + 2) * DAY)
    request = booking.time_request_create(
        relationship=pair, learner=pair.learner, message="Evenings suit me."
    )
    assert request.answered_at is None
    with pytest.raises(RuleViolation) as refused:
        booking.time_request_create(relationship=pair, learner=pair.learner)
    assert "already" in str(refused.value)
    assert TimeRequest.objects.count() == 1


def test_a_new_slot_answers_the_request_and_emails_the_learner(
    pair, mentor, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        request = booking.time_request_create(
            relationship=pair, learner=pair.learner, message="Evenings, please."
        )
    (asked,) = mail.outbox
    assert asked.to == [mentor.email]
    assert "Evenings, please." not in asked.body  # the message stays in the app
    assert request in time_requests.open_time_requests(mentor)

    # A slot kept for another program answers nothing.
    with django_capture_on_commit_callbacks(execute=True):
        availability.slot_add(
            guide=mentor,
            starts_at=now() + 3 * DAY,
            duration_minutes=30,
            location="Room 1",
        )
    request.refresh_from_db()
    assert request.answered_at is not None
    answered = mail.outbox[1]
    assert answered.to == [pair.learner.email]
    assert reverse("meetings:book", kwargs={"code": pair.code}) in answered.body
    assert list(time_requests.open_time_requests(mentor)) == []


def test_a_slot_for_another_program_leaves_the_request_open(program, pair, mentor):
    other = ProgramFactory(name="Research mentoring")
    membership_grant(user=mentor, role=Role.MENTOR, program=other)
    request = booking.time_request_create(relationship=pair, learner=pair.learner)
    availability.slot_add(
        guide=mentor,
        starts_at=now() + 3 * DAY,
        duration_minutes=30,
        location="Room 1",
        programs=[other],
    )
    request.refresh_from_db()
    assert request.answered_at is None


# --- Pages --------------------------------------------------------------------------------


def test_booking_page_lists_free_times_by_day_and_books_one(client, pair, mentor):
    first = slot_of(mentor, at=now() + 3 * DAY)
    slot_of(mentor, at=now() + 3 * DAY + 2 * HOUR)
    slot_of(mentor, at=now() + 6 * DAY)
    client.force_login(pair.learner)
    page = client.get(reverse("meetings:book", kwargs={"code": pair.code})).content.decode()
    assert page.count("<h3>") == 2 or page.count("<h3>") == 3  # two or three days (midnight)
    assert page.count('aria-label="Book ') == 3
    response = client.post(
        reverse("meetings:book-slot", kwargs={"code": first.code}),
        {"relationship": str(pair.code)},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Booked:" in page and "Your upcoming meetings" in page
    assert page.count('aria-label="Book ') == 2
    assert Meeting.objects.get().slot == first


def test_losing_the_race_shows_just_taken_and_the_next_three_free_times(
    client, program, pair, mentor
):
    wanted = slot_of(mentor, at=now() + 3 * DAY)
    later = [slot_of(mentor, at=now() + (4 + n) * DAY) for n in range(4)]
    rival = UserFactory()
    membership_grant(user=rival, role=Role.LEARNER, program=program)
    book(start_pair(program, mentor, rival), wanted)
    client.force_login(pair.learner)
    response = client.post(
        reverse("meetings:book-slot", kwargs={"code": wanted.code}),
        {"relationship": str(pair.code)},
    )
    assert response.status_code == 200
    page = response.content.decode()
    taken = page.split('id="taken-heading"')[1].split("</section>")[0]
    assert "Just taken" in page and "just taken" in taken
    for slot in later[:3]:
        assert reverse("meetings:book-slot", kwargs={"code": slot.code}) in taken
    assert reverse("meetings:book-slot", kwargs={"code": later[3].code}) not in taken


def test_the_guide_may_not_book_for_the_learner_and_others_get_404(
    client, pair, mentor, other_mentor
):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    target = reverse("meetings:book-slot", kwargs={"code": slot.code})
    client.force_login(mentor)
    assert client.post(target, {"relationship": str(pair.code)}).status_code == 403
    client.force_login(other_mentor)
    assert client.post(target, {"relationship": str(pair.code)}).status_code == 404
    client.force_login(pair.learner)
    assert client.post(target, {"relationship": "not-a-code"}).status_code == 404
    assert not Meeting.objects.exists()


def test_another_guides_slot_is_not_found_from_a_relationship(client, pair, other_mentor):
    slot = slot_of(other_mentor, at=now() + 3 * DAY)
    client.force_login(pair.learner)
    response = client.post(
        reverse("meetings:book-slot", kwargs={"code": slot.code}),
        {"relationship": str(pair.code)},
    )
    assert response.status_code == 404


def test_reschedule_page_moves_and_keeps_the_choice_on_error(client, program, pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 3 * DAY))
    target = slot_of(mentor, at=now() + 4 * DAY)
    gone = slot_of(mentor, at=now() + 5 * DAY)
    rival = UserFactory()
    membership_grant(user=rival, role=Role.LEARNER, program=program)
    url = reverse("meetings:reschedule", kwargs={"code": meeting.code})
    client.force_login(pair.learner)
    page = client.get(url).content.decode()
    assert f'value="{target.code}"' in page and f'value="{gone.code}"' in page
    book(start_pair(program, mentor, rival), gone)  # taken while she was choosing
    response = client.post(url, {"slot": str(gone.code)})
    page = response.content.decode()
    assert response.status_code == 200
    assert "just taken" in page
    response = client.post(url, {})
    assert "Choose a new time" in response.content.decode()
    response = client.post(url, {"slot": str(target.code)})
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert (meeting.slot, meeting.sequence) == (target, 1)


def test_reschedule_page_explains_the_notice_and_offers_no_form(client, pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 3 * HOUR))
    slot_of(mentor, at=now() + 3 * DAY)
    client.force_login(pair.learner)
    url = reverse("meetings:reschedule", kwargs={"code": meeting.code})
    page = client.get(url).content.decode()
    assert "24 hours' notice" in page and 'name="slot"' not in page
    assert client.post(url, {"slot": "x"}).status_code == 200
    meeting.refresh_from_db()
    assert meeting.sequence == 0
    client.force_login(mentor)
    assert client.get(url).status_code == 403


def test_the_guide_cancels_from_the_page_with_a_message(client, pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 3 * DAY))
    url = reverse("meetings:cancel", kwargs={"code": meeting.code})
    client.force_login(mentor)
    page = client.get(url).content.decode()
    assert "A message for Lucia Garcia" in page
    # R12: a message too long is refused and kept.
    long = "x" * 1001
    response = client.post(url, {"message": long})
    assert response.status_code == 200 and long in response.content.decode()
    response = client.post(url, {"message": "Sorry: on call that day."})
    assert response.status_code == 302 and response["Location"] == reverse("meetings:availability")
    meeting.refresh_from_db()
    assert (meeting.status, meeting.cancelled_by, meeting.cancel_message) == (
        "cancelled",
        mentor,
        "Sorry: on call that day.",
    )
    # The learner reads the message on her booking page.
    client.force_login(pair.learner)
    page = client.get(reverse("meetings:book", kwargs={"code": pair.code})).content.decode()
    assert "Cancelled by Kenji Ito" in page and "Sorry: on call that day." in page


def test_a_learner_is_warned_before_a_late_cancellation(client, pair, mentor):
    meeting = book(pair, slot_of(mentor, at=now() + 3 * HOUR))
    client.force_login(pair.learner)
    url = reverse("meetings:cancel", kwargs={"code": meeting.code})
    assert "recorded as a late cancellation" in client.get(url).content.decode()
    client.post(url, {"message": ""})
    meeting.refresh_from_db()
    assert meeting.status == "late_cancel"


def test_asking_for_a_time_from_the_page(client, pair, mentor):
    client.force_login(pair.learner)
    book_url = reverse("meetings:book", kwargs={"code": pair.code})
    page = client.get(book_url).content.decode()
    assert "has no free time" in page and "Ask Kenji for a time" in page
    ask = reverse("meetings:time-request", kwargs={"code": pair.code})
    # R12: too long is refused, what was typed is kept.
    response = client.post(ask, {"message": "Typed " + "y" * 1000})
    assert response.status_code == 200 and "Typed yyy" in response.content.decode()
    assert not TimeRequest.objects.exists()
    response = client.post(ask, {"message": "Tuesday evenings."}, follow=True)
    assert "Asked." in response.content.decode()
    assert "You asked for a time on" in response.content.decode()
    client.force_login(mentor)
    page = client.get(reverse("meetings:availability")).content.decode()
    assert "Learners asking for a time (1)" in page and "Tuesday evenings." in page


def test_booking_page_runs_a_bounded_number_of_queries(
    client, pair, mentor, django_assert_max_num_queries
):
    for n in range(30):
        slot_of(mentor, at=now() + DAY + n * 3 * HOUR)
    for n in range(3):
        book(pair, slot_of(mentor, at=now() + 20 * DAY + n * HOUR))
    client.force_login(pair.learner)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("meetings:book", kwargs={"code": pair.code}))
    assert response.status_code == 200


def test_relationship_page_links_to_booking_and_availability(client, pair, mentor):
    url = reverse("mentoring:relationship-detail", kwargs={"code": pair.code})
    client.force_login(pair.learner)
    assert reverse("meetings:book", kwargs={"code": pair.code}) in client.get(url).content.decode()
    client.force_login(mentor)
    page = client.get(url).content.decode()
    assert reverse("meetings:availability") in page
    assert reverse("meetings:book", kwargs={"code": pair.code}) not in page


def test_slot_queryset_free_excludes_booked_but_not_cancelled(pair, mentor):
    slot = slot_of(mentor, at=now() + 3 * DAY)
    meeting = book(pair, slot)
    assert slot not in Slot.objects.free()
    booking.meeting_cancel(meeting=meeting, by=mentor)
    assert slot in Slot.objects.free()
