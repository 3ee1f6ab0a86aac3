"""The matcher (matching/algorithm): pure computation, no database.

Property tests compare the solver with a brute-force optimum (scipy's linear_sum_assignment on
guides expanded into slots, with the same "match as many as possible first" objective) and check
every hard constraint; example tests pin explanations, unmatched reasons and the pricing loop.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from matching.algorithm import (
    FILTERABLE,
    Criteria,
    Criterion,
    Guide,
    Learner,
    Mode,
    UnmatchedReason,
    match,
    optimal,
    pair_scores,
)
from matching.algorithm.optimal import BASELINE, INITIAL_PER_LEARNER, Strategy, slot_penalty

WORDS = ["cardiology", "surgery", "pediatrics", "oncology"]
LANGS = ["Spanish", "French"]
CAMPUSES = [None, "North", "South"]
BACKGROUNDS = ["first-generation", "parent"]

labels = st.frozensets(st.sampled_from(WORDS), max_size=2)


@st.composite
def instances(draw):
    n_l = draw(st.integers(1, 7))
    n_g = draw(st.integers(1, 4))
    learner_ids = list(range(n_l))
    # guide ids: 100+ for faculty; some guides are peers who are also learners (R1)
    guide_ids = [draw(st.sampled_from([100 + j, j])) if j < n_l else 100 + j for j in range(n_g)]
    guide_ids = list(dict.fromkeys(guide_ids))
    guides = [
        Guide(
            id=g,
            capacity=draw(st.integers(0, 3)),
            specialties=draw(labels),
            research=draw(labels),
            languages=draw(st.frozensets(st.sampled_from(LANGS), max_size=1)),
            campus=draw(st.sampled_from(CAMPUSES)),
            background=draw(st.frozensets(st.sampled_from(BACKGROUNDS), max_size=2)),
            availability=draw(st.integers(0, 63)),
            preferred_learners=tuple(
                draw(st.lists(st.sampled_from(learner_ids), max_size=2, unique=True))
            ),
            opted_out=draw(st.booleans()) and draw(st.booleans()),
        )
        for g in guide_ids
    ]
    learners = []
    for i in learner_ids:
        previous = draw(st.sampled_from([None, *guide_ids]))
        learners.append(
            Learner(
                id=i,
                specialties=draw(labels),
                research=draw(labels),
                languages=draw(st.frozensets(st.sampled_from(LANGS), max_size=1)),
                campus=draw(st.sampled_from(CAMPUSES)),
                background_wishes=draw(st.frozensets(st.sampled_from(BACKGROUNDS), max_size=2)),
                availability=draw(st.integers(0, 63)),
                ranked_guides=tuple(
                    draw(st.lists(st.sampled_from(guide_ids), max_size=3, unique=True))
                ),
                previous_guide=previous,
                rematch=previous is not None and draw(st.booleans()),
                opted_out=draw(st.integers(0, 5)) == 0,
            )
        )
    weights = {c.value: draw(st.integers(0, 20)) for c in Criterion}
    criteria = Criteria(
        **weights,
        must_have=draw(st.frozensets(st.sampled_from(sorted(FILTERABLE)), max_size=2)),
        availability_target=draw(st.integers(1, 3)),
        rank_depth=draw(st.integers(1, 3)),
    )
    pairs = [(a, b) for a in learner_ids for b in guide_ids]
    forbidden = draw(st.lists(st.sampled_from(pairs), max_size=4, unique=True))
    # locks: pairs the constraints allow, within capacity, one per learner
    locks, used = [], {}
    scores = _dense(learners, guides, criteria, forbidden)
    for i, j in draw(
        st.lists(st.tuples(st.integers(0, n_l - 1), st.integers(0, n_g - 1)), max_size=2)
    ):
        g = guides[j]
        if (
            scores[i, j] >= 0
            and not learners[i].opted_out
            and not g.opted_out
            and used.get(j, 0) < g.capacity
            and i not in {a for a, _ in locks}
        ):
            locks.append((i, j))
            used[j] = used.get(j, 0) + 1
    lock_ids = [(learners[i].id, guides[j].id) for i, j in locks]
    return learners, guides, criteria, forbidden, lock_ids


def _dense(learners, guides, criteria, forbidden):
    li, gj = np.meshgrid(np.arange(len(learners)), np.arange(len(guides)), indexing="ij")
    scores = pair_scores(learners, guides, criteria, li.ravel(), gj.ravel(), forbidden=forbidden)
    return scores.reshape(len(learners), len(guides))


def _capacity(guides):
    return np.array([0 if g.opted_out else g.capacity for g in guides])


def brute_force(learners, guides, criteria, forbidden, locks):
    """(number matched, total score) of the exact optimum, by assignment on expanded slots."""
    scores = _dense(learners, guides, criteria, forbidden).astype(np.int64)
    cap = _capacity(guides)
    gpos = {g.id: j for j, g in enumerate(guides)}
    lpos = {p.id: i for i, p in enumerate(learners)}
    locked = np.zeros(len(guides), dtype=np.int64)
    lock_total = 0
    for a, b in locks:
        locked[gpos[b]] += 1
        lock_total += int(scores[lpos[a], gpos[b]])
    lock_total -= sum(
        int(slot_penalty(criteria.load_balance, cap[j], k))
        for j in range(len(guides))
        for k in range(1, locked[j] + 1)
    )
    rows = [
        i for i, p in enumerate(learners) if not p.opted_out and p.id not in {a for a, _ in locks}
    ]
    slot_g = [j for j in range(len(guides)) for _ in range(cap[j] - locked[j])]
    slot_k = [locked[j] + 1 + k for j in range(len(guides)) for k in range(cap[j] - locked[j])]
    if not rows or not slot_g:
        return len(locks), lock_total
    big = 10**9
    value = np.zeros((len(rows), len(slot_g)), dtype=np.int64)
    for a, i in enumerate(rows):
        for b, (j, k) in enumerate(zip(slot_g, slot_k, strict=True)):
            if scores[i, j] >= 0:
                pen = int(slot_penalty(criteria.load_balance, cap[j], k))
                value[a, b] = big + scores[i, j] - pen
    r, c = linear_sum_assignment(value, maximize=True)
    ok = value[r, c] > 0
    return len(locks) + int(ok.sum()), lock_total + int((value[r, c][ok] - big).sum())


def independent_blocking(result, learners, guides, criteria, forbidden, locks):
    """Count blocking pairs from the dense scores, without the matcher's own code."""
    scores = _dense(learners, guides, criteria, forbidden)
    lpos = {p.id: i for i, p in enumerate(learners)}
    gpos = {g.id: j for j, g in enumerate(guides)}
    locked_learners = {lpos[a] for a, _ in locks}
    cap = _capacity(guides)
    current = {lpos[p.learner_id]: gpos[p.guide_id] for p in result.proposals}
    load = np.bincount(list(current.values()), minlength=len(guides))
    count = 0
    for i, p in enumerate(learners):
        if p.opted_out or i in locked_learners:
            continue
        for j in range(len(guides)):
            s = scores[i, j]
            if s < 0 or cap[j] == 0 or current.get(i) == j:
                continue
            if i in current and s <= scores[i, current[i]]:
                continue
            movable = [
                scores[k, j] for k, g in current.items() if g == j and k not in locked_learners
            ]
            if load[j] < cap[j] or (movable and s > min(movable)):
                count += 1
    return count


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(instances())
def test_optimal_total_equals_brute_force_optimum(instance):
    learners, guides, criteria, forbidden, locks = instance
    result = match(learners, guides, criteria, forbidden=forbidden, locks=locks)
    assert (len(result.proposals), result.total_score) == brute_force(
        learners, guides, criteria, forbidden, locks
    )
    assert result.stats.certified_optimal


