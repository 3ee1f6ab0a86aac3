"""Optimal mode: min-cost flow on a sparse candidate graph, made exact by LP-duality pricing.

The problem is a b-matching LP: maximise sum (BIG + s_ij) x_ij minus the load-balance penalty of
each guide slot used, each learner at most once, each guide within its capacity. BIG (larger than
any difference of totals) makes "match as many learners as possible" come first.

The flow is solved on a sparse graph (each learner's best few guides). Guide prices p_j and
learner utilities u_i are then recovered from the optimal flow by vectorised relaxation of the
complementary-slackness conditions (a Bellman-Ford on the guides, starting from the least
prices the slots allow). If no allowed pair left out has BIG + s_ij > u_i + p_j, the duals are
feasible for the whole problem and, their objective equalling the flow's, prove the sparse
optimum to be the global optimum. Otherwise the most violating pairs (a few per learner) join
the graph and the flow is solved again. Pricing scores pairs from features in chunks, so no
learners x guides matrix is ever held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from .features import Compiled, Sparse, score_block

CHUNK_ELEMENTS = 1 << 18  # pairs scored at once: keeps each block in the CPU cache
INITIAL_PER_LEARNER = 10
ADDED_PER_LEARNER = 10
_SELECT_ALL = 2**30 - 1  # utility offset that makes every eligible pair "violating"


@dataclass(frozen=True, slots=True)
class Strategy:
    """How the candidate graph starts and grows. Every strategy reaches the same certified
    optimum; they differ in rounds and in pairs scored."""

    initial_per_learner: int = INITIAL_PER_LEARNER  # each learner's best guides
    added_per_learner: int = ADDED_PER_LEARNER  # most violating pairs a learner adds per round
    # each guide's best (factor x places + extra) learners join the initial graph too: fewer
    # pairs scored later, but collecting them during the first pass costs more than it saves
    # on the benchmark's cohorts (measured at 20,000 x 6,000), so it is off by default
    guide_side_factor: int = 0
    guide_side_extra: int = 0
    # pairs within `slack` points of violating join with the violating ones
    slack: int = 3
    # a learner still bounded at the prices of their last pass is rescored only against the
    # guides whose price dropped by more than their margin since then
    partial_pricing: bool = True


BASELINE = Strategy(slack=0, partial_pricing=False)
"""The pricing loop as first written: learners' best guides only, every stale learner rescored
against every guide (kept for the benchmark's in-run baseline and for tests)."""
STRATEGY = Strategy()


@dataclass(frozen=True, slots=True)
class FlowResult:
    guide: np.ndarray  # int64 per learner of `rows`: global guide index, or -1
    rounds: int
    candidate_pairs: int
    priced_pairs: int
    certified: bool


def slot_penalty(weight: int, capacity: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Load-balance penalty of a guide's k-th learner (1-based; k <= 0 costs nothing)."""
    return weight * np.maximum(k - 1, 0) // np.maximum(capacity, 1)


NO_BOUND = -(2**62)  # "no pair left to bound" (a learner with nothing else allowed)


@dataclass(frozen=True, slots=True)
class Priced:
    rows: np.ndarray  # new pairs: positions in `rows` ...
    cols: np.ndarray  # ... and in `cols`
    scores: np.ndarray
    bound: np.ndarray  # per learner of `rows`: max s_ij - q_j over pairs neither in the graph
    scored: int  # nor returned now (NO_BOUND if none); pairs scored


class _ColumnBest:
    """Each column's best `k` rows by score seen so far, over blocks of rows (allowed pairs
    only): each block's best k per column wait in a list, merged into a k x columns table once
    they reach a few times k (merging every block would cost as much as the scoring)."""

    def __init__(self, k: int, n_c: int):
        self.k = k
        self.s = np.full((n_c, k), -1, dtype=np.int32)  # columns x k
        self.r = np.full((n_c, k), -1, dtype=np.int64)
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.width = 0

    def add(self, block: np.ndarray, colpos: np.ndarray, scores: np.ndarray) -> None:
        """`scores` is block x columns: rows `block`, the columns in the order `colpos` (a
        permutation of all columns)."""
        k = self.k
        s_t = np.empty((scores.shape[1], scores.shape[0]), dtype=np.int32)  # columns x block
        s_t[colpos] = scores.T
        if s_t.shape[1] > k:
            top = np.argpartition(-s_t, k - 1, axis=1)[:, :k]
            s_t = np.take_along_axis(s_t, top, axis=1)
            r_t = block[top]
        else:
            r_t = np.broadcast_to(block, s_t.shape)
        self.pending.append((s_t, r_t))
        self.width += s_t.shape[1]
        if self.width >= 16 * k:
            self._merge()

    def _merge(self) -> None:
        if not self.pending:
            return
        both_s = np.concatenate([self.s, *(s for s, _ in self.pending)], axis=1)
        both_r = np.concatenate([self.r, *(r for _, r in self.pending)], axis=1)
        keep = np.argpartition(-both_s, self.k - 1, axis=1)[:, : self.k]
        self.s = np.take_along_axis(both_s, keep, axis=1)
        self.r = np.take_along_axis(both_r, keep, axis=1)
        self.pending, self.width = [], 0

    def pairs(self, k_per_col: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, column positions, scores) of each column's best k_per_col[c] allowed rows."""
        self._merge()
        order = np.argsort(-self.s, axis=1, kind="stable")
        s = np.take_along_axis(self.s, order, axis=1)
        r = np.take_along_axis(self.r, order, axis=1)
        rank = np.arange(self.k)[None, :]
        keep = (rank < k_per_col[:, None]) & (s >= 0) & (r >= 0)
        at_c, at_k = np.nonzero(keep)
        return r[at_c, at_k], at_c, s[at_c, at_k].astype(np.int64)


def price(
    compiled: Compiled,
    rows: np.ndarray,
    r: np.ndarray,
    cols: np.ndarray,
    q: np.ndarray,
    per_row: int,
    graph: tuple[np.ndarray, np.ndarray],
    column_best: _ColumnBest | None = None,
    prune: tuple[np.ndarray, np.ndarray] | None = None,
) -> Priced:
    """Pairs with s_ij > r_i + q_j not in `graph`, at most `per_row` per learner (largest excess
    first), and for each learner a bound on s_ij - q_j over the pairs not in the graph after it.

    rows/r and cols/q are aligned (global indices and duals, BIG taken off r); `graph` holds the
    pairs already in the graph as (positions in rows, positions in cols). `column_best`, if
    given, also collects each column's best rows (positions in rows) among all pairs scored.

    Only pairs with key_j < thr_i are scored: by default key = q and thr = upper_i - r_i (as
    s_ij <= upper_i); `prune` = (key, thr) gives another such test that no violating pair fails
    (the bound is then meaningless).
    """
    n_r, n_c = len(rows), len(cols)
    thr = compiled.upper[rows] - r  # s_ij <= upper_i, so only q_j < thr_i can violate
    key = q
    if prune is not None:
        key, thr = prune
    order = np.argsort(-thr, kind="stable")
    corder = np.argsort(key, kind="stable")
    cols_sorted, q_sorted, key_sorted = cols[corder], q[corder], key[corder]
    rank = np.empty(n_c, dtype=np.int64)
    rank[corder] = np.arange(n_c)
    in_graph = Sparse.build(n_r, n_c, graph[0], rank[graph[1]], np.zeros(len(graph[0])), "max")
    bound = np.full(n_r, NO_BOUND, dtype=np.int64)
    out_r, out_c, out_s = [], [], []
    scored = start = 0
    while start < n_r:
        ncols = int(np.searchsorted(key_sorted, thr[order[start]], side="left"))
        if ncols == 0:
            # for every learner left, s_ij - q_j <= upper_i - q_j <= r_i on every column
            rest = order[start:]
            bound[rest] = compiled.upper[rows[rest]] - q_sorted[0]
            break
        block = order[start : start + max(1, CHUNK_ELEMENTS // ncols)]
        start += len(block)
        scores = score_block(compiled, rows[block], cols_sorted[:ncols])
        scored += scores.size
        if column_best is not None and ncols == n_c:  # (the first pass prices every pair)
            column_best.add(block, corder, scores)
        gain = scores - q[corder[:ncols]] - r[block][:, None]
        gain[scores < 0] = NO_BOUND
        at_r, at_c, _ = in_graph.block(
            block, np.arange(n_c) if ncols == n_c else _prefix(n_c, ncols)
        )
        gain[at_r, at_c] = NO_BOUND
        viol = gain > 0
        hit = np.flatnonzero(viol.any(axis=1))
        if len(hit):
            counts = viol[hit].sum(axis=1)
            few, many = hit[counts <= per_row], hit[counts > per_row]
            at_r, at_c = np.nonzero(viol[few])
            sel_r, sel_c = [few[at_r]], [at_c]
            if len(many):
                pick = np.argpartition(-gain[many], per_row - 1, axis=1)[:, :per_row]
                sel_r.append(np.repeat(many, per_row))
                sel_c.append(pick.ravel())
            sel_r, sel_c = np.concatenate(sel_r), np.concatenate(sel_c)
            out_r.append(block[sel_r])
            out_c.append(corder[sel_c])
            out_s.append(scores[sel_r, sel_c])
            gain[sel_r, sel_c] = NO_BOUND
        best = gain.max(axis=1)
        bound[block] = np.where(best > NO_BOUND, best + r[block], NO_BOUND)
        if ncols < n_c:  # skipped columns: s_ij - q_j <= upper_i - (their least price)
            bound[block] = np.maximum(bound[block], compiled.upper[rows[block]] - q_sorted[ncols])
    if not out_r:
        empty = np.zeros(0, dtype=np.int64)
        return Priced(empty, empty, empty, bound, scored)
    return Priced(
        np.concatenate(out_r),
        np.concatenate(out_c),
        np.concatenate(out_s).astype(np.int64),
        bound,
        scored,
    )


def _prefix(n: int, k: int) -> np.ndarray:
    """colpos for the first k of n sorted columns."""
    pos = np.full(n, -1, dtype=np.int64)
    pos[:k] = np.arange(k)
    return pos


def _flow(n_l: int, n_g: int, e_l, e_g, e_s, slot_g, slot_cap, slot_cost) -> np.ndarray:
    """Maximum flow of least cost, source -> learner -> guide -> slot -> sink.

    The flow maximises the number matched first and then the score, which is what the BIG
    constant expresses in the LP; OR-Tools' max-flow-with-min-cost does it without putting BIG
    into the costs (small costs make its cost scaling much faster). Returns the 0/1 flow on
    each learner-guide edge."""
    source, sink = n_l + n_g, n_l + n_g + 1
    n_e = len(e_l)
    tails = np.concatenate([np.full(n_l, source), e_l, n_l + slot_g])
    heads = np.concatenate([np.arange(n_l), n_l + e_g, np.full(len(slot_g), sink)])
    caps = np.concatenate([np.ones(n_l + n_e, np.int64), slot_cap])
    costs = np.concatenate([np.zeros(n_l, np.int64), -e_s, slot_cost])
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        caps.astype(np.int64),
        costs.astype(np.int64),
    )
    solver.set_nodes_supplies(np.array([source, sink], np.int32), np.array([n_l, -n_l], np.int64))
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    return np.asarray(solver.flows(np.arange(n_l, n_l + n_e, dtype=np.int32))) > 0


def _duals(n_l, n_g, e_l, e_g, e_w, match_edge, low, high):
    """Least guide prices satisfying complementary slackness with the flow, and utilities.

    Returns (u, p, ok): ok is False if they are not a feasible dual (the flow was not optimal).
    """
    matched = match_edge >= 0
    m_g = np.where(matched, e_g[np.maximum(match_edge, 0)], 0)
    m_w = np.where(matched, e_w[np.maximum(match_edge, 0)], 0)
    order = np.argsort(e_g, kind="stable")
    el, eg, ew = e_l[order], e_g[order], e_w[order]
    starts = np.flatnonzero(np.r_[True, eg[1:] != eg[:-1]]) if len(eg) else np.zeros(0, int)
    seg_g = eg[starts]
    p = low.copy()
    for _ in range(n_g + 2):
        if len(starts) == 0:
            break
        u = np.where(matched, m_w - p[m_g], 0)
        new = p.copy()
        new[seg_g] = np.maximum(p[seg_g], np.maximum.reduceat(ew - u[el], starts))
        if np.array_equal(new, p):
            break
        p = new
    else:
        return None, None, False
    u = np.where(matched, m_w - p[m_g], 0)
    ok = bool((u >= 0).all() and (p <= high).all())
    return np.maximum(u, 0), p, ok


def solve_optimal(
    compiled: Compiled,
    rows: np.ndarray,
    residual: np.ndarray,
    locked: np.ndarray,
    capacity: np.ndarray,
    strategy: Strategy | None = None,
) -> FlowResult:
    """Optimal assignment of learners `rows` to guides with `residual` places left.

    `locked[j]` places of guide j are already taken by locks (they take its first slots) and
    `capacity[j]` is its whole capacity, for the load-balance penalties. `strategy` defaults to
    the module's STRATEGY."""
    st = STRATEGY if strategy is None else strategy
    cols = np.flatnonzero(residual > 0)
    n_l, n_g = len(rows), len(cols)
    none = np.full(n_l, -1, dtype=np.int64)
    if n_l == 0 or n_g == 0:
        return FlowResult(none, 0, 0, 0, True)
    weight = compiled.criteria.load_balance
    big = (compiled.max_score + weight) * (n_l + 1) + 1
    res, lock, cap = residual[cols], locked[cols], capacity[cols]
    if weight:
        slot_g = np.repeat(np.arange(n_g), res)
        k = np.arange(len(slot_g)) - np.repeat(np.cumsum(res) - res, res) + 1
        slot_cap = np.ones(len(slot_g), np.int64)
        slot_cost = slot_penalty(weight, cap[slot_g], lock[slot_g] + k).astype(np.int64)
    else:
        slot_g, slot_cap, slot_cost = np.arange(n_g), res.astype(np.int64), np.zeros(n_g, np.int64)

    # Initial graph: each learner's best few guides, and with the strategy's guide side each
    # guide's best few learners (sized by its places: a guide nobody ranks first still gets the
    # learners who suit it best), from one pricing pass at zero duals. Each pass also leaves a
    # bound per learner: max s_ij - q_j, at that pass's prices, over the pairs it did not add.
    # While bound_i + (largest price drop since then) <= r_i, no pair of learner i can violate;
    # when only bound_i <= r_i holds, only the guides whose price dropped by more than the
    # margin r_i - bound_i since that pass can, so only they are rescored.
    everyone = np.arange(n_l)
    per_guide = st.guide_side_factor * res + st.guide_side_extra
    column_best = _ColumnBest(int(per_guide.max()), n_g) if per_guide.max() > 0 else None
    first = price(
        compiled,
        rows,
        np.full(n_l, -_SELECT_ALL, np.int64),
        cols,
        np.zeros(n_g, np.int64),
        st.initial_per_learner,
        (everyone[:0], everyone[:0]),
        column_best,
    )
    e_l, e_g, e_s, priced = first.rows, first.cols, first.scores, first.scored
    if column_best is not None:
        g_l, g_g, g_s = column_best.pairs(per_guide)
        e_l, e_g, e_s = _union(n_g, (e_l, e_g, e_s), (g_l, g_g, g_s))
    if len(e_l) == 0:  # nobody has an allowed guide with room
        return FlowResult(none, 0, 0, priced, True)
    bound, epoch, history = first.bound, np.zeros(n_l, dtype=np.int64), [np.zeros(n_g, np.int64)]
    rounds = 0
    while True:
        rounds += 1
        e_w = big + e_s
        flow = _flow(n_l, n_g, e_l, e_g, e_s, slot_g, slot_cap, slot_cost)
        match_edge = np.full(n_l, -1, dtype=np.int64)
        match_edge[e_l[flow]] = np.flatnonzero(flow)
        load = np.bincount(e_g[flow], minlength=n_g)
        low = np.where(load > 0, slot_penalty(weight, cap, lock + load), 0).astype(np.int64)
        high = np.where(
            load < res, slot_penalty(weight, cap, lock + load + 1), np.iinfo(np.int64).max
        ).astype(np.int64)
        u, p, ok = _duals(n_l, n_g, e_l, e_g, e_w, match_edge, low, high)
        if not ok:
            raise RuntimeError("min-cost flow returned a non-optimal flow")
        primal = int(e_w[flow].sum()) - int(_used_penalty(weight, cap, lock, load))
        dual = int(u.sum()) + int(_slot_dual(weight, cap, lock, res, p))
        r = u - big
        drop = np.array([max(int((old - p).max()), 0) for old in history], dtype=np.int64)
        stale = (bound > NO_BOUND) & (bound + drop[epoch] > r)
        partial = stale & (bound <= r) if st.partial_pricing else np.zeros(n_l, bool)
        full = np.flatnonzero(stale & ~partial)
        # pairs within `slack` points of violating join too, so that the next prices, a little
        # different, do not make them violate one round later
        rs = r - st.slack
        add_l, add_g, add_s = [], [], []
        new = price(
            compiled, rows[full], rs[full], cols, p, st.added_per_learner, _local(full, e_l, e_g)
        )
        priced += new.scored
        add_l.append(full[new.rows]), add_g.append(new.cols), add_s.append(new.scores)
        for e in np.unique(epoch[partial]):
            # learners still bounded at their last pass's prices: only the guides cheaper now
            who = np.flatnonzero(partial & (epoch == e))
            cheaper = np.flatnonzero(p < history[e])
            if len(cheaper) == 0:
                continue
            at = np.full(n_g, -1, dtype=np.int64)
            at[cheaper] = np.arange(len(cheaper))
            g_r, g_c = _local(who, e_l, e_g)
            inside = at[g_c] >= 0
            part = price(
                compiled,
                rows[who],
                rs[who],
                cols[cheaper],
                p[cheaper],
                st.added_per_learner,
                (g_r[inside], at[g_c[inside]]),
                # s_ij - p_j <= bound_i + (its price then - p_j): only a drop beyond the
                # learner's margin r_i - bound_i can make a pair violate
                prune=(p[cheaper] - history[e][cheaper], bound[who] - rs[who]),
            )
            priced += part.scored
            add_l.append(who[part.rows]), add_g.append(cheaper[part.cols])
            add_s.append(part.scores)
        bound[full], epoch[full] = new.bound, len(history)
        history.append(p)
        add_l, add_g, add_s = np.concatenate(add_l), np.concatenate(add_g), np.concatenate(add_s)
        if not (add_s - p[add_g] > r[add_l]).any():
            break  # no pair violates: the duals are feasible for every pair
        e_l = np.concatenate([e_l, add_l])
        e_g = np.concatenate([e_g, add_g])
        e_s = np.concatenate([e_s, add_s])
    guide = none.copy()
    has = match_edge >= 0
    guide[has] = cols[e_g[match_edge[has]]]
    return FlowResult(guide, rounds, len(e_l), priced, primal == dual)


def _union(n_g: int, *graphs):
    """Edges (learner, guide, score) of several graphs, each pair once."""
    e_l, e_g, e_s = (np.concatenate(x) for x in zip(*graphs, strict=True))
    _, first = np.unique(e_l * n_g + e_g, return_index=True)
    return e_l[first], e_g[first], e_s[first]


def _local(subset: np.ndarray, e_l: np.ndarray, e_g: np.ndarray):
    """Graph edges of the learners `subset`, as (position in subset, guide position)."""
    pos = np.full(int(e_l.max(initial=-1)) + 1, -1, dtype=np.int64)
    pos[subset[subset < len(pos)]] = np.arange(len(subset))[subset < len(pos)]
    at = pos[e_l]
    keep = at >= 0
    return at[keep], e_g[keep]


def _used_penalty(weight, cap, lock, load) -> int:
    if not weight:
        return 0
    total = 0
    for k in range(1, int(load.max(initial=0)) + 1):
        used = load >= k
        total += int(slot_penalty(weight, cap[used], lock[used] + k).sum())
    return total


def _slot_dual(weight, cap, lock, res, p) -> int:
    total = 0
    for k in range(1, int(res.max(initial=0)) + 1):
        avail = res >= k
        pen = slot_penalty(weight, cap[avail], lock[avail] + k)
        total += int(np.maximum(p[avail] - pen, 0).sum())
    return total
