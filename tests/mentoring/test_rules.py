"""R1-R3 and the program-role rule, as the services and the database enforce them.

Dates are inclusive: an assessment role and a relationship collide when they share a day.
Most tests use dates around a fixed day `D` well away from today, so that nothing depends on
when the suite runs.
"""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import DEFAULT_GUIDE_CAPACITY, membership_end, membership_grant
from mentoring import rules, services
from mentoring.models import AssessmentRole, Conflict, Program, Relationship, RematchRequest
from mentoring.rules import RuleViolation
from mentoring.services import (
    ConflictAction,
    assessment_role_add,
    conflict_resolve,
    relationship_confirm,
    relationship_end,
    relationship_pause,
    relationship_propose_informal,
    relationship_start,
    rematch_request_create,
    rematch_request_grant,
    rematch_request_withdraw,
)
from tests.factories import ProgramFactory, UserFactory

D = datetime.date(2031, 3, 3)


def day(offset: int | None) -> datetime.date | None:
    """The day `offset` days from D; None stays None (open-ended)."""
    return None if offset is None else D + datetime.timedelta(days=offset)


def refused(rule: str, service, **kwargs) -> RuleViolation:
    """Call `service`; assert that it refuses by `rule`, and return the refusal."""
    with pytest.raises(RuleViolation) as caught:
        service(**kwargs)
    assert caught.value.rule == rule, str(caught.value)
    return caught.value


def person(full_name: str, program=None, role=None, capacity=None):
    user = UserFactory(full_name=full_name)
    if program is not None:
        membership_grant(user=user, role=role, program=program, capacity=capacity)
    return user


def assessment(assessor, learner, starts_on, ends_on=None, **fields) -> AssessmentRole:
    """An assessment role recorded directly, as a fact already in the registry."""
    fields.setdefault("kind", AssessmentRole.Kind.ASSESSOR)
    fields.setdefault("context", "Surgery clerkship")
    return AssessmentRole.objects.create(
        assessor=assessor, learner=learner, starts_on=starts_on, ends_on=ends_on, **fields
    )


def pair(program, guide, learner, started_on=D, ends_on=None) -> Relationship:
    return relationship_start(
        program=program, guide=guide, learner=learner, started_on=started_on, ends_on=ends_on
    )


def add_role(assessor, learner, starts_on, ends_on=None, context="Medicine clerkship"):
    return assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind=AssessmentRole.Kind.ASSESSOR,
        context=context,
        starts_on=starts_on,
        ends_on=ends_on,
    )


def set_policy(program, **fields) -> None:
    for name, value in fields.items():
        setattr(program, name, value)
    program.save(update_fields=list(fields))


# --- R1 No self-relationship --------------------------------------------------------------------


def test_guide_cannot_be_their_own_learner(program, mentor):
    # Kenji holds both roles, so only R1 stands between him and himself.
    membership_grant(user=mentor, role=Role.LEARNER, program=program)

    refusal = refused("R1", pair, program=program, guide=mentor, learner=mentor)

    assert "Kenji Ito" in str(refusal)
    refused(
        "R1",
        relationship_propose_informal,
        program=program,
        guide=mentor,
        learner=mentor,
        started_on=D,
    )
    assert not Relationship.objects.exists()


def test_database_refuses_a_self_relationship_when_the_service_is_bypassed(program, mentor):
    with pytest.raises(IntegrityError, match="relationship_not_self"), transaction.atomic():
        Relationship.objects.create(
            program=program, guide=mentor, learner=mentor, kind=program.kind, started_on=D
        )


def test_nobody_can_be_their_own_assessor(learner):
    refused("R1", add_role, assessor=learner, learner=learner, starts_on=D)

    with pytest.raises(IntegrityError, match="assessment_not_self"), transaction.atomic():
        assessment(learner, learner, D)


# --- R2 Role separation: a new relationship -------------------------------------------------

