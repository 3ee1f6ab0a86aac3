"""Background work of matching: a run executes in a worker, never in a request."""

from __future__ import annotations

from celery import shared_task

from matching import emails, preferences, services
from matching.models import MatchRequest, MatchRun
from mentoring.models import Relationship


@shared_task(name="matching.tasks.execute_match_run")
def execute_match_run(run_id: int) -> None:
    """Reload the run and execute it (a second delivery finds it no longer queued)."""
    run = MatchRun.objects.filter(pk=run_id).first()
    if run is not None:
        services.match_run_execute(run=run)


@shared_task(name="matching.tasks.approve_match_run")
def approve_match_run(run_id: int) -> None:
    """Create one batch of an approving run's relationships, then queue the next batch (each
    batch commits on its own, so a killed worker's redelivery resumes where it stopped)."""
    run = MatchRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    try:
        finished = services.match_run_approve_batch(run=run)
    except Exception as exc:
        services.match_run_approval_failed(run=run, error=exc)  # the sweep tries it again
        raise
    if not finished:
        approve_match_run.delay(run_id)


@shared_task(name="matching.tasks.recover_match_runs")
def recover_match_runs() -> dict[str, int]:
    """Periodic: fail runs whose worker died, queue again the work of runs that stalled."""
    return services.runs_recover()


@shared_task(name="matching.tasks.notify_pairing")
def notify_pairing(relationship_id: int) -> int:
    """Email both people of an approved pair through the outbox, if the relationship still
    stands (approval queues the outbox rows itself; this serves a caller with the id only)."""

    relationship = Relationship.objects.filter(pk=relationship_id).first()
    if relationship is None:
        return 0
    return emails.pairing_notify(relationship=relationship)


@shared_task(name="matching.tasks.expire_match_requests")
def expire_match_requests() -> int:
    """Periodic: expire self-match requests nobody answered in time (beat schedule)."""

    return preferences.requests_expire()


@shared_task(name="matching.tasks.notify_match_request")
def notify_match_request(request_id: int, event: str) -> int:
    """Email the other person about a self-match request through the outbox: the guide when it
    is sent, the learner when it is accepted, declined or expires. Sent only if the request is
    still in the state the event describes (a late duplicate of "sent" after an answer sends
    nothing)."""
    match_request = MatchRequest.objects.filter(pk=request_id).first()
    if match_request is None:
        return 0
    return emails.request_notify(match_request=match_request, event=event)
