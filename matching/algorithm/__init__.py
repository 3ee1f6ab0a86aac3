"""The matcher: pairs a whole cohort of learners with guides (pure Python + numpy + OR-Tools).

No Django here: the caller (a match run service) turns models into `Learner`/`Guide` values and
stores the returned proposals. Entry point::

    result = match(learners, guides, Criteria(specialty=30, campus=10, ...),
                   forbidden=conflicts, locks=locked_pairs, mode=Mode.OPTIMAL, seed=run.seed)

Hard constraints, never broken by a proposal: R1 (a learner is never paired with their own
guide record: same id), R2 and pair opt-outs (`forbidden` pairs), R3 (guide capacity, locks
included), the previous guide on a no-fault rematch, opted-out learners and guides, and the
program's must-have criteria. Locks are kept as they are and use capacity; a lock that breaks a
hard constraint or a capacity is refused with ValueError (must-have filters do not apply to
locks: the administrator decided).

Modes:
- `Mode.OPTIMAL`: as many learners matched as possible, then the largest total score (pair
  scores minus load-balance penalties), exactly: min-cost flow on a sparse candidate graph with
  an LP-duality certificate (see optimal.py); `stats.certified_optimal` says the certificate
  held.
- `Mode.STABLE`: learner-proposing deferred acceptance; no blocking pair.

The result is the same for the same input and seed (the seed breaks score ties in stable mode).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from . import explain
from .features import BAN_FORBIDDEN, BAN_REMATCH, BAN_SELF, Compiled, compile_instance, score_pairs
from .optimal import solve_optimal
from .stable import blocking_pairs, deferred_acceptance
from .types import (
    FILTERABLE,
    Criteria,
    Criterion,
    Factor,
    Guide,
    Learner,
    MatchResult,
    Mode,
    PersonId,
    Proposal,
    SolveStats,
    Unmatched,
    UnmatchedReason,
)

__all__ = [
    "FILTERABLE",
    "Criteria",
    "Criterion",
    "Factor",
    "Guide",
    "Learner",
    "MatchResult",
    "Mode",
    "PersonId",
    "Proposal",
    "SolveStats",
    "Unmatched",
    "UnmatchedReason",
    "match",
    "pair_scores",
    "suggest",
]

_LOCK_REFUSAL = {
    BAN_SELF: "R1: a person cannot be their own {noun}",
    BAN_FORBIDDEN: "R2: the pair is forbidden (conflict of interest or opt-out)",
    BAN_REMATCH: "the learner asked for a no-fault rematch away from this {noun}",
}


def _index(people: Sequence[Learner] | Sequence[Guide], kind: str) -> dict[PersonId, int]:
    index = {p.id: k for k, p in enumerate(people)}
    if len(index) != len(people):
        dupes = [x for x, n in Counter(p.id for p in people).items() if n > 1]
        raise ValueError(f"duplicate {kind} ids: {dupes[:5]}")
    return index


def match(
    learners: Sequence[Learner],
    guides: Sequence[Guide],
    criteria: Criteria,
    *,
    forbidden: Iterable[tuple[PersonId, PersonId]] = (),
    locks: Iterable[tuple[PersonId, PersonId]] = (),
    mode: Mode = Mode.OPTIMAL,
    seed: int = 0,
    blocking_pair_limit: int = 100,
) -> MatchResult:
    """Match `learners` to `guides`.

    `forbidden` and `locks` are (learner id, guide id) pairs; forbidden pairs naming someone not
    in this run are ignored. Raises ValueError for duplicate ids, a negative capacity, or a lock
    naming an unknown person, breaking a hard constraint, doubling a learner or overfilling a
    guide.
    """
    started = time.perf_counter()
    learner_index = _index(learners, "learner")
    guide_index = _index(guides, "guide")
    if any(g.capacity < 0 for g in guides):
        raise ValueError("a guide's capacity cannot be negative")
    compiled = compile_instance(learners, guides, criteria, forbidden, learner_index, guide_index)
    capacity = np.array([0 if g.opted_out else g.capacity for g in guides], dtype=np.int64)
    lock_pairs = _check_locks(compiled, learners, guides, locks, learner_index, guide_index)
    locked = np.bincount(
        np.array([j for _, j in lock_pairs], dtype=np.int64), minlength=len(guides)
    )
    residual = capacity - locked
    locked_learners = {i for i, _ in lock_pairs}
    rows = np.array(
        [i for i, p in enumerate(learners) if not p.opted_out and i not in locked_learners],
        dtype=np.int64,
    )

    if mode is Mode.OPTIMAL:
        flow = solve_optimal(compiled, rows, residual, locked, capacity)
        guide_of, rounds, candidates, priced, certified = (
            flow.guide,
            flow.rounds,
            flow.candidate_pairs,
            flow.priced_pairs,
            flow.certified,
        )
    else:
        stable = deferred_acceptance(compiled, rows, residual, seed)
        guide_of, rounds, candidates, priced, certified = (
            stable.guide,
            stable.rounds,
            stable.candidate_pairs,
            stable.priced_pairs,
            False,
        )

    matched = guide_of >= 0
    scores = np.zeros(len(rows), dtype=np.int64)
    if matched.any():
        scores[matched], _ = score_pairs(compiled, rows[matched], guide_of[matched])
    n_blocking, examples = blocking_pairs(
        compiled, rows, guide_of, scores, residual, blocking_pair_limit
    )

    assigned = {
        int(i): (int(j), False) for i, j in zip(rows[matched], guide_of[matched], strict=True)
    }
    assigned.update({i: (j, True) for i, j in lock_pairs})
    triples = [(i, *assigned[i]) for i in sorted(assigned)]
    proposals = explain.proposals(compiled, learners, guides, triples, capacity)
    unmatched_rows = [int(i) for i in rows[~matched]]
    reasons = {
        u.learner_id: u for u in explain.unmatched(compiled, learners, unmatched_rows, capacity > 0)
    }
    unmatched = [
        reasons.get(p.id) or Unmatched(p.id, UnmatchedReason.OPTED_OUT, "opted out of matching")
        for p in learners
        if learner_index[p.id] not in assigned
    ]
    return MatchResult(
        mode=mode,
        proposals=tuple(proposals),
        unmatched=tuple(unmatched),
        total_score=sum(p.score for p in proposals),
        blocking_pair_count=n_blocking,
        blocking_pairs=tuple((learners[i].id, guides[j].id) for i, j in examples),
        stats=SolveStats(
            rounds=rounds,
            candidate_pairs=candidates,
            priced_pairs=priced,
            certified_optimal=certified,
            seconds=time.perf_counter() - started,
        ),
    )


def _check_locks(compiled: Compiled, learners, guides, locks, learner_index, guide_index):
    noun = compiled.criteria.guide_noun
    pairs = []
    for a, b in locks:
        if a not in learner_index or b not in guide_index:
            raise ValueError(f"lock ({a!r}, {b!r}) names someone not in this run")
        i, j = learner_index[a], guide_index[b]
        if learners[i].opted_out or guides[j].opted_out:
            raise ValueError(f"lock ({a!r}, {b!r}): one of them opted out")
        pairs.append((i, j))
    if len({i for i, _ in pairs}) != len(pairs):
        raise ValueError("a learner is locked to two guides")
    if pairs:
        li = np.array([i for i, _ in pairs], dtype=np.int64)
        gj = np.array([j for _, j in pairs], dtype=np.int64)
        banned, _ = compiled.banned.pairs(li, gj)
        for (i, j), code in zip(pairs, banned.tolist(), strict=True):
            if code:
                rule = _LOCK_REFUSAL[code].format(noun=noun)
                raise ValueError(f"lock ({learners[i].id!r}, {guides[j].id!r}) refused: {rule}")
        load = Counter(j for _, j in pairs)
        for j, n in load.items():
            if n > guides[j].capacity:
                raise ValueError(
                    f"R3: {n} locks for {noun} {guides[j].id!r} exceed their capacity "
                    f"{guides[j].capacity}"
                )
    return pairs


def pair_scores(
    learners: Sequence[Learner],
    guides: Sequence[Guide],
    criteria: Criteria,
    learner_positions: np.ndarray,
    guide_positions: np.ndarray,
    *,
    forbidden: Iterable[tuple[PersonId, PersonId]] = (),
) -> np.ndarray:
    """Scores (int32) of the pairs (learners[li[k]], guides[gj[k]]): -1 where not allowed by a
    hard constraint or a must-have filter. For reference solvers and tests: the same scoring
    the matcher uses."""
    compiled = compile_instance(
        learners,
        guides,
        criteria,
        forbidden,
        _index(learners, "learner"),
        _index(guides, "guide"),
    )
    scores, _ = score_pairs(
        compiled, np.asarray(learner_positions, np.int64), np.asarray(guide_positions, np.int64)
    )
    return np.maximum(scores, -1)


def suggest(
    learners: Sequence[Learner],
    guides: Sequence[Guide],
    criteria: Criteria,
    learner_positions: Sequence[int],
    guide_positions: Sequence[int],
    *,
    forbidden: Iterable[tuple[PersonId, PersonId]] = (),
    limit: int = 20,
) -> list[Proposal]:
    """The best `limit` allowed pairs among (learners[li[k]], guides[gj[k]]), best first (ties
    in the order given), each explained as a proposal of its own (no load-balance charge).

    Pairs that break a hard constraint or a must-have filter, name someone who opted out, or a
    guide with no capacity are left out. For the ranking and self-match pages: one learner
    against every guide, or one guide against every learner."""
    compiled = compile_instance(
        learners,
        guides,
        criteria,
        forbidden,
        _index(learners, "learner"),
        _index(guides, "guide"),
    )
    li = np.asarray(learner_positions, np.int64)
    gj = np.asarray(guide_positions, np.int64)
    if not len(li) or limit < 1:
        return []
    scores, _ = score_pairs(compiled, li, gj)
    capacity = np.array([0 if g.opted_out else g.capacity for g in guides], dtype=np.int64)
    learner_out = np.array([p.opted_out for p in learners], dtype=bool)
    allowed = np.flatnonzero((scores >= 0) & (capacity[gj] > 0) & ~learner_out[li])
    best = allowed[np.argsort(-scores[allowed], kind="stable")][:limit]
    return [
        explain.proposals(compiled, learners, guides, [(int(li[k]), int(gj[k]), False)], capacity)[
            0
        ]
        for k in best
    ]
