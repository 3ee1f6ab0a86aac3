"""The mentoring agreement's reminder (R11). Thin: the work and its guarantees are in
`mentoring/agreement_reminders.py`. Imported by mentoring/tasks.py, which Celery autodiscovers."""

from __future__ import annotations

from celery import shared_task

from mentoring import agreement_reminders

__all__ = ["send_agreement_reminders"]


@shared_task(name="mentoring.tasks.send_agreement_reminders")
def send_agreement_reminders() -> int:
    """Periodic (hourly): claim the reminders now due (each person who has not agreed, once
    per relationship, `program.agreement_due_days` after it started), send them, then send
    again any claim an earlier run left unsent. Safe to run twice or at the same time."""
    sent = agreement_reminders.reminders_send(reminder_ids=agreement_reminders.reminders_claim())
    return sent + agreement_reminders.reminders_sweep()
