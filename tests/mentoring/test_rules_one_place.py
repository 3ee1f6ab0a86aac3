"""Each rule is decided in one place (mentoring/rules.py, the program-scoped QuerySets), and
every path that needs the answer gets the same one: the same R2 case is refused with the same
words by pairing, a new assessment role, the import preview and the matcher; queue and flag
are predicted by the preview as the commit decides them; R3's floor is the same for a guide
and an import; every program-scoped QuerySet takes its administrators from the program (R9).
"""

from __future__ import annotations

import datetime

import pytest

from accounts.models import Role
from accounts.services import membership_grant
from matching import preferences
from matching import services as matching_services
from matching.models import MatchRun, Proposal
from mentoring import rules
from mentoring.models import AssessmentRole, Conflict, Program, Relationship, RematchRequest
from mentoring.models.programs import ProgramScopedQuerySet
from mentoring.rules import RuleViolation
from mentoring.services import assessment_role_add, relationship_start, rematch_request_create
from roster import imports
from tests.factories import ProgramFactory, UserFactory

TODAY = datetime.date(2031, 3, 3)
ROLE = {"kind": AssessmentRole.Kind.SUPERVISOR, "context": "Anatomy lab, block 2"}


def role_csv(assessor, learner, starts_on, ends_on=None) -> bytes:
    ends = ends_on.isoformat() if ends_on else ""
    return (
        "assessor_email,learner_email,kind,context,starts_on,ends_on\r\n"
        f'{assessor.email},{learner.email},{ROLE["kind"]},"{ROLE["context"]}",'
        f"{starts_on.isoformat()},{ends}\r\n"
    ).encode()


def preview(program, assessor, learner, starts_on, ends_on=None):
    parsed = imports.parse_assessment_roles(role_csv(assessor, learner, starts_on, ends_on))
    assert not parsed.errors
    return imports.plan_assessment_roles(program, parsed.rows)


def add_role(assessor, learner, starts_on, ends_on=None):
    return assessment_role_add(
        assessor=assessor, learner=learner, starts_on=starts_on, ends_on=ends_on, **ROLE
    )


def set_policy(program, **fields) -> None:
    for name, value in fields.items():
        setattr(program, name, value)
    program.save(update_fields=list(fields))


# --- R2: one decision, one message, every path ----------------------------------------------


@pytest.mark.today("2031-03-03")
def test_every_path_refuses_the_same_r2_case_with_the_same_words(
    program, learner, mentor, program_admin
):
    """The case: Kenji supervises Lucia from today for 30 days and would mentor her from
    today, open-ended. Whichever comes second is refused, in the same words."""
    set_policy(program, assessment_conflict=Program.AssessmentConflict.REFUSE)
    ends = TODAY + datetime.timedelta(days=30)

    # 1. Pairing, with the role already recorded.
    role = AssessmentRole.objects.create(
        assessor=mentor, learner=learner, starts_on=TODAY, ends_on=ends, **ROLE
    )
    with pytest.raises(RuleViolation) as pairing:
        relationship_start(program=program, guide=mentor, learner=learner, started_on=TODAY)
    words = pairing.value.text
    assert pairing.value.rule == "R2" and pairing.value.record == role
    assert "Kenji Ito is Lucia Garcia's educational supervisor (Anatomy lab, block 2" in words
    assert "may not assess their own mentee" in words

    # 2. The matcher: the pair is never proposed, and assigning it by hand in review is
    # refused in the same words.
    assert (learner.pk, mentor.pk) in matching_services.forbidden_build(program, [learner.pk])
    run = matching_services.match_run_execute(
        run=matching_services.match_run_create(program=program, by=program_admin)
    )
    proposal = Proposal.objects.get(run=run, learner=learner)
    assert proposal.guide_id != mentor.pk
    with pytest.raises(RuleViolation) as review:
        matching_services.proposal_assign(proposal=proposal, guide_id=mentor.pk)
    assert review.value.text == words
    # Self-match leaves the supervisor out of the learner's suggestions.
    assert mentor not in [s.person for s in preferences.suggested_guides(program, learner)]

    # 3. A new assessment role, with the relationship already there.
    role.delete()
    relationship = relationship_start(
        program=program, guide=mentor, learner=learner, started_on=TODAY
    )
    with pytest.raises(RuleViolation) as adding:
        add_role(mentor, learner, TODAY, ends)
    assert adding.value.text == words
    assert adding.value.record == relationship
    assert not AssessmentRole.objects.exists()

    # 4. The import preview of that role.
    plan = preview(program, mentor, learner, TODAY, ends)
    assert [row.action for row in plan.rows] == ["error"]
    assert [error.message for error in plan.errors] == [words]