# (assessment starts, assessment ends, relationship starts, relationship ends, they collide),
# as offsets from D; None is open-ended.
OVERLAPS = [
    pytest.param(-30, -1, 0, None, False, id="assessment-ends-the-day-before-the-start"),
    pytest.param(-30, 0, 0, None, True, id="assessment-ends-on-the-start-day"),
    pytest.param(31, None, 0, 30, False, id="assessment-starts-the-day-after-the-planned-end"),
    pytest.param(30, None, 0, 30, True, id="assessment-starts-on-the-planned-end-day"),
    pytest.param(30, 30, 0, 30, True, id="one-day-assessment-on-the-planned-end-day"),
    pytest.param(-365, None, 0, 30, True, id="open-ended-assessment-from-long-before"),
    pytest.param(-365, -300, 0, None, False, id="open-ended-relationship-after-the-assessment"),
    pytest.param(400, 401, 0, None, True, id="open-ended-relationship-meets-a-later-assessment"),
    pytest.param(-5, None, 0, None, True, id="both-open-ended"),
    pytest.param(5, 10, 0, 30, True, id="assessment-inside-the-relationship"),
    pytest.param(-10, 40, 0, 30, True, id="relationship-inside-the-assessment"),
]


@pytest.mark.parametrize("kind", AssessmentRole.Kind.values)
def test_guide_who_assesses_the_learner_cannot_be_paired_with_them(program, mentor, learner, kind):
    assessment(mentor, learner, day(-10), day(10), kind=kind)

    refused("R2", pair, program=program, guide=mentor, learner=learner)

    assert not Relationship.objects.exists()


@pytest.mark.parametrize(("role_from", "role_to", "rel_from", "rel_to", "collides"), OVERLAPS)
def test_pairing_is_refused_exactly_when_an_assessment_role_shares_a_day(
    program, mentor, learner, role_from, role_to, rel_from, rel_to, collides
):
    assessment(mentor, learner, day(role_from), day(role_to))

    if collides:
        refused(
            "R2",
            pair,
            program=program,
            guide=mentor,
            learner=learner,
            started_on=day(rel_from),
            ends_on=day(rel_to),
        )
        assert not Relationship.objects.exists()
    else:
        relationship = pair(program, mentor, learner, day(rel_from), day(rel_to))
        assert relationship.status == Relationship.Status.ACTIVE


def test_refusal_names_the_rule_and_the_assessment_record(program, mentor, learner):
    role = assessment(
        mentor,
        learner,
        day(-10),
        day(20),
        kind=AssessmentRole.Kind.SUPERVISOR,
        context="Surgery clerkship, Block 3",
    )

    refusal = refused("R2", pair, program=program, guide=mentor, learner=learner)

    text = str(refusal)
    assert text.startswith("R2 ")
    for part in (
        "Kenji Ito",
        "Lucia Garcia",
        "educational supervisor",
        "Surgery clerkship, Block 3",
        day(-10).isoformat(),
        day(20).isoformat(),
    ):
        assert part in text
    assert refusal.record == role


def test_rejected_assessment_role_does_not_block_pairing(program, mentor, learner):
    assessment(mentor, learner, day(-10), None, status=AssessmentRole.Status.REJECTED)

    assert pair(program, mentor, learner).status == Relationship.Status.ACTIVE


def test_pending_assessment_role_blocks_pairing(program, mentor, learner):
    assessment(mentor, learner, day(-10), None, status=AssessmentRole.Status.PENDING)

    refused("R2", pair, program=program, guide=mentor, learner=learner)


def test_only_the_guides_own_assessment_roles_block(program, mentor, learner, assessor):
    someone_else = person("Ada Obi", program, Role.LEARNER)
    assessment(assessor, learner, day(-10), None)
    assessment(mentor, someone_else, day(-10), None)

    assert pair(program, mentor, learner).status == Relationship.Status.ACTIVE


@pytest.mark.parametrize(
    ("kind", "guide_role"),
    [("mentoring", Role.MENTOR), ("coaching", Role.COACH), ("advising", Role.ADVISOR)],
)
def test_blocking_programs_refuse_a_guide_who_assesses_the_learner(db, kind, guide_role):
    program = ProgramFactory(name=f"A {kind} program", kind=kind)  # advising blocks by default
    guide = person("Grace Guide", program, guide_role)
    learner = person("Leo Learner", program, Role.LEARNER)
    assessment(guide, learner, day(-10), None)

    refused("R2", pair, program=program, guide=guide, learner=learner)

    assert not Conflict.objects.exists()


def test_flagging_advising_program_pairs_and_raises_a_flagged_conflict(db):
    program = ProgramFactory(
        name="Residency application advising", kind="advising", advising_overlap="flag"
    )
    advisor = person("Ana Advisor", program, Role.ADVISOR)
    learner = person("Leo Learner", program, Role.LEARNER)
    role = assessment(advisor, learner, day(-10), None)

    relationship = pair(program, advisor, learner)

    assert relationship.status == Relationship.Status.ACTIVE
    conflict = Conflict.objects.get()
    assert conflict.kind == Conflict.Kind.FLAGGED_OVERLAP
    assert conflict.status == Conflict.Status.OPEN
    assert (conflict.relationship, conflict.assessment_role, conflict.program) == (
        relationship,
        role,
        program,
    )
    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.ACTIVE