@SETTINGS
@given(instances())
def test_pricing_loop_reaches_the_optimum_from_a_one_pair_graph(instance):
    # Small instances fit in the initial graph; starting from one pair per learner and adding
    # one per round makes every instance go through the duals, the pricing and the certificate.
    # Both ways of growing the graph: as first written (every stale learner rescored against
    # every guide) and with near-violating pairs and rescoring only the guides whose price fell.
    learners, guides, criteria, forbidden, locks = instance
    want = brute_force(learners, guides, criteria, forbidden, locks)
    for strategy in (
        Strategy(initial_per_learner=1, added_per_learner=1),
        Strategy(initial_per_learner=1, added_per_learner=1, slack=0, partial_pricing=False),
        Strategy(initial_per_learner=1, added_per_learner=1, slack=0, guide_side_factor=1),
        Strategy(initial_per_learner=1, added_per_learner=1, guide_side_factor=0, slack=1),
        BASELINE,
    ):
        with mock.patch.object(optimal, "STRATEGY", strategy):
            result = match(learners, guides, criteria, forbidden=forbidden, locks=locks)
        assert (len(result.proposals), result.total_score) == want, strategy
        assert result.stats.certified_optimal


@SETTINGS
@given(instances(), st.sampled_from(list(Mode)))
def test_no_proposal_breaks_a_hard_constraint(instance, mode):
    learners, guides, criteria, forbidden, locks = instance
    result = match(learners, guides, criteria, forbidden=forbidden, locks=locks, mode=mode)
    scores = _dense(learners, guides, criteria, forbidden)
    lpos = {p.id: i for i, p in enumerate(learners)}
    gpos = {g.id: j for j, g in enumerate(guides)}
    for p in result.proposals:
        learner, guide = learners[lpos[p.learner_id]], guides[gpos[p.guide_id]]
        assert p.learner_id != p.guide_id  # R1
        assert (p.learner_id, p.guide_id) not in forbidden  # R2
        assert not learner.opted_out and not guide.opted_out
        assert not (learner.rematch and learner.previous_guide == guide.id)
        if not p.locked:  # must-have filters bind the matcher, not the administrator's locks
            assert scores[lpos[p.learner_id], gpos[p.guide_id]] >= 0
        assert p.score == sum(p.breakdown.values())
    assert len({p.learner_id for p in result.proposals}) == len(result.proposals)
    seen = {p.learner_id for p in result.proposals} | {u.learner_id for u in result.unmatched}
    assert seen == {p.id for p in learners}


