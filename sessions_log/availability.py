"""A guide's availability: one-off slots, weekly patterns and their expansion into slots.

Rules held here:
- R10, a guide's availability never overlaps itself. Every write checks for an open slot of
  the same guide whose time range overlaps, and refuses naming it; on PostgreSQL the exclusion
  constraint `slot_no_overlap` is the backstop for two writes racing (its IntegrityError becomes
  the same refusal).
- Editing or ending a weekly pattern never touches a booked slot: only the pattern's future free
  slots are taken down (deleted when nothing ever referred to them, otherwise withdrawn and
  detached from the pattern) before the pattern is expanded again.
- A guide answers a learner's request for times (TimeRequest) by adding a slot the learner may
  book: adding one closes the request and emails the learner.

Modules: this one holds the services the pages call (one-off slots, weekly patterns) and
re-exports the rest of the sub-domain, so callers import one place:
- `slot_rules.py`: the checks every write makes, R10's overlap and the constraint names;
- `expansion.py`: weekly patterns expanded into slots (and the periodic task's loop);
- `time_requests.py`: learners' requests for times, answered by new slots.

Locking: taking a slot down locks it FOR UPDATE, and booking holds a FOR SHARE lock on the slot
it books (booking.py), so a slot is never withdrawn under a booking in flight.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.times import zone_of
from mentoring.models import Program
from mentoring.rules import RuleViolation
from sessions_log.expansion import Expansion, expand_patterns, occurrences, pattern_expand
from sessions_log.models import AvailabilityPattern, Meeting, Slot
from sessions_log.slot_rules import (
    MAX_MINUTES,
    MIN_MINUTES,
    WEEKDAYS,
    check_duration,
    check_guide,
    check_place,
    checked_program_ids,
    clashing_slot,
    constraint_name,
    guide_programs,
    is_booked,
    overlap_violation,
    zone_named,
)
from sessions_log.time_requests import (
    answer_with,
    open_time_requests,
    slot_allows,
    time_requests_answer,
)

# The sub-domain's public names, in one place for the views, forms, tasks and booking.
__all__ = [
    "MAX_MINUTES",
    "MIN_MINUTES",
    "WEEKDAYS",
    "Expansion",
    "clashing_pattern",
    "clashing_slot",
    "constraint_name",
    "describe_pattern",
    "expand_patterns",
    "guide_programs",
    "occurrences",
    "open_time_requests",
    "overlap_violation",
    "pattern_add",
    "pattern_edit",
    "pattern_end",
    "pattern_expand",
    "slot_add",
    "slot_allows",
    "slot_withdraw",
    "time_requests_answer",
]


# --- One-off slots ------------------------------------------------------------------------


def slot_add(
    *,
    guide,
    starts_at: datetime.datetime,
    duration_minutes: int,
    location: str = "",
    video_link: str = "",
    programs: Iterable[Program] = (),
    now: datetime.datetime | None = None,
) -> Slot:
    """Publish one slot of `guide`. Refused when the guide holds no guide role, the time is past,
    the duration is out of range, there is neither room nor video link, a program is not one of
    the guide's, or (R10) the time overlaps an open slot of the guide, which the refusal names.
    Closes the guide's open time requests the slot answers (their learners are emailed)."""
    now = now or timezone.now()
    check_guide(guide)
    check_duration(duration_minutes)
    check_place(location, video_link)
    if starts_at <= now:
        raise RuleViolation("DATES", "a slot must start in the future.")
    program_ids = checked_program_ids(guide, programs)
    # In UTC: arithmetic on a local time keeps the wall clock, so a 30-minute slot across the
    # night the clocks go back would last 90 minutes.
    starts_at = starts_at.astimezone(datetime.UTC)
    ends_at = starts_at + datetime.timedelta(minutes=duration_minutes)
    zone = zone_of(guide)
    clash = clashing_slot(guide, starts_at, ends_at)
    if clash is not None:
        raise overlap_violation(clash, zone)
    slot = Slot(
        guide=guide,
        starts_at=starts_at,
        ends_at=ends_at,
        location=location.strip(),
        video_link=video_link.strip(),
    )
    slot.full_clean(exclude=["guide", "pattern"], validate_constraints=False)
    with transaction.atomic():
        try:
            with transaction.atomic():
                slot.save()
        except IntegrityError as exc:
            if constraint_name(exc) != "slot_no_overlap":
                raise
            # Another write of the same guide's availability won the race (R10 backstop).
            raise overlap_violation(clashing_slot(guide, starts_at, ends_at), zone) from exc
        if program_ids:
            slot.programs.set(program_ids)
        time_requests_answer(guide=guide, slots=[slot], program_ids={slot.pk: program_ids})
    return slot


