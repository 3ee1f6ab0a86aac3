"""The mentoring agreement and the learner's goals: the only code that writes them.

Who may do what:
- the two people of a relationship (its learner and its guide) read its agreement and goals,
  and change them while the relationship is current (active or paused); after it ends, or
  before it is confirmed, they still read them and nothing changes (`ReadOnly`, a 403);
- nobody else, administrators and the operator included: `NotInRelationship` (a 404, R8).
  Administrators read `agreement_facts` only: whether the agreement is done and how many goals
  there are, never a word of text.

The agreement is done when both have agreed to its current text. Saving a change clears the
other person's agreement (and the saver's own, unless they agree in the same step), so both
always agree to the same words; `agreement_agree` takes the version the person read and is
refused if the text changed since. Agreeing needs the confidentiality acknowledgement.

Reminders to complete the agreement (R11) are in mentoring/agreement_reminders.py.

SECURITY: no message, log line, exception or email built here contains agreement or goal text.
"""

from __future__ import annotations

import datetime
import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from mentoring.models import (
    Goal,
    GoalProgress,
    MentoringAgreement,
    Relationship,
)
from mentoring.models.relationships import CURRENT_STATUSES

AGREEMENT_TEXT_MAX_CHARS = 4000
GOAL_TITLE_MAX_CHARS = 200
GOAL_DESCRIPTION_MAX_CHARS = 4000
PROGRESS_NOTE_MAX_CHARS = 2000
GOAL_TARGET_MAX_YEARS = 5

SMART_HINT = (
    "Make it SMART: specific, measurable, achievable, relevant and time-bound. For example "
    "“Submit an abstract to the regional meeting by 1 March” rather than “Do research”."
)


class NotInRelationship(Http404):
    """The person is not one of the two people of the relationship (R8: "not found")."""


class ReadOnly(PermissionDenied):
    """The person may read, but the relationship is not current: nothing changes."""


# --- Who and when ---------------------------------------------------------------------------


def _role_of(by, relationship: Relationship) -> str:
    """ "learner" or "guide"; NotInRelationship for anybody else."""
    if getattr(by, "is_authenticated", False):
        if relationship.learner_id == by.pk:
            return "learner"
        if relationship.guide_id == by.pk:
            return "guide"
    raise NotInRelationship("No such relationship.")


def is_writable(relationship: Relationship) -> bool:
    """The agreement and goals change only while the relationship is active or paused."""
    return relationship.status in CURRENT_STATUSES


def check_writable(relationship: Relationship) -> None:
    if relationship.status == Relationship.Status.PROPOSED:
        raise ReadOnly(
            "This relationship is not confirmed yet: the agreement and goals can be written "
            "once it is."
        )
    if not is_writable(relationship):
        raise ReadOnly(
            "This relationship has ended: its agreement and goals can be read, not changed."
        )


def _lock_relationship(relationship: Relationship) -> Relationship:
    """Re-read the relationship's status under its row lock (the one `relationship_end` takes):
    an end racing a write waits for it, or the write sees the end, so nothing changes after a
    relationship ended."""
    status = (
        Relationship.objects.select_for_update(no_key=True)
        .filter(pk=relationship.pk)
        .values_list("status", flat=True)
        .get()
    )
    relationship.status = status
    return relationship


def _start_write(by, relationship: Relationship) -> str:
    role = _role_of(by, relationship)
    check_writable(_lock_relationship(relationship))
    return role


