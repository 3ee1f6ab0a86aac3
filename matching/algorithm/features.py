"""Learners' and guides' features compiled into arrays, and vectorised pair scoring.

Set-valued features become bitsets (one integer word per person when the vocabulary is small,
several uint64 words otherwise) so a block of pairs is scored with AND, popcount and a few
integer operations over the block, never with a Python loop per pair. Labels used by only one
side can never be shared and are dropped before packing.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .types import Criteria, Criterion, Guide, Learner, PersonId

INELIGIBLE = -(2**30)
"""Score of a pair that breaks a hard constraint or a must-have filter."""

# Reason codes of the banned pairs (hard constraints), lowest code wins when several apply.
BAN_SELF, BAN_FORBIDDEN, BAN_REMATCH = 1, 2, 3


@dataclass(frozen=True, slots=True)
class Bits:
    """A set feature of n people: `words` is a tuple of integer arrays of length n."""

    words: tuple[np.ndarray, ...]
    count: np.ndarray  # int16: size of each person's whole set (before unshared labels drop)

    @staticmethod
    def pack(incidence: np.ndarray) -> tuple[np.ndarray, ...]:
        width = incidence.shape[1]
        if width == 0:
            return ()
        dtype = next(
            (d for d in (np.uint8, np.uint16, np.uint32) if width <= d(0).nbytes * 8), np.uint64
        )
        step = np.dtype(dtype).itemsize * 8
        words = []
        for start in range(0, width, step):
            chunk = incidence[:, start : start + step].astype(dtype)
            shifts = np.arange(chunk.shape[1], dtype=dtype)
            words.append(np.bitwise_or.reduce(chunk << shifts, axis=1).astype(dtype))
        return tuple(words)


def _bits_pair(left: np.ndarray, right: np.ndarray) -> tuple[Bits, Bits]:
    """Two incidence matrices (people x labels) -> bitsets over labels both sides use."""
    keep = left.any(axis=0) & right.any(axis=0)
    return (
        Bits(Bits.pack(left[:, keep]), left.sum(axis=1, dtype=np.int16)),
        Bits(Bits.pack(right[:, keep]), right.sum(axis=1, dtype=np.int16)),
    )


def _incidence(sets: Sequence[frozenset[str]], vocab: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(sets), len(vocab)), dtype=bool)
    rows = [i for i, s in enumerate(sets) for _ in s]
    cols = [vocab[x] for s in sets for x in s]
    out[rows, cols] = True
    return out


def _sets_pair(left: Sequence[frozenset[str]], right: Sequence[frozenset[str]]):
    vocab = {x: k for k, x in enumerate(sorted(set().union(*left, *right)))}
    return _bits_pair(_incidence(left, vocab), _incidence(right, vocab))


def _bitmaps_pair(left: Sequence[int], right: Sequence[int]):
    width = max((x.bit_length() for x in (*left, *right)), default=0)
    nbytes = (width + 7) // 8

    def unpack(values: Sequence[int]) -> np.ndarray:
        raw = b"".join(x.to_bytes(nbytes, "little") for x in values)
        data = np.frombuffer(raw, dtype=np.uint8).reshape(len(values), nbytes)
        return np.unpackbits(data, axis=1, bitorder="little").astype(bool)

    return _bits_pair(unpack(left), unpack(right))


@dataclass(frozen=True, slots=True)
class Sparse:
    """Per-pair values for few pairs (ranked choices, bans...), sorted by learner then guide."""

    n_guides: int
    indptr: np.ndarray  # int64, learner i's entries are [indptr[i], indptr[i + 1])
    cols: np.ndarray  # int64 guide indices
    vals: np.ndarray  # int32
    keys: np.ndarray  # int64 learner * n_guides + guide, sorted

    @classmethod
    def build(cls, n_learners: int, n_guides: int, rows, cols, vals, keep: str) -> Sparse:
        """Duplicates keep the largest value (`keep="max"`) or the smallest (`"min"`)."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        vals = np.asarray(vals, dtype=np.int32)
        keys = rows * n_guides + cols
        order = np.lexsort((-vals if keep == "max" else vals, keys))
        keys, vals = keys[order], vals[order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        keys, vals = keys[first], vals[first]
        indptr = np.searchsorted(keys, np.arange(n_learners + 1, dtype=np.int64) * n_guides)
        return cls(n_guides, indptr, keys % n_guides if n_guides else keys, vals, keys)

    def block(self, rows: np.ndarray, colpos: np.ndarray):
        """Entries of learners `rows` whose guide has colpos >= 0: (row pos, col pos, value)."""
        starts = self.indptr[rows]
        lens = self.indptr[rows + 1] - starts
        total = int(lens.sum())
        if total == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.int32)
        local = np.repeat(np.arange(len(rows)), lens)
        idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
        pos = colpos[self.cols[idx]]
        keep = pos >= 0
        return local[keep], pos[keep], self.vals[idx[keep]]

    def pairs(self, li: np.ndarray, gj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value or 0, present) for each pair (li[k], gj[k])."""
        keys = li.astype(np.int64) * self.n_guides + gj
        if len(self.keys) == 0:
            return np.zeros(keys.shape, np.int32), np.zeros(keys.shape, bool)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        present = self.keys[at] == keys
        return np.where(present, self.vals[at], 0), present

    def has_row(self) -> np.ndarray:
        return np.diff(self.indptr) > 0


@dataclass(frozen=True, slots=True)
class Compiled:
    """An instance as arrays. Learners and guides are referred to by their input position."""

    criteria: Criteria
    n_learners: int
    n_guides: int
    spec: tuple[Bits, Bits]
    research: tuple[Bits, Bits]
    language: tuple[Bits, Bits]
    background: tuple[Bits, Bits]
    availability: tuple[Bits, Bits]
    campus: tuple[np.ndarray, np.ndarray]  # int32 codes; -1 (learner) / -2 (guide) = none
    ranked: Sparse  # points of the learner's choices (ranks beyond rank_depth score 0)
    guide_pref: Sparse  # points of the guide's wishes
    continuity: Sparse  # points for the previous guide (not on a rematch)
    banned: Sparse  # hard constraints: value = BAN_* code
    upper: np.ndarray  # int64 per learner: an upper bound of any of their pair scores
    max_score: int  # upper bound of any pair score


def _pair_positions(
    pairs: Iterable[tuple[PersonId, PersonId]],
    learner_index: dict[PersonId, int],
    guide_index: dict[PersonId, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the (learner id, guide id) pairs naming people of this run; others dropped.

    Integer ids (the usual primary keys) take a vectorised path: millions of forbidden pairs
    cost a fraction of a second instead of a Python loop. An (n, 2) integer array of pairs is
    taken as it is (no tuple per pair)."""
    ints = all(type(x) is int for x in learner_index) and all(type(x) is int for x in guide_index)
    flat = None
    if isinstance(pairs, np.ndarray) and pairs.dtype.kind in "iu" and pairs.ndim == 2:
        if ints:
            flat = pairs.astype(np.int64, copy=False).ravel()
        else:
            pairs = pairs.tolist()
    pairs = pairs if isinstance(pairs, list | tuple | np.ndarray) else list(pairs)
    if flat is None and ints and len(pairs):
        try:
            flat = np.fromiter(itertools.chain.from_iterable(pairs), np.int64, 2 * len(pairs))
        except (TypeError, ValueError, OverflowError):
            flat = None
    if flat is None:
        kept = [
            (learner_index[a], guide_index[b])
            for a, b in pairs
            if a in learner_index and b in guide_index
        ]
        rows, cols = zip(*kept, strict=True) if kept else ((), ())
        return np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64)

    def positions(ids: np.ndarray, index: dict[PersonId, int]) -> np.ndarray:
        known = np.fromiter(index.keys(), np.int64, len(index))
        order = np.argsort(known)
        at = np.minimum(np.searchsorted(known[order], ids), max(len(known) - 1, 0))
        found = known[order][at] == ids if len(known) else np.zeros(len(ids), bool)
        return np.where(found, order[at], -1)

    rows, cols = positions(flat[0::2], learner_index), positions(flat[1::2], guide_index)
    keep = (rows >= 0) & (cols >= 0)
    return rows[keep], cols[keep]


