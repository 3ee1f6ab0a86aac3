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

Locking: taking a slot down locks it FOR UPDATE, and booking holds a FOR SHARE lock on the slot
it books (booking.py), so a slot is never withdrawn under a booking in flight.
"""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import GUIDE_ROLES, Membership
from accounts.permissions import is_guide
from mentoring.models import Program, Relationship
from mentoring.rules import RuleViolation
from sessions_log.models import AvailabilityPattern, Meeting, Slot, TimeRequest
from sessions_log.times import UTC, describe, zone_of

logger = logging.getLogger(__name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIN_MINUTES, MAX_MINUTES = 10, 240


@dataclass
class Expansion:
    """What expanding patterns did: slots created, and the times skipped because they would
    have overlapped an open slot of the guide (R10), in words."""

    created: list[Slot] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def merge(self, other: Expansion) -> None:
        self.created.extend(other.created)
        self.skipped.extend(other.skipped)


# --- Who and what -------------------------------------------------------------------------


def guide_programs(guide) -> QuerySet[Program]:
    """Running programs in which `guide` currently holds a mentor, coach or advisor role."""
    return Program.objects.active().filter(
        pk__in=Membership.objects.current()
        .filter(user=guide, role__in=GUIDE_ROLES, program__isnull=False)
        .values("program")
    )


def _check_guide(guide) -> None:
    if not is_guide(guide):
        raise RuleViolation(
            "ROLE", f"{guide} is not a mentor, coach or advisor in any program just now."
        )


def _check_place(location: str, video_link: str) -> None:
    if not (location or "").strip() and not (video_link or "").strip():
        raise RuleViolation(
            "BOOKING", "give a room or a video link, so the learner knows where to meet you."
        )


def _check_duration(minutes: int) -> None:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise RuleViolation(
            "BOOKING", f"a slot lasts {MIN_MINUTES} to {MAX_MINUTES} minutes, not {minutes}."
        )


def _program_ids(guide, programs: Iterable[Program]) -> list[int]:
    """The restriction to some programs: each must be one the guide guides in."""
    wanted = {p.pk for p in programs}
    if not wanted:
        return []
    allowed = set(guide_programs(guide).filter(pk__in=wanted).values_list("pk", flat=True))
    if wanted - allowed:
        raise RuleViolation(
            "ROLE", "a slot can be kept only for programs in which you are a guide just now."
        )
    return sorted(wanted)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleViolation("DATES", f"“{name}” is not a time zone we know.") from exc


# --- Overlap (R10) ------------------------------------------------------------------------


def clashing_slot(
    guide, starts_at: datetime.datetime, ends_at: datetime.datetime, *, exclude=None
) -> Slot | None:
    """The guide's first open slot whose time range overlaps [starts_at, ends_at) (half-open:
    back to back is fine), or None."""
    qs = Slot.objects.open().filter(guide=guide, starts_at__lt=ends_at, ends_at__gt=starts_at)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    return qs.order_by("starts_at").first()


def _is_booked(slot: Slot) -> bool:
    return Meeting.objects.filter(slot=slot, status=Meeting.Status.BOOKED).exists()


def overlap_violation(clash: Slot | None, zone) -> RuleViolation:
    """R10's refusal, naming the slot in the way (in the guide's time zone)."""
    if clash is None:  # the racing write was rolled back after all: rare, say it plainly
        return RuleViolation("R10", "this time overlaps another of your slots; try again.")
    state = "booked" if _is_booked(clash) else "free"
    return RuleViolation(
        "R10",
        f"this time overlaps your {state} slot on {describe(clash.starts_at, clash.ends_at, zone)}."
        " Choose a time that starts when it ends, or withdraw it first.",
        record=clash,
    )


def constraint_name(exc: IntegrityError) -> str:
    """The name of the database constraint an IntegrityError broke ("" when unknown)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or ""


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
    _check_guide(guide)
    _check_duration(duration_minutes)
    _check_place(location, video_link)
    if starts_at <= now:
        raise RuleViolation("DATES", "a slot must start in the future.")
    program_ids = _program_ids(guide, programs)
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
        if _is_booked(slot):
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
    _check_guide(guide)
    if not 0 <= weekday <= 6:
        raise RuleViolation("DATES", "choose a day of the week.")
    _check_duration(duration_minutes)
    _check_place(location, video_link)
    _zone(timezone_name)
    if ends_on is not None and ends_on < starts_on:
        raise RuleViolation("DATES", f"the last day {ends_on} is before the first {starts_on}.")
    program_ids = _program_ids(guide, programs)
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
        _answer_with(guide, expansion, program_ids)
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
        _answer_with(pattern.guide, expansion, program_ids)
    return expansion


