"""A learner's requests for times (TimeRequest), and how a guide's new slots answer them:
adding a slot the learner may book closes the request and emails the learner."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from mentoring.models import Relationship
from sessions_log.models import Slot, TimeRequest
from sessions_log.tasks_booking import notify_time_request


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
            notify_time_request.delay_on_commit(request.pk, "answered")
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
