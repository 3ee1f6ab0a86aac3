"""What notify sends, as registered by the apps that own it (notify never imports them).

Two things can be registered:
- a **claim table** (`ClaimTable`): a model whose rows are claims (fields `claimed_at`,
  `attempts`, `sent_at`, and `skipped` when `skippable`), with the function that sends one
  claim under its row lock. The sweeper (`notify.engine.sweep`) walks every registered table.
- an **outbox kind** (`OutboxKind`): an email with no table of its own, queued as a generic
  `notify.OutboxEmail` row (`notify.outbox.email_queue`) and prepared at send time from the
  ids in the row's parameters.

Apps register in their AppConfig.ready (or at the top of the module the kind lives in, imported
from ready), so that every process (web, worker, beat) knows every kind before it sends.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

_tables: dict[str, ClaimTable] = {}
_kinds: dict[str, OutboxKind] = {}


@dataclass(frozen=True)
class ClaimTable:
    """A table of claims (R11) and how one of them is sent.

    `send(pk, mailer, now)` must: lock the row (FOR UPDATE SKIP LOCKED) among the unsent ones,
    re-check that the message still applies (else mark it skipped or withdraw it), write
    `sent_at`, hand the message to `mailer` and return True, all in one transaction."""

    name: str
    model: Any
    send: Callable[..., bool]
    stale_after: datetime.timedelta
    kinds: tuple[str, ...] = ()
    skippable: bool = True
    given_up: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Prepared:
    """An email ready to render: templates/emails/<template>_subject.txt, _body.txt and
    _body.html with `context`, and (filename, content, mimetype, params) attachments."""

    template: str
    context: dict
    attachments: tuple = ()
    subject_prefix: str = ""


@dataclass(frozen=True)
class OutboxKind:
    """An email queued as a generic outbox row. `prepare(row, now)` reads the row's ids again,
    re-checks that the email still applies and returns what to render, or a sentence saying
    why it no longer applies (the row is then skipped, nothing is sent)."""

    name: str
    prepare: Callable[..., Prepared | str]


def register_table(table: ClaimTable) -> ClaimTable:
    for name in ("claimed_at", "attempts", "sent_at", *(("skipped",) if table.skippable else ())):
        table.model._meta.get_field(name)  # a table without the claim fields is refused here
    _tables[table.name] = table
    return table


def register_kind(kind: OutboxKind) -> OutboxKind:
    _kinds[kind.name] = kind
    return kind


def tables() -> list[ClaimTable]:
    return list(_tables.values())


def table(name: str) -> ClaimTable:
    return _tables[name]


def kinds() -> dict[str, OutboxKind]:
    return dict(_kinds)


def kind(name: str) -> OutboxKind | None:
    return _kinds.get(name)