def test_flagging_advising_program_raises_no_conflict_without_an_overlap(db):
    program = ProgramFactory(
        name="Residency application advising", kind="advising", advising_overlap="flag"
    )
    advisor = person("Ana Advisor", program, Role.ADVISOR)
    learner = person("Leo Learner", program, Role.LEARNER)
    assessment(advisor, learner, day(-10), day(-1))

    pair(program, advisor, learner)

    assert not Conflict.objects.exists()


@pytest.mark.parametrize("kind", ["mentoring", "coaching"])
def test_only_advising_programs_may_flag_overlaps(db, kind):
    with (
        pytest.raises(IntegrityError, match="program_only_advising_may_flag"),
        transaction.atomic(),
    ):
        Program.objects.create(name="Not advising", kind=kind, advising_overlap="flag")

    assert Program.objects.create(name="Advising", kind="advising", advising_overlap="flag").pk


def test_confirming_a_proposal_is_refused_once_the_guide_assesses_the_learner(
    program, mentor, learner
):
    proposal = relationship_propose_informal(
        program=program, guide=mentor, learner=learner, started_on=D
    )
    # A proposal does not hold the pair yet, so the role is accepted; the guide's
    # confirmation is then what R2 refuses.
    assert not add_role(mentor, learner, day(-5)).queued

    refused("R2", relationship_confirm, relationship=proposal)

    proposal.refresh_from_db()
    assert proposal.status == Relationship.Status.PROPOSED


# --- R2 Role separation: a new assessment role ----------------------------------------------


@pytest.mark.parametrize("status", ["active", "paused"])
def test_colliding_assessment_role_is_refused_when_the_program_refuses(
    program, mentor, learner, status
):
    set_policy(program, assessment_conflict=Program.AssessmentConflict.REFUSE)
    relationship = pair(program, mentor, learner)
    if status == "paused":
        relationship_pause(relationship=relationship)

    refusal = refused(
        "R2", add_role, assessor=mentor, learner=learner, starts_on=day(5), ends_on=day(40)
    )

    text = str(refusal)
    assert text.startswith("R2 ")
    for part in ("Kenji Ito", "Lucia Garcia", program.name, D.isoformat(), "Medicine clerkship"):
        assert part in text
    assert refusal.record == relationship
    assert not AssessmentRole.objects.exists()


@pytest.mark.parametrize("status", ["active", "paused"])
def test_colliding_assessment_role_is_queued_when_the_program_queues(
    program, mentor, learner, status
):
    assert program.assessment_conflict == Program.AssessmentConflict.QUEUE  # the default
    relationship = pair(program, mentor, learner)
    if status == "paused":
        relationship_pause(relationship=relationship)

    outcome = add_role(mentor, learner, day(5), day(40))

    assert outcome.queued
    outcome.role.refresh_from_db()
    assert outcome.role.status == AssessmentRole.Status.PENDING
    conflict = Conflict.objects.get()
    assert outcome.conflicts == [conflict]
    assert conflict.kind == Conflict.Kind.PENDING_ASSESSMENT
    assert conflict.status == Conflict.Status.OPEN
    assert (conflict.relationship, conflict.program) == (relationship, program)


def test_ended_relationship_does_not_collide_with_a_new_assessment_role(program, mentor, learner):
    set_policy(program, assessment_conflict=Program.AssessmentConflict.REFUSE)
    relationship = pair(program, mentor, learner, day(-60))
    relationship_end(relationship=relationship, reason="completed", ends_on=day(-1))

    outcome = add_role(mentor, learner, day(-30), None)

    assert outcome.role.status == AssessmentRole.Status.ACTIVE
    assert not Conflict.objects.exists()


@pytest.mark.parametrize(("role_from", "role_to", "rel_from", "rel_to", "collides"), OVERLAPS)
def test_assessment_role_collides_exactly_when_it_shares_a_day_with_the_relationship(
    program, mentor, learner, role_from, role_to, rel_from, rel_to, collides
):
    relationship = pair(program, mentor, learner, day(rel_from), day(rel_to))

    outcome = add_role(mentor, learner, day(role_from), day(role_to))

    assert outcome.queued is collides
    expected = [relationship] if collides else []
    assert [c.relationship for c in Conflict.objects.all()] == expected


