"""What a person's download holds of matching, registered with `@section` (see
accounts/privacy_registry.py): their own ranked choices (never who ranked them), the requests
to be paired they sent or received, and the terms they opted out of.

Erasure: the notes of their requests are blanked, pending requests closed, ranked choices
deleted; match runs' reports lose their name and address."""

from __future__ import annotations

from django.db.models import Q

from accounts.privacy_registry import Erasure, erasure_step, name_copies, section
from matching.models import Choice, MatchRequest, MatchRun, TermOptOut
from mentoring.export_context import ExportContext


@section(
    "match_choices",
    order=170,
    title="Your ranked choices",
    description="The people you ranked for matching, best first. Who ranked you is not "
    "shown to anyone, so it is not here either.",
    columns="program side rank person created_at",
)
def _match_choices(ctx: ExportContext) -> list[dict]:
    return [
        {
            "program": c.program.name,
            "side": c.side,
            "rank": c.rank,
            "person": c.chosen.full_name,
            "created_at": c.created_at,
        }
        for c in Choice.objects.filter(chooser=ctx.user)
        .select_related("program", "chosen")
        .order_by("program__name", "side", "rank")
    ]


@section(
    "match_requests",
    order=180,
    title="Requests to be paired",
    description="Requests you sent to a guide, or received from a learner, with their notes.",
    columns=(
        "code program direction other_person state message reply created_at expires_at answered_at"
    ),
)
def _match_requests(ctx: ExportContext) -> list[dict]:
    user = ctx.user
    # A guide never sees a request the learner withdrew (as on the guide's page).
    requests = (
        MatchRequest.objects.filter(
            Q(learner=user) | (Q(guide=user) & ~Q(state=MatchRequest.State.WITHDRAWN))
        )
        .select_related("program", "learner", "guide")
        .order_by("created_at", "pk")
    )
    return [
        {
            "code": q.code,
            "program": q.program.name,
            "direction": "sent" if q.learner_id == user.pk else "received",
            "other_person": (q.guide if q.learner_id == user.pk else q.learner).full_name,
            "state": q.state,
            "message": q.message,
            "reply": q.reply,
            "created_at": q.created_at,
            "expires_at": q.expires_at,
            "answered_at": q.answered_at,
        }
        for q in requests
    ]


@section(
    "term_opt_outs",
    order=190,
    title="Terms you opted out of",
    description="Terms in which you took no new learners.",
    columns="program term created_at",
)
def _term_opt_outs(ctx: ExportContext) -> list[dict]:
    return [
        {"program": o.term.program.name, "term": o.term.name, "created_at": o.created_at}
        for o in TermOptOut.objects.filter(guide=ctx.user).select_related("term__program")
    ]


# --- Erasure ------------------------------------------------------------------------------------
name_copies(MatchRun, "approval_report", "error")


@erasure_step(order=110)
def _erase_matching(erasure: Erasure) -> dict[str, int]:
    user, now = erasure.user, erasure.now
    counts = {}
    requests = MatchRequest.objects.filter(Q(learner=user) | Q(guide=user))
    counts["match request notes blanked"] = erasure.update(
        requests.filter(~Q(message="") | ~Q(reply="")), message="", reply=""
    )
    pending = requests.filter(state=MatchRequest.State.PENDING)
    counts["pending match requests closed"] = erasure.update(
        pending.filter(learner=user), state=MatchRequest.State.WITHDRAWN, answered_at=now
    ) + erasure.update(
        pending.filter(guide=user), state=MatchRequest.State.DECLINED, answered_at=now
    )
    counts["ranked choices deleted"] = erasure.delete(Choice.objects.filter(chooser=user))
    return counts
