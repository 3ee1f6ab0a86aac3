"""The one idiom for a service to queue a task: `enqueue(task, *args)`.

Services queue tasks; tasks import services (HackSoft). The task is published after the
caller's transaction commits (`transaction.on_commit`), so a worker never reads a row that is
not there yet, and a rolled-back change queues nothing.

A broker that is down or hung never fails or stalls a request (R11): the publish uses a
connection of its own with short timeouts and no retries, and a failure is logged, not raised.
After a failure this process stops trying for BACKOFF_SECONDS, so an outage costs one short
timeout per process per interval, not one per request. A task whose publish fails is not lost
when its work is in the database: emails are outbox rows the sweeper sends (beat, once the
broker is back), match runs are requeued by `recover_match_runs`.
"""

from __future__ import annotations

import logging
import time

from django.db import transaction

logger = logging.getLogger(__name__)

# A healthy broker answers a publish in milliseconds; a request never waits longer than this
# (one connect, one command) for one that does not.
PUBLISH_TIMEOUT = 0.4
BACKOFF_SECONDS = 15.0

_down_until = 0.0


def _connection(app):
    """A connection of its own to the broker, with short timeouts and no retries."""
    return app.connection_for_write(
        connect_timeout=PUBLISH_TIMEOUT,
        transport_options={
            "socket_timeout": PUBLISH_TIMEOUT,
            "socket_connect_timeout": PUBLISH_TIMEOUT,
            "max_retries": 0,
        },
    )


def broker_reachable(app) -> bool:
    """Whether the broker answers now, within PUBLISH_TIMEOUT (/healthz)."""
    try:
        with _connection(app) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=1)
    except Exception:
        return False
    return True


def publish(task, args=(), kwargs=None, **options) -> bool:
    """Publish `task` now; True if the broker took it. Never raises for a broker fault."""
    global _down_until
    app = task.app
    if app.conf.task_always_eager:
        task.apply_async(args, kwargs, **options)
        return True
    if time.monotonic() < _down_until:
        logger.warning("broker down: %s not queued; its work waits in the database", task.name)
        return False
    try:
        with _connection(app) as conn:
            task.apply_async(args, kwargs, connection=conn, retry=False, **options)
    except Exception as exc:
        _down_until = time.monotonic() + BACKOFF_SECONDS
        logger.warning(
            "broker unreachable (%s): %s not queued; its work waits in the database",
            exc,
            task.name,
        )
        return False
    return True


def broker_reset() -> None:
    """Forget a broker failure (tests; an operator who knows the broker is back)."""
    global _down_until
    _down_until = 0.0


def enqueue(task, *args, **kwargs) -> None:
    """Queue `task(*args, **kwargs)` once the current transaction commits (at once outside
    one), without ever failing or stalling the caller on the broker."""
    transaction.on_commit(lambda: publish(task, args, kwargs))
