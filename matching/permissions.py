"""Match runs belong to the administrators of their program (R8, R9)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from matching.models import MatchRun, Proposal


def get_administered_run_or_404(user, code) -> MatchRun:
    return get_object_or_404(
        MatchRun.objects.administered_by(user).select_related("program", "term"), code=code
    )


def get_administered_proposal_or_404(user, code) -> Proposal:
    return get_object_or_404(
        Proposal.objects.administered_by(user).select_related("run__program", "learner", "guide"),
        code=code,
    )