@pytest.mark.parametrize(
    ("kind", "advising_overlap", "assessment_conflict", "arriving", "outcome"),
    [
        ("mentoring", "block", "refuse", rules.ARRIVING_RELATIONSHIP, "refuse"),
        ("mentoring", "block", "queue", rules.ARRIVING_RELATIONSHIP, "refuse"),
        ("mentoring", "block", "refuse", rules.ARRIVING_ROLE, "refuse"),
        ("mentoring", "block", "queue", rules.ARRIVING_ROLE, "queue"),
        ("coaching", "block", "queue", rules.ARRIVING_ROLE, "queue"),
        ("advising", "block", "queue", rules.ARRIVING_RELATIONSHIP, "refuse"),
        ("advising", "block", "refuse", rules.ARRIVING_ROLE, "refuse"),
        ("advising", "flag", "refuse", rules.ARRIVING_RELATIONSHIP, "flag"),
        ("advising", "flag", "refuse", rules.ARRIVING_ROLE, "flag"),
        ("advising", "flag", "queue", rules.ARRIVING_ROLE, "flag"),
    ],
)
def test_role_separation_decides_refuse_queue_or_flag(
    kind, advising_overlap, assessment_conflict, arriving, outcome
):
    program = Program(
        kind=kind, advising_overlap=advising_overlap, assessment_conflict=assessment_conflict
    )
    verdict = rules.role_separation(arriving=arriving, relationship=Relationship(program=program))

    assert verdict.outcome == outcome
    assert rules.pairing_forbidden_by_role_separation(program) == (advising_overlap == "block")


@pytest.mark.today("2031-03-03")
def test_the_preview_predicts_the_queue_as_the_commit_decides_it(program, learner, mentor):
    set_policy(program, assessment_conflict=Program.AssessmentConflict.QUEUE)
    relationship_start(program=program, guide=mentor, learner=learner, started_on=TODAY)

    plan = preview(program, mentor, learner, TODAY)
    outcome = add_role(mentor, learner, TODAY)

    assert [row.action for row in plan.rows] == ["queued"] and not plan.errors
    assert outcome.role.status == AssessmentRole.Status.PENDING
    assert [c.kind for c in outcome.conflicts] == [Conflict.Kind.PENDING_ASSESSMENT]


@pytest.mark.today("2031-03-03")
def test_a_flagging_advising_program_flags_on_every_path(db):
    program = ProgramFactory(
        name="Residency application advising",
        kind=Program.Kind.ADVISING,
        advising_overlap=Program.AdvisingOverlap.FLAG,
        assessment_conflict=Program.AssessmentConflict.REFUSE,
    )
    advisor, learner = UserFactory(full_name="Ada Advisor"), UserFactory(full_name="Lee Learner")
    membership_grant(user=advisor, role=Role.ADVISOR, program=program)
    membership_grant(user=learner, role=Role.LEARNER, program=program)
    role = AssessmentRole.objects.create(assessor=advisor, learner=learner, starts_on=TODAY, **ROLE)

    assert matching_services.forbidden_build(program, [learner.pk]) == []
    relationship = relationship_start(
        program=program, guide=advisor, learner=learner, started_on=TODAY
    )
    assert relationship.conflicts.get().kind == Conflict.Kind.FLAGGED_OVERLAP
    role.delete()  # now the role arrives second

    ends = TODAY + datetime.timedelta(days=9)
    plan = preview(program, advisor, learner, TODAY, ends)
    outcome = add_role(advisor, learner, TODAY, ends)
    assert [row.action for row in plan.rows] == ["flagged"]
    assert outcome.role.status == AssessmentRole.Status.ACTIVE