def test_assessment_role_over_a_flagging_advisee_is_accepted_and_flagged(db):
    program = ProgramFactory(
        name="Residency application advising",
        kind="advising",
        advising_overlap="flag",
        assessment_conflict="refuse",
    )
    advisor = person("Ana Advisor", program, Role.ADVISOR)
    learner = person("Leo Learner", program, Role.LEARNER)
    relationship = pair(program, advisor, learner)

    outcome = add_role(advisor, learner, day(3))

    assert outcome.role.status == AssessmentRole.Status.ACTIVE
    conflict = Conflict.objects.get()
    assert (conflict.kind, conflict.relationship) == (Conflict.Kind.FLAGGED_OVERLAP, relationship)


# --- R2: resolving the conflict queue -------------------------------------------------------


@pytest.fixture
def queued(program, mentor, learner):
    """Kenji mentors Lucia; a new role making him her assessor waits in the conflict queue."""
    relationship = pair(program, mentor, learner)
    outcome = add_role(mentor, learner, day(10), day(60))
    assert outcome.queued
    return relationship, outcome.role, outcome.conflicts[0]


@pytest.fixture
def queued_twice(program, mentor, learner):
    """Kenji mentors Lucia and also coaches her in a coaching program; a new role making him
    her assessor collides with both: one pending role, two conflicts."""
    coaching = ProgramFactory(name="Longitudinal coaching", kind="coaching")
    membership_grant(user=mentor, role=Role.COACH, program=coaching)
    membership_grant(user=learner, role=Role.LEARNER, program=coaching)
    relationships = (pair(program, mentor, learner), pair(coaching, mentor, learner))
    outcome = add_role(mentor, learner, day(10), day(60))
    assert outcome.queued
    assert {c.relationship for c in outcome.conflicts} == set(relationships)
    return relationships, outcome.role, outcome.conflicts


def test_ending_the_relationship_resolves_the_conflict_and_puts_the_role_in_force(
    queued, program_admin
):
    relationship, role, conflict = queued

    assert conflict_resolve(conflict=conflict, action="end_relationship", by=program_admin) is None

    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ENDED
    assert relationship.end_reason == Relationship.EndReason.CONFLICT
    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.ACTIVE
    conflict.refresh_from_db()
    assert conflict.status == Conflict.Status.RESOLVED
    assert conflict.resolution == Conflict.Resolution.ENDED_RELATIONSHIP
    assert conflict.resolved_by == program_admin


def test_transfer_pairs_the_learner_with_the_new_guide_and_puts_the_role_in_force(
    queued, other_mentor, learner, program_admin
):
    relationship, role, conflict = queued

    new = conflict_resolve(
        conflict=conflict, action="transfer", by=program_admin, new_guide=other_mentor
    )

    assert (new.guide, new.learner, new.status) == (
        other_mentor,
        learner,
        Relationship.Status.ACTIVE,
    )
    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ENDED
    assert relationship.end_reason == Relationship.EndReason.CONFLICT
    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.ACTIVE
    conflict.refresh_from_db()
    assert conflict.resolution == Conflict.Resolution.TRANSFERRED


@pytest.mark.parametrize(("obstacle", "rule"), [("assesses", "R2"), ("full", "R3")])
def test_transfer_applies_the_rules_to_the_new_pairing(
    queued, program, other_mentor, learner, program_admin, obstacle, rule
):
    relationship, role, conflict = queued
    if obstacle == "assesses":
        assessment(other_mentor, learner, day(-100), None)
    else:
        membership_grant(user=other_mentor, role=Role.MENTOR, program=program, capacity=0)

    refused(
        rule,
        conflict_resolve,
        conflict=conflict,
        action="transfer",
        by=program_admin,
        new_guide=other_mentor,
    )

    # Nothing happened: the relationship, the queued role and the conflict are as they were.
    relationship.refresh_from_db()
    role.refresh_from_db()
    conflict.refresh_from_db()
    assert relationship.status == Relationship.Status.ACTIVE
    assert role.status == AssessmentRole.Status.PENDING
    assert conflict.status == Conflict.Status.OPEN
    assert not Relationship.objects.filter(guide=other_mentor).exists()


def test_transfer_needs_a_new_guide(queued, program_admin):
    relationship, _, conflict = queued

    refused("STATE", conflict_resolve, conflict=conflict, action="transfer", by=program_admin)

    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ACTIVE


