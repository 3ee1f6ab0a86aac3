"""Matcher on synthetic cohorts S, M and L: time, memory, quality against the exact optimum.

Needs no database. Instances (fixed seed) have realistic features: specialties with the popular
ones over-demanded (learners' interest is steeper than guides'), research interests, languages,
campuses, shared-background wishes, weekly availability bitmaps, ranked choices biased towards
well-known guides, guide wishes, previous guides (some on a no-fault rematch), a few peer
guides who are also learners (R1), and about 2% forbidden pairs.

For each size: the optimal mode (the whole pipeline: compiling features, candidates, pricing,
solve, blocking pairs, explanations), the stable mode, and a greedy baseline (best pair first);
their wall time, peak Python heap (tracemalloc) and process peak RSS, total score, number
matched and blocking pairs; and the exact optimum over all pairs, computed on S and M every run
(scipy's linear_sum_assignment with guides expanded into slots) and on L only with
MATCHING_REFERENCE=1 (OR-Tools min-cost flow over every allowed pair: minutes and ~11 GB).
Greedy is computed over all pairs on S and M; on L it is given by the stable mode, which with
both sides ranking by the same pair score is exactly best-pair-first (checked on S and M).
MATCHING_L=0 skips L.

Then cohort families (FAMILIES: the benchmark's own, tight and loose capacity, 10% forbidden,
many must-haves, clustered campuses, massive ties), each matched by the pricing loop as it is
and as first written (optimal.BASELINE) in fresh processes (time, peak RSS, rounds, pairs
scored, total, matched, certificate): all families at M every run, checked against the dense
optimum; at L the families in MATCHING_FAMILIES (comma-separated, or "all"; default "tight",
the slowest, to keep the run within minutes).
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.optimize import linear_sum_assignment

from matching.algorithm import Criteria, Criterion, Guide, Learner, Mode, match, optimal
from matching.algorithm.features import compile_instance, score_block
from matching.algorithm.optimal import CHUNK_ELEMENTS, slot_penalty

SEED = 20250601
CRITERIA = Criteria(
    specialty=30,
    research=15,
    language=10,
    campus=10,
    background=10,
    availability=10,
    ranked_choice=25,
    guide_preference=10,
    continuity=10,
    load_balance=10,
    must_have=frozenset({Criterion.LANGUAGE}),
    availability_target=4,
)
SIZES = {"S": (200, 80, 1, 4), "M": (2_000, 700, 1, 5), "L": (20_000, 6_000, 1, 6)}

SPECIALTIES = [f"specialty-{k:02d}" for k in range(25)]
TOPICS = [f"topic-{k:02d}" for k in range(40)]
LANGUAGES = ["Spanish", "Mandarin", "Arabic", "French", "Hindi", "Vietnamese"]
CAMPUSES = ["North", "South", "East", "Rural"]
BACKGROUNDS = ["first-generation", "LGBTQ+", "parent", "veteran", "international", "rural"]


def _zipf(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _pick(rng, items, p, k):
    return frozenset(items[x] for x in rng.choice(len(items), size=k, replace=False, p=p))


def _availability(rng, hours: int) -> int:
    # daytime and evening hours (7:00-21:00) of the 7 days; bit 24 * day + hour
    slots = rng.choice(7 * 14, size=hours, replace=False)
    return sum(1 << int(24 * (s // 14) + 7 + s % 14) for s in slots)


FAMILIES = {
    "base": "the benchmark's own cohort: about 1.05 places per learner, 2% forbidden pairs",
    "tight": "tight capacity: 1.02 places per learner",
    "loose": "loose capacity: 3 places per learner",
    "forbidden": "10% of all pairs forbidden",
    "must-have": "many must-haves: specialty, language and campus, more language wishes",
    "clustered": "clustered campuses: 12 campuses, learners crowd a few, campus weighs 40",
    "ties": "massive ties: only specialty and campus score (0, 10, 20 or 30 points)",
}


def family_criteria(family: str) -> Criteria:
    if family == "must-have":
        must = frozenset({Criterion.SPECIALTY, Criterion.LANGUAGE, Criterion.CAMPUS})
        return replace(CRITERIA, must_have=must)
    if family == "clustered":
        return replace(CRITERIA, campus=40)
    if family == "ties":
        return Criteria(specialty=20, campus=10, must_have=frozenset({Criterion.LANGUAGE}))
    return CRITERIA


def _capacities(rng, capacity: np.ndarray, places: int) -> np.ndarray:
    """Capacities of the same shape rescaled to `places` in all (each guide at least 1)."""
    scaled = np.maximum(1, np.floor(capacity * places / capacity.sum())).astype(np.int64)
    while (gap := places - int(scaled.sum())) != 0:
        if gap > 0:
            at = rng.choice(len(scaled), size=gap, replace=True)
            np.add.at(scaled, at, 1)
        else:
            over = np.flatnonzero(scaled > 1)
            at = rng.choice(over, size=min(-gap, len(over)), replace=False)
            scaled[at] -= 1
    return scaled


def instance(size: str | tuple[int, int, int, int], seed: int = SEED, family: str = "base"):
    """(learners, guides, forbidden) of a synthetic cohort; `family` shapes it (FAMILIES).
    `size` names one of SIZES or gives (learners, guides, least and largest capacity).

    Forbidden pairs come as an (n, 2) integer array of (learner id, guide id) rows, which the
    matcher takes as it takes a list of pairs (a list of 12 million tuples would weigh 1.5 GB)."""
    n_l, n_g, cap_lo, cap_hi = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng(seed)
    spec_l, spec_g = _zipf(len(SPECIALTIES), 1.1), _zipf(len(SPECIALTIES), 0.3)
    topic_p = _zipf(len(TOPICS), 0.7)
    campuses, camp_l = CAMPUSES, np.array([0.45, 0.3, 0.15, 0.1])
    camp_g = camp_l
    if family == "clustered":
        campuses = [f"campus-{k:02d}" for k in range(12)]
        camp_l, camp_g = _zipf(12, 1.6), _zipf(12, 0.2)
    lang_p = 0.6 if family == "must-have" else 0.2
    fame = rng.lognormal(0, 1.0, n_g)
    guides = []
    for j in range(n_g):
        languages = {"English"} | (
            {LANGUAGES[rng.integers(len(LANGUAGES))]} if rng.random() < 0.3 else set()
        )
        guides.append(
            Guide(
                id=n_l + j if j % 100 else j,  # every 100th guide is a peer: also a learner
                capacity=int(rng.integers(cap_lo, cap_hi + 1)),
                specialties=_pick(rng, SPECIALTIES, spec_g, int(rng.integers(1, 3))),
                research=_pick(rng, TOPICS, topic_p, int(rng.integers(1, 5))),
                languages=frozenset(languages),
                campus=campuses[rng.choice(len(campuses), p=camp_g)],
                background=_pick(rng, BACKGROUNDS, None, int(rng.integers(0, 3))),
                availability=_availability(rng, int(rng.integers(4, 12))),
            )
        )
    by_specialty = {s: [j for j, g in enumerate(guides) if s in g.specialties] for s in SPECIALTIES}
    learners = []
    for i in range(n_l):
        specialties = _pick(rng, SPECIALTIES, spec_l, int(rng.integers(1, 3)))
        pool = sorted({j for s in specialties for j in by_specialty[s]})
        ranked = ()
        if pool and rng.random() < 0.6:
            p = fame[pool] / fame[pool].sum()
            chosen = rng.choice(
                pool, size=min(len(pool), int(rng.integers(1, 6))), replace=False, p=p
            )
            ranked = tuple(guides[j].id for j in chosen)
        previous = guides[rng.integers(n_g)].id if rng.random() < 0.1 else None
        learners.append(
            Learner(
                id=i,
                specialties=specialties,
                research=_pick(rng, TOPICS, topic_p, int(rng.integers(0, 4))),
                languages=frozenset(
                    {LANGUAGES[rng.choice(len(LANGUAGES), p=_zipf(len(LANGUAGES), 1.0))]}
                    if rng.random() < lang_p
                    else ()
                ),
                campus=campuses[rng.choice(len(campuses), p=camp_l)],
                background_wishes=(
                    _pick(rng, BACKGROUNDS, None, int(rng.integers(1, 3)))
                    if rng.random() < 0.25
                    else frozenset()
                ),
                availability=_availability(rng, int(rng.integers(6, 16))),
                ranked_guides=ranked,
                previous_guide=previous,
                rematch=previous is not None and rng.random() < 0.2,
            )
        )
    for j in rng.choice(n_g, size=n_g // 10, replace=False):
        wishes = tuple(int(x) for x in rng.choice(n_l, size=int(rng.integers(1, 4)), replace=False))
        guides[j] = _with(guides[j], preferred_learners=wishes)
    places = {"tight": 1.02, "loose": 3.0}.get(family)
    if places:
        capacity = np.array([g.capacity for g in guides])
        capacity = _capacities(rng, capacity, round(places * n_l))
        guides = [_with(g, capacity=int(c)) for g, c in zip(guides, capacity, strict=True)]
    share = 0.10 if family == "forbidden" else 0.02
    n_forbidden = int(share * n_l * n_g)
    fl = rng.integers(0, n_l, n_forbidden)
    fg = rng.integers(0, n_g, n_forbidden)
    gid = np.array([g.id for g in guides])
    forbidden = np.stack([fl, gid[fg]], axis=1)
    return learners, guides, forbidden


def _with(guide: Guide, **changes) -> Guide:
    return replace(guide, **changes)


def _measure(fn, *, trace: bool = True):
    """(result, wall seconds, peak traced MiB or None). tracemalloc slows Python-heavy code
    down a lot, so the time comes from an untraced run and the peak from a second, traced one."""
    gc.collect()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    peak = None
    if trace:
        gc.collect()
        tracemalloc.start()
        fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return out, seconds, peak


def _all_pair_scores(compiled):
    """Dense scores (learners x guides with capacity), for S and M only."""
    rows = np.arange(compiled.n_learners)
    cols = np.arange(compiled.n_guides)
    return score_block(compiled, rows, cols)


def _compiled(learners, guides, forbidden, criteria=CRITERIA):
    return compile_instance(
        learners,
        guides,
        criteria,
        forbidden,
        {p.id: k for k, p in enumerate(learners)},
        {g.id: k for k, g in enumerate(guides)},
    )


def _penalty_total(guides, load) -> int:
    cap = np.array([g.capacity for g in guides])
    return sum(
        int(
            slot_penalty(CRITERIA.load_balance, cap[load >= k], np.full((load >= k).sum(), k)).sum()
        )
        for k in range(1, int(load.max(initial=0)) + 1)
    )


def greedy(learners, guides, forbidden):
    """Best pair first over all allowed pairs (what a home-made system does).

    Ties are broken as the stable mode breaks them with seed 0 (a random priority of guides,
    then of learners), so that the two can be checked equal."""
    compiled = _compiled(learners, guides, forbidden)
    scores = _all_pair_scores(compiled)
    li, gj = np.nonzero(scores >= 0)
    s = scores[li, gj]
    rng = np.random.default_rng(0)
    guide_rank = rng.permutation(len(guides))
    learner_rank = rng.permutation(len(learners))
    order = np.lexsort((learner_rank[li], guide_rank[gj], -s))
    room = np.array([g.capacity for g in guides])
    taken = np.zeros(len(learners), dtype=bool)
    total = matched = 0
    for i, j, v in zip(li[order].tolist(), gj[order].tolist(), s[order].tolist(), strict=True):
        if not taken[i] and room[j] > 0:
            taken[i] = True
            room[j] -= 1
            total += v
            matched += 1
    load = np.array([g.capacity for g in guides]) - room
    return total - _penalty_total(guides, load), matched


def reference_dense(learners, guides, forbidden, criteria=CRITERIA):
    """Exact optimum: linear_sum_assignment with guides expanded into slots (S, M)."""

    compiled = _compiled(learners, guides, forbidden, criteria)
    scores = _all_pair_scores(compiled).astype(np.int64)
    cap = np.array([g.capacity for g in guides])
    slot_g = np.repeat(np.arange(len(guides)), cap)
    slot_k = np.arange(len(slot_g)) - np.repeat(np.cumsum(cap) - cap, cap) + 1
    pen = slot_penalty(criteria.load_balance, cap[slot_g], slot_k)
    big = (compiled.max_score + criteria.load_balance) * (len(learners) + 1) + 1
    value = np.where(scores[:, slot_g] >= 0, big + scores[:, slot_g] - pen, 0)
    r, c = linear_sum_assignment(value, maximize=True)
    ok = value[r, c] > 0
    total = int((value[r, c][ok] - big).sum())
    return total, int(ok.sum())


def reference_flow(learners, guides, forbidden):
    """Exact optimum: OR-Tools min-cost flow over every allowed pair (L: minutes, ~11 GB)."""

    compiled = _compiled(learners, guides, forbidden)
    n_l, n_g = len(learners), len(guides)
    cap = np.array([g.capacity for g in guides])
    big = (compiled.max_score + CRITERIA.load_balance) * (n_l + 1) + 1
    solver = min_cost_flow.SimpleMinCostFlow()
    source, sink = n_l + n_g, n_l + n_g + 1
    cols = np.arange(n_g)
    step = max(1, CHUNK_ELEMENTS * 8 // n_g)
    for start in range(0, n_l, step):
        rows = np.arange(start, min(n_l, start + step))
        s = score_block(compiled, rows, cols)
        r, c = np.nonzero(s >= 0)
        solver.add_arcs_with_capacity_and_unit_cost(
            rows[r].astype(np.int32),
            (n_l + c).astype(np.int32),
            np.ones(len(r), np.int64),
            -(big + s[r, c]).astype(np.int64),
        )
    slot_g = np.repeat(cols, cap)
    slot_k = np.arange(len(slot_g)) - np.repeat(np.cumsum(cap) - cap, cap) + 1
    pen = slot_penalty(CRITERIA.load_balance, cap[slot_g], slot_k).astype(np.int64)
    solver.add_arcs_with_capacity_and_unit_cost(
        (n_l + slot_g).astype(np.int32),
        np.full(len(slot_g), sink, np.int32),
        np.ones(len(slot_g), np.int64),
        pen,
    )
    solver.add_arcs_with_capacity_and_unit_cost(
        np.r_[np.full(n_l, source), [source]].astype(np.int32),
        np.r_[np.arange(n_l), [sink]].astype(np.int32),
        np.r_[np.ones(n_l), [n_l]].astype(np.int64),
        np.zeros(n_l + 1, np.int64),
    )
    solver.set_nodes_supplies(np.array([source, sink], np.int32), np.array([n_l, -n_l], np.int64))
    status = solver.solve()
    assert status == solver.OPTIMAL, status
    cost = -solver.optimal_cost()
    matched = cost // big + (1 if cost % big > big // 2 else 0)
    return int(cost - matched * big), int(matched)


def _row(label, seconds, peak, total, matched, blocking, optimum):
    gap = "" if optimum is None else f"{100 * (total - optimum) / optimum:+.3f}%"
    peak_s = "" if peak is None else f"{peak / 2**20:,.0f}"
    block_s = "" if blocking is None else f"{blocking:,}"
    print(
        f"  {label:<22}{seconds:>9.2f}{peak_s:>11}{total:>13,}{matched:>9,}{block_s:>10}{gap:>10}"
    )


def run_size(size: str) -> None:
    """One size's table. Peak MiB is tracemalloc's peak of the Python heap (numpy included)
    during the call; the instance itself is built before and not counted."""
    learners, guides, forbidden = instance(size)
    n_l, n_g = len(learners), len(guides)
    print(
        f"{size}: {n_l:,} learners x {n_g:,} guides, {sum(g.capacity for g in guides):,} places, "
        f"{len(forbidden):,} forbidden pairs"
    )
    print(
        f"  {'method':<22}{'time s':>9}{'peak MiB':>11}{'total':>13}{'matched':>9}"
        f"{'blocking':>10}{'vs opt':>10}"
    )
    optimum = None
    if size != "L" or os.environ.get("MATCHING_REFERENCE") == "1":
        reference = reference_dense if size != "L" else reference_flow
        (ref_total, ref_matched), ref_seconds, ref_peak = _measure(
            lambda: reference(learners, guides, forbidden), trace=size != "L"
        )
        optimum = ref_total
    result, seconds, peak = _measure(
        lambda: match(learners, guides, CRITERIA, forbidden=forbidden),
        trace=size != "L",  # L: see the cohort families below for its peak RSS
    )
    stats = result.stats
    if optimum is not None:
        assert len(result.proposals) == ref_matched, (len(result.proposals), ref_matched)
    _row(
        "optimal (pricing)",
        seconds,
        peak,
        result.total_score,
        len(result.proposals),
        result.blocking_pair_count,
        optimum,
    )
    print(
        f"  {'':<22}rounds {stats.rounds}, candidate pairs {stats.candidate_pairs:,}, "
        f"pairs priced {stats.priced_pairs:,} ({stats.priced_pairs / (n_l * n_g):.1f} x all), "
        f"certified optimal: {stats.certified_optimal}"
    )
    stable, seconds, peak = _measure(
        lambda: match(learners, guides, CRITERIA, forbidden=forbidden, mode=Mode.STABLE),
        trace=size != "L",  # traced, its Python loop runs ~4x slower: a minute on L
    )
    _row(
        "stable (deferred acc.)",
        seconds,
        peak,
        stable.total_score,
        len(stable.proposals),
        stable.blocking_pair_count,
        optimum,
    )
    if size != "L":
        (g_total, g_matched), seconds, peak = _measure(lambda: greedy(learners, guides, forbidden))
        _row("greedy (all pairs)", seconds, peak, g_total, g_matched, None, optimum)
        assert (g_total, g_matched) == (stable.total_score, len(stable.proposals))
    if optimum is not None:
        _row("reference (exact)", ref_seconds, ref_peak, ref_total, ref_matched, None, optimum)
    else:
        print("  reference (exact)      skipped: set MATCHING_REFERENCE=1 (minutes, ~11 GB)")


def _peak_rss_mib() -> float:
    """This process's own peak RSS. Linux carries ru_maxrss over execve, so a child started
    from a large parent would report the parent's size; VmHWM is the new image's own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _family_child(path: str, method: str) -> dict:
    """In a fresh process: load the pickled instance, match once, report (one JSON line)."""
    with open(path, "rb") as f:
        family, learners, guides, forbidden = pickle.load(f)  # noqa: S301 (our own file)
    if method == "baseline":
        optimal.STRATEGY = optimal.BASELINE
    gc.collect()
    rss_before = _peak_rss_mib()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    result = match(learners, guides, family_criteria(family), forbidden=forbidden)
    seconds = time.perf_counter() - start
    stats = result.stats
    return {
        "seconds": seconds,
        "load": load,
        "rss_before": rss_before,
        "rss_peak": _peak_rss_mib(),
        "rounds": stats.rounds,
        "priced": stats.priced_pairs / (len(learners) * len(guides)),
        "candidates": stats.candidate_pairs,
        "total": result.total_score,
        "matched": len(result.proposals),
        "certified": stats.certified_optimal,
    }


