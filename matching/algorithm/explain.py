"""Proposals with their per-criterion breakdown in words, and why a learner is unmatched."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .features import BAN_FORBIDDEN, BAN_REMATCH, BAN_SELF, Compiled, score_pairs
from .optimal import CHUNK_ELEMENTS, slot_penalty
from .types import (
    Criteria,
    Criterion,
    Factor,
    Guide,
    Learner,
    Proposal,
    Unmatched,
    UnmatchedReason,
)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def join(items) -> str:
    items = sorted(items)
    if len(items) > 3:
        items = [*items[:3], f"{len(items) - 3} more"]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("ch", "sh", "s", "x")) else "s")


def _hours(slots: int, minutes: int) -> str:
    hours = slots * minutes / 60
    return f"{hours:g} h"


def factor_text(
    criterion: Criterion, learner: Learner, guide: Guide, criteria: Criteria, slot: int
) -> str:
    noun = criteria.guide_noun
    if criterion is Criterion.SPECIALTY:
        return f"both interested in {join(learner.specialties & guide.specialties)}"
    if criterion is Criterion.RESEARCH:
        return f"shared research interest in {join(learner.research & guide.research)}"
    if criterion is Criterion.LANGUAGE:
        return f"{noun} speaks {join(learner.languages & guide.languages)}"
    if criterion is Criterion.CAMPUS:
        return f"same campus ({learner.campus})"
    if criterion is Criterion.BACKGROUND:
        shared = join(learner.background_wishes & guide.background)
        return f"shares the background the learner asked for ({shared})"
    if criterion is Criterion.AVAILABILITY:
        common = (learner.availability & guide.availability).bit_count()
        return f"{_hours(common, criteria.slot_minutes)} of weekly availability in common"
    if criterion is Criterion.RANKED_CHOICE:
        rank = learner.ranked_guides.index(guide.id) + 1
        return f"learner ranked this {noun} {ordinal(rank)}"
    if criterion is Criterion.GUIDE_PREFERENCE:
        rank = guide.preferred_learners.index(learner.id) + 1
        return f"{noun} ranked this learner {ordinal(rank)}"
    if criterion is Criterion.CONTINUITY:
        return f"continues with the learner's previous {noun}"
    return f"{ordinal(slot)} learner of this {noun}'s {guide.capacity} places (load balance)"


def proposals(
    compiled: Compiled,
    learners: Sequence[Learner],
    guides: Sequence[Guide],
    pairs: list[tuple[int, int, bool]],
    capacity: np.ndarray,
) -> list[Proposal]:
    """Proposals for (learner, guide, locked) index triples, in the order given.

    A guide's slots (for load balance) go to its locked learners first, then to the others by
    decreasing pair score, so the best-fitting learner is never the one charged for crowding."""
    if not pairs:
        return []
    criteria = compiled.criteria
    li = np.array([p[0] for p in pairs], dtype=np.int64)
    gj = np.array([p[1] for p in pairs], dtype=np.int64)
    locked = np.array([p[2] for p in pairs], dtype=bool)
    scores, detail = score_pairs(compiled, li, gj)
    order = np.lexsort((li, -scores, ~locked, gj))
    slot = np.zeros(len(pairs), dtype=np.int64)
    first = np.r_[True, gj[order][1:] != gj[order][:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    slot[order] = np.arange(len(order)) - run_start + 1
    penalty = slot_penalty(criteria.load_balance, capacity[gj], slot)
    out = []
    for k, (i, j, is_locked) in enumerate(pairs):
        breakdown = {c: int(detail[c][k]) for c in Criterion if c in detail}
        breakdown[Criterion.LOAD_BALANCE] = -int(penalty[k])
        for c in Criterion:
            breakdown.setdefault(c, 0)
        factors = sorted(
            (
                Factor(c, v, factor_text(c, learners[i], guides[j], criteria, int(slot[k])))
                for c, v in breakdown.items()
                if v
            ),
            key=lambda f: (f.points < 0, -abs(f.points), list(Criterion).index(f.criterion)),
        )
        out.append(
            Proposal(
                learner_id=learners[i].id,
                guide_id=guides[j].id,
                score=sum(breakdown.values()),
                breakdown=breakdown,
                factors=tuple(factors),
                locked=bool(is_locked),
            )
        )
    return out


_BAN_TEXT = {
    BAN_SELF: "same person as the learner",
    BAN_FORBIDDEN: "conflict of interest or opt-out",
    BAN_REMATCH: "previous {noun} (no-fault rematch)",
}


def unmatched(
    compiled: Compiled,
    learners: Sequence[Learner],
    rows: list[int],
    available: np.ndarray,
) -> list[Unmatched]:
    """Why each learner of `rows` (unmatched, not opted out) got no guide.

    `available[j]` is False for a guide who opted out or has no place this run at all."""
    criteria = compiled.criteria
    noun = criteria.guide_noun
    out = []
    n_g = compiled.n_guides
    step = max(1, CHUNK_ELEMENTS // max(n_g, 1))
    for start in range(0, len(rows), step):
        block = np.array(rows[start : start + step], dtype=np.int64)
        li = np.repeat(block, n_g)
        gj = np.tile(np.arange(n_g), len(block))
        scores, detail = score_pairs(compiled, li, gj)
        eligible = (scores >= 0).reshape(len(block), n_g) & available
        banned = detail["banned"].reshape(len(block), n_g)
        fails = {
            key[1]: value.reshape(len(block), n_g)
            for key, value in detail.items()
            if isinstance(key, tuple)
        }
        for b, i in enumerate(block.tolist()):
            count = int(eligible[b].sum())
            if count:
                out.append(
                    Unmatched(
                        learners[i].id,
                        UnmatchedReason.CAPACITY_EXHAUSTED,
                        f"all {count} eligible {plural(noun)} are at capacity",
                    )
                )
                continue
            # Each excluded guide is counted once, under the first rule it breaks.
            left = np.ones(n_g, dtype=bool)
            reasons = []
            for code in (BAN_SELF, BAN_FORBIDDEN, BAN_REMATCH):
                hit = left & (banned[b] == code)
                left &= ~hit
                if hit.any():
                    reasons.append(f"{_BAN_TEXT[code].format(noun=noun)}: {int(hit.sum())}")
            hit = left & ~available
            left &= ~hit
            if hit.any():
                reasons.append(f"opted out or no places: {int(hit.sum())}")
            for criterion, mask in fails.items():
                hit = left & mask[b]
                left &= ~hit
                if hit.any():
                    reasons.append(f"must-have {criterion.value.replace('_', ' ')}: {hit.sum()}")
            detail_text = f" ({'; '.join(reasons)})" if reasons else ""
            out.append(
                Unmatched(
                    learners[i].id,
                    UnmatchedReason.NO_ELIGIBLE_GUIDE,
                    f"no eligible {noun}{detail_text}",
                )
            )
    return out
