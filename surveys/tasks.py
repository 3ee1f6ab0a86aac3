"""Survey campaigns: open, invite, remind, close (R11). Thin: the calendar is in
surveys/campaigns.py, the exactly-once emails in surveys/delivery.py. Late acknowledgement and
rejection on a lost worker are set for every task in mentoring/settings.py; each task here is
safe to run twice or at the same time as itself."""

from __future__ import annotations

import datetime

from celery import shared_task

from surveys import campaigns, delivery

__all__ = ["run_campaigns", "send_deliveries", "sweep_deliveries"]


def _same_queue(task) -> dict:
    """Follow-up work goes to the queue its parent came from (a deployment routing surveys
    apart, the R11 test's worker), as sessions_log.tasks_reminders does."""
    queue = (task.request.delivery_info or {}).get("routing_key")
    return {"queue": queue} if queue else {}


@shared_task(name="surveys.tasks.run_campaigns", bind=True)
def run_campaigns(self) -> int:
    """Periodic (every five minutes): close campaigns past their time, open those due and
    invite their people, invite people whose check-in or relationship end has come, then claim
    the invitation emails and reminders due and queue their sends in batches. A claim whose
    send is never queued (this task killed between the two) is sent by the sweeper."""
    campaigns.campaigns_run()
    ids = delivery.deliveries_claim()
    for start in range(0, len(ids), delivery.SEND_BATCH):
        send_deliveries.apply_async(
            args=[ids[start : start + delivery.SEND_BATCH]], **_same_queue(self)
        )
    return len(ids)


@shared_task(name="surveys.tasks.send_deliveries")
def send_deliveries(delivery_ids: list[int]) -> int:
    """Send a batch of claimed survey emails; those sent, skipped or being sent by someone
    else are passed over."""
    return delivery.deliveries_send(delivery_ids=delivery_ids)


@shared_task(name="surveys.tasks.sweep_deliveries")
def sweep_deliveries(stale_seconds: int | None = None) -> int:
    """Periodic (every five minutes): send again the survey emails left unsent (a worker
    killed mid-send). `stale_seconds` overrides how old an unsent claim must be."""
    if stale_seconds is None:
        return delivery.deliveries_sweep()
    return delivery.deliveries_sweep(stale_after=datetime.timedelta(seconds=stale_seconds))
