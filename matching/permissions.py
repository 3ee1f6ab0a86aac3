"""Match runs belong to the administrators of their program (R8, R9)."""

from __future__ import annotations

from matching.models import MatchRun, Proposal
from mentoring.permissions import get_administered_or_404


def get_administered_run_or_404(user, code) -> MatchRun:
    return get_administered_or_404(
        user, MatchRun.objects.select_related("program", "term", "superseded_by"), code=code
    )


def get_administered_proposal_or_404(user, code) -> Proposal:
    return get_administered_or_404(
        user, Proposal.objects.select_related("run__program", "learner", "guide"), code=code
    )