def pattern_end(*, pattern: AvailabilityPattern, now: datetime.datetime | None = None) -> int:
    """Stop a weekly time: no more slots from it, its future free slots are taken down, booked
    ones stay. Returns how many slots were taken down."""
    now = now or timezone.now()
    with transaction.atomic():
        pattern = AvailabilityPattern.objects.select_for_update().get(pk=pattern.pk)
        if not pattern.is_active:
            return 0
        today = now.astimezone(_zone(pattern.timezone)).date()
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


# --- Expansion ----------------------------------------------------------------------------


def occurrences(
    pattern: AvailabilityPattern, *, now: datetime.datetime, weeks: int
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The pattern's future (start, end) instants in UTC from today up to `weeks` ahead, within
    its dates. The wall-clock time is kept in the pattern's zone across daylight-saving changes
    (17:00 in London is 17:00 in summer and in winter); the length is kept in real minutes."""
    zone = _zone(pattern.timezone)
    first = max(pattern.starts_on, now.astimezone(zone).date())
    last = (now + datetime.timedelta(weeks=weeks)).astimezone(zone).date()
    if pattern.ends_on is not None:
        last = min(last, pattern.ends_on)
    if first > last:
        return []
    day = first + datetime.timedelta(days=(pattern.weekday - first.weekday()) % 7)
    found = []
    while day <= last:
        # A local time that a spring-forward night skips (02:30) is read with the offset before
        # the change, which lands on the instant just after the gap: the slot still happens.
        local = datetime.datetime.combine(day, pattern.start_time, tzinfo=zone)
        start = local.astimezone(UTC)
        if start > now:
            found.append((start, start + datetime.timedelta(minutes=pattern.duration_minutes)))
        day += datetime.timedelta(weeks=1)
    return found


def pattern_expand(
    *, pattern: AvailabilityPattern, now: datetime.datetime | None = None, weeks: int | None = None
) -> Expansion:
    """Create the pattern's missing slots up to `weeks` (MEETING_SLOT_WEEKS) ahead. Idempotent:
    a time the pattern already has a slot for (even a withdrawn one: the guide took that week
    down) is left alone, and two expansions racing meet the unique constraint on (pattern,
    start). A time that would overlap an open slot of the guide (R10) is skipped and reported."""
    now = now or timezone.now()
    weeks = settings.MEETING_SLOT_WEEKS if weeks is None else weeks
    expansion = Expansion()
    if not pattern.is_active:
        return expansion
    times = occurrences(pattern, now=now, weeks=weeks)
    if not times:
        return expansion
    zone = _zone(pattern.timezone)
    have = set(
        Slot.objects.filter(pattern=pattern, starts_at__in=[s for s, _ in times]).values_list(
            "starts_at", flat=True
        )
    )
    open_slots = list(
        Slot.objects.open().filter(
            guide_id=pattern.guide_id, starts_at__lt=times[-1][1], ends_at__gt=times[0][0]
        )
    )
    program_ids = [p.pk for p in pattern.programs.all()]
    for start, end in times:
        if start in have:
            continue
        clash = next((s for s in open_slots if s.starts_at < end and s.ends_at > start), None)
        if clash is not None:
            expansion.skipped.append(_skip_text(start, end, clash, zone))
            continue
        slot = Slot(
            guide_id=pattern.guide_id,
            pattern=pattern,
            starts_at=start,
            ends_at=end,
            location=pattern.location,
            video_link=pattern.video_link,
        )
        try:
            with transaction.atomic():
                slot.save()
                if program_ids:
                    slot.programs.set(program_ids)
        except IntegrityError as exc:
            name = constraint_name(exc)
            if name == "slot_once_per_pattern_time":
                continue  # a second expansion made it a moment ago
            if name != "slot_no_overlap":
                raise
            clash = clashing_slot(pattern.guide_id, start, end)
            expansion.skipped.append(_skip_text(start, end, clash, zone))
            continue
        open_slots.append(slot)
        expansion.created.append(slot)
    return expansion


def _skip_text(start, end, clash: Slot | None, zone) -> str:
    when = describe(start, end, zone)
    if clash is None:
        return f"{when}: overlaps another of your slots"
    return f"{when}: overlaps your slot on {describe(clash.starts_at, clash.ends_at, zone)}"


def expand_patterns(now: datetime.datetime | None = None) -> Expansion:
    """Periodic (beat, `sessions_log.tasks.expand_availability`): expand every active pattern
    of a guide who still guides somewhere. Each slot is saved on its own, so one pattern's
    trouble never stops the others; skips are logged, never raised."""
    now = now or timezone.now()
    guides = (
        Membership.objects.current()
        .filter(role__in=GUIDE_ROLES, user__is_active=True)
        .values("user_id")
    )
    patterns = (
        AvailabilityPattern.objects.filter(is_active=True, guide_id__in=guides)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=now.date() - datetime.timedelta(days=1)))
        .select_related("guide")
        .prefetch_related("programs")
        .order_by("pk")
    )
    total = Expansion()
    for pattern in patterns.iterator(chunk_size=500):
        done = pattern_expand(pattern=pattern, now=now)
        for text in done.skipped:
            logger.info("pattern %s skipped %s", pattern.pk, text)
        total.merge(done)
    return total


# --- Time requests ------------------------------------------------------------------------


def slot_allows(program_ids: Iterable[int], program_id: int) -> bool:
    """A slot kept for some programs is bookable only in those; no restriction: any."""
    program_ids = list(program_ids)
    return not program_ids or program_id in program_ids


def open_time_requests(guide) -> QuerySet[TimeRequest]:
    """Requests for times that learners of `guide`'s active relationships have not had
    answered, oldest first."""
    return (
        TimeRequest.objects.filter(
            answered_at__isnull=True,
            relationship__guide=guide,
            relationship__status=Relationship.Status.ACTIVE,
        )
        .select_related("relationship__learner", "relationship__program")
        .order_by("created_at")
    )


def time_requests_answer(
    *, guide, slots: list[Slot], program_ids: dict[int, list[int]] | None = None
) -> list[TimeRequest]:
    """Close each open request of `guide`'s learners that one of the new `slots` answers (a
    slot they may book) and email the learner when the transaction commits."""
    from sessions_log.tasks_booking import notify_time_request

    if not slots:
        return []
    if program_ids is None:
        program_ids = {s.pk: [p.pk for p in s.programs.all()] for s in slots}
    answered = []
    now = timezone.now()
    for request in open_time_requests(guide).select_for_update(of=("self",)):
        program_id = request.relationship.program_id
        if any(slot_allows(program_ids.get(s.pk, []), program_id) for s in slots):
            request.answered_at = now
            request.save(update_fields=["answered_at"])
            notify_time_request.delay_on_commit(request.pk, "answered")
            answered.append(request)
    return answered


def _answer_with(guide, expansion: Expansion, program_ids: list[int]) -> None:
    if expansion.created:
        time_requests_answer(
            guide=guide,
            slots=expansion.created,
            program_ids={s.pk: program_ids for s in expansion.created},
        )
