"""The rules every write of a guide's availability checks (sessions_log/availability.py and
the expansion of weekly patterns, sessions_log/expansion.py): who may publish, where, how long,
in which programs, and R10, a guide's availability never overlaps itself (`clashing_slot`,
`overlap_violation`, and `constraint_name` for the database's backstop)."""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Iterable

from django.db import IntegrityError
from django.db.models import QuerySet

from accounts.models import GUIDE_ROLES, Membership
from accounts.permissions import is_guide
from accounts.times import describe
from mentoring.models import Program
from mentoring.rules import RuleViolation
from sessions_log.models import Meeting, Slot

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MIN_MINUTES, MAX_MINUTES = 10, 240


# --- Who and what -------------------------------------------------------------------------


def guide_programs(guide) -> QuerySet[Program]:
    """Running programs in which `guide` currently holds a mentor, coach or advisor role."""
    return Program.objects.active().filter(
        pk__in=Membership.objects.current()
        .filter(user=guide, role__in=GUIDE_ROLES, program__isnull=False)
        .values("program")
    )


def check_guide(guide) -> None:
    if not is_guide(guide):
        raise RuleViolation(
            "ROLE", f"{guide} is not a mentor, coach or advisor in any program just now."
        )


def check_place(location: str, video_link: str) -> None:
    if not (location or "").strip() and not (video_link or "").strip():
        raise RuleViolation(
            "BOOKING", "give a room or a video link, so the learner knows where to meet you."
        )


def check_duration(minutes: int) -> None:
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise RuleViolation(
            "BOOKING", f"a slot lasts {MIN_MINUTES} to {MAX_MINUTES} minutes, not {minutes}."
        )


def checked_program_ids(guide, programs: Iterable[Program]) -> list[int]:
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


def zone_named(name: str) -> zoneinfo.ZoneInfo:
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


def is_booked(slot: Slot) -> bool:
    return Meeting.objects.filter(slot=slot, status=Meeting.Status.BOOKED).exists()


def overlap_violation(clash: Slot | None, zone) -> RuleViolation:
    """R10's refusal, naming the slot in the way (in the guide's time zone)."""
    if clash is None:  # the racing write was rolled back after all: rare, say it plainly
        return RuleViolation("R10", "this time overlaps another of your slots; try again.")
    state = "booked" if is_booked(clash) else "free"
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
