"""Booking, rescheduling and cancelling meetings, and learners' requests for times.

Rules held here:
- R10, a slot is never double-booked: the partial unique constraint `meeting_one_per_slot`
  decides a race. Two learners may both pass the checks below; the second insert waits for
  the first to commit and then breaks the constraint, which becomes the friendly refusal
  `RuleViolation("R10", "just taken ...")` (never a 500). Booking holds a FOR SHARE lock on
  the slot (PostgreSQL), so bookers do not queue behind each other but a guide withdrawing or
  re-patterning the slot (FOR UPDATE) waits for them, and they for it.
- Only the learner of an active relationship books, and only a free future slot of their own
  guide that is not kept for other programs.
- Notice (Program.cancel_notice_hours): the learner moves or cancels a meeting up to that many
  hours before it. Later, moving is refused; cancelling is allowed and recorded as
  `late_cancel`. The guide may cancel at any time, with a message for the learner.
- Every booking, move and cancellation raises the meeting's iCalendar SEQUENCE (a move keeps
  the same Meeting row, so its UID) and emails both people an invitation when the transaction
  commits (tasks_booking.send_meeting_invitation).
- A learner whose guide has no free slot in the next MEETING_SLOT_WEEKS weeks may ask for
  times: one open request per relationship (constraint `time_request_one_open`).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from mentoring.models import Relationship
from mentoring.rules import RuleViolation
from sessions_log.availability import constraint_name
from sessions_log.calendar import invitations_queue
from sessions_log.models import Meeting, Slot, TimeRequest
from sessions_log.time_requests import time_request_queue

JUST_TAKEN = "just taken: someone else booked this slot a moment ago."


def free_slots_for(
    relationship: Relationship,
    *,
    now: datetime.datetime | None = None,
    weeks: int | None = None,
) -> QuerySet[Slot]:
    """Free future slots the learner of `relationship` may book: their guide's, open, not
    booked, and either kept for no program or kept for this relationship's program. Limited
    to `weeks` ahead when given. Soonest first."""
    now = now or timezone.now()
    through = Slot.programs.through
    qs = (
        Slot.objects.free()
        .filter(guide_id=relationship.guide_id, starts_at__gt=now)
        .filter(
            ~Exists(through.objects.filter(slot=OuterRef("pk")))
            | Exists(through.objects.filter(slot=OuterRef("pk"), program=relationship.program_id))
        )
        .order_by("starts_at")
    )
    if weeks is not None:
        qs = qs.filter(starts_at__lte=now + datetime.timedelta(weeks=weeks))
    return qs


def upcoming_meetings(relationship: Relationship, *, now=None) -> QuerySet[Meeting]:
    """The relationship's booked meetings that have not ended yet, soonest first."""
    now = now or timezone.now()
    return (
        Meeting.objects.filter(
            relationship=relationship, status=Meeting.Status.BOOKED, ends_at__gt=now
        )
        .select_related("relationship__program")  # within_notice reads the program per row
        .order_by("starts_at")
    )


def within_notice(meeting: Meeting, *, now=None) -> bool:
    """True while the learner may still move the meeting or cancel it without it counting as
    late: at least the program's notice hours before it starts."""
    now = now or timezone.now()
    notice = datetime.timedelta(hours=meeting.relationship.program.cancel_notice_hours)
    return meeting.starts_at - now >= notice


