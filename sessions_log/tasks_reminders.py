"""Tasks of reminders and nudges (R11). Thin: the work and its guarantees are in
`sessions_log/reminders.py`. Late acknowledgement and rejection on a lost worker are set for
every task in config/settings.py; a task killed mid-run is run again, and every task here is
safe to run twice."""

from __future__ import annotations

import datetime

from celery import shared_task

from notify import engine
from sessions_log import digests, reminders

__all__ = [
    "dispatch_reminders",
    "send_deliveries",
    "send_nudge_digests",
    "sweep_deliveries",
]


def _same_queue(task) -> dict:
    """Follow-up work goes to the queue its parent came from, so workers given a queue of their
    own (a deployment routing reminders apart, the R11 test's worker) do all of it."""
    queue = (task.request.delivery_info or {}).get("routing_key")
    return {"queue": queue} if queue else {}


@shared_task(name="sessions_log.tasks.dispatch_reminders", bind=True)
def dispatch_reminders(self) -> int:
    """Periodic (every minute): claim the reminders and nudges due now, then queue their sends
    in batches. A claim whose send is never queued (this task killed between the two) is sent
    by the sweeper."""
    ids = reminders.dispatch_due()
    for start in range(0, len(ids), engine.SEND_BATCH):
        send_deliveries.apply_async(
            args=[ids[start : start + engine.SEND_BATCH]], **_same_queue(self)
        )
    return len(ids)


@shared_task(name="sessions_log.tasks.send_deliveries")
def send_deliveries(delivery_ids: list[int]) -> int:
    """Send a batch of claimed deliveries; those already sent, skipped or being sent by someone
    else are passed over."""
    return reminders.deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="sessions_log.tasks.sweep_deliveries")
def sweep_deliveries(stale_seconds: int | None = None) -> int:
    """Send again the meeting claims left unsent (a worker killed mid-send); beat runs the
    outbox's sweeper (notify.tasks.sweep), which covers these tables and every other.
    `stale_seconds` overrides how old an unsent claim must be (tests, operators)."""
    if stale_seconds is None:
        return reminders.deliveries_sweep()
    return reminders.deliveries_sweep(stale_after=datetime.timedelta(seconds=stale_seconds))


@shared_task(name="sessions_log.tasks.send_nudge_digests")
def send_nudge_digests() -> int:
    """Periodic (weekly): claim this week's digest for each person who chose one, and send
    them. A digest left unsent by a killed worker is sent by the sweeper."""
    return digests.digests_send(digest_ids=digests.digests_claim())