def slot_withdraw(*, slot: Slot, now: datetime.datetime | None = None) -> Slot:
    """Take a free future slot down (R10: a booked slot is never withdrawn under a meeting;
    cancel the meeting first). Idempotent for a slot already withdrawn."""
    now = now or timezone.now()
    with transaction.atomic():
        slot = Slot.objects.select_for_update(of=("self",)).get(pk=slot.pk)
        if slot.withdrawn_at is not None:
            return slot
        if is_booked(slot):
            raise RuleViolation(
                "R10", "this slot is booked: cancel the meeting first, with a message if you like."
            )
        if slot.ends_at <= now:
            raise RuleViolation("DATES", "this slot is over; there is nothing to withdraw.")
        slot.withdrawn_at = now
        slot.save(update_fields=["withdrawn_at"])
    return slot


# --- Weekly patterns ----------------------------------------------------------------------


def _minutes(value: datetime.time) -> int:
    return value.hour * 60 + value.minute


def clashing_pattern(
    *,
    guide,
    weekday: int,
    start_time: datetime.time,
    duration_minutes: int,
    timezone_name: str,
    starts_on: datetime.date,
    ends_on: datetime.date | None,
    exclude: AvailabilityPattern | None = None,
) -> AvailabilityPattern | None:
    """An active pattern of the guide in the same time zone, on the same weekday, whose hours
    overlap these and whose dates share a day with these (R10 at the pattern level; patterns
    in other zones are checked slot by slot when expanded)."""
    qs = AvailabilityPattern.objects.filter(
        guide=guide, is_active=True, weekday=weekday, timezone=timezone_name
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
    if ends_on is not None:
        qs = qs.filter(starts_on__lte=ends_on)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    start = _minutes(start_time)
    end = start + duration_minutes
    for pattern in qs:
        other = _minutes(pattern.start_time)
        if other < end and start < other + pattern.duration_minutes:
            return pattern
    return None


def describe_pattern(pattern: AvailabilityPattern) -> str:
    """e.g. "every Tuesday, 17:00 for 30 minutes (Europe/London)"."""
    return (
        f"every {WEEKDAYS[pattern.weekday]}, {pattern.start_time:%H:%M} for "
        f"{pattern.duration_minutes} minutes ({pattern.timezone})"
    )


def _check_pattern(
    *,
    guide,
    weekday: int,
    start_time: datetime.time,
    duration_minutes: int,
    timezone_name: str,
    location: str,
    video_link: str,
    programs: Iterable[Program],
    starts_on: datetime.date,
    ends_on: datetime.date | None,
    exclude: AvailabilityPattern | None = None,
) -> list[int]:
    check_guide(guide)
    if not 0 <= weekday <= 6:
        raise RuleViolation("DATES", "choose a day of the week.")
    check_duration(duration_minutes)
    check_place(location, video_link)
    zone_named(timezone_name)
    if ends_on is not None and ends_on < starts_on:
        raise RuleViolation("DATES", f"the last day {ends_on} is before the first {starts_on}.")
    program_ids = checked_program_ids(guide, programs)
    clash = clashing_pattern(
        guide=guide,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
        timezone_name=timezone_name,
        starts_on=starts_on,
        ends_on=ends_on,
        exclude=exclude,
    )
    if clash is not None:
        raise RuleViolation(
            "R10",
            f"these times overlap your weekly availability {describe_pattern(clash)}. "
            "Edit that one instead, or choose hours that do not overlap it.",
            record=clash,
        )
    return program_ids


def pattern_add(
    *,
    guide,
    weekday: int,
    start_time: datetime.time,
    duration_minutes: int,
    timezone_name: str,
    location: str = "",
    video_link: str = "",
    programs: Iterable[Program] = (),
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> tuple[AvailabilityPattern, Expansion]:
    """Publish a weekly time and expand it into slots MEETING_SLOT_WEEKS ahead at once.
    Refused (R10) when it overlaps another weekly time of the guide in the same zone; single
    occurrences that would overlap an open slot are skipped and reported, never an error."""
    programs = list(programs)
    program_ids = _check_pattern(
        guide=guide,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
        timezone_name=timezone_name,
        location=location,
        video_link=video_link,
        programs=programs,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    with transaction.atomic():
        pattern = AvailabilityPattern(
            guide=guide,
            weekday=weekday,
            start_time=start_time.replace(second=0, microsecond=0),
            duration_minutes=duration_minutes,
            timezone=timezone_name,
            location=location.strip(),
            video_link=video_link.strip(),
            starts_on=starts_on,
            ends_on=ends_on,
        )
        pattern.full_clean(exclude=["guide"])
        pattern.save()
        if program_ids:
            pattern.programs.set(program_ids)
        expansion = pattern_expand(pattern=pattern, now=now)
        answer_with(guide, expansion.created, program_ids)
    return pattern, expansion


def pattern_edit(
    *,
    pattern: AvailabilityPattern,
    weekday: int,
    start_time: datetime.time,
    duration_minutes: int,
    timezone_name: str,
    location: str = "",
    video_link: str = "",
    programs: Iterable[Program] = (),
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    now: datetime.datetime | None = None,
) -> Expansion:
    """Change a weekly time: its future free slots are taken down and it is expanded again.
    Booked slots are never touched (they keep their time and place; a new time that would
    overlap one is skipped and reported)."""
    now = now or timezone.now()
    programs = list(programs)
    program_ids = _check_pattern(
        guide=pattern.guide,
        weekday=weekday,
        start_time=start_time,
        duration_minutes=duration_minutes,
        timezone_name=timezone_name,
        location=location,
        video_link=video_link,
        programs=programs,
        starts_on=starts_on,
        ends_on=ends_on,
        exclude=pattern,
    )
    with transaction.atomic():
        pattern = AvailabilityPattern.objects.select_for_update().get(pk=pattern.pk)
        if not pattern.is_active:
            raise RuleViolation("STATE", "this weekly time has ended; add a new one instead.")
        _take_down_future_free(pattern, now)
        pattern.weekday = weekday
        pattern.start_time = start_time.replace(second=0, microsecond=0)
        pattern.duration_minutes = duration_minutes
        pattern.timezone = timezone_name
        pattern.location = location.strip()
        pattern.video_link = video_link.strip()
        pattern.starts_on = starts_on
        pattern.ends_on = ends_on
        pattern.full_clean(exclude=["guide"])
        pattern.save()
        pattern.programs.set(program_ids)
        expansion = pattern_expand(pattern=pattern, now=now)
        answer_with(pattern.guide, expansion.created, program_ids)
    return expansion


def pattern_end(*, pattern: AvailabilityPattern, now: datetime.datetime | None = None) -> int:
    """Stop a weekly time: no more slots from it, its future free slots are taken down, booked
    ones stay. Returns how many slots were taken down."""
    now = now or timezone.now()
    with transaction.atomic():
        pattern = AvailabilityPattern.objects.select_for_update().get(pk=pattern.pk)
        if not pattern.is_active:
            return 0
        today = now.astimezone(zone_named(pattern.timezone)).date()
        pattern.is_active = False
        pattern.ends_on = max(today, pattern.starts_on)
        pattern.save(update_fields=["is_active", "ends_on"])
        return _take_down_future_free(pattern, now)


def _take_down_future_free(pattern: AvailabilityPattern, now: datetime.datetime) -> int:
    """Delete (or, if a cancelled meeting refers to it, withdraw and detach) each future free
    slot of `pattern`. The slots are locked first, so a booking in flight finishes before they
    are looked at (and then counts as booked) or waits and finds them gone."""
    locked = list(
        Slot.objects.select_for_update(of=("self",))
        .filter(pattern=pattern, starts_at__gt=now, withdrawn_at__isnull=True)
        .values_list("pk", flat=True)
    )
    if not locked:
        return 0
    free = Slot.objects.filter(pk__in=locked).exclude(
        Exists(Meeting.objects.filter(slot=OuterRef("pk"), status=Meeting.Status.BOOKED))
    )
    referred = free.filter(Exists(Meeting.objects.filter(slot=OuterRef("pk"))))
    withdrawn = referred.update(withdrawn_at=now, pattern=None)
    _, by_model = free.exclude(Exists(Meeting.objects.filter(slot=OuterRef("pk")))).delete()
    return withdrawn + by_model.get(Slot._meta.label, 0)
