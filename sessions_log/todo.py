"""What meetings ask of a person today, for their home page (`config.home` orders the items).

Each function costs a fixed number of queries whatever the number of meetings, items or
requests: lists are cut in the database and the rest is counted there.
"""

from __future__ import annotations

import datetime
from collections import Counter

from django.db.models import Count, Exists, Min, OuterRef, Window
from django.urls import reverse

from accounts.todo import LATER, NOW, SOON, TODO, WAITING, TodoItem
from mentoring.models import Relationship
from sessions_log.logs import quiet_cutoff, quiet_relationships
from sessions_log.models import ActionItem, Meeting, MeetingLog, TimeRequest
from sessions_log.reminders import NUDGE_MAX_AGE, live_meetings
from sessions_log.time_requests import open_time_requests

SOON_WINDOW = datetime.timedelta(hours=1)  # a meeting starting within this comes first of all
SHOWN = 3  # at most this many meetings or logs listed one by one; the rest are counted


def _other(meeting: Meeting, user) -> str:
    relationship = meeting.relationship
    other = relationship.learner if relationship.guide_id == user.pk else relationship.guide
    return other.full_name


def meeting_items(user, now: datetime.datetime, *, limit: int = 1) -> list[TodoItem]:
    """The next `limit` booked meetings of `user` (either side). One that starts within the
    hour, or is under way, is the most urgent item of all."""
    meetings = (
        live_meetings()
        .for_participant(user)
        .filter(ends_at__gt=now)
        .select_related("relationship__guide", "relationship__learner")
        .order_by("starts_at", "pk")[:limit]
    )
    items = []
    for index, meeting in enumerate(meetings):
        other = _other(meeting, user)
        url = reverse("meetings:meeting", kwargs={"code": meeting.code})
        if meeting.starts_at <= now:
            items.append(
                TodoItem(
                    f"Your meeting with {other} is under way",
                    url,
                    detail=meeting.location or "Open the meeting for its place or video link.",
                    when=meeting.starts_at,
                    when_label="Started",
                    priority=NOW,
                    kind="meeting-soon",
                )
            )
        elif meeting.starts_at <= now + SOON_WINDOW:
            items.append(
                TodoItem(
                    f"Your meeting with {other} starts soon",
                    url,
                    detail=meeting.location or "Open the meeting for its place or video link.",
                    when=meeting.starts_at,
                    when_label="Starts",
                    priority=NOW,
                    kind="meeting-soon",
                )
            )
        else:
            title = "Your next meeting" if index == 0 else "Then a meeting"
            items.append(
                TodoItem(
                    f"{title} with {other}",
                    url,
                    detail=meeting.location,
                    when=meeting.starts_at,
                    when_label="Starts",
                    priority=LATER,
                    kind="meeting",
                )
            )
    return items


def action_item_items(user) -> list[TodoItem]:
    """Open action items of `user`'s current relationships, one entry per meeting that set
    them (the meeting page lists them and marks them done). Never their text."""
    rows = (
        ActionItem.objects.filter(
            done_at__isnull=True,
            meeting__relationship__in=Relationship.objects.current().for_participant(user),
        )
        .values(
            "meeting__code",
            "meeting__starts_at",
            "meeting__relationship__guide_id",
            "meeting__relationship__guide__full_name",
            "meeting__relationship__learner__full_name",
        )
        .annotate(n=Count("id"))
        .order_by("meeting__starts_at", "meeting__code")[:SHOWN]
    )
    items = []
    for row in rows:
        is_guide = row["meeting__relationship__guide_id"] == user.pk
        other = row[
            "meeting__relationship__learner__full_name"
            if is_guide
            else "meeting__relationship__guide__full_name"
        ]
        n = row["n"]
        items.append(
            TodoItem(
                f"{n} open action item{'s' if n != 1 else ''} from your meeting with {other}",
                reverse("meetings:meeting", kwargs={"code": row["meeting__code"]}),
                detail="Mark each one done when it is.",
                when=row["meeting__starts_at"],
                when_label="Met",
                priority=TODO,
                kind="action-items",
            )
        )
    return items