def test_rejecting_the_role_keeps_the_relationships_and_resolves_all_its_conflicts(
    queued_twice, program_admin
):
    relationships, role, conflicts = queued_twice

    conflict_resolve(conflict=conflicts[0], action="reject_assessment", by=program_admin)

    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.REJECTED
    for relationship in relationships:
        relationship.refresh_from_db()
        assert relationship.status == Relationship.Status.ACTIVE
    for conflict in conflicts:
        conflict.refresh_from_db()
        assert conflict.status == Conflict.Status.RESOLVED
        assert conflict.resolution == Conflict.Resolution.REJECTED_ASSESSMENT


def test_role_stays_pending_until_every_colliding_relationship_is_resolved(
    queued_twice, program_admin
):
    _, role, conflicts = queued_twice

    conflict_resolve(conflict=conflicts[0], action="end_relationship", by=program_admin)
    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.PENDING

    conflict_resolve(conflict=conflicts[1], action="end_relationship", by=program_admin)
    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.ACTIVE


def test_pending_assessment_conflict_cannot_be_acknowledged(queued, program_admin):
    _, role, conflict = queued

    refused("R2", conflict_resolve, conflict=conflict, action="acknowledge", by=program_admin)

    conflict.refresh_from_db()
    role.refresh_from_db()
    assert conflict.status == Conflict.Status.OPEN
    assert role.status == AssessmentRole.Status.PENDING


def test_flagged_overlap_can_be_acknowledged_and_the_pair_continues(db):
    program = ProgramFactory(
        name="Residency application advising", kind="advising", advising_overlap="flag"
    )
    advisor = person("Ana Advisor", program, Role.ADVISOR)
    learner = person("Leo Learner", program, Role.LEARNER)
    relationship = pair(program, advisor, learner)
    conflict = add_role(advisor, learner, day(3)).conflicts[0]

    conflict_resolve(conflict=conflict, action="acknowledge", by=None)

    conflict.refresh_from_db()
    relationship.refresh_from_db()
    assert conflict.resolution == Conflict.Resolution.ACKNOWLEDGED
    assert relationship.status == Relationship.Status.ACTIVE


@pytest.mark.parametrize(
    "action",
    [
        ConflictAction.END_RELATIONSHIP,
        ConflictAction.TRANSFER,
        ConflictAction.REJECT_ASSESSMENT,
        ConflictAction.ACKNOWLEDGE,
    ],
)
def test_conflict_cannot_be_resolved_twice(queued, other_mentor, program_admin, action):
    _, _, conflict = queued
    conflict_resolve(conflict=conflict, action="end_relationship", by=program_admin)

    refused(
        "STATE",
        conflict_resolve,
        conflict=conflict,
        action=action,
        by=program_admin,
        new_guide=other_mentor,
    )


def test_pending_role_blocks_pairing_the_same_two_people_again(queued, program, mentor, learner):
    relationship, role, _ = queued
    # Ending the relationship outside the queue leaves the role waiting for the administrator.
    relationship_end(relationship=relationship, reason="completed", ends_on=D)

    refused("R2", pair, program=program, guide=mentor, learner=learner, started_on=day(1))

    role.refresh_from_db()
    assert role.status == AssessmentRole.Status.PENDING


# --- R3 Capacity --------------------------------------------------------------------------


def test_guide_capacity_defaults_to_three_and_is_never_exceeded(program, mentor):
    membership = Membership.objects.get(user=mentor, program=program, role=Role.MENTOR)
    assert membership.capacity == DEFAULT_GUIDE_CAPACITY == 3
    learners = [person(f"Learner {n}", program, Role.LEARNER) for n in range(4)]
    for learner in learners[:3]:
        pair(program, mentor, learner)

    refusal = refused("R3", pair, program=program, guide=mentor, learner=learners[3])

    assert "capacity of 3" in str(refusal)
    assert Relationship.objects.current().filter(guide=mentor).count() == 3


def test_paused_relationships_count_against_capacity(program, mentor, learner):
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=1)
    relationship_pause(relationship=pair(program, mentor, learner))
    second = person("Ada Obi", program, Role.LEARNER)

    refused("R3", pair, program=program, guide=mentor, learner=second)


def test_ended_relationships_free_capacity(program, mentor, learner):
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=1)
    relationship_end(relationship=pair(program, mentor, learner), reason="completed")
    second = person("Ada Obi", program, Role.LEARNER)

    assert pair(program, mentor, second).status == Relationship.Status.ACTIVE


