"""The generic outbox: emails with no claim table of their own (R11).

`email_queue(kind=..., key=..., recipient=..., params=...)` is what a service calls, inside the
transaction of the change the email is about: it inserts one `OutboxEmail` row (ON CONFLICT
DO NOTHING on the unique `key`, so the same event queued twice is one email) and, once the
transaction commits, queues `notify.tasks.send_outbox` for it through `notify.broker` (never
failing or stalling the request when the broker is down). The row is sent as every claim is
(`notify.engine`): under its row lock, after the kind's `prepare` re-read the ids and said the
email still applies; a row whose task was lost is sent by the sweeper.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from accounts.times import zone_of
from notify import broker, engine, registry
from notify.models import OutboxEmail
from notify.render import render_email

logger = logging.getLogger(__name__)

SWEEP_AFTER = datetime.timedelta(minutes=1)  # a row unsent this long (its task lost) is swept


def email_queue(
    *,
    kind: str,
    key: str,
    recipient,
    params: dict | None = None,
    now: datetime.datetime | None = None,
    publish: bool = True,
) -> int | None:
    """Queue one email of the registered outbox `kind` to `recipient`, unique by `key` (the
    kind is prefixed); returns the new row's id, or None when `key` was queued before.
    `params`: ids and codes only, never confidential text (the email is prepared at send).
    `publish=False`: the caller sends the row itself (a task already in a worker)."""
    if registry.kind(kind) is None:
        raise ValueError(f"unknown outbox kind {kind!r}: register it in its app's ready()")
    inserted = engine.claims_insert(
        OutboxEmail,
        ("kind", "key", "recipient", "params", "claimed_at", "attempts", "skipped", "skip_reason"),
        [
            (
                kind,
                f"{kind}:{key}",
                getattr(recipient, "pk", recipient),
                json.dumps(params or {}),  # the database casts the text to jsonb
                now or timezone.now(),
                1,
                False,
                "",
            )
        ],
        conflict=("key",),
    )
    if not inserted:
        return None
    (pk,) = inserted[0]
    if publish:
        transaction.on_commit(functools.partial(_publish, pk))
    return pk


def _publish(pk: int) -> None:
    from notify.tasks import send_outbox  # the task module imports this one

    broker.publish(send_outbox, ([pk],))


def outbox_email_send(pk: int, mailer: engine.Mailer, now: datetime.datetime | None) -> bool:
    """Send one outbox row if it is unsent, unlocked and still applies; True if sent."""
    with transaction.atomic():
        row = (
            OutboxEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient__profile")
            .filter(pk=pk, sent_at__isnull=True, skipped=False)
            .first()
        )
        if row is None:
            return False  # sent, skipped, or being sent by another worker right now
        at = now or timezone.now()
        kind = registry.kind(row.kind)
        recipient = row.recipient
        if kind is None:
            reason = f"unknown kind {row.kind!r}"
        elif not recipient.is_active:
            reason = "the recipient's account is inactive"
        else:
            prepared = kind.prepare(row, at)
            reason = prepared if isinstance(prepared, str) else ""
        if reason:
            row.skipped = True
            row.skip_reason = reason[:200]
            row.save(update_fields=["skipped", "skip_reason"])
            logger.info("R11: outbox email %s (%s) not sent: %s", pk, row.kind, reason)
            return False
        message = render_email(
            prepared.template,
            {"recipient": recipient, **prepared.context},
            to=recipient.email,
            zone=zone_of(recipient),
            claim=f"outbox-{pk}",
            subject_prefix=prepared.subject_prefix,
            attachments=prepared.attachments,
        )
        row.sent_at = at
        row.save(update_fields=["sent_at"])
        mailer.send(message)
    return True


def keys_send(*, kind: str, keys: Iterable[str], now: datetime.datetime | None = None) -> int:
    """Send now the unsent rows of `kind` with these `keys` (as given to `email_queue`): for a
    task that has the ids of an event and wants its email out, however it was queued."""
    ids = OutboxEmail.objects.filter(
        key__in=[f"{kind}:{key}" for key in keys], sent_at__isnull=True, skipped=False
    ).values_list("pk", flat=True)
    return outbox_send(ids=list(ids), now=now)


def outbox_send(*, ids: Iterable[int], now: datetime.datetime | None = None) -> int:
    """Send the outbox rows `ids`, each in a transaction of its own; returns how many were
    sent. Safe to run twice, or beside the sweeper."""
    return engine.send_each(list(ids), outbox_email_send, now)


OUTBOX = registry.register_table(
    registry.ClaimTable(
        name="notify.outbox",
        model=OutboxEmail,
        send=outbox_email_send,
        stale_after=SWEEP_AFTER,
    )
)
