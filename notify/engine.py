"""The R11 engine every claim table shares: claim, send under the row lock, sweep.

1. **Claim** (`claims_insert`): INSERT ... ON CONFLICT DO NOTHING RETURNING, so the unique
   constraint of the claim table lets exactly one inserter win however many run at once (a
   duplicated task, two beat processes), and only the winner sends.
2. **Send** (the table's `send`, over `send_each`): each claim in a transaction of its own
   that locks the row (SELECT ... FOR UPDATE SKIP LOCKED), re-checks that the message still
   applies, writes `sent_at`, hands the message to the mail server and commits. A duplicate
   task finds the row sent, or locked (someone is sending it right now) and moves on.
3. **Sweep** (`sweep`, from beat every minute): a claim still unsent its table's
   `stale_after` after it was claimed (its worker was killed mid-send, its task was lost, the
   broker was down) is taken with FOR UPDATE SKIP LOCKED, so two sweepers never take the same
   one, and sent again, waiting twice as long after each failed attempt; after MAX_ATTEMPTS it
   is given up and logged as an error.

Exactly once, and the honest exception: a worker killed before the mail server accepted the
message rolls its transaction back (the database drops a dead client's transaction), so the
claim stays unsent and the sweeper sends it: once in the end. A worker killed *after* the mail
server accepted it but before its COMMIT reached the database also rolls back, and that message
is sent twice. `sent_at` is written before the send, so that window is the COMMIT alone (one
round trip); no scheme can close it without a mail server that takes idempotency keys.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from celery.exceptions import SoftTimeLimitExceeded
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from notify import registry

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # the first send and four sweeps; then an error is logged
SWEEP_LIMIT = 500  # claims per table per sweep: one run stays well inside the task time limit
SEND_BATCH = 100  # claims per send task
FAILURES_IN_A_ROW = 3  # failed sends in a row that stop a batch: the mail server is down


def claims_insert(
    model: type[models.Model],
    fields: tuple[str, ...],
    rows: list[tuple],
    *,
    conflict: tuple[str, ...],
    returning: str | None = None,
) -> list[tuple]:
    """INSERT `rows` (values of `fields`) into `model`'s table ON CONFLICT (`conflict`) DO
    NOTHING; returns (id,) or (id, `returning`) of each row this call inserted: its claims
    (R11). bulk_create(ignore_conflicts=True) cannot say which rows were inserted, and only the
    inserter may send. Callers insert in one order (sorted keys): two inserting the same rows
    in different orders could deadlock; in the same order the second waits, then conflicts."""
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    target = ", ".join(quote(meta.get_field(name).column) for name in conflict)
    back = quote(meta.pk.column)
    if returning:
        back += ", " + quote(meta.get_field(returning).column)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: list[tuple] = []
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        # Only quoted names from the model's metadata and placeholders; values are parameters.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES {', '.join([placeholders] * len(chunk))} "
            f"ON CONFLICT ({target}) DO NOTHING RETURNING {back}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in row])
            inserted += [tuple(row) for row in cursor.fetchall()]
    return inserted


class Mailer:
    """One mail connection for a batch, opened at the first message (none if nothing is sent)."""

    def __init__(self) -> None:
        self.connection = None

    def send(self, message: EmailMultiAlternatives) -> None:
        if self.connection is None:
            self.connection = get_connection()
            self.connection.open()
        message.connection = self.connection
        message.send()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def send_each(pks: Iterable[int], send, now: datetime.datetime | None, retake=None) -> int:
    """Send the claims `pks` with `send`, over one mail connection; returns how many were sent.
    A failed send is logged and the next claim tried (its own claim stays unsent, for the
    sweeper), until FAILURES_IN_A_ROW fail in a row: the mail server is down, and the rest wait
    for the sweeper rather than each waiting out a timeout. `retake`, when given, must take
    each claim first (the sweeper's attempt count)."""
    mailer = Mailer()
    sent = failures = 0
    try:
        for pk in pks:
            if retake is not None and not retake(pk):
                continue
            try:
                sent += send(pk, mailer, now)
            except SoftTimeLimitExceeded:
                raise
            except Exception:
                logger.exception("R11: sending claim %s failed; it stays unsent", pk)
                mailer.close()  # a connection that failed is not reused
                failures += 1
                if failures >= FAILURES_IN_A_ROW:
                    logger.error("R11: %d sends failed in a row; the rest wait", failures)
                    break
            else:
                failures = 0
    finally:
        mailer.close()
    return sent


def claims_stale(
    now: datetime.datetime, stale_after: datetime.timedelta, *, skippable: bool = True
) -> Q:
    """Unsent claims whose last attempt is old enough for another: `stale_after` after the
    first, then twice as long after each further attempt (3, 6, 12, 24 minutes, then given up
    after 48 more, for three minutes), so a mail server down for an hour does not use up every
    attempt. Claims of a `skippable` table that were claimed skipped are never sent."""
    condition = Q()
    for attempts in range(1, MAX_ATTEMPTS + 1):
        condition |= Q(attempts=attempts, claimed_at__lte=now - stale_after * 2 ** (attempts - 1))
    unsent = Q(sent_at__isnull=True, skipped=False) if skippable else Q(sent_at__isnull=True)
    return unsent & condition


def claim_retake(
    model: type[models.Model],
    pk: int,
    stale: Q,
    now: datetime.datetime,
    *,
    given_up: dict | None = None,
) -> bool:
    """Take a stale unsent claim for one more attempt (R11): lock it (SKIP LOCKED: a row being
    sent, or taken by another sweeper, is not ours), count the attempt and move `claimed_at` to
    now, committed before the send, so a crash mid-send still counts and the next attempt
    waits its turn. After MAX_ATTEMPTS the claim is given up: an error is logged, once, and
    `attempts` is set past MAX_ATTEMPTS, which the sweeper passes over (with the `given_up`
    field values, if the model records more)."""
    with transaction.atomic():
        row = model.objects.select_for_update(skip_locked=True).filter(stale, pk=pk).first()
        if row is None:
            return False
        if row.attempts >= MAX_ATTEMPTS:
            logger.error(
                "R11: gave up on %s %s after %d attempts: never sent",
                model._meta.model_name,
                pk,
                row.attempts,
            )
            row.attempts = MAX_ATTEMPTS + 1
            for name, value in (given_up or {}).items():
                setattr(row, name, value)
            row.save(update_fields=["attempts", *(given_up or {})])
            return False
        row.attempts += 1
        row.claimed_at = now
        row.save(update_fields=["attempts", "claimed_at"])
    return True


def sweep_table(
    table: registry.ClaimTable,
    *,
    now: datetime.datetime | None = None,
    stale_after: datetime.timedelta | None = None,
    limit: int = SWEEP_LIMIT,
) -> int:
    """Send again the claims of `table` left unsent `stale_after` (the table's own by default)
    after they were claimed, longer after each further attempt (`claims_stale`). Two sweepers
    never send the same claim (FOR UPDATE SKIP LOCKED), and a claim a worker is sending right
    now is locked, so passed over. Returns how many were sent."""
    given_now = now
    now = now or timezone.now()
    if stale_after is None:
        stale_after = table.stale_after
    stale = claims_stale(now, stale_after, skippable=table.skippable)
    model = table.model
    pks = list(
        model.objects.filter(stale).order_by("claimed_at").values_list("pk", flat=True)[:limit]
    )
    return send_each(
        pks,
        table.send,
        given_now,
        retake=lambda pk: claim_retake(model, pk, stale, now, given_up=dict(table.given_up)),
    )


def sweep(
    *,
    now: datetime.datetime | None = None,
    tables: Iterable[registry.ClaimTable] | None = None,
    stale_after: datetime.timedelta | None = None,
    limit: int = SWEEP_LIMIT,
) -> int:
    """Sweep every registered claim table (or `tables`); returns how many claims were sent."""
    sent = 0
    for table in registry.tables() if tables is None else tables:
        done = sweep_table(table, now=now, stale_after=stale_after, limit=limit)
        if done:
            logger.warning("R11: the sweeper sent %d %s claims left unsent", done, table.name)
        sent += done
    return sent
