"""A learner's and a guide's meetings: the list, one meeting, its log, action items, and
meetings logged without a booking (namespace `meetings`).

Every view fetches the meeting (or relationship) through the signed-in person's own
(`Meeting.objects.for_participant`, `get_own_relationship_or_404`), so anyone who is not one
of the two people gets 404 (R8), administrators and the operator included: they read meeting
metadata in the console. The guide trying the learner's own action (writing the reflection)
gets 403: they may see the log but not write that part.

Times are shown in the viewer's profile time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.times import zone_of
from mentoring.models import Relationship
from mentoring.permissions import get_own_relationship_or_404
from mentoring.views import is_uuid
from sessions_log import logs
from sessions_log.forms_log import ActionItemForm, AdhocMeetingForm, MeetingLogForm
from sessions_log.models import ActionItem, Meeting, MeetingLog

PAST_PAGE_SIZE = 20
UPCOMING_LIMIT = 50

_MEETING_RELATED = (
    "relationship__program",
    "relationship__guide__profile",
    "relationship__learner__profile",
)


# What a row of the meetings list shows (_meeting_row.html): the meeting's time, place and
# status, the other person's name, the program's name, the log's duration and topics. The list
# reads those columns only: not the profiles, nor the reflection (R5), which the ORM would
# otherwise fetch and decrypt for every row.
_LIST_RELATED = ("relationship__program", "relationship__guide", "relationship__learner", "log")
_LIST_COLUMNS = (
    "code",
    "relationship_id",
    "slot_id",
    "booked_by_id",
    "starts_at",
    "location",
    "video_link",
    "status",
    "relationship__kind",
    "relationship__guide_id",
    "relationship__learner_id",
    "relationship__program__name",
    "relationship__guide__full_name",
    "relationship__guide__email",
    "relationship__learner__full_name",
    "relationship__learner__email",
    "log__duration_minutes",
    "log__topics",
)


def meeting_url(meeting: Meeting) -> str:
    return reverse("meetings:meeting", kwargs={"code": meeting.code})


def get_own_meeting_or_404(user: User, code) -> Meeting:
    """A meeting of a relationship `user` is the guide or learner of (R8: 404 otherwise)."""
    return get_object_or_404(
        Meeting.objects.for_participant(user).select_related(*_MEETING_RELATED), code=code
    )


@dataclass(frozen=True)
class MeetingView:
    """One meeting as the signed-in person sees it."""

    meeting: Meeting
    is_learner: bool
    now: object

    @property
    def relationship(self) -> Relationship:
        return self.meeting.relationship

    @property
    def other(self) -> User:
        r = self.meeting.relationship
        return r.guide if self.is_learner else r.learner

    @property
    def other_role(self) -> str:
        r = self.meeting.relationship
        return r.guide_noun if self.is_learner else r.learner_noun

    @property
    def log(self) -> MeetingLog | None:
        try:
            return self.meeting.log
        except ObjectDoesNotExist:
            return None

    @property
    def has_begun(self) -> bool:
        return self.meeting.starts_at <= self.now

    @property
    def is_adhoc(self) -> bool:
        """Logged without a booking (logs.meeting_adhoc_create: no slot, nobody booked it)."""
        return self.meeting.slot_id is None and self.meeting.booked_by_id is None

    @property
    def needs_log(self) -> bool:
        return (
            self.has_begun and self.meeting.status != Meeting.Status.CANCELLED and self.log is None
        )

    @property
    def can_change(self) -> bool:
        """Still ahead and booked: rescheduling and cancelling apply."""
        return self.meeting.status == Meeting.Status.BOOKED and not self.has_begun

    @property
    def topics(self) -> list[str]:
        log = self.log
        return logs.topic_labels(log.topics) if log else []


def _view(user: User, meeting: Meeting) -> MeetingView:
    return MeetingView(meeting, meeting.relationship.learner_id == user.pk, timezone.now())


def _refuse(form, exc: ValidationError) -> None:
    """Put a service's refusal on the form: next to the field it names, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(exc.messages))


def _refusal_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- Lists and pages ------------------------------------------------------------------------


