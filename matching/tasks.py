"""Background work of matching: a run executes in a worker, never in a request."""

from __future__ import annotations

from celery import shared_task

from matching import services
from matching.models import MatchRun


@shared_task(name="matching.tasks.execute_match_run")
def execute_match_run(run_id: int) -> None:
    """Reload the run and execute it (a second delivery finds it no longer queued)."""
    run = MatchRun.objects.filter(pk=run_id).first()
    if run is not None:
        services.match_run_execute(run=run)
