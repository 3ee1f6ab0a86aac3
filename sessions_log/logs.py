"""Meeting logs: what happened at a meeting, the learner's reflection, action items carried to
the next meeting, ad-hoc meetings logged without a booking; and the metadata administrators
read (R5).

Who writes what:
- either person of the relationship marks a meeting that has begun completed, no-show or
  cancelled late, and logs its duration and topic categories;
- only the learner writes the reflection (the guide reads it: both people see the log);
- either person adds action items and marks them done; open items show at the top of the
  relationship's later meetings until done;
- a relationship must have been confirmed (active, paused or ended); an ended one still takes
  logs of meetings held up to its last day.

SECURITY (R5): the reflection and the action items are for the two people only. Everything an
administrator reads about meetings comes from `meeting_facts` and `quiet_relationships`, which
select the metadata columns and nothing else, so a reflection never even reaches the process
that renders an administrator's page.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from mentoring.models import Program, Relationship
from mentoring.rules import RuleViolation
from sessions_log.models import TOPIC_KEYS, TOPICS, ActionItem, Meeting, MeetingLog

DURATION_MIN = 1
DURATION_MAX = 600
REFLECTION_MAX_CHARS = 5000
ACTION_ITEM_MAX_CHARS = 300

# The statuses a log gives a meeting that has begun (cancelling ahead of time is booking's).
LOGGED_STATUSES = (Meeting.Status.COMPLETED, Meeting.Status.NO_SHOW, Meeting.Status.LATE_CANCEL)

# Shown on the learner's reflection form. Open questions that ask the learner to name their
# own options and next step rather than record advice received: good mentoring encourages
# critical reflection so that mentees find solutions to their own problems
# (../shared/domain/evidence-summary.txt).
REFLECTION_PROMPTS = (
    "What did you bring to this meeting, and what do you understand differently now?",
    "Which options do you see for the question you brought? Which one will you try first, "
    "and why that one?",
    "What is one step you will take before the next meeting, and how will you know it worked?",
    "What would you like to explore next time?",
)

_TOPIC_LABELS = dict(TOPICS)


def topic_labels(keys) -> list[str]:
    """The labels of topic keys, in the order of TOPICS (unknown keys are left out)."""
    chosen = set(keys or [])
    return [label for key, label in TOPICS if key in chosen]


def is_learner(meeting: Meeting, user) -> bool:
    return meeting.relationship.learner_id == user.pk


def _check_person(relationship: Relationship, by) -> None:
    # Views fetch through `for_participant` first (outsiders get 404); this is the backstop.
    if by is None or by.pk not in (relationship.guide_id, relationship.learner_id):
        raise PermissionDenied("Only the two people of a relationship write its meeting logs.")


def _check_relationship_allows(relationship: Relationship, starts_at: datetime.datetime) -> None:
    """A confirmed relationship; an ended one only for meetings held up to its last day."""
    if relationship.status == Relationship.Status.PROPOSED:
        raise RuleViolation(
            "STATE",
            "this relationship is not confirmed yet; meetings can be logged once it is.",
            record=relationship,
        )
    day = timezone.localdate(starts_at)
    if relationship.status == Relationship.Status.ENDED and relationship.ends_on < day:
        raise RuleViolation(
            "STATE",
            f"this relationship ended on {relationship.ends_on:%-d %B %Y}; only meetings held "
            "up to that day can be logged.",
            record=relationship,
        )
    if day < relationship.started_on:
        raise RuleViolation(
            "STATE",
            f"this relationship started on {relationship.started_on:%-d %B %Y}; a meeting "
            "before that cannot be logged in it.",
            record=relationship,
        )


def check_loggable(*, meeting: Meeting, by, now: datetime.datetime | None = None) -> None:
    """Raise the refusal that stops `by` logging `meeting` now (None: it may be logged)."""
    _check_person(meeting.relationship, by)
    now = now or timezone.now()
    if meeting.starts_at > now:
        raise RuleViolation(
            "BOOKING",
            "this meeting has not begun yet; it can be logged once it has started.",
            record=meeting,
        )
    if meeting.status == Meeting.Status.CANCELLED:
        raise RuleViolation(
            "BOOKING",
            "this meeting was cancelled ahead of time, so there is nothing to log.",
            record=meeting,
        )
    _check_relationship_allows(meeting.relationship, meeting.starts_at)


def can_log(meeting: Meeting, by) -> bool:
    try:
        check_loggable(meeting=meeting, by=by)
    except (RuleViolation, PermissionDenied):
        return False
    return True


def _clean_topics(topics) -> list[str]:
    topics = list(topics or [])
    unknown = [t for t in topics if t not in TOPIC_KEYS]
    if unknown:
        raise ValidationError({"topics": f"Unknown topic {unknown[0]!r}."})
    chosen = set(topics)
    return [key for key in TOPIC_KEYS if key in chosen]  # one each, in the order of TOPICS


def _clean_duration(duration_minutes) -> int:
    if duration_minutes is None:
        raise ValidationError({"duration_minutes": "Say how long the meeting lasted."})
    if not DURATION_MIN <= int(duration_minutes) <= DURATION_MAX:
        raise ValidationError(
            {
                "duration_minutes": f"A meeting lasts {DURATION_MIN} to {DURATION_MAX} minutes "
                "(ten hours)."
            }
        )
    return int(duration_minutes)


def _clean_reflection(reflection: str) -> str:
    reflection = reflection.strip()
    if len(reflection) > REFLECTION_MAX_CHARS:
        raise ValidationError(
            {
                "reflection": f"A reflection is at most {REFLECTION_MAX_CHARS:,} characters "
                f"(this one has {len(reflection):,})."
            }
        )
    return reflection


def _clean_item_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the action item."})
    if len(text) > ACTION_ITEM_MAX_CHARS:
        raise ValidationError(
            {"text": f"An action item is at most {ACTION_ITEM_MAX_CHARS} characters."}
        )
    return text


def _check_reflection_writer(meeting: Meeting, by, reflection: str | None) -> None:
    # SECURITY (R5): the reflection is the learner's own words. The guide reads it but never
    # writes or changes it; the view answers 403 before this backstop is reached.
    if reflection is not None and not is_learner(meeting, by):
        raise PermissionDenied("Only the learner writes the reflection.")


@transaction.atomic
def meeting_log_save(
    *,
    meeting: Meeting,
    by,
    status: str,
    duration_minutes: int | None = None,
    topics=(),
    reflection: str | None = None,
    action_item: str = "",
) -> MeetingLog:
    """Log (or correct the log of) a meeting that has begun: its status, and for a completed
    meeting its duration and topics. `reflection` None leaves the reflection as it is; only
    the learner passes one. A no-show or late cancellation keeps no duration or topics.
    A non-empty `action_item` adds one action item."""
    _check_reflection_writer(meeting, by, reflection)
    # The row lock orders this write after a cancellation or another log racing it.
    meeting = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("relationship")
        .get(pk=meeting.pk)
    )
    check_loggable(meeting=meeting, by=by)
    if status not in LOGGED_STATUSES:
        raise ValidationError({"status": "Choose completed, no-show or cancelled late."})
    if status == Meeting.Status.COMPLETED:
        duration, topics = _clean_duration(duration_minutes), _clean_topics(topics)
    else:
        duration, topics = None, []
    if reflection is not None:
        reflection = _clean_reflection(reflection)
    item_text = _clean_item_text(action_item) if (action_item or "").strip() else ""

    log = MeetingLog.objects.filter(meeting=meeting).first() or MeetingLog(meeting=meeting)
    log.logged_by = by
    log.duration_minutes = duration
    log.topics = topics
    if reflection is not None:
        log.reflection = reflection
    log.full_clean(exclude=["meeting"])
    log.save()
    if meeting.status != status:
        # Meeting.sequence counts every change of time or status (calendar invitations).
        Meeting.objects.filter(pk=meeting.pk).update(
            status=status, sequence=F("sequence") + 1, updated_at=timezone.now()
        )
        meeting.refresh_from_db(fields=["status", "sequence", "updated_at"])
    if item_text:
        ActionItem.objects.create(meeting=meeting, text=item_text, created_by=by)
    return log


@transaction.atomic
def meeting_adhoc_create(
    *,
    relationship: Relationship,
    by,
    starts_at: datetime.datetime,
    duration_minutes: int,
    topics=(),
    location: str = "",
    reflection: str | None = None,
    action_item: str = "",
) -> Meeting:
    """Record a meeting that happened without a booking (a corridor conversation): a completed
    meeting with no slot, in the past, with its log."""
    _check_person(relationship, by)
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be timezone-aware")
    if reflection is not None and relationship.learner_id != by.pk:
        raise PermissionDenied("Only the learner writes the reflection.")
    # Locked so that a double-submitted form finds the first one's meeting.
    relationship = Relationship.objects.select_for_update(no_key=True).get(pk=relationship.pk)
    duration = _clean_duration(duration_minutes)
    if starts_at > timezone.now():
        raise ValidationError(
            {"starts_at": "This time is in the future; book a meeting for times to come."}
        )
    _check_relationship_allows(relationship, starts_at)
    existing = Meeting.objects.filter(
        relationship=relationship, slot__isnull=True, starts_at=starts_at
    ).first()
    if existing is not None:
        raise RuleViolation(
            "BOOKING",
            f"a meeting at {timezone.localtime(starts_at):%-d %B %Y %H:%M} is logged already.",
            record=existing,
        )
    meeting = Meeting(
        relationship=relationship,
        starts_at=starts_at,
        # In UTC: local arithmetic keeps the wall clock across a clock change.
        ends_at=starts_at.astimezone(datetime.UTC) + datetime.timedelta(minutes=duration),
        location=location.strip()[:200],
        status=Meeting.Status.COMPLETED,
        booked_by=None,  # nobody booked it: with no slot, this marks a meeting logged ad hoc
    )
    meeting.full_clean(exclude=["slot", "relationship", "booked_by", "cancelled_by"])
    meeting.save()
    meeting.relationship = relationship
    meeting_log_save(
        meeting=meeting,
        by=by,
        status=Meeting.Status.COMPLETED,
        duration_minutes=duration,
        topics=topics,
        reflection=reflection,
        action_item=action_item,
    )
    return meeting


# --- Action items ---------------------------------------------------------------------------


@transaction.atomic
def action_item_add(*, meeting: Meeting, by, text: str) -> ActionItem:
    """Either person adds something to do before the next meeting, once the meeting began."""
    check_loggable(meeting=meeting, by=by)
    return ActionItem.objects.create(meeting=meeting, text=_clean_item_text(text), created_by=by)


@transaction.atomic
def action_item_set_done(*, item: ActionItem, by, done: bool = True) -> ActionItem:
    """Either person marks an item done (or open again)."""
    item = (
        ActionItem.objects.select_for_update(of=("self",))
        .select_related("meeting__relationship")
        .get(pk=item.pk)
    )
    _check_person(item.meeting.relationship, by)
    if done and item.done_at is None:
        item.done_at = timezone.now()
    elif not done:
        item.done_at = None
    item.save(update_fields=["done_at"])
    return item


def open_items_before(meeting: Meeting) -> QuerySet[ActionItem]:
    """Action items not done yet from the relationship's meetings before `meeting`: what the
    two people agreed to do, shown at the top of the next meeting."""
    return (
        ActionItem.objects.filter(
            meeting__relationship_id=meeting.relationship_id,
            meeting__starts_at__lt=meeting.starts_at,
            done_at__isnull=True,
        )
        .select_related("meeting", "created_by")
        .order_by("meeting__starts_at", "created_at")
    )


# --- What administrators read (R5: metadata only) -------------------------------------------


@dataclass(frozen=True)
class MeetingFacts:
    """A meeting as an administrator sees it: date, duration, status and topic categories."""

    starts_at: datetime.datetime
    status: str
    status_label: str
    duration_minutes: int | None
    topics: list[str]


def meeting_facts(relationship: Relationship) -> list[MeetingFacts]:
    """The relationship's meetings, newest first, as metadata only.

    SECURITY (R5): `values()` selects these columns and nothing else; the reflection and the
    action items are never read for an administrator."""
    rows = (
        Meeting.objects.filter(relationship=relationship)
        .order_by("-starts_at")
        .values("starts_at", "status", "log__duration_minutes", "log__topics")
    )
    labels = dict(Meeting.Status.choices)
    return [
        MeetingFacts(
            starts_at=row["starts_at"],
            status=row["status"],
            status_label=labels.get(row["status"], row["status"]),
            duration_minutes=row["log__duration_minutes"],
            topics=topic_labels(row["log__topics"]),
        )
        for row in rows
    ]


def quiet_cutoff(program: Program, today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    return today - datetime.timedelta(days=program.expected_meeting_interval_days)


def quiet_relationships(program: Program, *, cutoff: datetime.date) -> QuerySet[Relationship]:
    """Active relationships of `program`, begun before `cutoff`, with no completed meeting
    since the start of that day; each annotated with `last_met` (the start of its last
    completed meeting, or None), longest quiet first."""
    since = timezone.make_aware(datetime.datetime.combine(cutoff, datetime.time.min))
    completed = Meeting.objects.filter(relationship=OuterRef("pk"), status=Meeting.Status.COMPLETED)
    # The latest start, read backwards off the partial index of completed meetings (one index
    # entry per relationship, where MAX() over a GROUP BY read them all).
    last_met = completed.order_by("-starts_at").values("starts_at")[:1]
    return (
        Relationship.objects.active()
        .filter(program=program, started_on__lt=cutoff)
        .filter(~Exists(completed.filter(starts_at__gte=since)))
        .annotate(last_met=Subquery(last_met))
        .select_related("guide", "learner")
        .order_by(F("last_met").asc(nulls_first=True), "started_on", "pk")
    )
