"""Approval runs in a worker, in batches that each commit: a 20,000-pair run never ties up a
request, a redelivered or killed task resumes where the last batch ended, and the page shows
the progress."""

from __future__ import annotations

from unittest import mock

import pytest
from django.urls import reverse

from matching import tasks
from matching.models import MatchRun, Proposal
from matching.services import runs as services  # the run lifecycle, patched below
from mentoring import services as mentoring_services
from mentoring.models import Relationship
from mentoring.rules import RuleViolation
from notify import broker


@pytest.fixture
def done_run(program, program_admin, cohort):
    run = services.match_run_execute(
        run=services.match_run_create(program=program, by=program_admin)
    )
    assert run.proposals.filter(state=Proposal.State.PROPOSED).count() == 6
    return run


def _states(run) -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in run.proposals.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


def test_start_marks_the_run_approving_and_queues_one_task(
    done_run, program_admin, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(broker, "publish") as queued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = services.match_run_approve_start(run=done_run, by=program_admin)
    assert run.status == MatchRun.Status.APPROVING
    queued.assert_called_once_with(tasks.approve_match_run, (done_run.pk,), {})
    assert not Relationship.objects.exists()  # nothing is created in the request
    with pytest.raises(RuleViolation, match="only a finished, unapproved run"):
        services.match_run_approve_start(run=done_run, by=program_admin)


def test_batches_resume_where_the_last_one_committed(done_run, program_admin):
    services._approval_begin(done_run, program_admin)
    with mock.patch.object(services, "pairing_queue", wraps=services.pairing_queue) as notify:
        assert services.match_run_approve_batch(run=done_run, limit=4) is False
        assert _states(done_run) == {"approved": 4, "proposed": 2}
        # A second delivery of the same batch finds only the rest (no pair twice).
        assert services.match_run_approve_batch(run=done_run, limit=4) is True
        assert _states(done_run) == {"approved": 6}
        assert services.match_run_approve_batch(run=done_run, limit=4) is True
    done_run.refresh_from_db()
    assert done_run.status == MatchRun.Status.APPROVED and done_run.approved_at is not None
    assert Relationship.objects.filter(origin="matched").count() == 6
    assert notify.call_count == 6  # one email job per new pair, never repeated


def test_the_task_queues_the_next_batch_until_done(
    done_run, program_admin, eager_tasks, django_capture_on_commit_callbacks
):
    with (
        mock.patch.object(services, "APPROVE_BATCH", 2),
        mock.patch.object(tasks.notify_pairing, "delay_on_commit"),
        mock.patch.object(
            tasks.approve_match_run, "apply_async", wraps=tasks.approve_match_run.apply_async
        ) as again,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.match_run_approve_start(run=done_run, by=program_admin)
    done_run.refresh_from_db()
    assert done_run.status == MatchRun.Status.APPROVED
    assert _states(done_run) == {"approved": 6}
    # 6 pairs in batches of 2: the first task and two follow-ups (the third batch ends it).
    assert again.call_count == 3


def test_a_pair_that_became_invalid_is_reported_not_dropped(done_run, program_admin, program):
    first = done_run.proposals.filter(state=Proposal.State.PROPOSED).order_by("pk").first()

    mentoring_services.relationship_start(program=program, guide=first.guide, learner=first.learner)
    with mock.patch.object(tasks.notify_pairing, "delay_on_commit"):
        run = services.match_run_approve(run=done_run, by=program_admin)
    assert run.status == MatchRun.Status.APPROVED
    assert _states(run) == {"refused": 1, "approved": 5}
    assert [entry["rule"] for entry in run.approval_report] == ["R3"]


def test_the_page_shows_approval_progress_and_polls_until_done(client, done_run, program_admin):
    services._approval_begin(done_run, program_admin)
    with mock.patch.object(tasks.notify_pairing, "delay_on_commit"):
        services.match_run_approve_batch(run=done_run, limit=4)
    client.force_login(program_admin)
    status_url = reverse("matching:run-status", kwargs={"code": done_run.code})
    response = client.get(status_url, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert "HX-Refresh" not in response
    assert 'hx-trigger="every 2s"' in page
    assert "4 relationships created, 2 to go" in page
    with mock.patch.object(tasks.notify_pairing, "delay_on_commit"):
        services.match_run_approve_batch(run=done_run, limit=4)
    response = client.get(status_url, headers={"HX-Request": "true"})
    assert response["HX-Refresh"] == "true"
    page = client.get(reverse("matching:run", kwargs={"code": done_run.code})).content.decode()
    assert "6 relationships created." in page
