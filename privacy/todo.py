"""What the access log asks of the privacy officer today, for their home page (`config.home`
orders the items): refusals and operators' changes to accounts since the officer last marked
the log as reviewed (at most the last 30 days), counted in one query, each a link to the log
filtered to them. Never the content of a record (R4)."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from accounts.todo import SOON, TODO, TodoItem, reviewed_at
from mentoring.models import AccessLogEntry

RECENT_DAYS = 30
SUBJECT = "access-log"  # accounts.todo.review_mark's subject for the officer's review


def access_log_items(user, now: datetime.datetime) -> list[TodoItem]:
    since = now - datetime.timedelta(days=RECENT_DAYS)
    last = reviewed_at(user, SUBJECT)
    reviewed = last is not None and last > since
    if reviewed:
        since = last
    span = "since you last reviewed the log" if reviewed else f"in the last {RECENT_DAYS} days"
    counts = AccessLogEntry.objects.filter(at__gt=since).aggregate(
        refused=Count("id", filter=Q(outcome=AccessLogEntry.Outcome.REFUSED)),
        operator=Count("id", filter=Q(action=AccessLogEntry.Action.OPERATOR)),
    )
    date_from = timezone.localdate(since).isoformat()
    log = reverse("privacy:access-log")
    items = []
    refused, operator = counts["refused"], counts["operator"]
    if refused:
        items.append(
            TodoItem(
                f"{refused} refused attempt{'s' if refused != 1 else ''} to open a "
                f"confidential record {span}",
                f"{log}?{urlencode({'outcome': 'refused', 'date_from': date_from})}",
                detail="Who tried, which record and why they were refused.",
                priority=SOON,
                kind="access-refused",
            )
        )
    if operator:
        items.append(
            TodoItem(
                f"{operator} change{'s' if operator != 1 else ''} to accounts by an operator "
                f"{span}",
                f"{log}?{urlencode({'action': 'operator', 'date_from': date_from})}",
                detail="Which account and which fields, never the values.",
                priority=TODO,
                kind="access-operator",
            )
        )
    items.append(
        TodoItem(
            "Open the access log of confidential records",
            log,
            detail="Who opened, changed or was refused a confidential note, and when.",
            priority=TODO + 1,
            kind="access-log",
        )
    )
    return items