@SETTINGS
@given(instances(), st.sampled_from(list(Mode)))
def test_capacities_hold_and_locks_survive(instance, mode):
    learners, guides, criteria, forbidden, locks = instance
    result = match(learners, guides, criteria, forbidden=forbidden, locks=locks, mode=mode)
    load = {}
    for p in result.proposals:
        load[p.guide_id] = load.get(p.guide_id, 0) + 1
    for g in guides:
        assert load.get(g.id, 0) <= (0 if g.opted_out else g.capacity)  # R3
    pairs = {(p.learner_id, p.guide_id) for p in result.proposals if p.locked}
    assert pairs == set(locks)


@SETTINGS
@given(instances(), st.integers(0, 3))
def test_stable_mode_has_no_blocking_pair(instance, seed):
    learners, guides, criteria, forbidden, locks = instance
    result = match(
        learners, guides, criteria, forbidden=forbidden, locks=locks, mode=Mode.STABLE, seed=seed
    )
    assert result.blocking_pair_count == 0
    assert independent_blocking(result, learners, guides, criteria, forbidden, locks) == 0


@SETTINGS
@given(instances())
def test_blocking_pairs_of_the_optimal_mode_are_counted_right(instance):
    learners, guides, criteria, forbidden, locks = instance
    result = match(learners, guides, criteria, forbidden=forbidden, locks=locks)
    expected = independent_blocking(result, learners, guides, criteria, forbidden, locks)
    assert result.blocking_pair_count == expected
    assert len(result.blocking_pairs) == min(expected, 100)


@settings(max_examples=60, deadline=None)
@given(instances(), st.sampled_from(list(Mode)), st.integers(0, 5))
def test_same_input_and_seed_give_the_same_result(instance, mode, seed):
    learners, guides, criteria, forbidden, locks = instance
    first = match(
        learners, guides, criteria, forbidden=forbidden, locks=locks, mode=mode, seed=seed
    )
    again = match(
        list(learners),
        list(guides),
        criteria,
        forbidden=list(forbidden),
        locks=list(locks),
        mode=mode,
        seed=seed,
    )
    assert first == again


CRITERIA = Criteria(specialty=30, campus=10, ranked_choice=25, availability=10, load_balance=4)


def test_explanation_names_the_top_factors_in_words():
    learner = Learner(
        id=1,
        specialties=frozenset({"cardiology", "surgery"}),
        campus="North",
        availability=0b1111,
        ranked_guides=(20, 10),
    )
    guide = Guide(
        id=10,
        capacity=2,
        specialties=frozenset({"cardiology"}),
        campus="North",
        availability=0b0110,
    )
    result = match([learner], [guide], CRITERIA)
    (proposal,) = result.proposals
    assert proposal.breakdown[Criterion.SPECIALTY] == 30
    assert proposal.breakdown[Criterion.RANKED_CHOICE] == 25 * 4 // 5
    assert proposal.breakdown[Criterion.AVAILABILITY] == 10  # 2 common slots = target 2
    assert proposal.score == 30 + 20 + 10 + 10
    assert proposal.explanation == (
        "both interested in cardiology (+30); learner ranked this mentor 2nd (+20); "
        "same campus (North) (+10)"
    )
    texts = [f.text for f in proposal.factors]
    assert "2 h of weekly availability in common" in texts


def test_load_balance_charges_the_later_learners_of_a_guide():
    guide = Guide(id=10, capacity=2, specialties=frozenset({"cardiology"}))
    learners = [
        Learner(id=1, specialties=frozenset({"cardiology"})),
        Learner(id=2, specialties=frozenset({"surgery"})),
    ]
    result = match(learners, [guide], CRITERIA)
    by_learner = {p.learner_id: p for p in result.proposals}
    assert by_learner[1].breakdown[Criterion.LOAD_BALANCE] == 0
    assert by_learner[2].breakdown[Criterion.LOAD_BALANCE] == -2  # 4 * (2 - 1) // 2
    assert "2nd learner of this mentor's 2 places (load balance) (-2)" in (
        by_learner[2].explanation
    )