def test_capacity_is_counted_per_program(program, other_program, mentor, learner):
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=1)
    membership_grant(user=mentor, role=Role.MENTOR, program=other_program, capacity=1)
    membership_grant(user=learner, role=Role.LEARNER, program=other_program)
    pair(program, mentor, learner)

    assert pair(other_program, mentor, learner).status == Relationship.Status.ACTIVE


def test_confirming_a_proposal_checks_capacity(program, mentor, learner):
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=1)
    proposal = relationship_propose_informal(
        program=program, guide=mentor, learner=learner, started_on=D
    )
    pair(program, mentor, person("Ada Obi", program, Role.LEARNER))

    refused("R3", relationship_confirm, relationship=proposal)

    proposal.refresh_from_db()
    assert proposal.status == Relationship.Status.PROPOSED


def test_confirming_a_proposal_with_room_makes_it_active(program, mentor, learner):
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=1)
    proposal = relationship_propose_informal(
        program=program, guide=mentor, learner=learner, started_on=D
    )

    confirmed = relationship_confirm(relationship=proposal)

    assert confirmed.status == Relationship.Status.ACTIVE
    assert confirmed.origin == Relationship.Origin.SELF_INITIATED


@pytest.mark.parametrize("status", ["active", "paused"])
def test_learner_has_one_current_relationship_of_a_kind_per_program(
    program, mentor, other_mentor, learner, status
):
    first = pair(program, mentor, learner)
    if status == "paused":
        relationship_pause(relationship=first)

    refusal = refused("R3", pair, program=program, guide=other_mentor, learner=learner)

    assert refusal.record == first
    assert "Kenji Ito" in str(refusal)
    assert Relationship.objects.filter(learner=learner).count() == 1


def test_database_allows_one_current_relationship_per_kind_when_the_service_is_bypassed(
    program, mentor, other_mentor, learner
):
    fields = {"program": program, "learner": learner, "kind": program.kind, "started_on": D}
    Relationship.objects.create(guide=mentor, **fields)

    with (
        pytest.raises(IntegrityError, match="relationship_one_current_per_kind"),
        transaction.atomic(),
    ):
        Relationship.objects.create(guide=other_mentor, status="paused", **fields)

    # Ended and proposed relationships do not hold the learner's place.
    Relationship.objects.create(
        guide=other_mentor, status="ended", ends_on=D, end_reason="completed", **fields
    )
    Relationship.objects.create(guide=other_mentor, status="proposed", **fields)


def test_learner_may_have_one_relationship_in_each_of_two_programs(
    program, other_program, mentor, assessor, learner
):
    membership_grant(user=learner, role=Role.LEARNER, program=other_program)

    pair(program, mentor, learner)
    pair(other_program, assessor, learner)  # Priya is a mentor in the other program

    assert Relationship.objects.current().filter(learner=learner).count() == 2


