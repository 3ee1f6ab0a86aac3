"""Nothing a worker was doing for a match run is lost for good: a run whose worker died is
marked failed in words its page shows, and a run or approval whose message was lost (the
broker restarted, a batch failed) is queued again by the periodic sweep."""

from __future__ import annotations

import datetime
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from config.celery import app as celery_app
from matching import tasks
from matching.models import MatchRun, Proposal
from matching.services import runs as services  # the run lifecycle, patched below
from mentoring.models import Relationship


def _age(run: MatchRun, by: datetime.timedelta) -> None:
    """As if nothing moved the run for `by`."""
    MatchRun.objects.filter(pk=run.pk).update(touched_at=timezone.now() - by)


STALLED = services.runs_stalled_after() + datetime.timedelta(seconds=1)
RECENT = services.runs_stalled_after() - datetime.timedelta(seconds=30)


def test_the_sweep_runs_every_five_minutes_and_waits_longer_than_a_task_can_live():
    entry = celery_app.conf.beat_schedule["recover-match-runs"]
    assert entry["task"] == tasks.recover_match_runs.name
    assert entry["schedule"] == datetime.timedelta(minutes=5)
    assert services.runs_stalled_after().total_seconds() > celery_app.conf.task_time_limit


@pytest.fixture
def queued_run(program, program_admin, cohort):
    with mock.patch.object(tasks.execute_match_run, "delay_on_commit"):
        return services.match_run_create(program=program, by=program_admin)


def test_a_run_whose_worker_died_is_failed_with_words_its_page_shows(
    client, queued_run, program_admin
):
    # The worker marked it running, then was killed (or stopped at the hard time limit); the
    # redelivered task leaves a running run alone, so only the sweep can end it.
    MatchRun.objects.filter(pk=queued_run.pk).update(status=MatchRun.Status.RUNNING)
    _age(queued_run, RECENT)
    assert services.runs_recover() == {"failed": 0, "queued": 0, "approving": 0}
    queued_run.refresh_from_db()
    assert queued_run.status == MatchRun.Status.RUNNING  # it may still be working

    _age(queued_run, STALLED)
    assert services.runs_recover() == {"failed": 1, "queued": 0, "approving": 0}
    queued_run.refresh_from_db()
    assert queued_run.status == MatchRun.Status.FAILED
    assert queued_run.finished_at is not None
    client.force_login(program_admin)
    page = client.get(reverse("matching:run", kwargs={"code": queued_run.code}))
    assert "The worker stopped before the run finished" in page.content.decode()


def test_a_late_finish_does_not_overwrite_the_failure(queued_run):
    """Had the worker still finished after the sweep gave the run up, its proposals would
    contradict the page: they are not written."""
    real_build = services.match_input_build

    def build_then_be_given_up(**kwargs):
        data = real_build(**kwargs)
        _age(queued_run, STALLED)
        services.runs_recover()
        return data

    with mock.patch.object(services, "match_input_build", build_then_be_given_up):
        services.match_run_execute(run=queued_run)
    queued_run.refresh_from_db()
    assert queued_run.status == MatchRun.Status.FAILED
    assert not queued_run.proposals.exists()


def test_a_run_whose_message_was_lost_is_queued_again(
    queued_run, eager_tasks, django_capture_on_commit_callbacks
):
    _age(queued_run, RECENT)
    assert services.runs_recover()["queued"] == 0
    _age(queued_run, STALLED)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.runs_recover()["queued"] == 1
    queued_run.refresh_from_db()
    assert queued_run.status == MatchRun.Status.DONE
    assert queued_run.proposals.filter(state=Proposal.State.PROPOSED).count() == 6
    # Queued again once: the next sweep finds nothing to do.
    assert services.runs_recover() == {"failed": 0, "queued": 0, "approving": 0}


@pytest.fixture
def approving_run(program_admin, queued_run):
    run = services.match_run_execute(run=queued_run)
    return services._approval_begin(run, program_admin)


def test_a_failed_batch_is_shown_and_the_sweep_resumes_the_approval(
    client,
    approving_run,
    program_admin,
    eager_tasks,
    django_capture_on_commit_callbacks,
):
    # The first batch fails on something that is not a rule (the database, a bug): the run
    # stays approving, the page says why, and nothing was half-created.
    with (
        mock.patch.object(
            services.mentoring_services,
            "relationship_start",
            side_effect=RuntimeError("database went away"),
        ),
        pytest.raises(RuntimeError),
    ):
        tasks.approve_match_run.apply(args=[approving_run.pk], throw=True)
    approving_run.refresh_from_db()
    assert approving_run.status == MatchRun.Status.APPROVING
    assert approving_run.error == "database went away"
    assert not Relationship.objects.exists()
    client.force_login(program_admin)
    status_url = reverse("matching:run-status", kwargs={"code": approving_run.code})
    assert "The last batch failed" in client.get(status_url).content.decode()

    # Nothing moves it until it has stalled; then the sweep queues the batch again.
    assert services.runs_recover()["approving"] == 0
    _age(approving_run, STALLED)
    with (
        mock.patch.object(tasks.notify_pairing, "delay_on_commit"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.runs_recover()["approving"] == 1
    approving_run.refresh_from_db()
    assert approving_run.status == MatchRun.Status.APPROVED
    assert approving_run.error == ""
    assert Relationship.objects.filter(origin="matched").count() == 6
    assert "The last batch failed" not in client.get(status_url).content.decode()


def test_finished_and_reviewed_runs_are_left_alone(approving_run):
    MatchRun.objects.filter(pk=approving_run.pk).update(status=MatchRun.Status.DONE)
    _age(approving_run, STALLED * 10)
    assert services.runs_recover() == {"failed": 0, "queued": 0, "approving": 0}
    approving_run.refresh_from_db()
    assert approving_run.status == MatchRun.Status.DONE