def _errors(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError({field: [message] for field, message in errors.items()})


def _too_long(label: str, text: str, limit: int) -> str | None:
    if len(text) > limit:
        return f"{label} is {len(text):,} characters long; the limit is {limit:,}."
    return None


# --- The agreement --------------------------------------------------------------------------


def agreement_of(relationship: Relationship) -> MentoringAgreement | None:
    """The relationship's agreement, or None before anybody wrote it (no row is created)."""
    return MentoringAgreement.objects.filter(relationship=relationship).first()


def agreement_get_or_create(*, relationship: Relationship) -> MentoringAgreement:
    """The relationship's agreement, created empty if there is none yet."""
    agreement, _ = MentoringAgreement.objects.get_or_create(relationship=relationship)
    return agreement


def agreement_version(agreement: MentoringAgreement | None) -> str:
    """A fingerprint of the agreement's content: what a person agrees to. Shown only to the
    two people (it is a hash of their own text, and says nothing they cannot read)."""
    if agreement is None:
        return ""
    content = "\x1f".join(
        [
            agreement.goals,
            agreement.meeting_frequency,
            agreement.preferred_contact,
            agreement.boundaries,
        ]
    )
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def agreement_is_complete(agreement: MentoringAgreement | None) -> bool:
    """There is something to agree to: goals, a meeting frequency and a way of contact."""
    return bool(
        agreement is not None
        and agreement.goals.strip()
        and agreement.meeting_frequency
        and agreement.preferred_contact
    )


def agreement_status(agreement: MentoringAgreement | None, *, is_learner: bool) -> str:
    """ "done", "waiting_for_you", "waiting_for_other" (I agreed, the other has not), or
    "not_started" (nobody wrote anything yet)."""
    if agreement is None or not agreement_is_complete(agreement):
        return "not_started"
    if agreement.is_done:
        return "done"
    mine = agreement.learner_agreed_at if is_learner else agreement.guide_agreed_at
    return "waiting_for_other" if mine else "waiting_for_you"


def _clean_agreement(
    goals: str, meeting_frequency: str, preferred_contact: str, boundaries: str
) -> dict[str, str]:
    goals, boundaries = goals.strip(), boundaries.strip()
    errors: dict[str, str] = {}
    if not goals:
        errors["goals"] = "Write the goals you agree for this term."
    elif message := _too_long("The goals", goals, AGREEMENT_TEXT_MAX_CHARS):
        errors["goals"] = message
    if meeting_frequency not in MentoringAgreement.Frequency.values:
        errors["meeting_frequency"] = "Choose how often you will meet."
    if preferred_contact not in MentoringAgreement.Contact.values:
        errors["preferred_contact"] = "Choose how you prefer to be contacted."
    if message := _too_long("The boundaries", boundaries, AGREEMENT_TEXT_MAX_CHARS):
        errors["boundaries"] = message
    _errors(errors)
    return {
        "goals": goals,
        "meeting_frequency": meeting_frequency,
        "preferred_contact": preferred_contact,
        "boundaries": boundaries,
    }


def _require_acknowledgement(acknowledged: bool) -> None:
    if not acknowledged:
        _errors(
            {
                "acknowledged": "Tick the box to confirm you have read what stays confidential "
                "and its limits; you cannot agree without it."
            }
        )


def _locked_agreement(relationship: Relationship) -> MentoringAgreement:
    agreement_get_or_create(relationship=relationship)
    return MentoringAgreement.objects.select_for_update().get(relationship=relationship)


def _record_agreement(agreement: MentoringAgreement, role: str, now: datetime.datetime) -> None:
    field = f"{role}_agreed_at"
    if getattr(agreement, field) is None:
        setattr(agreement, field, now)


@transaction.atomic
def agreement_save(
    *,
    by,
    relationship: Relationship,
    goals: str,
    meeting_frequency: str,
    preferred_contact: str,
    boundaries: str = "",
    agree: bool = False,
    acknowledged: bool = False,
) -> MentoringAgreement:
    """Write the agreement's content as `by` (one of the two people). If the content changes,
    both agreements are cleared (the other person must read and agree again); with `agree`,
    `by` then agrees to the new text, which needs `acknowledged` (confidentiality and its
    limits). Saving the same content again changes nothing.

    Raises NotInRelationship, ReadOnly, or ValidationError keyed by field."""
    role = _start_write(by, relationship)
    content = _clean_agreement(goals, meeting_frequency, preferred_contact, boundaries)
    if agree:
        _require_acknowledgement(acknowledged)
    agreement = _locked_agreement(relationship)
    fields: list[str] = []
    if any(getattr(agreement, name) != value for name, value in content.items()):
        for name, value in content.items():
            setattr(agreement, name, value)
        # Both agree to the same words: a change voids what either agreed before.
        agreement.learner_agreed_at = agreement.guide_agreed_at = None
        agreement.updated_by = by
        fields += [*content, "learner_agreed_at", "guide_agreed_at", "updated_by"]
    if agree:
        _record_agreement(agreement, role, timezone.now())
        fields.append(f"{role}_agreed_at")
    if fields:
        agreement.full_clean(exclude=["relationship"])
        agreement.save(update_fields=sorted({*fields, "updated_at"}))
    return agreement


@transaction.atomic
def agreement_agree(
    *, by, relationship: Relationship, acknowledged: bool, version: str | None = None
) -> MentoringAgreement:
    """`by` agrees to the agreement as it stands. Needs `acknowledged` (confidentiality and
    its limits). `version` (from `agreement_version` when the person read it): refused if the
    text changed since, so nobody agrees to words they have not seen."""
    role = _start_write(by, relationship)
    _require_acknowledgement(acknowledged)
    agreement = _locked_agreement(relationship)
    if not agreement_is_complete(agreement):
        raise ValidationError(
            "There is nothing to agree to yet: write the goals, how often you meet and how "
            "you prefer to be contacted first."
        )
    if version is not None and version != agreement_version(agreement):
        raise ValidationError(
            "The agreement was changed since you opened it. Read it again, then agree."
        )
    _record_agreement(agreement, role, timezone.now())
    agreement.save(update_fields=[f"{role}_agreed_at", "updated_at"])
    return agreement


# --- Goals ----------------------------------------------------------------------------------


def goals_for(relationship: Relationship) -> QuerySet[Goal]:
    """The relationship's goals, each with its progress entries (newest first) and their
    authors prefetched: two queries, whatever the number of goals."""
    return (
        Goal.objects.filter(relationship=relationship)
        .prefetch_related(
            Prefetch(
                "progress",
                queryset=GoalProgress.objects.select_related("author").order_by("-created_at"),
            )
        )
        .order_by("target_on", "created_at")
    )


def get_own_goal_or_404(user, code) -> Goal:
    """A goal of a relationship `user` is the learner or the guide of (R8: 404 otherwise)."""
    goal = (
        Goal.objects.filter(relationship__in=Relationship.objects.for_participant(user))
        .select_related("relationship__program", "relationship__guide", "relationship__learner")
        .filter(code=code)
        .first()
    )
    if goal is None:
        raise NotInRelationship("No such goal.")
    return goal


def competency_allowed(relationship: Relationship) -> bool:
    """Coaching relationships tag goals with a competency; the others do not."""
    return relationship.kind == Relationship.Kind.COACHING


def _clean_goal(
    relationship: Relationship,
    *,
    title: str,
    description: str,
    domain: str,
    competency: str,
    target_on: datetime.date | None,
    previous_target: datetime.date | None = None,
    is_new: bool,
) -> dict:
    title, description, competency = title.strip(), description.strip(), competency or ""
    errors: dict[str, str] = {}
    if not title:
        errors["title"] = "Give the goal a title: what, specifically, will be done."
    elif message := _too_long("The title", title, GOAL_TITLE_MAX_CHARS):
        errors["title"] = message
    if message := _too_long("The description", description, GOAL_DESCRIPTION_MAX_CHARS):
        errors["description"] = message
    if domain not in Goal.Domain.values:
        errors["domain"] = "Choose the area the goal belongs to."
    if competency:
        if not competency_allowed(relationship):
            errors["competency"] = (
                f"Competencies are for coaching relationships; this is a "
                f"{relationship.get_kind_display().lower()} relationship."
            )
        elif competency not in Goal.Competency.values:
            errors["competency"] = "Choose one of the listed competencies, or none."
    today = timezone.localdate()
    if target_on is None:
        errors["target_on"] = "Give a target date: a goal with a date is one you can check."
    elif target_on > today + datetime.timedelta(days=366 * GOAL_TARGET_MAX_YEARS):
        errors["target_on"] = (
            f"The target date is more than {GOAL_TARGET_MAX_YEARS} years away; choose a nearer "
            "step on the way."
        )
    elif target_on < today and (is_new or target_on != previous_target):
        errors["target_on"] = "The target date is in the past; choose today or a later day."
    _errors(errors)
    return {
        "title": title,
        "description": description,
        "domain": domain,
        "competency": competency,
        "target_on": target_on,
    }


@transaction.atomic
def goal_create(
    *,
    by,
    relationship: Relationship,
    title: str,
    domain: str,
    target_on: datetime.date | None,
    description: str = "",
    competency: str = "",
) -> Goal:
    """A new goal of the relationship, by either of its two people (set together)."""
    _start_write(by, relationship)
    fields = _clean_goal(
        relationship,
        title=title,
        description=description,
        domain=domain,
        competency=competency,
        target_on=target_on,
        is_new=True,
    )
    goal = Goal(relationship=relationship, created_by=by, **fields)
    goal.full_clean(exclude=["relationship"])
    goal.save()
    return goal


def _locked_goal(goal: Goal) -> Goal:
    locked = Goal.objects.select_for_update().get(pk=goal.pk)
    locked.relationship = goal.relationship
    return locked


@transaction.atomic
def goal_edit(
    *,
    by,
    goal: Goal,
    title: str,
    domain: str,
    target_on: datetime.date | None,
    description: str = "",
    competency: str = "",
) -> Goal:
    """Change a goal's title, description, domain, competency and target date. A target date
    already in the past may stay; a new one may not be."""
    _start_write(by, goal.relationship)
    goal = _locked_goal(goal)
    fields = _clean_goal(
        goal.relationship,
        title=title,
        description=description,
        domain=domain,
        competency=competency,
        target_on=target_on,
        previous_target=goal.target_on,
        is_new=False,
    )
    for name, value in fields.items():
        setattr(goal, name, value)
    goal.full_clean(exclude=["relationship"])
    goal.save(update_fields=[*fields, "updated_at"])
    return goal


def _check_status(status: str, field: str = "status") -> None:
    if status not in Goal.Status.values:
        _errors({field: "Choose one of the listed statuses."})


@transaction.atomic
def goal_status_set(*, by, goal: Goal, status: str) -> Goal:
    """Move a goal to `status` (not started, in progress, achieved, set aside)."""
    _start_write(by, goal.relationship)
    _check_status(status)
    goal = _locked_goal(goal)
    if goal.status != status:
        goal.status = status
        goal.save(update_fields=["status", "updated_at"])
    return goal


@transaction.atomic
def goal_progress_add(*, by, goal: Goal, note: str, status: str = "") -> GoalProgress:
    """A dated progress note on a goal, by either person; with `status`, the goal moves to it
    in the same step (the entry records the status set with it)."""
    _start_write(by, goal.relationship)
    note = note.strip()
    errors: dict[str, str] = {}
    if not note:
        errors["note"] = "Write what has happened since the last entry."
    elif message := _too_long("The note", note, PROGRESS_NOTE_MAX_CHARS):
        errors["note"] = message
    if status and status not in Goal.Status.values:
        errors["status"] = "Choose one of the listed statuses."
    _errors(errors)
    goal = _locked_goal(goal)
    entry = GoalProgress(goal=goal, author=by, note=note, status=status)
    entry.full_clean(exclude=["goal"])
    entry.save()
    if status and goal.status != status:
        goal.status = status
        goal.save(update_fields=["status", "updated_at"])
    return entry


# --- What administrators see: counts, never text ------------------------------------------


def _done() -> Exists:
    return Exists(
        MentoringAgreement.objects.filter(
            relationship=OuterRef("pk"),
            learner_agreed_at__isnull=False,
            guide_agreed_at__isnull=False,
        )
    )


def _goal_count(**filters) -> Coalesce:
    goals = (
        Goal.objects.filter(relationship=OuterRef("pk"), **filters)
        .order_by()
        .values("relationship")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(goals, output_field=IntegerField()), 0)


def agreement_facts(relationship: Relationship) -> dict:
    """For the console: whether the agreement is done and how many goals there are (achieved),
    in one query. SECURITY: no text column is selected, let alone decrypted."""
    done, total, achieved = (
        Relationship.objects.filter(pk=relationship.pk)
        .annotate(
            agreement_is_done=_done(),
            goal_total=_goal_count(),
            goal_achieved=_goal_count(status=Goal.Status.ACHIEVED),
        )
        .values_list("agreement_is_done", "goal_total", "goal_achieved")
        .get()
    )
    return {"agreement_done": done, "goals": total, "goals_achieved": achieved}


def agreements_not_done() -> QuerySet[Relationship]:
    """Active relationships whose agreement is not done (for counts in the console)."""
    return Relationship.objects.active().filter(~_done())
