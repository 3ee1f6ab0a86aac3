"""The outbox's tasks: beat sweeps every registered table every minute, and the send task
sends a batch of outbox rows once however often it is delivered."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core import mail

from notify import tasks
from notify.invitations import invitation_queue
from notify.models import OutboxEmail


def test_the_outbox_sweep_is_on_the_beat_schedule_every_minute():
    (entry,) = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == tasks.sweep.name]
    assert entry["schedule"] == datetime.timedelta(minutes=1)


def test_a_send_task_delivered_twice_sends_once(learner, program_admin):
    pk = invitation_queue(user=learner, invited_by=program_admin)
    assert tasks.send_outbox.apply(args=[[pk]]).get() == 1
    assert tasks.send_outbox.apply(args=[[pk]]).get() == 0
    (message,) = mail.outbox
    assert message.to == [learner.email]
    assert message.subject.startswith(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX)
    learner.refresh_from_db()
    assert learner.invited_at is not None


def test_the_sweep_task_sends_a_row_whose_task_was_lost(learner):
    pk = invitation_queue(user=learner)  # its send task never published (no commit here)
    assert tasks.sweep.apply(kwargs={"stale_seconds": 0}).get() == 1
    assert tasks.sweep.apply(kwargs={"stale_seconds": 0}).get() == 0
    assert OutboxEmail.objects.get(pk=pk).sent_at is not None
    assert [m.to for m in mail.outbox] == [[learner.email]]


def test_an_inactive_person_is_not_emailed(learner):
    pk = invitation_queue(user=learner)
    learner.is_active = False
    learner.save(update_fields=["is_active"])
    assert tasks.send_outbox.apply(args=[[pk]]).get() == 0
    row = OutboxEmail.objects.get(pk=pk)
    assert row.skipped and row.skip_reason == "the recipient's account is inactive"
    assert mail.outbox == []
