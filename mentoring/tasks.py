"""Periodic tasks of the core domain."""

from __future__ import annotations

import logging

from celery import shared_task

from mentoring import services
from mentoring.tasks_agreements import *  # noqa: F403 (Celery autodiscovers this module only)
from mentoring.tasks_notes import *  # noqa: F403

logger = logging.getLogger(__name__)


@shared_task(name="mentoring.tasks.heartbeat")
def heartbeat() -> None:
    """Record that beat scheduled and a worker ran a task (read by /healthz)."""
    beat = services.heartbeat_record(name="heartbeat", hostname=heartbeat.request.hostname or "")
    logger.info(
        "heartbeat %s from %s (beat number %s)", beat.beat_at.isoformat(), beat.hostname, beat.count
    )
