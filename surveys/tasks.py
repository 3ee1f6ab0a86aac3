"""Survey campaigns: open, invite, remind, close (R11). Thin: the calendar is in
surveys/campaigns.py, the exactly-once emails in surveys/delivery.py. Late acknowledgement and
rejection on a lost worker are set for every task in config/settings.py; each task here is
safe to run twice or at the same time as itself."""

from __future__ import annotations

import datetime

from celery import shared_task

from surveys import campaigns, delivery

__all__ = ["run_campaigns", "send_emails", "sweep_deliveries"]


def _same_queue(task) -> dict:
    """Follow-up work goes to the queue its parent came from (a deployment routing surveys
    apart, the R11 test's worker), as sessions_log.tasks_reminders does."""
    queue = (task.request.delivery_info or {}).get("routing_key")
    return {"queue": queue} if queue else {}


@shared_task(name="surveys.tasks.run_campaigns", bind=True)
def run_campaigns(self) -> int:
    """Periodic (every five minutes): close campaigns past their time, open those due and
    invite their people, invite people whose check-in or relationship end has come, claim the
    invitation emails and reminders due, gather each person's claims into their one survey
    email of the day, and queue the sends in batches. Returns how many emails were made. An
    email whose send is never queued (this task killed between the two) is sent by the
    sweeper; claims never gathered are gathered by the next run."""
    campaigns.campaigns_run()
    delivery.deliveries_claim()
    ids = delivery.emails_make()
    for start in range(0, len(ids), delivery.SEND_BATCH):
        send_emails.apply_async(
            args=[ids[start : start + delivery.SEND_BATCH]], **_same_queue(self)
        )
    return len(ids)


@shared_task(name="surveys.tasks.send_emails")
def send_emails(email_ids: list[int]) -> int:
    """Send a batch of survey emails; those sent, skipped or being sent by someone else are
    passed over."""
    return delivery.emails_send(email_ids=email_ids)


@shared_task(name="surveys.tasks.sweep_deliveries")
def sweep_deliveries(stale_seconds: int | None = None) -> int:
    """Periodic (every five minutes): send again the survey emails left unsent (a worker
    killed mid-send). `stale_seconds` overrides how old an unsent email must be."""
    if stale_seconds is None:
        return delivery.deliveries_sweep()
    return delivery.deliveries_sweep(stale_after=datetime.timedelta(seconds=stale_seconds))
