"""The generic outbox row, for every email that has no claim table of its own."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class OutboxEmail(models.Model):
    """R11: the claim on one email of a registered outbox kind (notify.registry.OutboxKind).

    Inserted in the transaction of the change that causes the email (so it exists if and only
    if the change committed, whatever the broker does), unique per `key`: the same event queued
    twice (a retried request, a duplicated task) is one email. `params` holds ids and short
    codes only, never confidential text: the email is prepared from the database at send time,
    so what it says is what is true then. `sent_at` is written under the row lock before the
    send; the sweeper sends rows left unsent."""

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=200, help_text="What makes this email one: kind and ids.")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    params = models.JSONField(default=dict, blank=True, help_text="Ids and codes only.")
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    skipped = models.BooleanField(default=False, help_text="No longer applied when sent.")
    skip_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="outbox_email_once")]
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=Q(sent_at__isnull=True, skipped=False),
                name="outbox_email_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient_id} ({self.key})"
