"""The emails of matching, sent through the outbox (notify, R11): the self-match request
notices (to the guide when a learner asks, to the learner when it is accepted, declined or
expires) and the pairing notice to both people of an approved pair.

Each is one outbox row queued in the transaction of the change (`*_queue`), holding ids only,
and prepared when sent: names, program, dates and a link; the learner's message and the
guide's reply stay in the app.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts.times import zone_of
from matching.models import MatchRequest
from mentoring.models import Relationship
from notify.outbox import email_queue, keys_send
from notify.registry import OutboxKind, Prepared, register_kind

REQUEST_KIND = "match-request"
PAIRING_KIND = "pairing"

# The state a request must still be in for an event's email to go out: a late "sent" after
# the guide answered, or a "declined" while it is still pending, sends nothing.
EVENT_STATE = {
    "sent": MatchRequest.State.PENDING,
    "accepted": MatchRequest.State.ACCEPTED,
    "declined": MatchRequest.State.DECLINED,
    "expired": MatchRequest.State.EXPIRED,
}


def request_queue(*, match_request: MatchRequest, event: str, publish: bool = True) -> int | None:
    """Queue the one email about `event` of a request: to the guide when it is sent, to the
    learner otherwise."""
    recipient = match_request.guide_id if event == "sent" else match_request.learner_id
    return email_queue(
        kind=REQUEST_KIND,
        key=f"{match_request.pk}:{event}",
        recipient=recipient,
        params={"request": match_request.pk, "event": event},
        publish=publish,
    )


def request_notify(*, match_request: MatchRequest, event: str) -> int:
    """Queue the request's email for `event` (if it was not, and the request is in the state
    the event describes: an early or late event must not queue a row that would stand for the
    real one) and send it now; returns how many were sent (a task with the ids only)."""
    with transaction.atomic():
        if MatchRequest.objects.filter(pk=match_request.pk, state=EVENT_STATE[event]).exists():
            request_queue(match_request=match_request, event=event, publish=False)
    return keys_send(kind=REQUEST_KIND, keys=[f"{match_request.pk}:{event}"])


def _request_prepare(row, now: datetime.datetime):
    event = row.params["event"]
    match_request = (
        MatchRequest.objects.filter(pk=row.params["request"], state=EVENT_STATE[event])
        .select_related("program", "learner", "guide", "relationship")
        .first()
    )
    if match_request is None:
        return f"the request is no longer {EVENT_STATE[event]}"
    program = match_request.program
    if event == "sent":
        other = match_request.learner
        url = reverse("choosing:offer", kwargs={"code": program.code})
    elif event == "accepted" and match_request.relationship_id:
        other = match_request.guide
        url = reverse(
            "mentoring:relationship-detail", kwargs={"code": match_request.relationship.code}
        )
    else:
        other = match_request.guide
        url = reverse("choosing:choose", kwargs={"code": program.code})
    context = {
        "event": event,
        "other": other,
        "program": program,
        "guide_noun": program.guide_role,
        "match_request": match_request,
        "answer_by": match_request.expires_at,
        "zone": zone_of(row.recipient).key,
        "url": settings.SITE_URL + url,
    }
    return Prepared("match_request", context)


def pairing_queue(*, relationship: Relationship, publish: bool = True) -> list[int]:
    """Queue the pairing notice to both people of a new matched relationship: who the other
    is and how to reach them."""
    queued = []
    for recipient_id in (relationship.learner_id, relationship.guide_id):
        pk = email_queue(
            kind=PAIRING_KIND,
            key=f"{relationship.pk}:{recipient_id}",
            recipient=recipient_id,
            params={"relationship": relationship.pk},
            publish=publish,
        )
        if pk is not None:
            queued.append(pk)
    return queued


def pairing_notify(*, relationship: Relationship) -> int:
    """Queue the pairing notices (if they were not) and send them now; returns how many."""
    with transaction.atomic():
        pairing_queue(relationship=relationship, publish=False)
    keys = [f"{relationship.pk}:{pk}" for pk in (relationship.learner_id, relationship.guide_id)]
    return keys_send(kind=PAIRING_KIND, keys=keys)


def _pairing_prepare(row, now: datetime.datetime):
    relationship = (
        Relationship.objects.filter(
            pk=row.params["relationship"],
            status__in=[Relationship.Status.ACTIVE, Relationship.Status.PAUSED],
        )
        .select_related("program", "guide", "learner")
        .first()
    )
    if relationship is None:
        return "the relationship no longer stands"
    recipient = row.recipient
    is_learner = recipient.pk == relationship.learner_id
    return Prepared(
        "pairing",
        {
            "other": relationship.guide if is_learner else relationship.learner,
            "relationship": relationship,
            "is_learner": is_learner,
            "guide_noun": relationship.guide_noun,
            "learner_noun": relationship.learner_noun,
            "relationship_url": settings.SITE_URL
            + reverse("mentoring:relationship-detail", kwargs={"code": relationship.code}),
        },
    )


register_kind(OutboxKind(REQUEST_KIND, _request_prepare))
register_kind(OutboxKind(PAIRING_KIND, _pairing_prepare))