@pytest.mark.today("2031-03-03")
@pytest.mark.parametrize(("ends_before_start", "action"), [(1, "new"), (0, "error")])
def test_the_preview_and_the_commit_share_the_overlap_test(
    program, learner, mentor, ends_before_start, action
):
    """Dates are whole days, inclusive: a role ending the day the relationship starts
    collides; one ending the day before does not, in the preview as at commit."""
    set_policy(program, assessment_conflict=Program.AssessmentConflict.REFUSE)
    starts = TODAY + datetime.timedelta(days=10)
    relationship_start(program=program, guide=mentor, learner=learner, started_on=starts)
    role_ends = starts - datetime.timedelta(days=ends_before_start)

    plan = preview(program, mentor, learner, TODAY, role_ends)

    assert [row.action for row in plan.rows] == [action]
    if action == "error":
        with pytest.raises(RuleViolation):
            add_role(mentor, learner, TODAY, role_ends)
    else:
        assert add_role(mentor, learner, TODAY, role_ends).role.status == "active"


# --- R3: one floor, one count ---------------------------------------------------------------


@pytest.mark.today("2031-03-03")
def test_a_capacity_below_the_current_load_is_refused_by_the_guide_and_the_import(
    program, mentor, learner
):
    other = UserFactory(full_name="Noor Haddad", email="noor@school.test")
    membership_grant(user=other, role=Role.LEARNER, program=program)
    for person in (learner, other):
        relationship_start(program=program, guide=mentor, learner=person, started_on=TODAY)

    with pytest.raises(RuleViolation) as by_guide:
        preferences.capacity_set(program=program, guide=mentor, capacity=1)
    parsed = imports.parse_people(
        f"email,full_name,role,capacity\r\n{mentor.email},{mentor.full_name},mentor,1\r\n".encode(),
        program=program,
    )
    plan = imports.plan_people(program, parsed.rows)

    assert by_guide.value.rule == "R3"
    assert [(e.field, e.message.split(":")[0]) for e in plan.errors] == [
        ("capacity", "R3 Capacity")
    ]
    # The matcher counts the same load: no room left at capacity 2.
    preferences.capacity_set(program=program, guide=mentor, capacity=2)
    (guide,) = matching_services.guides_build(program, only=[mentor.pk])
    assert guide.capacity == 0 == rules.places_left(2, rules.guide_loads(program)[mentor.pk])


# --- R9: one administered_by, inherited -----------------------------------------------------


SCOPED = [Relationship, RematchRequest, Conflict, AssessmentRole, MatchRun, Proposal]


@pytest.mark.parametrize("model", SCOPED, ids=lambda m: m.__name__)
def test_program_scoped_querysets_inherit_the_one_administered_by(model):
    queryset = model.objects.all()
    assert isinstance(queryset, ProgramScopedQuerySet)
    assert type(queryset).administered_by is ProgramScopedQuerySet.administered_by


@pytest.mark.today("2031-03-03")
def test_children_are_administered_by_the_administrators_of_their_program(
    program, other_program, learner, mentor, program_admin, other_admin, superuser
):
    set_policy(program, assessment_conflict=Program.AssessmentConflict.QUEUE)
    relationship = relationship_start(
        program=program, guide=mentor, learner=learner, started_on=TODAY
    )
    rematch_request_create(relationship=relationship, reason="Schedules clash")
    add_role(mentor, learner, TODAY)  # queued: a role and a conflict
    run = matching_services.match_run_execute(
        run=matching_services.match_run_create(program=program, by=program_admin)
    )
    Proposal.objects.create(run=run, learner=learner, state=Proposal.State.UNMATCHED)

    for model in SCOPED:
        everything = set(model.objects.values_list("pk", flat=True))
        assert everything, model
        assert set(model.objects.administered_by(program_admin).values_list("pk", flat=True)) == (
            everything
        ), model
        for nobody in (other_admin, superuser):
            assert not model.objects.administered_by(nobody).exists(), (model, nobody)
