"""What a person's download holds of meetings (sessions_log), registered with `@section` (see
accounts/privacy_registry.py): meetings with their logs and the learner's reflection (both
people of a relationship see it, R5), action items, requests for times, the weekly times and
slots a guide offered, and whether they made a calendar address (never the address).

Erasure: what they wrote at meetings is blanked (reflections, action items, messages, video
links), meetings and their metadata stay (counts); their weekly times, free times and
calendar addresses go, times that held a meeting stay, withdrawn."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from accounts.privacy_registry import Erasure, erasure_step, section
from mentoring.export_context import ExportContext
from sessions_log.models import (
    ActionItem,
    AvailabilityPattern,
    CalendarFeed,
    Meeting,
    MeetingLog,
    Slot,
    TimeRequest,
)


@section(
    "meetings",
    order=120,
    title="Meetings and their logs",
    description="The meetings of your relationships, with their logs: status, duration, "
    "topics and the learner's reflection (both people of a relationship see its log).",
    columns=(
        "code relationship other_person starts_at ends_at location video_link status "
        "booked_by cancelled_by cancel_message logged_by duration_minutes topics "
        "reflection"
    ),
)
def _meetings(ctx: ExportContext) -> list[dict]:
    rows = []
    meetings = (
        Meeting.objects.filter(relationship_id__in=ctx.by_id)
        .select_related("log")
        .order_by("starts_at", "pk")
    )
    for m in meetings:
        r = ctx.by_id[m.relationship_id]
        try:
            log = m.log
        except MeetingLog.DoesNotExist:
            log = None
        rows.append(
            {
                "code": m.code,
                "relationship": r.code,
                "other_person": ctx.other(r).full_name,
                "starts_at": m.starts_at,
                "ends_at": m.ends_at,
                "location": m.location,
                "video_link": m.video_link,
                "status": m.status,
                "booked_by": ctx.name_of(m.booked_by_id, r),
                "cancelled_by": ctx.name_of(m.cancelled_by_id, r),
                "cancel_message": m.cancel_message,
                "logged_by": ctx.name_of(log.logged_by_id, r) if log else "",
                "duration_minutes": log.duration_minutes if log else None,
                "topics": list(log.topics) if log else [],
                "reflection": log.reflection if log else "",
            }
        )
    return rows


@section(
    "action_items",
    order=130,
    title="Action items",
    description="Things to do agreed at your meetings (meeting: the meeting's code).",
    columns="code meeting relationship text done_at created_by created_at",
)
def _action_items(ctx: ExportContext) -> list[dict]:
    items = (
        ActionItem.objects.filter(meeting__relationship_id__in=ctx.by_id)
        .select_related("meeting")
        .order_by("created_at", "pk")
    )
    rows = []
    for item in items:
        r = ctx.by_id[item.meeting.relationship_id]
        rows.append(
            {
                "code": item.code,
                "meeting": item.meeting.code,
                "relationship": r.code,
                "text": item.text,
                "done_at": item.done_at,
                "created_by": ctx.name_of(item.created_by_id, r),
                "created_at": item.created_at,
            }
        )
    return rows


@section(
    "time_requests",
    order=140,
    title="Requests for meeting times",
    description="A learner's requests to their guide for times when no slot was free.",
    columns="relationship message created_at answered_at",
)
def _time_requests(ctx: ExportContext) -> list[dict]:
    return [
        {
            "relationship": ctx.by_id[t.relationship_id].code,
            "message": t.message,
            "created_at": t.created_at,
            "answered_at": t.answered_at,
        }
        for t in TimeRequest.objects.filter(relationship_id__in=ctx.by_id).order_by("created_at")
    ]


@section(
    "availability_patterns",
    order=200,
    title="Weekly availability",
    description="The weekly times you offer (weekday 0 = Monday; times in the pattern's "
    "time zone).",
    columns=(
        "code weekday start_time duration_minutes timezone location video_link programs "
        "starts_on ends_on is_active"
    ),
)
def _patterns(ctx: ExportContext) -> list[dict]:
    patterns = (
        AvailabilityPattern.objects.filter(guide=ctx.user)
        .prefetch_related("programs")
        .order_by("weekday", "start_time")
    )
    return [
        {
            "code": p.code,
            "weekday": p.weekday,
            "start_time": p.start_time,
            "duration_minutes": p.duration_minutes,
            "timezone": p.timezone,
            "location": p.location,
            "video_link": p.video_link,
            "programs": sorted(program.name for program in p.programs.all()),
            "starts_on": p.starts_on,
            "ends_on": p.ends_on,
            "is_active": p.is_active,
        }
        for p in patterns
    ]


@section(
    "slots",
    order=210,
    title="Times you offered",
    description="Each time you offered for meetings (one-off or from a weekly pattern).",
    columns="code starts_at ends_at location video_link withdrawn_at",
)
def _slots(ctx: ExportContext) -> list[dict]:
    return list(
        Slot.objects.filter(guide=ctx.user)
        .order_by("starts_at")
        .values("code", "starts_at", "ends_at", "location", "video_link", "withdrawn_at")
    )


@section(
    "calendar_feeds",
    order=220,
    title="Calendar addresses",
    description="Whether you made a private calendar address, and when (the address itself "
    "is a secret and is not included).",
    columns="created_at revoked_at",
)
def _calendar_feeds(ctx: ExportContext) -> list[dict]:
    return list(
        CalendarFeed.objects.filter(user=ctx.user)
        .order_by("created_at")
        .values("created_at", "revoked_at")
    )


# --- Erasure ------------------------------------------------------------------------------------
@erasure_step(order=20)
def _erase_meeting_texts(erasure: Erasure) -> dict[str, int]:
    # What they wrote in their relationships. Rows and metadata stay (counts unchanged).
    user = erasure.user
    counts = {}
    counts["meeting reflections blanked"] = erasure.update(
        MeetingLog.objects.filter(meeting__relationship__learner=user).exclude(reflection=""),
        reflection="",
    )
    counts["action items blanked"] = erasure.replace_required(
        ActionItem.objects.filter(created_by=user), "text"
    )
    return counts


@erasure_step(order=80)
def _erase_messages(erasure: Erasure) -> dict[str, int]:
    user = erasure.user
    counts = {}
    counts["time request messages blanked"] = erasure.update(
        TimeRequest.objects.filter(relationship__learner=user).exclude(message=""),
        message="",
    )
    counts["cancellation messages blanked"] = erasure.update(
        Meeting.objects.filter(cancelled_by=user).exclude(cancel_message=""),
        cancel_message="",
    )
    counts["video links removed"] = erasure.update(
        Meeting.objects.filter(relationship__guide=user).exclude(video_link=""),
        video_link="",
    )
    return counts


@erasure_step(order=150)
def _erase_availability(erasure: Erasure) -> dict[str, int]:
    # Availability: patterns and unbooked times go; times that held a meeting stay, withdrawn.
    user = erasure.user
    counts = {}
    counts["weekly availability deleted"] = erasure.delete(
        AvailabilityPattern.objects.filter(guide=user)
    )
    slots = Slot.objects.filter(guide=user)
    held = Exists(Meeting.objects.filter(slot=OuterRef("pk")))
    booked = Exists(Meeting.objects.filter(slot=OuterRef("pk"), status=Meeting.Status.BOOKED))
    counts["free times deleted"] = erasure.delete(slots.filter(~held))
    counts["times withdrawn"] = erasure.update(
        slots.filter(held, ~booked, withdrawn_at__isnull=True), withdrawn_at=erasure.now
    )
    erasure.update(slots.filter(held).exclude(video_link=""), video_link="")
    counts["calendar addresses deleted"] = erasure.delete(CalendarFeed.objects.filter(user=user))
    return counts
