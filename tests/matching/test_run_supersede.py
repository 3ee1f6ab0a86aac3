"""A newer run replaces the older runs of the same program and term; runs are numbered; an
approval that would create nothing says why; pairs swapped or assigned by hand are scored by the
matcher and the run's total follows."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from matching import services
from matching.models import MatchRun, Proposal
from mentoring import services as mentoring_services
from mentoring.models import Term
from mentoring.rules import RuleViolation
from tests.factories import UserFactory


def run_now(program, by, **kwargs) -> MatchRun:
    run = services.match_run_create(program=program, by=by, **kwargs)
    return services.match_run_execute(run=run)


SPECIALTY_ONLY = {
    **{name: 0 for name in services.DEFAULT_WEIGHTS if name != "must_have"},
    "specialty": 30,
}


@pytest.fixture
def pairs(program):
    """Two learners and two mentors of one place each, scored on specialty alone: Ana likes
    cardiology and neurology, Ben cardiology only; Carla does cardiology, Dev neurology. The
    best total is Ana with Dev and Ben with Carla (30 + 30)."""
    people = {}
    for name, role, interests in (
        ("Ana Learner", Role.LEARNER, ["Cardiology", "Neurology"]),
        ("Ben Learner", Role.LEARNER, ["Cardiology"]),
        ("Carla Mentor", Role.MENTOR, ["cardiology"]),
        ("Dev Mentor", Role.MENTOR, ["neurology"]),
    ):
        person = UserFactory(full_name=name)
        membership_grant(
            user=person,
            role=role,
            program=program,
            **({"capacity": 1} if role == Role.MENTOR else {}),
        )
        ParticipantProfile.objects.create(user=person, specialty_interests=interests)
        people[name.split()[0].lower()] = person
    return people


# --- Service level ---------------------------------------------------------------------------


def test_a_new_run_replaces_the_older_runs_of_the_program(program, program_admin, cohort):
    first = run_now(program, program_admin)
    second = run_now(program, program_admin)
    first.refresh_from_db()
    assert (first.number, second.number) == (1, 2)
    assert first.status == MatchRun.Status.SUPERSEDED
    assert first.superseded_by == second
    assert second.status == MatchRun.Status.DONE
    assert second.previous == first  # its locks and rejections were carried forward
    with pytest.raises(RuleViolation, match="replaced by run 2"):
        services.match_run_approve(run=first, by=program_admin)
    with pytest.raises(RuleViolation, match="replaced by run 2"):
        services.match_run_approve_start(run=first, by=program_admin)
    proposal = first.proposals.exclude(guide__isnull=True).first()
    with pytest.raises(RuleViolation, match="replaced by run 2"):
        services.proposal_set_state(proposal=proposal, state=Proposal.State.LOCKED)
    first.refresh_from_db()
    assert first.status == MatchRun.Status.SUPERSEDED
    assert not first.proposals.filter(state=Proposal.State.APPROVED).exists()


def test_a_run_waiting_for_a_worker_is_replaced_and_never_runs(program, program_admin, cohort):
    waiting = services.match_run_create(program=program, by=program_admin)
    newer = run_now(program, program_admin)
    services.match_run_execute(run=waiting)  # its task arrives late
    waiting.refresh_from_db()
    assert waiting.status == MatchRun.Status.SUPERSEDED and waiting.superseded_by == newer
    assert not waiting.proposals.exists()


def test_runs_of_another_term_or_already_approved_are_left_alone(program, program_admin, cohort):
    today = timezone.localdate()
    spring = Term.objects.create(
        program=program,
        name="Spring",
        starts_on=today + datetime.timedelta(days=100),
        ends_on=today + datetime.timedelta(days=200),
    )
    approved = services.match_run_approve(run=run_now(program, program_admin), by=program_admin)
    other_term = run_now(program, program_admin, term=spring)
    run_now(program, program_admin)
    approved.refresh_from_db()
    other_term.refresh_from_db()
    assert approved.status == MatchRun.Status.APPROVED
    assert other_term.status == MatchRun.Status.DONE


def test_approving_a_run_with_nothing_left_to_approve_is_refused(program, program_admin, cohort):
    run = run_now(program, program_admin)
    run.proposals.exclude(state=Proposal.State.UNMATCHED).update(state=Proposal.State.REJECTED)
    with pytest.raises(RuleViolation, match="would create no relationship"):
        services.match_run_approve_start(run=run, by=program_admin)
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE


def test_a_swap_is_scored_by_the_matcher_and_the_total_follows(program, program_admin, pairs):
    run = run_now(program, program_admin, weights=SPECIALTY_ONLY)
    ana = run.proposals.get(learner=pairs["ana"])
    ben = run.proposals.get(learner=pairs["ben"])
    assert (ana.guide, ben.guide) == (pairs["dev"], pairs["carla"])
    assert (ana.score, ben.score, run.total_score) == (30, 30, 60)

    services.proposals_swap(first=ana, second=ben)

    ana.refresh_from_db()
    ben.refresh_from_db()
    run.refresh_from_db()
    assert (ana.guide, ben.guide) == (pairs["carla"], pairs["dev"])
    assert ana.score == 30 and ana.breakdown["specialty"] == 30  # cardiology in common
    assert ben.score == 0 and ben.breakdown["specialty"] == 0  # nothing in common
    assert ana.explanation.startswith("swapped by the administrator; ")
    assert "cardiology" in ana.explanation.lower()
    assert run.total_score == 30
    # Swapping back restores the matcher's pairs and its total.
    services.proposals_swap(first=ana, second=ben)
    run.refresh_from_db()
    assert run.total_score == 60
    assert run.proposals.get(learner=pairs["ana"]).score == 30


def test_a_hand_assignment_is_scored_and_counts_in_the_total(program, program_admin, pairs):
    run = run_now(program, program_admin, weights=SPECIALTY_ONLY)
    ben = run.proposals.get(learner=pairs["ben"])
    services.proposal_set_state(proposal=ben, state=Proposal.State.REJECTED)
    late = UserFactory(full_name="Eve Mentor")
    membership_grant(user=late, role=Role.MENTOR, program=program, capacity=1)
    ParticipantProfile.objects.create(user=late, specialty_interests=["Cardiology"])
    services.proposal_assign(proposal=ben, guide_id=late.pk)
    ben.refresh_from_db()
    run.refresh_from_db()
    assert (ben.guide, ben.state, ben.score) == (late, Proposal.State.LOCKED, 30)
    assert ben.explanation.startswith("assigned by the administrator; ")
    assert run.total_score == 60


# --- View level ------------------------------------------------------------------------------


def test_the_replaced_run_page_links_to_the_newer_run_and_offers_no_approval(
    client, program, program_admin, cohort
):
    first = run_now(program, program_admin)
    second = run_now(program, program_admin)
    client.force_login(program_admin)
    page = client.get(reverse("matching:run", kwargs={"code": first.code})).content.decode()
    assert "Match run 1 of" in page
    assert "Replaced by a newer run" in page
    assert reverse("matching:run", kwargs={"code": second.code}) in page
    assert reverse("matching:run-approve", kwargs={"code": first.code}) not in page
    assert reverse("matching:proposals-swap", kwargs={"code": first.code}) not in page
    response = client.post(
        reverse("matching:run-approve", kwargs={"code": first.code}), follow=True
    )
    assert "replaced by run 2" in response.content.decode()
    first.refresh_from_db()
    assert first.status == MatchRun.Status.SUPERSEDED
    listing = client.get(reverse("matching:runs", kwargs={"code": program.code})).content.decode()
    assert "Run 1</a>" in listing and "Run 2</a>" in listing
    assert "Replaced by run 2" in listing


def test_rerunning_from_the_page_replaces_the_run(client, program, program_admin, cohort):
    first = run_now(program, program_admin)
    client.force_login(program_admin)
    response = client.post(reverse("matching:run-rerun", kwargs={"code": first.code}))
    second = MatchRun.objects.exclude(pk=first.pk).get()
    assert response["Location"] == reverse("matching:run", kwargs={"code": second.code})
    first.refresh_from_db()
    assert (first.status, first.superseded_by) == (MatchRun.Status.SUPERSEDED, second)


def test_approving_nothing_is_explained_not_called_approved(client, program, program_admin, cohort):
    run = run_now(program, program_admin)
    run.proposals.exclude(state=Proposal.State.UNMATCHED).update(state=Proposal.State.REJECTED)
    client.force_login(program_admin)
    response = client.post(reverse("matching:run-approve", kwargs={"code": run.code}), follow=True)
    page = response.content.decode()
    assert "would create no relationship" in page
    assert "Approved:" not in page
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE


def test_an_approval_where_every_pair_was_refused_says_so(client, program, program_admin, pairs):
    run = run_now(program, program_admin, weights=SPECIALTY_ONLY)
    # Both learners were paired elsewhere since the run: approval refuses both pairs.
    other = UserFactory(full_name="Fay Mentor")
    membership_grant(user=other, role=Role.MENTOR, program=program, capacity=5)
    for learner in (pairs["ana"], pairs["ben"]):
        mentoring_services.relationship_start(program=program, guide=other, learner=learner)
    run = services.match_run_approve(run=run, by=program_admin)
    assert run.status == MatchRun.Status.APPROVED
    client.force_login(program_admin)
    page = client.get(reverse("matching:run", kwargs={"code": run.code})).content.decode()
    assert "No relationship was created: every pair was refused" in page
    assert "0 relationships created" not in page
    assert reverse("console:relationships", kwargs={"code": program.code}) in page  # a way on


def test_a_swap_from_the_page_shows_the_new_scores_and_total(client, program, program_admin, pairs):
    run = run_now(program, program_admin, weights=SPECIALTY_ONLY)
    codes = [str(p.code) for p in run.proposals.order_by("pk")]
    client.force_login(program_admin)
    response = client.post(
        reverse("matching:proposals-swap", kwargs={"code": run.code}),
        {"proposal": codes},
        follow=True,
    )
    page = response.content.decode()
    assert "Swapped the guides" in page
    assert "<dt>Total score</dt><dd>30</dd>" in page
    assert "swapped by the administrator; " in page


def test_a_failed_run_offers_to_run_again(client, program, program_admin, cohort):
    run = services.match_run_create(program=program, by=program_admin)
    MatchRun.objects.filter(pk=run.pk).update(status=MatchRun.Status.FAILED, error="Worker lost.")
    client.force_login(program_admin)
    page = client.get(reverse("matching:run", kwargs={"code": run.code})).content.decode()
    assert reverse("matching:run-rerun", kwargs={"code": run.code}) in page
    client.post(reverse("matching:run-rerun", kwargs={"code": run.code}))
    assert MatchRun.objects.filter(program=program, number=2).exists()
