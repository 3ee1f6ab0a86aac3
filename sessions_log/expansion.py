"""Weekly patterns become slots: `occurrences` (the pattern's times, daylight saving kept),
`pattern_expand` (one pattern, idempotent) and `expand_patterns` (every pattern, the periodic
task). A time that would overlap an open slot of the guide (R10) is skipped and reported."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import GUIDE_ROLES, Membership
from accounts.times import UTC, describe
from sessions_log.models import AvailabilityPattern, Slot
from sessions_log.slot_rules import clashing_slot, constraint_name, zone_named

logger = logging.getLogger(__name__)


@dataclass
class Expansion:
    """What expanding patterns did: slots created, and the times skipped because they would
    have overlapped an open slot of the guide (R10), in words."""

    created: list[Slot] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def merge(self, other: Expansion) -> None:
        self.created.extend(other.created)
        self.skipped.extend(other.skipped)


def occurrences(
    pattern: AvailabilityPattern, *, now: datetime.datetime, weeks: int
) -> list[tuple[datetime.datetime, datetime.datetime]]:
    """The pattern's future (start, end) instants in UTC from today up to `weeks` ahead, within
    its dates. The wall-clock time is kept in the pattern's zone across daylight-saving changes
    (17:00 in London is 17:00 in summer and in winter); the length is kept in real minutes."""
    zone = zone_named(pattern.timezone)
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
    zone = zone_named(pattern.timezone)
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
