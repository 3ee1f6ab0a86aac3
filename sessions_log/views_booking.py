"""Pages of availability and booking (namespace `meetings`).

Who gets what (R8, outsiders get 404, the same answer as for something that does not exist):
- The availability pages are a guide's own (a current mentor, coach or advisor role in some
  program); a slot or weekly time is found only among the signed-in guide's own.
- The booking page, booking, rescheduling and time requests belong to one relationship and are
  found through `get_own_relationship_or_404` / `Meeting.objects.for_participant`: anyone but
  its two people gets 404, administrators and operators included (they have the console). The
  guide of the relationship may see it but not book or move for the learner: 403.
- Cancelling is for either of the two people.
- The calendar feed needs no sign-in: its secret token is the credential (unknown or revoked
  token: 404). Its settings page is for learners and guides.

Every change is a POST with CSRF; a refused or invalid form shows again with what was typed
(R12); a booking that loses a race shows "just taken" with the next free slots, never a 500.
Times are shown and typed in the viewer's time zone.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from accounts.forms import timezone_names
from accounts.models import GUIDE_ROLES, Role
from accounts.permissions import is_guide, roles_of
from accounts.times import describe, in_viewer_timezone, zone_name_of, zone_of
from mentoring.models import Relationship
from mentoring.permissions import get_own_relationship_or_404
from mentoring.rules import RuleViolation
from mentoring.views import is_uuid
from sessions_log import availability, booking, calendar, time_requests
from sessions_log.forms_booking import (
    CancelForm,
    PatternForm,
    RescheduleForm,
    SlotForm,
    TimeRequestForm,
)
from sessions_log.models import AvailabilityPattern, Meeting, Slot

SLOTS_SHOWN = 200  # a guide's upcoming slots on one page (8 weeks of a busy week is ~100)
NEXT_AFTER_TAKEN = 3


@dataclass(frozen=True)
class Day:
    date: object
    slots: list


def by_day(slots) -> list[Day]:
    """Slots grouped by their day in the current (the viewer's) time zone, in order."""
    return [
        Day(date, list(group))
        for date, group in itertools.groupby(
            slots, key=lambda s: timezone.localtime(s.starts_at).date()
        )
    ]


def _when(request: HttpRequest, starts_at, ends_at) -> str:
    return describe(starts_at, ends_at, zone_of(request.user))


def _guide_or_404(user) -> None:
    if not is_guide(user):
        raise Http404("Availability is for mentors, coaches and advisors.")


# --- The guide's availability -------------------------------------------------------------


def _availability_page(
    request: HttpRequest,
    *,
    slot_form: SlotForm | None = None,
    pattern_form: PatternForm | None = None,
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    today = timezone.localdate()
    booked = Meeting.objects.filter(status=Meeting.Status.BOOKED).select_related(
        "relationship__learner", "relationship__program"
    )
    slots = list(
        Slot.objects.open()
        .filter(guide=user, ends_at__gt=now)
        .prefetch_related("programs", Prefetch("meetings", queryset=booked, to_attr="live"))
        .order_by("starts_at")[:SLOTS_SHOWN]
    )
    for slot in slots:
        slot.meeting = slot.live[0] if slot.live else None
    patterns = list(
        AvailabilityPattern.objects.filter(guide=user, is_active=True)
        .prefetch_related("programs")
        .order_by("weekday", "start_time")
    )
    for pattern in patterns:
        pattern.weekday_name = availability.WEEKDAYS[pattern.weekday]
    zone = zone_name_of(user)
    context = {
        "days": by_day(slots),
        "slot_count": len(slots),
        "slots_capped": len(slots) == SLOTS_SHOWN,
        "patterns": patterns,
        "requests": list(time_requests.open_time_requests(user)),
        "cancellations": [
            m
            for m in booking.recent_cancellations(guide=user, now=now)
            if m.cancelled_by_id != user.pk
        ],
        "slot_form": slot_form
        or SlotForm(guide=user, prefix="slot", initial={"date": today, "duration_minutes": 30}),
        "pattern_form": pattern_form
        or PatternForm(
            guide=user,
            prefix="pattern",
            initial={"timezone": zone, "starts_on": today, "duration_minutes": 30},
        ),
        "zone": zone,
        "weeks": settings.MEETING_SLOT_WEEKS,
        "timezone_names": timezone_names(),
    }
    return render(request, "sessions_log/availability.html", context)


@require_GET
@in_viewer_timezone
def availability_page(request: HttpRequest) -> HttpResponse:
    """A guide's upcoming slots (booked and free), weekly times, requests for times."""
    _guide_or_404(request.user)
    return _availability_page(request)


def _answered(count: int) -> str:
    if not count:
        return ""
    return f" It answers {count} request{'' if count == 1 else 's'} for times; we have told them."


def _back_to_availability(anchor: str) -> HttpResponse:
    """A GET of a form's own address (a reload or a bookmark of a refused form) shows the
    availability page at that form, not a 405."""
    return redirect(reverse("meetings:availability") + anchor)


@require_http_methods(["GET", "HEAD", "POST"])
@in_viewer_timezone
def slot_add(request: HttpRequest) -> HttpResponse:
    _guide_or_404(request.user)
    if request.method != "POST":
        return _back_to_availability("#add-slot")
    form = SlotForm(request.POST, guide=request.user, prefix="slot")
    if form.is_valid():
        before = time_requests.open_time_requests(request.user).count()
        try:
            slot = availability.slot_add(
                guide=request.user,
                starts_at=form.starts_at(),
                duration_minutes=form.cleaned_data["duration_minutes"],
                location=form.cleaned_data.get("location", ""),
                video_link=form.cleaned_data.get("video_link", ""),
                programs=form.chosen_programs(),
            )
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            answered = before - time_requests.open_time_requests(request.user).count()
            messages.success(
                request,
                f"Added: {_when(request, slot.starts_at, slot.ends_at)}.{_answered(answered)}",
            )
            return redirect("meetings:availability")
    return _availability_page(request, slot_form=form)


@require_POST
def slot_withdraw(request: HttpRequest, code) -> HttpResponse:
    slot = get_object_or_404(Slot, code=code, guide=request.user)
    try:
        availability.slot_withdraw(slot=slot)
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(request, f"Withdrawn: {_when(request, slot.starts_at, slot.ends_at)}.")
    return redirect("meetings:availability")


def _expansion_message(request: HttpRequest, verb: str, expansion) -> None:
    count = len(expansion.created)
    weeks = settings.MEETING_SLOT_WEEKS
    text = f"{verb} {count} slot{'' if count == 1 else 's'} in the next {weeks} weeks open to book."
    messages.success(request, text)
    if expansion.skipped:
        messages.warning(
            request,
            "R10 Slots and bookings: these times were left out because they overlap a slot "
            "you already offer: " + "; ".join(expansion.skipped) + ".",
        )


@require_http_methods(["GET", "HEAD", "POST"])
@in_viewer_timezone
def pattern_add(request: HttpRequest) -> HttpResponse:
    _guide_or_404(request.user)
    if request.method != "POST":
        return _back_to_availability("#weekly")
    form = PatternForm(request.POST, guide=request.user, prefix="pattern")
    if form.is_valid():
        try:
            _, expansion = availability.pattern_add(guide=request.user, **form.service_kwargs())
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            _expansion_message(request, "Weekly time added:", expansion)
            return redirect("meetings:availability")
    return _availability_page(request, pattern_form=form)


def _own_pattern(request: HttpRequest, code) -> AvailabilityPattern:
    return get_object_or_404(
        AvailabilityPattern.objects.prefetch_related("programs"),
        code=code,
        guide=request.user,
        is_active=True,
    )


@require_http_methods(["GET", "POST"])
@in_viewer_timezone
def pattern_edit(request: HttpRequest, code) -> HttpResponse:
    pattern = _own_pattern(request, code)
    initial = {
        "weekday": pattern.weekday,
        "start_time": pattern.start_time,
        "duration_minutes": pattern.duration_minutes,
        "timezone": pattern.timezone,
        "location": pattern.location,
        "video_link": pattern.video_link,
        "programs": list(pattern.programs.all()),
        "starts_on": pattern.starts_on,
        "ends_on": pattern.ends_on,
    }
    form = PatternForm(
        request.POST if request.method == "POST" else None,
        guide=request.user,
        prefix="pattern",
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            expansion = availability.pattern_edit(pattern=pattern, **form.service_kwargs())
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            _expansion_message(
                request, "Weekly time changed; booked meetings stay as they are.", expansion
            )
            return redirect("meetings:availability")
    booked = (
        Slot.objects.filter(
            pattern=pattern, starts_at__gt=timezone.now(), meetings__status=Meeting.Status.BOOKED
        )
        .distinct()
        .count()
    )
    context = {
        "pattern": pattern,
        "described": availability.describe_pattern(pattern),
        "form": form,
        "booked": booked,
        "timezone_names": timezone_names(),
    }
    return render(request, "sessions_log/pattern_edit.html", context)


@require_POST
def pattern_end(request: HttpRequest, code) -> HttpResponse:
    pattern = _own_pattern(request, code)
    taken_down = availability.pattern_end(pattern=pattern)
    messages.success(
        request,
        f"Stopped offering {availability.describe_pattern(pattern)}. {taken_down} free "
        f"slot{'' if taken_down == 1 else 's'} taken down; booked meetings stay.",
    )
    return redirect("meetings:availability")


# --- The learner's booking ----------------------------------------------------------------


def _learner_relationship(request: HttpRequest, code) -> Relationship:
    """The relationship if the signed-in person is its learner; its guide gets 403, anyone
    else 404."""
    relationship = get_own_relationship_or_404(request.user, code)
    if relationship.learner_id != request.user.pk:
        raise PermissionDenied("Only the learner books meetings; guides publish availability.")
    return relationship


def _book_page(
    request: HttpRequest,
    relationship: Relationship,
    *,
    request_form: TimeRequestForm | None = None,
    taken: RuleViolation | None = None,
) -> HttpResponse:
    now = timezone.now()
    weeks = settings.MEETING_SLOT_WEEKS
    slots = list(booking.free_slots_for(relationship, now=now, weeks=weeks)[:SLOTS_SHOWN])
    upcoming = list(booking.upcoming_meetings(relationship, now=now))
    for meeting in upcoming:
        meeting.movable = booking.within_notice(meeting, now=now)
    context = {
        "relationship": relationship,
        "guide": relationship.guide,
        "guide_noun": relationship.guide_noun,
        "days": by_day(slots),
        "next_slots": slots[:NEXT_AFTER_TAKEN] if taken else [],
        "taken": taken,
        "upcoming": upcoming,
        "open_request": booking.open_time_request(relationship),
        "request_form": request_form or TimeRequestForm(),
        "cancellations": [
            m
            for m in booking.recent_cancellations(relationship=relationship, now=now)
            if m.cancelled_by_id != request.user.pk and m.starts_at > now
        ],
        "weeks": weeks,
        "zone": zone_name_of(request.user),
        "active": relationship.status == Relationship.Status.ACTIVE,
    }
    return render(request, "sessions_log/book.html", context)


@require_GET
@in_viewer_timezone
def book(request: HttpRequest, code) -> HttpResponse:
    """The learner's booking page: the guide's next free slots first, by day; their upcoming
    meetings; asking for times when no slot is free."""
    return _book_page(request, _learner_relationship(request, code))


@require_POST
@in_viewer_timezone
def book_slot(request: HttpRequest, code) -> HttpResponse:
    relationship_code = request.POST.get("relationship", "")
    if not is_uuid(relationship_code):
        raise Http404("No such relationship.")
    relationship = _learner_relationship(request, relationship_code)
    slot = get_object_or_404(Slot, code=code, guide_id=relationship.guide_id)
    try:
        meeting = booking.meeting_book(relationship=relationship, slot=slot, learner=request.user)
    except RuleViolation as violation:
        if violation.rule == "R10":
            # Lost a race (or the slot went meanwhile): say so, with the next free slots.
            return _book_page(request, relationship, taken=violation)
        messages.error(request, violation.text)
        return redirect("meetings:book", code=relationship.code)
    where = meeting.location or "by video"
    messages.success(
        request,
        f"Booked: {_when(request, meeting.starts_at, meeting.ends_at)}, {where}. A calendar "
        f"invitation is on its way to you and {relationship.guide.full_name}.",
    )
    return redirect("meetings:book", code=relationship.code)


def _own_meeting(request: HttpRequest, code) -> Meeting:
    return get_object_or_404(
        Meeting.objects.for_participant(request.user).select_related(
            "relationship__program", "relationship__guide", "relationship__learner", "slot"
        ),
        code=code,
    )


@require_http_methods(["GET", "POST"])
@in_viewer_timezone
def reschedule(request: HttpRequest, code) -> HttpResponse:
    """The learner moves a meeting to another free slot, up to the program's notice."""
    meeting = _own_meeting(request, code)
    relationship = meeting.relationship
    if relationship.learner_id != request.user.pk:
        raise PermissionDenied("Only the learner moves a meeting; the guide may cancel it.")
    now = timezone.now()
    live = meeting.status == Meeting.Status.BOOKED and meeting.starts_at > now
    movable = live and booking.within_notice(meeting, now=now)
    form = RescheduleForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and movable and form.is_valid():
        slot = Slot.objects.filter(
            code=form.cleaned_data["slot"], guide_id=relationship.guide_id
        ).first()
        if slot is None:
            form.add_error("slot", "That time is no longer offered; choose another.")
        else:
            try:
                meeting = booking.meeting_reschedule(meeting=meeting, slot=slot, by=request.user)
            except RuleViolation as violation:
                form.add_error("slot", violation.text)
            else:
                messages.success(
                    request,
                    f"Moved to {_when(request, meeting.starts_at, meeting.ends_at)}. An updated "
                    f"invitation is on its way to you and {relationship.guide.full_name}.",
                )
                return redirect("meetings:book", code=relationship.code)
    slots = []
    if movable:
        slots = list(
            booking.free_slots_for(relationship, weeks=settings.MEETING_SLOT_WEEKS).exclude(
                pk=meeting.slot_id
            )[:SLOTS_SHOWN]
        )
    context = {
        "meeting": meeting,
        "relationship": relationship,
        "live": live,
        "movable": movable,
        "notice_hours": relationship.program.cancel_notice_hours,
        "form": form,
        "days": by_day(slots),
        "chosen": str(form["slot"].value() or ""),
        "zone": zone_name_of(request.user),
    }
    return render(request, "sessions_log/reschedule.html", context)


@require_http_methods(["GET", "POST"])
@in_viewer_timezone
def cancel(request: HttpRequest, code) -> HttpResponse:
    """Either person cancels a meeting; the guide (or the learner) can leave a message. A
    learner cancelling later than the notice is told it is recorded as late, before they do."""
    meeting = _own_meeting(request, code)
    relationship = meeting.relationship
    is_learner = relationship.learner_id == request.user.pk
    other = relationship.guide if is_learner else relationship.learner
    now = timezone.now()
    live = meeting.status == Meeting.Status.BOOKED and meeting.starts_at > now
    form = CancelForm(request.POST if request.method == "POST" else None, other=other)
    if request.method == "POST" and live and form.is_valid():
        try:
            meeting = booking.meeting_cancel(
                meeting=meeting, by=request.user, message=form.cleaned_data["message"]
            )
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            late = (
                " It is recorded as a late cancellation." if meeting.status == "late_cancel" else ""
            )
            messages.success(
                request,
                f"Cancelled: {_when(request, meeting.starts_at, meeting.ends_at)}. "
                f"{other.full_name} is told by email.{late}",
            )
            if is_learner:
                return redirect("meetings:book", code=relationship.code)
            return redirect("meetings:availability")
    context = {
        "meeting": meeting,
        "relationship": relationship,
        "other": other,
        "is_learner": is_learner,
        "live": live,
        "late": is_learner and live and not booking.within_notice(meeting, now=now),
        "notice_hours": relationship.program.cancel_notice_hours,
        "form": form,
        "back": reverse("meetings:book", kwargs={"code": relationship.code})
        if is_learner
        else reverse("meetings:availability"),
        "zone": zone_name_of(request.user),
    }
    return render(request, "sessions_log/cancel.html", context)


@require_POST
@in_viewer_timezone
def time_request(request: HttpRequest, code) -> HttpResponse:
    """The learner asks their guide for times (only when no slot is free)."""
    relationship = _learner_relationship(request, code)
    form = TimeRequestForm(request.POST)
    if not form.is_valid():
        return _book_page(request, relationship, request_form=form)
    try:
        booking.time_request_create(
            relationship=relationship, learner=request.user, message=form.cleaned_data["message"]
        )
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(
            request,
            f"Asked. {relationship.guide.full_name} is emailed; we email you when they add a time.",
        )
    return redirect("meetings:book", code=relationship.code)


# --- The calendar feed --------------------------------------------------------------------


@login_not_required
@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """A person's meetings as iCalendar, for their calendar app. SECURITY: no sign-in; the
    token is the credential, so an unknown or revoked one is 404 like any missing page."""
    owner = calendar.feed_owner(token)
    if owner is None:
        raise Http404("No such calendar.")
    response = HttpResponse(calendar.feed_ics(owner), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="meetings.ics"'
    # Revoking must stop the URL at once: no shared cache may keep a copy.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex"
    return response


def _participant_or_404(user) -> None:
    if not roles_of(user) & (GUIDE_ROLES | {Role.LEARNER}):
        raise Http404("Calendar feeds are for learners and guides.")


@require_http_methods(["GET", "POST"])
def feed_settings(request: HttpRequest) -> HttpResponse:
    """The person's private feed URL; creating it, or revoking it (which issues a new one)."""
    _participant_or_404(request.user)
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            calendar.feed_revoke(user=request.user)
            messages.success(
                request,
                "The old address no longer works. Here is a new one: subscribe to it again in "
                "your calendar app.",
            )
        else:
            calendar.feed_create(user=request.user)
            messages.success(request, "Your calendar address is ready.")
        return redirect("meetings:feed-settings")
    live = calendar.live_feed(request.user)
    url = settings.SITE_URL + reverse("meetings:feed", kwargs={"token": live.token}) if live else ""
    context = {
        "feed": live,
        "url": url,
        "webcal": "webcal://" + url.split("://", 1)[1] if url else "",
    }
    return render(request, "sessions_log/feed_settings.html", context)
