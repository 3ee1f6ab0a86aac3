"""Requests for times: a learner who finds no free slot asks the guide for some
(`booking.time_request_create`); a new slot the learner may book answers the request
(`time_requests_answer`, from availability). Each step emails the other person through the
outbox (notify): one email per request and event."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from mentoring.models import Relationship
from notify.outbox import email_queue
from notify.registry import OutboxKind, Prepared, register_kind
from sessions_log.models import Slot, TimeRequest

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


def slot_allows(program_ids: Iterable[int], program_id: int) -> bool:
    """A slot kept for some programs is bookable only in those; no restriction: any."""
    program_ids = list(program_ids)
    return not program_ids or program_id in program_ids


def open_time_requests(guide) -> QuerySet[TimeRequest]:
    """Requests for times that learners of `guide`'s active relationships have not had
    answered, oldest first."""
    return (
        TimeRequest.objects.filter(
            answered_at__isnull=True,
            relationship__guide=guide,
            relationship__status=Relationship.Status.ACTIVE,
        )
        .select_related("relationship__learner", "relationship__program")
        .order_by("created_at")
    )


def time_requests_answer(
    *, guide, slots: list[Slot], program_ids: dict[int, list[int]] | None = None
) -> list[TimeRequest]:
    """Close each open request of `guide`'s learners that one of the new `slots` answers (a
    slot they may book) and email the learner when the transaction commits."""
    if not slots:
        return []
    if program_ids is None:
        program_ids = {s.pk: [p.pk for p in s.programs.all()] for s in slots}
    answered = []
    now = timezone.now()
    for request in open_time_requests(guide).select_for_update(of=("self",)):
        program_id = request.relationship.program_id
        if any(slot_allows(program_ids.get(s.pk, []), program_id) for s in slots):
            request.answered_at = now
            request.save(update_fields=["answered_at"])
            time_request_queue(request=request, event="answered")
            answered.append(request)
    return answered


def answer_with(guide, created: list[Slot], program_ids: list[int]) -> None:
    """Answer the open requests the slots just `created` (from a pattern, restricted to the
    pattern's `program_ids`) may serve."""
    if created:
        time_requests_answer(
            guide=guide,
            slots=created,
            program_ids={s.pk: program_ids for s in created},
        )