def _share_lock(slot: Slot) -> None:
    """FOR SHARE on the slot row: bookers share it, a withdrawal (FOR UPDATE) excludes them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {Slot._meta.db_table} WHERE id = %s FOR SHARE",  # noqa: S608
            [slot.pk],
        )


def _check_slot(relationship: Relationship, slot: Slot, now: datetime.datetime) -> Slot:
    """The slot, read again under the share lock, if this relationship's learner may book it;
    otherwise the refusal that says why."""
    _share_lock(slot)
    slot = Slot.objects.filter(pk=slot.pk).first()
    if slot is None or slot.guide_id != relationship.guide_id:
        raise RuleViolation("BOOKING", f"this slot is not one of {relationship.guide}'s.")
    if slot.withdrawn_at is not None:
        raise RuleViolation("R10", f"{relationship.guide} has withdrawn this slot.")
    if slot.starts_at <= now:
        raise RuleViolation("BOOKING", "this slot has already started; choose a later one.")
    kept_for = set(slot.programs.values_list("pk", flat=True))
    if kept_for and relationship.program_id not in kept_for:
        raise RuleViolation(
            "BOOKING", f"this slot is kept for another program than {relationship.program}."
        )
    if Meeting.objects.filter(slot=slot, status=Meeting.Status.BOOKED).exists():
        raise RuleViolation("R10", JUST_TAKEN, record=slot)
    return slot


def _check_learner(relationship: Relationship, learner) -> None:
    if relationship.learner_id != learner.pk:
        raise RuleViolation("ROLE", "only the learner of a relationship books its meetings.")
    if relationship.status != Relationship.Status.ACTIVE:
        raise RuleViolation(
            "STATE",
            f"this relationship is {relationship.get_status_display().lower()}: meetings are "
            "booked while it is active.",
        )


def _invite(meeting: Meeting, event: str) -> None:
    # An outbox row in this transaction: the invitation goes out once the booking commits,
    # whatever the broker does (R11: a broker that is down never fails a booking).
    invitations_queue(meeting=meeting, event=event)


def meeting_book(
    *, relationship: Relationship, slot: Slot, learner, now: datetime.datetime | None = None
) -> Meeting:
    """The learner of an active relationship books a free future slot of their guide. The
    meeting copies the slot's time and place. Refused with R10 "just taken" when another
    booking got the slot first, even in a race (the unique constraint decides)."""
    now = now or timezone.now()
    _check_learner(relationship, learner)
    try:
        with transaction.atomic():
            slot = _check_slot(relationship, slot, now)
            meeting = Meeting.objects.create(
                relationship=relationship,
                slot=slot,
                starts_at=slot.starts_at,
                ends_at=slot.ends_at,
                location=slot.location,
                video_link=slot.video_link,
                booked_by=learner,
            )
            _invite(meeting, "booked")
    except IntegrityError as exc:
        if constraint_name(exc) != "meeting_one_per_slot":
            raise
        raise RuleViolation("R10", JUST_TAKEN, record=slot) from exc
    return meeting


def _locked_meeting(meeting: Meeting) -> Meeting:
    return (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("relationship__program", "relationship__guide", "relationship__learner")
        .get(pk=meeting.pk)
    )


def _check_live(meeting: Meeting, now: datetime.datetime) -> None:
    if meeting.status != Meeting.Status.BOOKED:
        raise RuleViolation(
            "STATE", f"this meeting is {meeting.get_status_display().lower()} already."
        )
    if meeting.starts_at <= now:
        raise RuleViolation(
            "BOOKING",
            "this meeting has started; record what happened in its log instead.",
        )


def meeting_reschedule(
    *, meeting: Meeting, slot: Slot, by, now: datetime.datetime | None = None
) -> Meeting:
    """The learner moves a booked meeting to another free slot of the same guide: the same
    Meeting row (same iCalendar UID), SEQUENCE + 1, the old slot free again. Refused later
    than the program's notice hours before the meeting, and R10 "just taken" if the new slot
    went to someone else first."""
    now = now or timezone.now()
    try:
        with transaction.atomic():
            meeting = _locked_meeting(meeting)
            relationship = meeting.relationship
            _check_learner(relationship, by)
            _check_live(meeting, now)
            if not within_notice(meeting, now=now):
                hours = relationship.program.cancel_notice_hours
                raise RuleViolation(
                    "BOOKING",
                    f"{relationship.program} asks for {hours} hours' notice to move a meeting, "
                    "and this one is sooner than that. You can still cancel it (it is recorded "
                    f"as a late cancellation) or write to {relationship.guide}.",
                )
            if slot.pk == meeting.slot_id:
                raise RuleViolation("BOOKING", "the meeting is in this slot already.")
            slot = _check_slot(relationship, slot, now)
            meeting.slot = slot
            meeting.starts_at, meeting.ends_at = slot.starts_at, slot.ends_at
            meeting.location, meeting.video_link = slot.location, slot.video_link
            meeting.sequence += 1
            meeting.save(
                update_fields=[
                    "slot",
                    "starts_at",
                    "ends_at",
                    "location",
                    "video_link",
                    "sequence",
                    "updated_at",
                ]
            )
            _invite(meeting, "rescheduled")
    except IntegrityError as exc:
        if constraint_name(exc) != "meeting_one_per_slot":
            raise
        raise RuleViolation("R10", JUST_TAKEN, record=slot) from exc
    return meeting


def meeting_cancel(
    *, meeting: Meeting, by, message: str = "", now: datetime.datetime | None = None
) -> Meeting:
    """Either person cancels a booked meeting that has not started; the slot is free again.
    The learner cancelling later than the program's notice is recorded as `late_cancel`; the
    guide may cancel at any time. `message` is for the other person (shown in the app; the
    email says there is one, not what it says)."""
    now = now or timezone.now()
    with transaction.atomic():
        meeting = _locked_meeting(meeting)
        relationship = meeting.relationship
        if by.pk not in (relationship.guide_id, relationship.learner_id):
            raise RuleViolation("ROLE", "only the two people of a meeting cancel it.")
        _check_live(meeting, now)
        late = by.pk == relationship.learner_id and not within_notice(meeting, now=now)
        meeting.status = Meeting.Status.LATE_CANCEL if late else Meeting.Status.CANCELLED
        meeting.cancelled_by = by
        meeting.cancel_message = (message or "").strip()[:1000]
        meeting.sequence += 1
        meeting.save(
            update_fields=["status", "cancelled_by", "cancel_message", "sequence", "updated_at"]
        )
        _invite(meeting, "cancelled")
    return meeting


# --- Asking for times ---------------------------------------------------------------------


def open_time_request(relationship: Relationship) -> TimeRequest | None:
    return TimeRequest.objects.filter(relationship=relationship, answered_at__isnull=True).first()


def time_request_create(
    *,
    relationship: Relationship,
    learner,
    message: str = "",
    now: datetime.datetime | None = None,
) -> TimeRequest:
    """The learner asks their guide for times. Only when the guide has no slot they may book
    in the next MEETING_SLOT_WEEKS weeks, and one open request per relationship. The guide is
    emailed; adding a slot answers it (time_requests.time_requests_answer)."""

    now = now or timezone.now()
    _check_learner(relationship, learner)
    weeks = settings.MEETING_SLOT_WEEKS
    if free_slots_for(relationship, now=now, weeks=weeks).exists():
        raise RuleViolation(
            "BOOKING", f"{relationship.guide} has free slots in the next {weeks} weeks: book one."
        )
    if open_time_request(relationship) is not None:
        raise RuleViolation(
            "BOOKING", f"you have asked {relationship.guide} already; we email you their answer."
        )
    try:
        with transaction.atomic():
            request = TimeRequest.objects.create(
                relationship=relationship, message=(message or "").strip()[:1000]
            )
            time_request_queue(request=request, event="asked")
    except IntegrityError as exc:
        if constraint_name(exc) != "time_request_one_open":
            raise
        raise RuleViolation(
            "BOOKING", f"you have asked {relationship.guide} already; we email you their answer."
        ) from exc
    return request


def recent_cancellations(*, relationship=None, guide=None, now=None, days: int = 30):
    """Meetings cancelled in the last `days` days that have not started yet or started
    recently, with who cancelled: for the other person to read the message. Either one
    relationship's or all of a guide's."""
    now = now or timezone.now()
    qs = Meeting.objects.filter(
        status__in=[Meeting.Status.CANCELLED, Meeting.Status.LATE_CANCEL],
        updated_at__gte=now - datetime.timedelta(days=days),
    ).select_related("cancelled_by", "relationship__learner", "relationship__guide")
    if relationship is not None:
        qs = qs.filter(relationship=relationship)
    if guide is not None:
        qs = qs.filter(Q(relationship__guide=guide))
    return qs.order_by("-updated_at")
