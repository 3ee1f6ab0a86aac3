"""Tasks of availability and booking: slot expansion, invitation emails (sent through the
outbox, notify)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from notify.outbox import outbox_send
from sessions_log.availability import expand_patterns
from sessions_log.calendar import invitations_queue
from sessions_log.models import Meeting

__all__ = ["expand_availability", "send_meeting_invitation"]

logger = logging.getLogger(__name__)


@shared_task(name="sessions_log.tasks.expand_availability")
def expand_availability() -> int:
    """Periodic (beat): weekly patterns become slots MEETING_SLOT_WEEKS ahead. Idempotent, so a
    duplicate or a second beat does nothing more. Returns the number of slots created."""

    expansion = expand_patterns()
    if expansion.skipped:
        logger.info("expand_availability skipped %d overlapping times", len(expansion.skipped))
    return len(expansion.created)


@shared_task(name="sessions_log.tasks.send_meeting_invitation")
def send_meeting_invitation(meeting_id: int, sequence: int, event: str) -> int:
    """Email both people the meeting's iCalendar invitation through the outbox, if the meeting
    is still at `sequence` (after a later change, that change's own email sends the newer
    version). Bookings queue the outbox rows themselves; this task serves a caller that only
    has the ids. Returns how many were sent."""
    meeting = Meeting.objects.filter(pk=meeting_id, sequence=sequence).first()
    if meeting is None:
        return 0
    with transaction.atomic():
        ids = invitations_queue(meeting=meeting, event=event, publish=False)
    return outbox_send(ids=ids)
