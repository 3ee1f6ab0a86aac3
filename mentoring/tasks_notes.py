"""Periodic task of the confidential notes (R4): erase the notes whose retention is over.

Scheduled by beat (settings.CELERY_BEAT_SCHEDULE "erase-expired-notes"); finds its work in the
database each run, so a missed or repeated run changes nothing.
"""

from __future__ import annotations

import logging

from celery import shared_task

from mentoring import notes

__all__ = ["erase_expired_notes"]

logger = logging.getLogger(__name__)


@shared_task(name="mentoring.tasks.erase_expired_notes")
def erase_expired_notes() -> int:
    """Erase expired notes (each logged in the access log); returns how many."""
    erased = notes.notes_erase_expired()
    # A count only: never a note, its code or its relationship.
    logger.info("erased %s confidential note(s) past their retention period", erased)
    return erased