def test_unmatched_learners_get_the_reason():
    learners = [
        Learner(id=1, specialties=frozenset({"cardiology"})),
        Learner(id=2, specialties=frozenset({"cardiology"})),
        Learner(id=3, opted_out=True),
        Learner(id=4, campus="Rural"),
        Learner(id=5, previous_guide=10, rematch=True),
    ]
    guides = [Guide(id=10, capacity=1, specialties=frozenset({"cardiology"}), campus="North")]
    criteria = Criteria(specialty=30, campus=10, must_have=frozenset({Criterion.CAMPUS}))
    result = match(learners, guides, criteria, forbidden=[(2, 10)])
    reasons = {u.learner_id: (u.reason, u.text) for u in result.unmatched}
    assert [p.learner_id for p in result.proposals] == [1]
    assert reasons[2] == (
        UnmatchedReason.NO_ELIGIBLE_GUIDE,
        "no eligible mentor (conflict of interest or opt-out: 1)",
    )
    assert reasons[3][0] is UnmatchedReason.OPTED_OUT
    assert reasons[4] == (
        UnmatchedReason.NO_ELIGIBLE_GUIDE,
        "no eligible mentor (must-have campus: 1)",
    )
    assert reasons[5] == (
        UnmatchedReason.NO_ELIGIBLE_GUIDE,
        "no eligible mentor (previous mentor (no-fault rematch): 1)",
    )


def test_capacity_exhausted_is_the_reason_when_eligible_guides_are_full():
    learners = [Learner(id=i, specialties=frozenset({"cardiology"})) for i in range(3)]
    guides = [Guide(id=10, capacity=1), Guide(id=11, capacity=1)]
    result = match(learners, guides, Criteria(specialty=30, guide_noun="coach"))
    (unmatched,) = result.unmatched
    assert unmatched.reason is UnmatchedReason.CAPACITY_EXHAUSTED
    assert unmatched.text == "all 2 eligible coaches are at capacity"


@pytest.mark.parametrize(
    ("lock", "forbidden", "message"),
    [
        ((5, 5), [], "R1"),
        ((1, 10), [(1, 10)], "R2"),
        ((1, 99), [], "not in this run"),
    ],
)
def test_a_lock_that_breaks_a_hard_constraint_is_refused(lock, forbidden, message):
    learners = [Learner(id=1), Learner(id=5)]
    guides = [Guide(id=10, capacity=1), Guide(id=5, capacity=1)]
    with pytest.raises(ValueError, match=message):
        match(learners, guides, CRITERIA, forbidden=forbidden, locks=[lock])


def test_locks_beyond_capacity_are_refused():
    learners = [Learner(id=1), Learner(id=2)]
    with pytest.raises(ValueError, match="R3"):
        match(learners, [Guide(id=10, capacity=1)], CRITERIA, locks=[(1, 10), (2, 10)])


def test_pricing_adds_pairs_left_out_of_the_initial_graph():
    # Everyone's best guides are the same 12 popular ones (one place each); each learner's only
    # other good guide is their own niche guide, which is not among their best 10.
    n = 40
    popular = [
        Guide(id=1000 + k, capacity=1, specialties=frozenset({"cardiology"})) for k in range(12)
    ]
    niche = [Guide(id=2000 + k, capacity=1, research=frozenset({f"topic-{k}"})) for k in range(n)]
    learners = [
        Learner(id=k, specialties=frozenset({"cardiology"}), research=frozenset({f"topic-{k}"}))
        for k in range(n)
    ]
    criteria = Criteria(specialty=30, research=15)
    assert len(popular) >= INITIAL_PER_LEARNER
    with mock.patch.object(optimal, "STRATEGY", BASELINE):
        result = match(learners, popular + niche, criteria)
    assert len(result.proposals) == n
    assert result.total_score == 12 * 30 + (n - 12) * 15
    assert result.stats.rounds >= 2
    assert result.stats.candidate_pairs > n * INITIAL_PER_LEARNER
    assert result.stats.certified_optimal
    # with each guide's best learners in the initial graph, the niche guides find theirs at once
    with mock.patch.object(optimal, "STRATEGY", Strategy(guide_side_factor=2, guide_side_extra=2)):
        result = match(learners, popular + niche, criteria)
    assert len(result.proposals) == n
    assert result.total_score == 12 * 30 + (n - 12) * 15
    assert result.stats.rounds == 1
    assert result.stats.certified_optimal