def run_together(*calls):
    """Run each call in its own thread, all released at once; a result or exception each."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def slowed(monkeypatch, name: str, seconds: float = 0.3) -> None:
    """Make rules.<name> linger after it has read the database, so that racing calls are
    sure to overlap: without the locks they would both read before either writes."""
    original = getattr(rules, name)

    def slow(*args, **kwargs):
        result = original(*args, **kwargs)
        if hasattr(result, "_fetch_all"):
            result = list(result)
        time.sleep(seconds)
        return result

    monkeypatch.setattr(rules, name, slow)


def one_success_one_refusal(results, success_type, rule):
    successes = [r for r in results if isinstance(r, success_type)]
    refusals = [r for r in results if isinstance(r, RuleViolation)]
    assert len(successes) == 1, results
    assert len(refusals) == 1, results
    assert refusals[0].rule == rule, str(refusals[0])


@pytest.mark.django_db(transaction=True)
def test_two_pairings_racing_for_a_guides_last_place_only_one_wins(monkeypatch):
    program = ProgramFactory(name="Race program")
    guide = person("Gita Guide", program, Role.MENTOR, capacity=2)
    first, second, third = (person(f"Learner {n}", program, Role.LEARNER) for n in range(3))
    pair(program, guide, first)
    slowed(monkeypatch, "check_capacity")

    results = run_together(
        lambda: pair(program, guide, second),
        lambda: pair(program, guide, third),
    )

    one_success_one_refusal(results, Relationship, "R3")
    assert Relationship.objects.current().filter(guide=guide).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_pairings_of_one_learner_racing_make_one_relationship(monkeypatch):
    program = ProgramFactory(name="Race program")
    guides = [person(f"Guide {n}", program, Role.MENTOR) for n in range(2)]
    learner = person("Leo Learner", program, Role.LEARNER)
    slowed(monkeypatch, "check_one_per_kind")

    results = run_together(*(lambda g=g: pair(program, g, learner) for g in guides))

    one_success_one_refusal(results, Relationship, "R3")
    assert Relationship.objects.filter(learner=learner).count() == 1


@pytest.mark.django_db(transaction=True)
def test_assessment_role_racing_a_pairing_of_the_same_two_people_never_both_win(monkeypatch):
    program = ProgramFactory(name="Race program", assessment_conflict="refuse")
    guide = person("Gita Guide", program, Role.MENTOR)
    learner = person("Leo Learner", program, Role.LEARNER)
    slowed(monkeypatch, "check_role_separation")
    slowed(monkeypatch, "colliding_relationships")

    results = run_together(
        lambda: pair(program, guide, learner),
        lambda: add_role(guide, learner, D),
    )

    successes = [r for r in results if not isinstance(r, Exception)]
    refusals = [r for r in results if isinstance(r, RuleViolation)]
    assert len(successes) == 1, results
    assert len(refusals) == 1, results
    assert refusals[0].rule == "R2", str(refusals[0])
    both = Relationship.objects.exists() and AssessmentRole.objects.filter(status="active").exists()
    assert not both


# --- Program roles ------------------------------------------------------------------------


@pytest.mark.parametrize("held", ["coach-in-the-program", "learner-only", "mentor-elsewhere"])
def test_guide_must_hold_the_programs_guide_role(program, other_program, learner, held):
    guide = UserFactory(full_name="Gita Guide")
    if held == "coach-in-the-program":
        membership_grant(user=guide, role=Role.COACH, program=program)
    elif held == "learner-only":
        membership_grant(user=guide, role=Role.LEARNER, program=program)
    else:
        membership_grant(user=guide, role=Role.MENTOR, program=other_program)

    refusal = refused("ROLE", pair, program=program, guide=guide, learner=learner)

    assert "Gita Guide is not a mentor" in str(refusal)


@pytest.mark.parametrize("held", ["nothing", "learner-elsewhere", "mentor-in-the-program"])
def test_learner_must_hold_the_learner_role(program, other_program, mentor, held):
    learner = UserFactory(full_name="Leo Learner")
    if held == "learner-elsewhere":
        membership_grant(user=learner, role=Role.LEARNER, program=other_program)
    elif held == "mentor-in-the-program":
        membership_grant(user=learner, role=Role.MENTOR, program=program)

    refusal = refused("ROLE", pair, program=program, guide=mentor, learner=learner)

    assert "Leo Learner is not a learner" in str(refusal)


@pytest.mark.parametrize("whose", ["guide", "learner"])
def test_ended_membership_does_not_count(program, mentor, learner, whose):
    user = mentor if whose == "guide" else learner
    membership_end(membership=Membership.objects.get(user=user, program=program))

    refused("ROLE", pair, program=program, guide=mentor, learner=learner)


def test_membership_ending_in_the_future_still_counts(program, mentor, learner):
    later = timezone.now() + datetime.timedelta(days=1)
    membership_end(membership=Membership.objects.get(user=mentor, program=program), when=later)

    assert pair(program, mentor, learner).status == Relationship.Status.ACTIVE


def test_end_date_before_start_is_refused(program, mentor, learner):
    refused("DATES", pair, program=program, guide=mentor, learner=learner, ends_on=day(-1))


# --- Rematch ------------------------------------------------------------------------------


def test_learner_can_ask_for_a_rematch_once_and_withdraw_it(program, mentor, learner):
    relationship = pair(program, mentor, learner)

    request = rematch_request_create(relationship=relationship, reason="  Schedules clash.  ")

    assert (request.status, request.reason) == (RematchRequest.Status.OPEN, "Schedules clash.")
    refused("STATE", rematch_request_create, relationship=relationship)
    rematch_request_withdraw(request=request)
    request.refresh_from_db()
    assert request.status == RematchRequest.Status.WITHDRAWN
    refused("STATE", rematch_request_withdraw, request=request)
    refused("STATE", rematch_request_grant, request=request, by=None)
    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ACTIVE
    # Once withdrawn, the learner may ask again.
    assert rematch_request_create(relationship=relationship).status == RematchRequest.Status.OPEN


def test_granted_rematch_ends_without_fault_and_the_learner_can_be_paired_again(
    program, mentor, other_mentor, learner, program_admin
):
    relationship = pair(program, mentor, learner)
    request = rematch_request_create(relationship=relationship)

    rematch_request_grant(request=request, by=program_admin)

    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ENDED
    assert relationship.end_reason == Relationship.EndReason.NO_FAULT_REMATCH
    request.refresh_from_db()
    assert (request.status, request.resolved_by) == (
        RematchRequest.Status.REMATCHED,
        program_admin,
    )
    assert request.resolved_at is not None
    refused("STATE", rematch_request_grant, request=request, by=program_admin)
    assert pair(program, other_mentor, learner).status == Relationship.Status.ACTIVE


@pytest.mark.parametrize("status", ["proposed", "ended"])
def test_rematch_can_be_asked_for_a_current_relationship_only(program, mentor, learner, status):
    relationship = relationship_propose_informal(
        program=program, guide=mentor, learner=learner, started_on=D
    )
    if status == "ended":
        relationship = relationship_end(relationship=relationship, reason="declined")

    refused("STATE", rematch_request_create, relationship=relationship)


@pytest.mark.django_db(transaction=True)
def test_transfer_racing_a_new_assessment_role_for_the_same_learner_does_not_deadlock(
    monkeypatch,
):
    program = ProgramFactory(name="Race program")
    guide, new_guide = (person(f"Guide {n}", program, Role.MENTOR) for n in range(2))
    learner = person("Leo Learner", program, Role.LEARNER)
    pair(program, guide, learner)
    conflict = add_role(guide, learner, day(10)).conflicts[0]
    # The new role reads the learner's relationships first; the transfer then ends the old
    # relationship and waits for the learner; the new role's conflict refers to that same
    # relationship and program.
    slowed(monkeypatch, "colliding_relationships")
    original_end = services.relationship_end

    def slow_end(**kwargs):
        ended = original_end(**kwargs)
        time.sleep(0.15)
        return ended

    monkeypatch.setattr(services, "relationship_end", slow_end)

    results = run_together(
        lambda: conflict_resolve(
            conflict=conflict, action="transfer", by=None, new_guide=new_guide
        ),
        lambda: add_role(guide, learner, day(20)),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Relationship.objects.current().get(learner=learner).guide == new_guide


@pytest.mark.django_db(transaction=True)
def test_two_conflicts_of_one_role_resolved_at_once_put_the_role_in_force(monkeypatch):
    mentoring = ProgramFactory(name="Race mentoring")
    coaching = ProgramFactory(name="Race coaching", kind="coaching")
    guide = person("Gita Guide", mentoring, Role.MENTOR)
    membership_grant(user=guide, role=Role.COACH, program=coaching)
    learner = person("Leo Learner", mentoring, Role.LEARNER)
    membership_grant(user=learner, role=Role.LEARNER, program=coaching)
    pair(mentoring, guide, learner)
    pair(coaching, guide, learner)
    outcome = add_role(guide, learner, day(10))
    assert len(outcome.conflicts) == 2
    # Each resolution closes its conflict, checks whether the role is still held, and lingers
    # before committing: unless they run one after the other, each sees the other open.
    original_release = services._release_if_clear

    def slow_release(role):
        original_release(role)
        time.sleep(0.3)

    monkeypatch.setattr(services, "_release_if_clear", slow_release)

    results = run_together(
        *(
            lambda c=c: conflict_resolve(conflict=c, action="end_relationship", by=None)
            for c in outcome.conflicts
        )
    )

    assert results == [None, None]
    outcome.role.refresh_from_db()
    assert outcome.role.status == AssessmentRole.Status.ACTIVE


def test_the_database_constraint_is_reported_as_r3_when_the_check_is_outrun(
    program, learner, mentor, other_mentor, monkeypatch
):
    # As if a racing pairing had slipped past the service's check: the unique constraint
    # answers, and the person still gets R3 in words, not a 500.
    services.relationship_start(program=program, guide=mentor, learner=learner)
    monkeypatch.setattr(rules, "check_one_per_kind", lambda **kwargs: None)
    with pytest.raises(RuleViolation) as refusal:
        services.relationship_start(program=program, guide=other_mentor, learner=learner)
    assert refusal.value.rule == "R3"