def rank_points(weight: int, depth: int, rank: int) -> int:
    """Points for a 1-based rank."""
    return weight * (depth + 1 - rank) // depth if rank <= depth else 0


def compile_instance(
    learners: Sequence[Learner],
    guides: Sequence[Guide],
    criteria: Criteria,
    forbidden: Iterable[tuple[PersonId, PersonId]],
    learner_index: dict[PersonId, int],
    guide_index: dict[PersonId, int],
) -> Compiled:
    n_l, n_g = len(learners), len(guides)
    c = criteria
    campuses = {
        x: k for k, x in enumerate(sorted({p.campus for p in (*learners, *guides)} - {None}))
    }
    l_campus = np.array([campuses.get(p.campus, -1) for p in learners], dtype=np.int32)
    g_campus = np.array([campuses.get(p.campus, -2) for p in guides], dtype=np.int32)

    def sparse_from(triples, keep: str) -> Sparse:
        rows, cols, vals = zip(*triples, strict=True) if triples else ((), (), ())
        return Sparse.build(n_l, n_g, rows, cols, vals, keep)

    ranked = [
        (i, guide_index[g], rank_points(c.ranked_choice, c.rank_depth, r))
        for i, p in enumerate(learners)
        for r, g in enumerate(p.ranked_guides, start=1)
        if g in guide_index
    ]
    prefs = [
        (learner_index[x], j, rank_points(c.guide_preference, c.rank_depth, r))
        for j, g in enumerate(guides)
        for r, x in enumerate(g.preferred_learners, start=1)
        if x in learner_index
    ]
    continuity, banned = [], []
    for i, p in enumerate(learners):
        if p.previous_guide in guide_index:
            j = guide_index[p.previous_guide]
            if p.rematch:
                banned.append((i, j, BAN_REMATCH))
            else:
                continuity.append((i, j, c.continuity))
        if p.id in guide_index:
            banned.append((i, guide_index[p.id], BAN_SELF))  # R1
    f_l, f_g = _pair_positions(forbidden, learner_index, guide_index)  # R2, pair opt-outs
    if banned:
        b_l, b_g, b_v = (np.array(x, dtype=np.int64) for x in zip(*banned, strict=True))
        f_l, f_g = np.concatenate([b_l, f_l]), np.concatenate([b_g, f_g])
        f_v = np.concatenate([b_v, np.full(len(f_l) - len(b_l), BAN_FORBIDDEN)])
    else:
        f_v = np.full(len(f_l), BAN_FORBIDDEN)
    ranked_sp = sparse_from(ranked, "max")
    pref_sp = sparse_from(prefs, "max")
    cont_sp = sparse_from(continuity, "max")

    spec = _sets_pair([p.specialties for p in learners], [g.specialties for g in guides])
    research = _sets_pair([p.research for p in learners], [g.research for g in guides])
    language = _sets_pair([p.languages for p in learners], [g.languages for g in guides])
    background = _sets_pair([p.background_wishes for p in learners], [g.background for g in guides])
    availability = _bitmaps_pair(
        [p.availability for p in learners], [g.availability for g in guides]
    )

    def row_max(sp: Sparse) -> np.ndarray:
        out = np.zeros(n_l, dtype=np.int64)
        if len(sp.vals):
            np.maximum.at(out, sp.keys // max(n_g, 1), sp.vals)
        return out

    upper = (
        c.specialty * (spec[0].count > 0)
        + c.research * (research[0].count > 0)
        + c.language * (language[0].count > 0)
        + c.campus * (l_campus >= 0)
        + c.background * (background[0].count > 0)
        + c.availability * (availability[0].count > 0)
        + row_max(ranked_sp)
        + row_max(pref_sp)
        + row_max(cont_sp)
    ).astype(np.int64)
    return Compiled(
        criteria=c,
        n_learners=n_l,
        n_guides=n_g,
        spec=spec,
        research=research,
        language=language,
        background=background,
        availability=availability,
        campus=(l_campus, g_campus),
        ranked=ranked_sp,
        guide_pref=pref_sp,
        continuity=cont_sp,
        banned=Sparse.build(n_l, n_g, f_l, f_g, f_v, "min"),
        upper=upper,
        max_score=int(upper.max(initial=0)),
    )


def _any_shared(bits: tuple[Bits, Bits], li, gj) -> np.ndarray | None:
    acc = None
    for lw, gw in zip(bits[0].words, bits[1].words, strict=True):
        x = np.bitwise_and(lw[li], gw[gj])
        x = x != 0
        acc = x if acc is None else np.logical_or(acc, x, out=acc)
    return acc


def _count_shared(bits: tuple[Bits, Bits], li, gj) -> np.ndarray | None:
    acc = None
    for lw, gw in zip(bits[0].words, bits[1].words, strict=True):
        x = np.bitwise_and(lw[li], gw[gj])
        x = np.bitwise_count(x)
        acc = x.astype(np.int16) if acc is None else np.add(acc, x, out=acc, casting="unsafe")
    return acc


def _floor_ratio(count: np.ndarray, weight: int, divisor: np.ndarray) -> np.ndarray:
    """floor(count x weight / divisor), exactly, as int32 (divisor >= 1 varies by learner).

    Integer division by an array is several times slower than floating-point division, and in
    float64 it is exact here: count x weight (at most 32,767 x 10,000) is an exact float, and a
    quotient that is not an integer lies at least 1/divisor from one, far beyond the rounding
    error of a result at most `weight`."""
    points = np.multiply(count, np.float64(weight), dtype=np.float64)
    np.divide(points, divisor, out=points)
    return np.floor(points, out=points).astype(np.int32)


def dense_points(
    compiled: Compiled, li: np.ndarray, gj: np.ndarray, shape: tuple[int, ...], parts: bool
) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """Points from the feature criteria for index arrays that broadcast to `shape`.

    Returns (total int32, eligible bool or None meaning all, detail). With `parts`, detail maps
    each criterion to its points and each must-have criterion `("fails", c)` to a bool array.
    """
    c = compiled.criteria
    must = c.must_have
    total = np.zeros(shape, dtype=np.int32)
    eligible = None
    detail: dict = {}

    def add(criterion: Criterion, points) -> None:
        np.add(total, points, out=total, casting="unsafe")
        if parts:
            detail[criterion] = np.broadcast_to(points, shape).astype(np.int32)

    def require(criterion: Criterion, met, has) -> None:
        nonlocal eligible
        ok = np.broadcast_to(np.logical_or(met, ~has), shape)
        eligible = ok.copy() if eligible is None else np.logical_and(eligible, ok, out=eligible)
        if parts:
            detail[("fails", criterion)] = np.broadcast_to(~ok, shape)

    for criterion, bits in (
        (Criterion.SPECIALTY, compiled.spec),
        (Criterion.LANGUAGE, compiled.language),
    ):
        w = c.weight(criterion)
        if (w or criterion in must) and bits[0].words:
            met = _any_shared(bits, li, gj)
            if w:
                add(criterion, np.multiply(met, np.int32(w), dtype=np.int32))
            if criterion in must:
                require(criterion, met, bits[0].count[li] > 0)
        elif criterion in must:
            require(criterion, np.zeros((), bool), bits[0].count[li] > 0)

    for criterion, bits in (
        (Criterion.RESEARCH, compiled.research),
        (Criterion.BACKGROUND, compiled.background),
    ):
        w = c.weight(criterion)
        if (w or criterion in must) and bits[0].words:
            shared = _count_shared(bits, li, gj)
            if w:
                wanted = np.maximum(bits[0].count[li], 1)
                add(criterion, _floor_ratio(shared, w, wanted))
            if criterion in must:
                require(criterion, shared > 0, bits[0].count[li] > 0)
        elif criterion in must:
            require(criterion, np.zeros((), bool), bits[0].count[li] > 0)

    if c.campus or Criterion.CAMPUS in must:
        l_campus, g_campus = compiled.campus
        same = l_campus[li] == g_campus[gj]
        if c.campus:
            add(Criterion.CAMPUS, np.multiply(same, np.int32(c.campus), dtype=np.int32))
        if Criterion.CAMPUS in must:
            require(Criterion.CAMPUS, same, l_campus[li] >= 0)

    if c.availability or Criterion.AVAILABILITY in must:
        bits = compiled.availability
        target = c.availability_target
        common = _count_shared(bits, li, gj) if bits[0].words else np.zeros((), np.int16)
        if c.availability:
            # int32: counts are int16, but weight x count reaches 10,000 x 168 (a week's hours);
            # a target beyond a week's slots is capped by the count itself
            points = np.minimum(common, min(target, 2**15 - 1), dtype=np.int32)
            points *= np.int32(c.availability)
            points //= np.int32(target)
            add(Criterion.AVAILABILITY, points)
        if Criterion.AVAILABILITY in must:
            require(Criterion.AVAILABILITY, common >= target, bits[0].count[li] > 0)
    return total, eligible, detail


def score_block(compiled: Compiled, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Scores (int32) of every pair rows x cols; INELIGIBLE where a pair is not allowed."""
    c = compiled.criteria
    shape = (len(rows), len(cols))
    total, eligible, _ = dense_points(compiled, rows[:, None], cols[None, :], shape, parts=False)
    colpos = np.full(compiled.n_guides, -1, dtype=np.int64)
    colpos[cols] = np.arange(len(cols))
    for sp, w in (
        (compiled.ranked, c.ranked_choice),
        (compiled.guide_pref, c.guide_preference),
        (compiled.continuity, c.continuity),
    ):
        if w:
            r, k, v = sp.block(rows, colpos)
            np.add.at(total, (r, k), v)
    if Criterion.RANKED_CHOICE in c.must_have:
        has = compiled.ranked.has_row()[rows]
        ok = np.broadcast_to(~has[:, None], shape).copy()
        r, k, _ = compiled.ranked.block(rows, colpos)
        ok[r, k] = True
        eligible = ok if eligible is None else eligible & ok
    if eligible is not None:
        total[~eligible] = INELIGIBLE
    r, k, _ = compiled.banned.block(rows, colpos)
    total[r, k] = INELIGIBLE
    return total


def score_pairs(compiled: Compiled, li: np.ndarray, gj: np.ndarray) -> tuple[np.ndarray, dict]:
    """Scores of the pairs (li[k], gj[k]) and the detail of `dense_points(parts=True)` plus
    the sparse criteria, `("fails", RANKED_CHOICE)` when must-have and `"banned"` (BAN_* or 0)."""
    c = compiled.criteria
    shape = li.shape
    total, eligible, detail = dense_points(compiled, li, gj, shape, parts=True)
    for criterion, sp in (
        (Criterion.RANKED_CHOICE, compiled.ranked),
        (Criterion.GUIDE_PREFERENCE, compiled.guide_pref),
        (Criterion.CONTINUITY, compiled.continuity),
    ):
        points, present = sp.pairs(li, gj)
        points = points if c.weight(criterion) else np.zeros(shape, np.int32)
        total += points
        detail[criterion] = points
        if criterion is Criterion.RANKED_CHOICE:
            detail["ranked"] = present
    if Criterion.RANKED_CHOICE in c.must_have:
        fails = ~detail["ranked"] & compiled.ranked.has_row()[li]
        detail[("fails", Criterion.RANKED_CHOICE)] = fails
        eligible = ~fails if eligible is None else eligible & ~fails
    banned, _ = compiled.banned.pairs(li, gj)
    detail["banned"] = banned
    if eligible is not None:
        total[~eligible] = INELIGIBLE
    total[banned > 0] = INELIGIBLE
    return total, detail
