"""The match review in the console: scoped to the program's administrators, every decision a
POST, approval through the rules."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.models import Membership
from matching import services, views
from matching.models import MatchRun, Proposal
from mentoring.rules import RuleViolation


def run_form_defaults(client, program) -> dict:
    """What the run form holds when it opens (the weights of the last run, or the defaults)."""
    form = client.get(reverse("matching:runs", kwargs={"code": program.code})).context["form"]
    data = {name: field.initial for name, field in form.fields.items()}
    data["must_have"] = list(data["must_have"] or [])
    return data


@pytest.fixture
def done_run(program, program_admin, cohort):
    run = services.match_run_create(program=program, by=program_admin)
    return services.match_run_execute(run=run)


def test_running_the_matcher_from_the_console(
    client,
    program,
    program_admin,
    cohort,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    client.force_login(program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("matching:runs", kwargs={"code": program.code}),
            {**run_form_defaults(client, program), "mode": "optimal"},
        )
    run = MatchRun.objects.get()
    assert response["Location"] == reverse("matching:run", kwargs={"code": run.code})
    run.refresh_from_db()
    assert run.status == MatchRun.Status.DONE
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "both interested in surgery" not in page.content.decode()  # Priya is never proposed


def test_status_poll_refreshes_the_page_when_the_run_is_done(client, program_admin, done_run):
    client.force_login(program_admin)
    url = reverse("matching:run-status", kwargs={"code": done_run.code})
    response = client.get(url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"


def test_lock_reject_and_approve(
    client, program_admin, done_run, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(program_admin)
    locked, rejected = done_run.proposals.exclude(guide__isnull=True)[:2]
    for proposal, state in ((locked, "locked"), (rejected, "rejected")):
        client.post(
            reverse("matching:proposal-state", kwargs={"code": proposal.code}), {"state": state}
        )
    locked.refresh_from_db()
    rejected.refresh_from_db()
    assert (locked.state, rejected.state) == ("locked", "rejected")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("matching:run-approve", kwargs={"code": done_run.code}))
    done_run.refresh_from_db()
    assert done_run.status == MatchRun.Status.APPROVED
    rejected.refresh_from_db()
    assert rejected.relationship is None and rejected.state == "rejected"
    locked.refresh_from_db()
    assert locked.state == Proposal.State.APPROVED and locked.relationship is not None
    # After approval nothing can be changed.
    response = client.post(
        reverse("matching:proposal-state", kwargs={"code": rejected.code}),
        {"state": "proposed"},
        follow=True,
    )
    assert "no longer under review" in response.content.decode()


def test_a_bad_state_is_a_message_not_a_500(client, program_admin, done_run):
    client.force_login(program_admin)
    proposal = done_run.proposals.exclude(guide__isnull=True).first()
    response = client.post(
        reverse("matching:proposal-state", kwargs={"code": proposal.code}),
        {"state": "approved"},
        follow=True,
    )
    assert response.status_code == 200
    proposal.refresh_from_db()
    assert proposal.state == "proposed"


def test_export_guards_against_formulas(client, program_admin, done_run):
    proposal = done_run.proposals.exclude(guide__isnull=True).first()
    proposal.learner.full_name = "=HYPERLINK(1)"
    proposal.learner.save(update_fields=["full_name"])
    client.force_login(program_admin)
    response = client.get(reverse("matching:run-export", kwargs={"code": done_run.code}))
    body = b"".join(response.streaming_content)
    assert b"'=HYPERLINK(1)" in body


def test_review_page_queries_are_bounded(
    client, program_admin, done_run, django_assert_max_num_queries
):
    client.force_login(program_admin)
    # The guide loads (capacities, current relationships, the run's counts) are 3 fixed queries.
    with django_assert_max_num_queries(16):
        response = client.get(reverse("matching:run", kwargs={"code": done_run.code}))
    assert response.status_code == 200


def test_swap_two_learners_guides_locks_both(client, program_admin, done_run, learner, assessor):
    # Two learners other than Lucia, with different guides, neither of them Priya (R2).
    candidates = (
        done_run.proposals.exclude(learner=learner)
        .exclude(guide=assessor)
        .exclude(guide__isnull=True)
        .order_by("pk")
    )
    first = candidates.first()
    second = candidates.exclude(guide=first.guide).first()
    client.force_login(program_admin)
    client.post(
        reverse("matching:proposals-swap", kwargs={"code": done_run.code}),
        {"proposal": [str(first.code), str(second.code)]},
    )
    a, b = Proposal.objects.get(pk=first.pk), Proposal.objects.get(pk=second.pk)
    assert (a.guide_id, b.guide_id) == (second.guide_id, first.guide_id)
    assert a.state == b.state == Proposal.State.LOCKED


def test_swap_that_would_pair_the_learner_with_her_assessor_is_refused(
    client, program_admin, done_run, learner, assessor
):
    mine = done_run.proposals.get(learner=learner)
    theirs = done_run.proposals.filter(guide=assessor).first()
    assert theirs is not None  # Priya guides someone else in this run
    client.force_login(program_admin)
    response = client.post(
        reverse("matching:proposals-swap", kwargs={"code": done_run.code}),
        {"proposal": [str(mine.code), str(theirs.code)]},
        follow=True,
    )
    assert "R2 Role separation" in response.content.decode()
    assert Proposal.objects.get(pk=mine.pk).guide_id == mine.guide_id


def test_swap_needs_exactly_two_learners(client, program_admin, done_run):
    client.force_login(program_admin)
    response = client.post(
        reverse("matching:proposals-swap", kwargs={"code": done_run.code}),
        {"proposal": ["not-a-code"]},
        follow=True,
    )
    assert "Choose exactly two learners" in response.content.decode()


def test_manual_assign_applies_capacity_and_role_separation(
    client, program_admin, done_run, learner, assessor, mentor
):
    mine = done_run.proposals.get(learner=learner)
    client.force_login(program_admin)
    response = client.post(
        reverse("matching:proposal-assign", kwargs={"code": mine.code}),
        {"guide": assessor.pk},
        follow=True,
    )
    content = response.content.decode()
    assert "R2 Role separation" in content or "R3 Capacity" in content
    assert Proposal.objects.get(pk=mine.pk).guide_id == mine.guide_id
    # Give a mentor room, then assign by hand: the pair is locked.
    Membership.objects.filter(user=mentor, role="mentor").update(capacity=10)
    other = done_run.proposals.exclude(guide=mentor).exclude(learner=learner).first()
    client.post(
        reverse("matching:proposal-assign", kwargs={"code": other.code}), {"guide": mentor.pk}
    )
    other.refresh_from_db()
    assert (other.guide_id, other.state) == (mentor.pk, Proposal.State.LOCKED)


def test_weights_and_must_haves_are_set_per_run_and_carried_forward(
    client, program, program_admin, cohort
):
    client.force_login(program_admin)
    url = reverse("matching:runs", kwargs={"code": program.code})
    data = run_form_defaults(client, program)
    data.update({"mode": "stable", "specialty": 80, "must_have": ["campus"]})
    client.post(url, data)
    run = MatchRun.objects.get()
    assert run.mode == "stable"
    assert run.weights["specialty"] == 80 and run.weights["must_have"] == ["campus"]
    again = client.get(url).context["form"]
    assert again.fields["specialty"].initial == 80
    assert again.fields["must_have"].initial == ["campus"]


def test_a_weight_out_of_range_keeps_the_form(client, program, program_admin, cohort):
    client.force_login(program_admin)
    url = reverse("matching:runs", kwargs={"code": program.code})
    response = client.post(url, {"mode": "optimal", "specialty": 500})
    assert response.status_code == 200
    assert not MatchRun.objects.exists()


def test_manual_assign_to_the_learners_assessor_is_refused_by_role_separation(
    done_run, learner, assessor
):
    """R2 on its own: the assessor has room, so only role separation can refuse the pair."""
    Membership.objects.filter(user=assessor, role="mentor").update(capacity=20)
    lucia = done_run.proposals.get(learner=learner)
    with pytest.raises(RuleViolation) as refused:
        services.proposal_assign(proposal=lucia, guide_id=assessor.pk)
    assert refused.value.rule == "R2"
    lucia.refresh_from_db()
    assert lucia.guide_id != assessor.pk and lucia.state == Proposal.State.PROPOSED


def test_learners_not_matched_are_listed_a_page_at_a_time(
    client, monkeypatch, program, program_admin, cohort, mentor, other_mentor, assessor
):
    """Each of them carries a form listing every guide with room, so at school scale the list
    comes a page at a time, with its own page number beside the proposals'."""

    Membership.objects.filter(user__in=[mentor, other_mentor, assessor], role="mentor").update(
        capacity=1
    )
    run = services.match_run_execute(
        run=services.match_run_create(program=program, by=program_admin)
    )
    unmatched = run.proposals.filter(state=Proposal.State.UNMATCHED)
    assert unmatched.count() == 3
    monkeypatch.setattr(views, "UNMATCHED_PAGE_SIZE", 2)
    client.force_login(program_admin)
    url = reverse("matching:run", kwargs={"code": run.code})
    names = sorted(escape(p.learner.full_name) for p in unmatched.select_related("learner"))

    first = client.get(url, {"page": "1"}).content.decode()
    assert "Not matched, and why (3)" in first
    assert 'aria-label="Pages of learners not matched"' in first
    assert "page=1&amp;unmatched_page=2" in first  # the proposals' page is kept
    second = client.get(url, {"unmatched_page": "2"}).content.decode()
    shown_first = [n for n in names if f"<li>{n}:" in first]
    shown_second = [n for n in names if f"<li>{n}:" in second]
    assert shown_first == names[:2] and shown_second == names[2:]
