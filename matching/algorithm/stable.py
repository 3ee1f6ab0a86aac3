"""Stable mode (learner-proposing deferred acceptance) and blocking pairs of any assignment.

Both sides rank by the pair score (which already holds the learner's ranked choices and the
guide's wishes); ties are broken by a seeded random priority of guides (for learners) and of
learners (for guides). Preference lists are fetched lazily, a batch at a time, by scoring the
learners that ran out against all guides in chunks, so no learners x guides matrix is held.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from .features import INELIGIBLE, Compiled, score_block
from .optimal import CHUNK_ELEMENTS

BATCH = 32  # guides fetched per learner each time their list runs out


@dataclass(frozen=True, slots=True)
class StableResult:
    guide: np.ndarray  # int64 per learner of `rows`: global guide index, or -1
    rounds: int
    candidate_pairs: int
    priced_pairs: int


def deferred_acceptance(
    compiled: Compiled, rows: np.ndarray, residual: np.ndarray, seed: int
) -> StableResult:
    rng = np.random.default_rng(seed)
    guide_rank = rng.permutation(compiled.n_guides)  # lower = preferred on ties
    learner_rank = rng.permutation(compiled.n_learners)
    cols = np.flatnonzero(residual > 0)
    n = len(rows)
    lists: list[list[tuple[int, int]]] = [[] for _ in range(n)]  # (guide, score), reversed
    last: list[tuple[int, int] | None] = [None] * n  # (score, guide_rank) of last fetched
    done = np.zeros(n, dtype=bool)  # no guide left to fetch
    held: dict[int, list[tuple[int, int, int]]] = {}  # guide -> heap of (score, -rank, pos)
    guide = np.full(n, -1, dtype=np.int64)
    free = list(range(n))
    rounds = fetched = scored = 0
    while free:
        rounds += 1
        need = [k for k in free if not lists[k] and not done[k]]
        scored += _fetch(compiled, rows, cols, need, lists, last, done, guide_rank)
        fetched += sum(len(lists[k]) for k in need)
        waiting = []
        for k in free:
            while lists[k]:
                j, s = lists[k].pop()
                heap = held.setdefault(j, [])
                entry = (s, -int(learner_rank[rows[k]]), k)
                if len(heap) < residual[j]:
                    heapq.heappush(heap, entry)
                    guide[k] = j
                    break
                if entry > heap[0]:
                    _, _, out = heapq.heapreplace(heap, entry)
                    guide[k], guide[out] = j, -1
                    waiting.append(out)
                    break
            else:
                if not done[k]:
                    waiting.append(k)
        free = sorted(waiting)
    return StableResult(guide, rounds, fetched, scored)


def _fetch(compiled, rows, cols, need, lists, last, done, guide_rank) -> int:
    """Give each learner in `need` their next BATCH guides, best first (stored reversed)."""
    if not need or len(cols) == 0:
        done[need] = True
        return 0
    step = max(1, CHUNK_ELEMENTS // len(cols))
    col_rank = guide_rank[cols]
    scored = 0
    for start in range(0, len(need), step):
        block = need[start : start + step]
        scores = score_block(compiled, rows[block], cols)
        scored += scores.size
        for b, k in enumerate(block):
            s = scores[b]
            ok = s > INELIGIBLE
            if last[k] is not None:
                ls, lr = last[k]
                ok &= (s < ls) | ((s == ls) & (col_rank > lr))
            cand = np.flatnonzero(ok)
            if len(cand) > BATCH:
                # the BATCH best by (score desc, rank asc): a partition then a sort
                key = s[cand].astype(np.int64) * (compiled.n_guides + 1) - col_rank[cand]
                cand = cand[np.argpartition(-key, BATCH - 1)[:BATCH]]
            cand = cand[np.lexsort((col_rank[cand], -s[cand]))]
            if len(cand) < BATCH:
                done[k] = True
            if len(cand):
                last[k] = (int(s[cand[-1]]), int(col_rank[cand[-1]]))
            lists[k] = [(int(cols[c]), int(s[c])) for c in cand[::-1]]
    return scored


def blocking_pairs(
    compiled: Compiled,
    rows: np.ndarray,
    guide: np.ndarray,
    scores: np.ndarray,
    residual: np.ndarray,
    limit: int,
) -> tuple[int, list[tuple[int, int]]]:
    """Pairs (learner, guide) of allowed pairs where the learner strictly prefers the guide to
    their assignment (or is unmatched) and the guide has room or strictly prefers the learner to
    one of its learners from this run (locked learners cannot be displaced and are not in rows).

    `guide`/`scores` are per learner of `rows` (-1 / any when unmatched). Returns the count and
    up to `limit` examples as global (learner, guide) indices."""
    cols = np.flatnonzero(residual > 0)
    if len(rows) == 0 or len(cols) == 0:
        return 0, []
    matched = guide >= 0
    current = np.where(matched, scores, -1).astype(np.int64)
    load = np.bincount(guide[matched], minlength=compiled.n_guides)
    worst = np.full(compiled.n_guides, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(worst, guide[matched], current[matched])
    threshold = np.where(load < residual, -1, worst)[cols]  # a guide with room takes anyone
    gap = compiled.upper[rows] - current  # can only block if some score beats current
    order = np.argsort(-compiled.upper[rows], kind="stable")
    order = order[gap[order] > 0]
    corder = np.argsort(threshold, kind="stable")
    cols_sorted, thr_sorted = cols[corder], threshold[corder]
    count, examples = 0, []
    start = 0
    while start < len(order):
        ncols = int(np.searchsorted(thr_sorted, compiled.upper[rows[order[start]]], side="left"))
        if ncols == 0:
            break
        block = order[start : start + max(1, CHUNK_ELEMENTS // ncols)]
        start += len(block)
        s = score_block(compiled, rows[block], cols_sorted[:ncols])
        hit = (s > current[block][:, None]) & (s > thr_sorted[:ncols])
        found = int(np.count_nonzero(hit))
        count += found
        if found and len(examples) < limit:
            r, c = np.nonzero(hit)
            examples += zip(rows[block][r].tolist(), cols_sorted[c].tolist(), strict=True)
    return count, sorted(examples)[:limit]