@require_GET
def meetings(request: HttpRequest) -> HttpResponse:
    """The signed-in person's meetings across their relationships: upcoming first (soonest
    first), then the past ones, newest first, a page at a time. `?with=<relationship code>`
    narrows them to one relationship."""
    user = request.user
    qs = Meeting.objects.for_participant(user).select_related(*_LIST_RELATED).only(*_LIST_COLUMNS)
    relationship = None
    if "with" in request.GET:
        code = request.GET["with"]
        if not is_uuid(code):
            raise Http404("No such relationship.")
        relationship = get_own_relationship_or_404(user, code.strip())
        qs = qs.filter(relationship=relationship)
    now = timezone.now()
    upcoming = [
        _view(user, m) for m in qs.filter(starts_at__gt=now).order_by("starts_at")[:UPCOMING_LIMIT]
    ]
    page = Paginator(qs.filter(starts_at__lte=now).order_by("-starts_at"), PAST_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    page.object_list = [_view(user, m) for m in page.object_list]
    context = {
        "upcoming": upcoming,
        "page": page,
        "relationship": relationship,
        "with_other": (
            (relationship.guide if relationship.learner_id == user.pk else relationship.learner)
            if relationship
            else None
        ),
        "zone": zone_of(user),
    }
    return render(request, "sessions_log/meetings.html", context)


def _detail_page(
    request: HttpRequest, meeting: Meeting, item_form: ActionItemForm | None = None
) -> HttpResponse:
    view = _view(request.user, meeting)
    context = {
        "view": view,
        "meeting": meeting,
        "zone": zone_of(request.user),
        "carried": list(logs.open_items_before(meeting)),
        "items": list(meeting.action_items.select_related("created_by")),
        "can_log": logs.can_log(meeting, request.user),
        "item_form": item_form or ActionItemForm(),
    }
    return render(request, "sessions_log/meeting_detail.html", context)


@require_GET
def meeting_detail(request: HttpRequest, code) -> HttpResponse:
    return _detail_page(request, get_own_meeting_or_404(request.user, code))


@require_http_methods(["GET", "POST"])
def meeting_log(request: HttpRequest, code) -> HttpResponse:
    meeting = get_own_meeting_or_404(request.user, code)
    view = _view(request.user, meeting)
    if request.method == "POST" and "reflection" in request.POST and not view.is_learner:
        # SECURITY (R5): the reflection is the learner's; the guide reads it, never writes it.
        raise PermissionDenied("Only the learner writes the reflection.")
    try:
        logs.check_loggable(meeting=meeting, by=request.user)
    except ValidationError as exc:
        messages.error(request, _refusal_text(exc))
        return redirect("meetings:meeting", code=meeting.code)
    log = view.log
    initial = {"status": Meeting.Status.COMPLETED}
    if log is not None:
        initial = {
            "status": meeting.status,
            "duration_minutes": log.duration_minutes,
            "topics": log.topics,
            "reflection": log.reflection,
        }
    else:  # the booked length, to start from
        initial["duration_minutes"] = int(
            (meeting.ends_at - meeting.starts_at).total_seconds() // 60
        )
    form = MeetingLogForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        with_reflection=view.is_learner,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            logs.meeting_log_save(
                meeting=meeting,
                by=request.user,
                status=data["status"],
                duration_minutes=data.get("duration_minutes"),
                topics=data.get("topics", []),
                reflection=data["reflection"] if form.has_reflection else None,
                action_item=data.get("action_item", ""),
            )
        except ValidationError as exc:
            _refuse(form, exc)
        else:
            messages.success(request, "The meeting is logged.")
            return redirect("meetings:meeting", code=meeting.code)
    context = {
        "view": view,
        "meeting": meeting,
        "form": form,
        "zone": zone_of(request.user),
        "prompts": logs.REFLECTION_PROMPTS,
    }
    return render(request, "sessions_log/meeting_log.html", context)


@require_POST
def action_item_add(request: HttpRequest, code) -> HttpResponse:
    meeting = get_own_meeting_or_404(request.user, code)
    form = ActionItemForm(request.POST)
    if form.is_valid():
        try:
            logs.action_item_add(meeting=meeting, by=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            if getattr(exc, "rule", None):
                # Not a mistake in the text but a refusal about the meeting (not begun yet).
                messages.error(request, _refusal_text(exc))
                return redirect("meetings:meeting", code=meeting.code)
            _refuse(form, exc)
        else:
            messages.success(request, "Action item added.")
            return redirect(f"{meeting_url(meeting)}#action-items")
    return _detail_page(request, meeting, item_form=form)


@require_POST
def action_item_done(request: HttpRequest, code) -> HttpResponse:
    """Mark an action item done (`done=0`: open again). With htmx, answers the item's new
    markup in place; without, goes back to the meeting page it was marked on."""
    item = get_object_or_404(
        ActionItem.objects.filter(
            meeting__in=Meeting.objects.for_participant(request.user)
        ).select_related("meeting__relationship"),
        code=code,
    )
    item = logs.action_item_set_done(
        item=item, by=request.user, done=request.POST.get("done", "1") != "0"
    )
    # The page it was marked on: this item's meeting, or a later one of the same relationship
    # where it was carried (anything else falls back to the item's own meeting).
    back = item.meeting
    shown_on = request.POST.get("shown_on", "")
    if is_uuid(shown_on):
        back = (
            Meeting.objects.filter(
                relationship_id=item.meeting.relationship_id, code=shown_on.strip()
            ).first()
            or back
        )
    if request.htmx:
        context = {"item": item, "shown_on": back, "carried": back.pk != item.meeting_id}
        context["zone"] = zone_of(request.user)
        return render(request, "sessions_log/_action_item.html", context)
    messages.success(request, "Action item done." if item.done_at else "Action item reopened.")
    return redirect(f"{meeting_url(back)}#action-items")


@require_http_methods(["GET", "POST"])
def adhoc_new(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    is_learner = relationship.learner_id == request.user.pk
    if request.method == "POST" and "reflection" in request.POST and not is_learner:
        raise PermissionDenied("Only the learner writes the reflection.")
    if relationship.status == Relationship.Status.PROPOSED:
        messages.error(
            request,
            "STATE Relationship status: this relationship is not confirmed yet; meetings can "
            "be logged once it is.",
        )
        return redirect("mentoring:relationship-detail", code=relationship.code)
    zone = zone_of(request.user)
    now = timezone.localtime(timezone.now(), zone)
    form = AdhocMeetingForm(
        request.POST if request.method == "POST" else None,
        initial={"date": now.date(), "duration_minutes": 15},
        with_reflection=is_learner,
        zone=zone,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            meeting = logs.meeting_adhoc_create(
                relationship=relationship,
                by=request.user,
                starts_at=data["starts_at"],
                duration_minutes=data["duration_minutes"],
                topics=data["topics"],
                location=data["location"],
                reflection=data["reflection"] if form.has_reflection else None,
                action_item=data["action_item"],
            )
        except ValidationError as exc:
            _refuse(form, exc)
        else:
            messages.success(request, "The meeting is logged.")
            return redirect("meetings:meeting", code=meeting.code)
    other = relationship.guide if is_learner else relationship.learner
    context = {
        "relationship": relationship,
        "other": other,
        "form": form,
        "zone": zone,
        "prompts": logs.REFLECTION_PROMPTS,
    }
    return render(request, "sessions_log/adhoc_new.html", context)