def _logs_due(user, now: datetime.datetime):
    """Meetings `user` guided that are over, not logged, and recent enough to be nudged about."""
    return (
        Meeting.objects.filter(
            relationship__guide=user,
            relationship__status__in=[Relationship.Status.ACTIVE, Relationship.Status.PAUSED],
            status=Meeting.Status.BOOKED,
            ends_at__lte=now,
            ends_at__gt=now - NUDGE_MAX_AGE,
        )
        .filter(~Exists(MeetingLog.objects.filter(meeting=OuterRef("pk"))))
        .select_related("relationship__learner")
    )


def log_due_items(user, now: datetime.datetime) -> list[TodoItem]:
    """Meetings the guide should log now that they are over (the "log this meeting" nudge):
    the first few one by one, the rest counted in the same query."""
    due = list(
        _logs_due(user, now).annotate(total=Window(Count("pk"))).order_by("starts_at", "pk")[:SHOWN]
    )
    items = [
        TodoItem(
            f"Log your meeting with {meeting.relationship.learner.full_name}",
            reverse("meetings:meeting-log", kwargs={"code": meeting.code}),
            detail="Say whether it took place, how long it lasted and what you discussed.",
            when=meeting.starts_at,
            when_label="Met",
            priority=TODO,
            kind="log-due",
        )
        for meeting in due
    ]
    more = due[0].total - len(due) if due else 0
    if more > 0:
        items.append(
            TodoItem(
                f"{more} more meeting{'s' if more != 1 else ''} to log",
                reverse("meetings:meetings"),
                priority=TODO,
                kind="log-due",
            )
        )
    return items


def time_request_items_for_guide(user) -> list[TodoItem]:
    """Learners who asked `user` for meeting times; adding a slot answers them all."""
    summary = open_time_requests(user).order_by().aggregate(n=Count("id"), first=Min("created_at"))
    n = summary["n"]
    if not n:
        return []
    return [
        TodoItem(
            f"{n} learner{' asks' if n == 1 else 's ask'} you for meeting times",
            reverse("meetings:availability"),
            detail="Add a time you are free; they are told at once.",
            when=summary["first"],
            when_label="Asked",
            priority=SOON,
            kind="time-request",
        )
    ]


def time_request_items_for_learner(user) -> list[TodoItem]:
    """`user`'s own requests for times that their guide has not answered yet."""
    requests = (
        TimeRequest.objects.filter(
            answered_at__isnull=True,
            relationship__learner=user,
            relationship__status=Relationship.Status.ACTIVE,
        )
        .select_related("relationship__guide")
        .order_by("created_at")[:SHOWN]
    )
    return [
        TodoItem(
            f"You asked {request.relationship.guide.full_name} for meeting times",
            reverse("meetings:book", kwargs={"code": request.relationship.code}),
            detail="You will be emailed when a time is added; book it then.",
            when=request.created_at,
            when_label="Asked",
            priority=WAITING,
            kind="time-request-sent",
        )
        for request in requests
    ]


def quiet_items(programs, today: datetime.date) -> list[TodoItem]:
    """For each program an administrator runs: how many relationships have gone quiet. The
    console's own query per program (each program has its own interval), the programs joined
    into one UNION ALL of their ids: one query whatever the number of programs."""
    programs = list(programs)
    parts = [
        quiet_relationships(program, cutoff=quiet_cutoff(program, today))
        .order_by()
        .values_list("program_id", flat=True)
        for program in programs
    ]
    if not parts:
        return []
    ids = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    counts = Counter(ids)
    items = []
    for program in programs:
        n = counts.get(program.pk, 0)
        if n:
            items.append(
                TodoItem(
                    f"{n} quiet relationship{'s' if n != 1 else ''} in {program.name}",
                    reverse("console:quiet", kwargs={"code": program.code}),
                    detail="No meeting for longer than the program expects.",
                    priority=TODO,
                    kind="quiet",
                )
            )
    return items
