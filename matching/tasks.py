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


@shared_task(name="matching.tasks.notify_pairing")
def notify_pairing(relationship_id: int) -> None:
    """Email both people of an approved pair, if the relationship still stands."""
    from mentoring.models import Relationship

    relationship = (
        Relationship.objects.filter(pk=relationship_id, status__in=["active", "paused"])
        .select_related("program", "guide", "learner")
        .first()
    )
    if relationship is not None:
        services.pairing_notify(relationship=relationship)
