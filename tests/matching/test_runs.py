"""Match runs against the database: inputs respect the rules, locks and rejections survive a
re-run, approval re-checks every pair through relationship_start and reports what it refuses."""

from __future__ import annotations

from matching import services
from matching.models import MatchRun, Proposal
from mentoring import services as mentoring_services
from mentoring.models import Relationship


def run_now(program, by, **kwargs) -> MatchRun:
    run = services.match_run_create(program=program, by=by, **kwargs)
    return services.match_run_execute(run=run)


def test_run_matches_everyone_and_never_proposes_the_assessor(
    program, program_admin, cohort, learner, assessor
):
    run = run_now(program, program_admin)
    assert run.status == MatchRun.Status.DONE
    assert (run.learners, run.guides, run.matched, run.unmatched) == (6, 3, 6, 0)
    assert run.certified_optimal
    lucia = run.proposals.get(learner=learner)
    # Priya shares Lucia's interest in surgery but assesses her (R2): never proposed.
    assert lucia.guide != assessor
    loads = {}
    for proposal in run.proposals.all():
        loads[proposal.guide_id] = loads.get(proposal.guide_id, 0) + 1
    assert max(loads.values()) <= 3  # R3


def test_learners_already_paired_and_full_guides_are_left_out(
    program, program_admin, cohort, mentor
):
    paired = cohort["learners"][1]
    mentoring_services.relationship_start(program=program, guide=mentor, learner=paired)
    run = run_now(program, program_admin)
    assert not run.proposals.filter(learner=paired).exists()
    assert run.proposals.filter(guide=mentor).count() <= 2  # one of her three places is taken


def test_locks_and_rejections_survive_a_rerun(program, program_admin, cohort):
    first = run_now(program, program_admin)
    locked, rejected = list(first.proposals.order_by("learner_id")[:2])
    Proposal.objects.filter(pk=locked.pk).update(state=Proposal.State.LOCKED)
    Proposal.objects.filter(pk=rejected.pk).update(state=Proposal.State.REJECTED)
    second = run_now(program, program_admin)
    assert second.previous == first
    kept = second.proposals.get(learner=locked.learner)
    assert (kept.guide, kept.state) == (locked.guide, Proposal.State.LOCKED)
    again = second.proposals.get(learner=rejected.learner)
    assert again.guide != rejected.guide


def test_a_second_delivery_of_the_task_does_nothing(program, program_admin, cohort):
    run = run_now(program, program_admin)
    count = run.proposals.count()
    services.match_run_execute(run=run)
    assert run.proposals.count() == count


def test_approval_creates_relationships_and_reports_what_became_invalid(
    program, program_admin, cohort, mentor, other_mentor
):
    run = run_now(program, program_admin)
    # Between the run and the approval, someone pairs one learner by hand.
    proposal = run.proposals.filter(state=Proposal.State.PROPOSED).first()
    other = other_mentor if proposal.guide != other_mentor else mentor
    mentoring_services.relationship_start(program=program, guide=other, learner=proposal.learner)
    run = services.match_run_approve(run=run, by=program_admin)
    assert run.status == MatchRun.Status.APPROVED
    assert [entry["rule"] for entry in run.approval_report] == ["R3"]
    proposal.refresh_from_db()
    assert proposal.state == Proposal.State.REFUSED
    approved = run.proposals.filter(state=Proposal.State.APPROVED)
    assert approved.count() == 5
    assert all(p.relationship.origin == Relationship.Origin.MATCHED for p in approved)


def test_the_task_runs_the_match_on_commit(
    program, program_admin, cohort, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.match_run_create(program=program, by=program_admin)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE and run.matched == 6


def test_scoping_of_runs(program, program_admin, other_admin, cohort):
    run = run_now(program, program_admin)
    assert list(MatchRun.objects.administered_by(program_admin)) == [run]
    assert not MatchRun.objects.administered_by(other_admin).exists()


def test_approval_emails_both_people_of_each_pair_after_commit(
    program, program_admin, cohort, eager_tasks, django_capture_on_commit_callbacks, mailoutbox
):
    run = run_now(program, program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.match_run_approve(run=run, by=program_admin)
    approved = list(
        run.proposals.filter(state=Proposal.State.APPROVED).select_related("learner", "guide")
    )
    assert len(mailoutbox) == 2 * len(approved) == 12
    first = approved[0]
    to_learner = next(
        m for m in mailoutbox if m.to == [first.learner.email] and first.guide.full_name in m.body
    )
    assert first.guide.email in to_learner.body
    assert f"/relationships/{first.relationship.code}/" in to_learner.body
