"""Emails about a request for times (a learner finds no free slot and asks the guide for
some), sent through the outbox (notify): one email per request and event."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.urls import reverse

from notify.outbox import email_queue
from notify.registry import OutboxKind, Prepared, register_kind
from sessions_log.models import TimeRequest

TIME_REQUEST_KIND = "meeting-time-request"


def time_request_queue(*, request: TimeRequest, event: str) -> int | None:
    """Queue one email about a request for times, through the outbox: to the guide when asked
    ("asked"), to the learner when a new slot answers it ("answered")."""
    relationship = request.relationship
    recipient = relationship.guide_id if event == "asked" else relationship.learner_id
    return email_queue(
        kind=TIME_REQUEST_KIND,
        key=f"{request.pk}:{event}",
        recipient=recipient,
        params={"request": request.pk, "event": event},
    )


def _time_request_prepare(row, now: datetime.datetime):
    """Names, program and a link only: the learner's message stays in the app. "asked" is sent
    only while the request is open, "answered" once it is answered."""
    event = row.params["event"]
    request = (
        TimeRequest.objects.filter(pk=row.params["request"], answered_at__isnull=(event == "asked"))
        .select_related("relationship__program", "relationship__guide", "relationship__learner")
        .first()
    )
    if request is None:
        return "the request is answered or gone" if event == "asked" else "the request is gone"
    relationship = request.relationship
    if event == "asked":
        other, url = relationship.learner, reverse("meetings:availability")
    else:
        other = relationship.guide
        url = reverse("meetings:book", kwargs={"code": relationship.code})
    context = {
        "event": event,
        "other": other,
        "program": relationship.program,
        "url": settings.SITE_URL + url,
    }
    return Prepared("meeting_time_request", context)


register_kind(OutboxKind(TIME_REQUEST_KIND, _time_request_prepare))
