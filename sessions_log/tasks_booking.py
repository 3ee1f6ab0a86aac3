"""Tasks of availability and booking: slot expansion, invitation emails."""

from __future__ import annotations

import logging

from celery import shared_task

__all__ = ["expand_availability", "notify_time_request", "send_meeting_invitation"]

logger = logging.getLogger(__name__)


@shared_task(name="sessions_log.tasks.expand_availability")
def expand_availability() -> int:
    """Periodic (beat): weekly patterns become slots MEETING_SLOT_WEEKS ahead. Idempotent, so a
    duplicate or a second beat does nothing more. Returns the number of slots created."""
    from sessions_log.availability import expand_patterns

    expansion = expand_patterns()
    if expansion.skipped:
        logger.info("expand_availability skipped %d overlapping times", len(expansion.skipped))
    return len(expansion.created)


@shared_task(name="sessions_log.tasks.send_meeting_invitation")
def send_meeting_invitation(meeting_id: int, sequence: int, event: str) -> None:
    """Email both people the meeting's iCalendar invitation, read again from the database. Sent
    only if the meeting is still at `sequence`: after a later change, that change's own task
    sends the newer version (calendar apps would ignore the older one anyway)."""
    from sessions_log.calendar import invitation_send
    from sessions_log.models import Meeting

    meeting = (
        Meeting.objects.filter(pk=meeting_id, sequence=sequence)
        .select_related(
            "relationship__program",
            "relationship__guide__profile",
            "relationship__learner__profile",
        )
        .first()
    )
    if meeting is not None:
        invitation_send(meeting=meeting, event=event)


@shared_task(name="sessions_log.tasks.notify_time_request")
def notify_time_request(request_id: int, event: str) -> None:
    """Email about a request for times: the guide when a learner asks ("asked", sent only while
    the request is open), the learner when a new slot answers it ("answered")."""
    from sessions_log.booking import time_request_notify
    from sessions_log.models import TimeRequest

    request = (
        TimeRequest.objects.filter(pk=request_id, answered_at__isnull=(event == "asked"))
        .select_related("relationship__program", "relationship__guide", "relationship__learner")
        .first()
    )
    if request is not None:
        time_request_notify(request=request, event=event)