def _in_child(path: str, method: str) -> dict:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(  # noqa: S603 (this interpreter, this module, our own file)
        [sys.executable, "-m", "benchmarks.bench_matching", path, method],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{method} on {path} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_families(size: str, families: list[str]) -> None:
    """Each cohort family at one size: the matcher as it is ("pricing") beside the pricing loop
    as first written ("baseline", optimal.BASELINE), each in a fresh process so that its peak
    RSS (ru_maxrss) is its own; "instance MiB" is the RSS with the cohort loaded, before the
    call. On S and M the exact optimum over all pairs is checked too (dense assignment)."""
    n_l, n_g = SIZES[size][:2]
    print(
        f"{size} cohort families: {n_l:,} learners x {n_g:,} guides; load = 1-minute load "
        f"average of the machine ({os.cpu_count()} cores) when the run started"
    )
    print(
        f"  {'family':<11}{'method':<10}{'time s':>8}{'load':>6}{'inst MiB':>9}{'peak MiB':>9}"
        f"{'rounds':>7}{'priced':>8}{'total':>12}{'matched':>9}  certified, exact"
    )
    for family in families:
        learners, guides, forbidden = instance(size, family=family)
        optimum = None
        if size != "L":
            optimum = reference_dense(learners, guides, forbidden, family_criteria(family))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "instance.pickle")
            with open(path, "wb") as f:
                pickle.dump((family, learners, guides, forbidden), f, protocol=5)
            del learners, guides, forbidden
            gc.collect()
            rows = {method: _in_child(path, method) for method in ("pricing", "baseline")}
        for method, r in rows.items():
            got = (r["total"], r["matched"])
            want = optimum or (rows["baseline"]["total"], rows["baseline"]["matched"])
            exact = "= dense optimum" if optimum else "= baseline"
            print(
                f"  {family:<11}{method:<10}{r['seconds']:>8.2f}{r['load']:>6.1f}"
                f"{r['rss_before']:>9,.0f}{r['rss_peak']:>9,.0f}{r['rounds']:>7}"
                f"{r['priced']:>7.2f}x{r['total']:>12,}{r['matched']:>9,}  {r['certified']}, "
                f"{exact if got == want else 'DIFFERS: ' + repr(want)}",
                flush=True,
            )
            assert got == want, (family, method, got, want)
            assert r["certified"], (family, method)


def run() -> None:
    for size in SIZES:
        if size == "L" and os.environ.get("MATCHING_L") == "0":
            print("L skipped (MATCHING_L=0)")
            continue
        run_size(size)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS (whole benchmark, all sizes): {rss:,.0f} MiB")
    print()
    run_families("M", list(FAMILIES))
    chosen = os.environ.get("MATCHING_FAMILIES", "tight")
    families = list(FAMILIES) if chosen == "all" else [f for f in chosen.split(",") if f]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown:
        raise SystemExit(f"MATCHING_FAMILIES: unknown {unknown}; known: {', '.join(FAMILIES)}")
    if families and os.environ.get("MATCHING_L") != "0":
        print()
        run_families("L", families)
    else:
        print("L cohort families skipped (MATCHING_L=0 or MATCHING_FAMILIES empty)")


if __name__ == "__main__":  # a family's child process: python -m benchmarks.bench_matching
    print(json.dumps(_family_child(sys.argv[1], sys.argv[2])))
