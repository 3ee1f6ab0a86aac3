"""Periodic work of the dashboards."""

from __future__ import annotations

import logging

from celery import shared_task

from dashboards.summaries import summaries_refresh

logger = logging.getLogger(__name__)


@shared_task(name="dashboards.tasks.refresh_summaries")
def refresh_summaries() -> None:
    """Recompute the dashboards' summary tables. Safe to run twice at once: the second waits
    for nothing and skips (an advisory lock), and pages keep the previous figures, with their
    date, until the new ones commit."""
    refresh = summaries_refresh()
    if refresh is not None:
        logger.info(
            "dashboard figures refreshed: %s cells, %s hidden, %s ms",
            refresh.cells,
            refresh.hidden,
            refresh.duration_ms,
        )
