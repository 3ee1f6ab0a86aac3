"""Tasks of the outbox (R11). Thin: the work and its guarantees are in notify/engine.py and
notify/outbox.py. Late acknowledgement and rejection on a lost worker are set for every task
in settings; each task here is safe to run twice."""

from __future__ import annotations

import datetime

from celery import shared_task

from notify import engine, outbox

__all__ = ["send_outbox", "sweep"]


@shared_task(name="notify.tasks.send_outbox")
def send_outbox(ids: list[int]) -> int:
    """Send outbox rows; those sent, skipped or being sent by someone else are passed over."""
    return outbox.outbox_send(ids=ids)


@shared_task(name="notify.tasks.sweep")
def sweep(stale_seconds: int | None = None) -> int:
    """Periodic (every minute): send again the claims of every registered table left unsent
    (a worker killed mid-send, a task lost while the broker was down). `stale_seconds`
    overrides how old an unsent claim must be (tests, operators)."""
    if stale_seconds is None:
        return engine.sweep()
    return engine.sweep(stale_after=datetime.timedelta(seconds=stale_seconds))
