"""Writes of the core domain. Every pairing goes through `relationship_start` (or
`relationship_confirm`), every assessment role through `assessment_role_add`, so R1-R3 are
applied in one place (mentoring/rules.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Membership, Role
from mentoring import rules
from mentoring.models import (
    AssessmentRole,
    Conflict,
    Program,
    Relationship,
    RematchRequest,
    Term,
    WorkerHeartbeat,
)
from mentoring.rules import RuleViolation
from mentoring.signals import term_dates_changed

# The unique constraint behind R3's one current relationship per kind (models/relationships.py).
ONE_CURRENT_PER_KIND = "relationship_one_current_per_kind"


def _today() -> datetime.date:
    return timezone.localdate()


@transaction.atomic
def heartbeat_record(*, name: str, hostname: str) -> WorkerHeartbeat:
    """Stamp the named heartbeat with the current time and count one more beat."""
    beat, _ = WorkerHeartbeat.objects.select_for_update().get_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": hostname}
    )
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(
        beat_at=timezone.now(), hostname=hostname, count=F("count") + 1
    )
    beat.refresh_from_db()
    return beat


@transaction.atomic
def term_save(*, form) -> tuple[Term, int]:
    """Save a valid TermForm: a new term, or a changed one. When a term's dates change, what
    was scheduled from them follows (signals.term_dates_changed: the survey campaigns not yet
    open). Returns the term and how many scheduled things moved with it."""
    old = (
        Term.objects.select_for_update()
        .filter(pk=form.instance.pk)
        .values_list("starts_on", "ends_on")
        .first()
        if form.instance.pk
        else None
    )
    term = form.save()
    if old is None or old == (term.starts_on, term.ends_on):
        return term, 0
    replies = term_dates_changed.send(
        sender=Term, term=term, old_starts_on=old[0], old_ends_on=old[1]
    )
    return term, sum(moved for _, moved in replies)


def _apply_pairing_rules(
    *,
    program: Program,
    guide,
    learner,
    starts_on: datetime.date,
    ends_on: datetime.date | None,
    exclude: Relationship | None = None,
) -> list[AssessmentRole]:
    """R1-R3 for a relationship about to become current; returns flagged R2 collisions.

    Locks the guide's and the learner's memberships first, so that two pairings racing for
    the guide's last place, or for the learner, run one after the other.
    """
    rules.check_dates(starts_on, ends_on)
    rules.check_not_self(guide, learner)
    # Lock in a fixed order (by user id) so two opposite pairings cannot deadlock.
    first, second = sorted([(guide.pk, "guide"), (learner.pk, "learner")])
    memberships = {}
    for _, which in (first, second):
        if which == "guide":
            memberships[which] = rules.guide_membership(program, guide, lock=True)
        else:
            memberships[which] = rules.learner_membership(program, learner, lock=True)
    flagged = rules.check_role_separation(
        program=program, guide=guide, learner=learner, starts_on=starts_on, ends_on=ends_on
    )
    rules.check_one_per_kind(program=program, learner=learner, exclude=exclude)
    rules.check_capacity(program=program, membership=memberships["guide"], exclude=exclude)
    return flagged


def _raise_flags(relationship: Relationship, flagged: list[AssessmentRole]) -> None:
    for role in flagged:
        Conflict.objects.get_or_create(
            relationship=relationship,
            assessment_role=role,
            defaults={"program": relationship.program, "kind": Conflict.Kind.FLAGGED_OVERLAP},
        )


@transaction.atomic
def relationship_start(
    *,
    program: Program,
    guide,
    learner,
    started_on: datetime.date | None = None,
    ends_on: datetime.date | None = None,
    origin: str = Relationship.Origin.ASSIGNED,
    term=None,
    created_by=None,
) -> Relationship:
    """Pair `guide` with `learner` in `program`, active from `started_on` (default today).

    Raises RuleViolation naming the rule (R1, R2, R3) and the conflicting record.
    """
    started_on = started_on or _today()
    flagged = _apply_pairing_rules(
        program=program, guide=guide, learner=learner, starts_on=started_on, ends_on=ends_on
    )
    relationship = Relationship(
        program=program,
        term=term,
        guide=guide,
        learner=learner,
        kind=program.kind,
        status=Relationship.Status.ACTIVE,
        origin=origin,
        started_on=started_on,
        ends_on=ends_on,
        created_by=created_by,
    )
    relationship.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            relationship.save()
    except IntegrityError as exc:
        # The constraint caught what the checks above would have, in a race; any other
        # constraint is a bug and must not be reported as R3.
        if ONE_CURRENT_PER_KIND not in str(exc):
            raise
        raise RuleViolation(
            "R3", f"{learner} already has a current relationship of this kind in {program}."
        ) from exc
    _raise_flags(relationship, flagged)
    return relationship


@transaction.atomic
def relationship_propose_informal(
    *, program: Program, guide, learner, started_on: datetime.date | None = None
) -> Relationship:
    """A learner records a self-initiated (informal) relationship; the guide confirms it.

    The rules are checked now, so a learner learns at once if the pairing cannot be, and again
    when the guide confirms.
    """
    started_on = started_on or _today()
    _apply_pairing_rules(
        program=program, guide=guide, learner=learner, starts_on=started_on, ends_on=None
    )
    if Relationship.objects.filter(
        program=program, guide=guide, learner=learner, status=Relationship.Status.PROPOSED
    ).exists():
        raise RuleViolation("STATE", f"{guide} has not answered your earlier request yet.")
    relationship = Relationship(
        program=program,
        guide=guide,
        learner=learner,
        kind=program.kind,
        status=Relationship.Status.PROPOSED,
        origin=Relationship.Origin.SELF_INITIATED,
        started_on=started_on,
        created_by=learner,
    )
    relationship.full_clean(validate_constraints=False)
    relationship.save()
    return relationship


@transaction.atomic
def relationship_confirm(*, relationship: Relationship) -> Relationship:
    """The guide confirms a proposed relationship: it becomes active if R1-R3 still allow."""
    relationship = Relationship.objects.select_for_update().get(pk=relationship.pk)
    if relationship.status != Relationship.Status.PROPOSED:
        raise RuleViolation("STATE", "only a proposed relationship can be confirmed.")
    started_on = max(relationship.started_on, _today())
    flagged = _apply_pairing_rules(
        program=relationship.program,
        guide=relationship.guide,
        learner=relationship.learner,
        starts_on=started_on,
        ends_on=relationship.ends_on,
        exclude=relationship,
    )
    relationship.status = Relationship.Status.ACTIVE
    relationship.started_on = started_on
    try:
        with transaction.atomic():
            relationship.save(update_fields=["status", "started_on", "updated_at"])
    except IntegrityError as exc:
        if ONE_CURRENT_PER_KIND not in str(exc):
            raise
        raise RuleViolation(
            "R3", f"{relationship.learner} already has a current relationship of this kind."
        ) from exc
    _raise_flags(relationship, flagged)
    return relationship


def _relationship_move(relationship: Relationship, *, source: str, target: str, refusal: str):
    relationship = Relationship.objects.select_for_update().get(pk=relationship.pk)
    if relationship.status != source:
        raise RuleViolation("STATE", refusal)
    relationship.status = target
    relationship.save(update_fields=["status", "updated_at"])
    return relationship


@transaction.atomic
def relationship_pause(*, relationship: Relationship) -> Relationship:
    """Pause an active relationship (it keeps its place in the guide's capacity)."""
    return _relationship_move(
        relationship,
        source=Relationship.Status.ACTIVE,
        target=Relationship.Status.PAUSED,
        refusal="only an active relationship can be paused.",
    )


@transaction.atomic
def relationship_resume(*, relationship: Relationship) -> Relationship:
    """Resume a paused relationship (its place was kept, so capacity needs no new check)."""
    return _relationship_move(
        relationship,
        source=Relationship.Status.PAUSED,
        target=Relationship.Status.ACTIVE,
        refusal="only a paused relationship can be resumed.",
    )


@transaction.atomic
def relationship_end(
    *, relationship: Relationship, reason: str, ends_on: datetime.date | None = None
) -> Relationship:
    """End a proposed, active or paused relationship with a reason (history is kept)."""
    # no_key: a conflict being raised about this relationship at the same moment (it refers
    # to the row) must not wait for us while a transfer waits for it (a deadlock).
    relationship = Relationship.objects.select_for_update(no_key=True).get(pk=relationship.pk)
    if relationship.status == Relationship.Status.ENDED:
        raise RuleViolation("STATE", "this relationship has already ended.")
    if reason not in Relationship.EndReason.values:
        raise RuleViolation("STATE", f"{reason!r} is not a reason to end a relationship.")
    ends_on = ends_on or _today()
    if ends_on < relationship.started_on:
        ends_on = relationship.started_on
    relationship.status = Relationship.Status.ENDED
    relationship.ends_on = ends_on
    relationship.end_reason = reason
    relationship.save(update_fields=["status", "ends_on", "end_reason", "updated_at"])
    # An open rematch request is answered by the ending.
    RematchRequest.objects.open().filter(relationship=relationship).update(
        status=RematchRequest.Status.REMATCHED, resolved_at=timezone.now()
    )
    return relationship


# --- Assessment roles and the conflict queue (R2, reverse direction) ----------------------


@dataclass(frozen=True)
class AssessmentOutcome:
    role: AssessmentRole
    conflicts: list[Conflict]

    @property
    def queued(self) -> bool:
        return self.role.status == AssessmentRole.Status.PENDING


@transaction.atomic
def assessment_role_add(
    *,
    assessor,
    learner,
    kind: str,
    context: str,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
    created_by=None,
) -> AssessmentOutcome:
    """Record that `assessor` assesses `learner`; R2 in the reverse direction.

    If it collides with a current mentoring or coaching relationship (or a blocking advising
    one), the role is refused, or, where every such program queues, kept as pending with a
    conflict for the administrator. A collision with a flagging advising relationship is
    accepted and flagged. The decision is rules.role_separation's.
    """
    rules.check_dates(starts_on, ends_on)
    if assessor.pk == learner.pk:
        raise RuleViolation("R1", f"{assessor} cannot assess themselves.")
    # Lock the learner's memberships, as every pairing of this learner does first, so that a
    # role and a relationship added at the same moment run one after the other and the second
    # sees the first (R2 holds whichever comes second; tests/mentoring/test_rules.py races it).
    list(
        Membership.objects.select_for_update()
        .filter(user=learner, role=Role.LEARNER)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    role = AssessmentRole(
        assessor=assessor,
        learner=learner,
        kind=kind,
        context=context,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=created_by,
    )
    verdicts = rules.check_assessment_role(role)  # raises R2's refusal
    queued = any(verdict.queued for verdict in verdicts)
    role.status = AssessmentRole.Status.PENDING if queued else AssessmentRole.Status.ACTIVE
    role.full_clean(validate_constraints=False)
    role.save()
    conflicts = [
        Conflict.objects.create(
            program=verdict.relationship.program,
            relationship=verdict.relationship,
            assessment_role=role,
            kind=Conflict.Kind.PENDING_ASSESSMENT
            if verdict.queued
            else Conflict.Kind.FLAGGED_OVERLAP,
        )
        for verdict in verdicts
    ]
    return AssessmentOutcome(role=role, conflicts=conflicts)


def _release_if_clear(role: AssessmentRole) -> None:
    """A pending role comes into force once no pending conflict holds it."""
    if (
        role.status == AssessmentRole.Status.PENDING
        and not role.conflicts.open().filter(kind=Conflict.Kind.PENDING_ASSESSMENT).exists()
    ):
        role.status = AssessmentRole.Status.ACTIVE
        role.save(update_fields=["status"])


def _close(conflict: Conflict, resolution: str, by) -> None:
    conflict.status = Conflict.Status.RESOLVED
    conflict.resolution = resolution
    conflict.resolved_at = timezone.now()
    conflict.resolved_by = by
    conflict.save(update_fields=["status", "resolution", "resolved_at", "resolved_by"])


class ConflictAction:
    END_RELATIONSHIP = "end_relationship"
    TRANSFER = "transfer"
    REJECT_ASSESSMENT = "reject_assessment"
    ACKNOWLEDGE = "acknowledge"


@transaction.atomic
def conflict_resolve(*, conflict: Conflict, action: str, by, new_guide=None) -> Relationship | None:
    """Resolve an open conflict. Returns the new relationship when transferring.

    end_relationship: end the relationship (reason: conflict); the assessment role comes
    into force. transfer: the same, and pair the learner with `new_guide` (rules applied).
    reject_assessment: the assessment role is rejected; the relationship continues.
    acknowledge: only for flagged advising overlaps, which the program allows.
    """
    # Lock the conflict and its role (two conflicts of one role resolved at once must see each
    # other before releasing it), not the program or relationship the join also reads.
    conflict = (
        Conflict.objects.select_for_update(of=("self", "assessment_role"))
        .select_related("relationship__program", "assessment_role")
        .get(pk=conflict.pk)
    )
    if conflict.status != Conflict.Status.OPEN:
        raise RuleViolation("STATE", "this conflict has already been resolved.")
    role = conflict.assessment_role
    relationship = conflict.relationship
    new_relationship = None
    if action in (ConflictAction.END_RELATIONSHIP, ConflictAction.TRANSFER):
        if relationship.is_current or relationship.status == Relationship.Status.PROPOSED:
            relationship_end(relationship=relationship, reason=Relationship.EndReason.CONFLICT)
        if action == ConflictAction.TRANSFER:
            if new_guide is None:
                raise RuleViolation("STATE", "choose the guide to transfer the learner to.")
            new_relationship = relationship_start(
                program=relationship.program,
                guide=new_guide,
                learner=relationship.learner,
                term=relationship.term,
                created_by=by,
            )
        _close(
            conflict,
            Conflict.Resolution.TRANSFERRED
            if action == ConflictAction.TRANSFER
            else Conflict.Resolution.ENDED_RELATIONSHIP,
            by,
        )
        _release_if_clear(role)
    elif action == ConflictAction.REJECT_ASSESSMENT:
        role.status = AssessmentRole.Status.REJECTED
        role.save(update_fields=["status"])
        for other in role.conflicts.open().select_for_update():
            _close(other, Conflict.Resolution.REJECTED_ASSESSMENT, by)
    elif action == ConflictAction.ACKNOWLEDGE:
        if conflict.kind != Conflict.Kind.FLAGGED_OVERLAP:
            raise RuleViolation(
                "R2",
                "a mentor or coach who assesses their mentee cannot be acknowledged; "
                "end or transfer the relationship, or reject the assessment role.",
            )
        _close(conflict, Conflict.Resolution.ACKNOWLEDGED, by)
    else:
        raise RuleViolation("STATE", f"{action!r} is not a way to resolve a conflict.")
    return new_relationship


# --- Rematch requests -----------------------------------------------------------------------


@transaction.atomic
def rematch_request_create(*, relationship: Relationship, reason: str = "") -> RematchRequest:
    """The learner asks to end the relationship without fault and be paired again."""
    if not relationship.is_current:
        raise RuleViolation("STATE", "a rematch can be asked for a current relationship only.")
    if RematchRequest.objects.open().filter(relationship=relationship).exists():
        raise RuleViolation(
            "STATE", "you have already asked for a rematch; it is with the program administrator."
        )
    request = RematchRequest(relationship=relationship, reason=reason.strip())
    request.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError as exc:
        raise RuleViolation("STATE", "you have already asked for a rematch.") from exc
    return request


@transaction.atomic
def rematch_request_withdraw(*, request: RematchRequest) -> RematchRequest:
    request = RematchRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RematchRequest.Status.OPEN:
        raise RuleViolation("STATE", "this request has already been answered.")
    request.status = RematchRequest.Status.WITHDRAWN
    request.resolved_at = timezone.now()
    request.save(update_fields=["status", "resolved_at"])
    return request


@transaction.atomic
def rematch_request_grant(*, request: RematchRequest, by, new_guide=None) -> RematchRequest:
    """End the relationship with a no-fault rematch; the learner can then be paired again.

    With `new_guide`, the learner is paired with them at once (from today, in the program's
    current term), through relationship_start so R1-R3 apply; if the rules refuse, nothing is
    done (the relationship does not end either) and the RuleViolation says why."""
    request = RematchRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != RematchRequest.Status.OPEN:
        raise RuleViolation("STATE", "this request has already been answered.")
    relationship = request.relationship
    if new_guide is not None and new_guide.pk == relationship.guide_id:
        raise RuleViolation(
            "STATE", f"{relationship.learner} asked to leave {new_guide}; choose another guide."
        )
    relationship_end(relationship=relationship, reason=Relationship.EndReason.NO_FAULT_REMATCH)
    request.refresh_from_db()
    request.status = RematchRequest.Status.REMATCHED
    request.resolved_at = request.resolved_at or timezone.now()
    request.resolved_by = by
    request.save(update_fields=["status", "resolved_at", "resolved_by"])
    if new_guide is not None:
        program = relationship.program
        relationship_start(
            program=program,
            guide=new_guide,
            learner=relationship.learner,
            term=program.matching_term() or relationship.term,
            origin=Relationship.Origin.ASSIGNED,
            created_by=by,
        )
    return request
