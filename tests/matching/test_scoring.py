"""Pair scoring (matching/algorithm/features.py) against a plain-Python scorer written from the
Criteria docstring, at the largest weights Criteria accepts (10,000 per criterion), where a
narrow integer type would wrap around; and the optimum at those weights against a dense solve.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.algorithm import FILTERABLE, Criteria, Criterion, Guide, Learner, match, pair_scores
from matching.algorithm.features import _floor_ratio
from tests.matching.test_algorithm import brute_force

MAX_WEIGHT = 10_000
WORDS = [f"label-{k}" for k in range(12)]
LANGS = ["Spanish", "French", "Arabic"]
CAMPUSES = [None, "North", "South"]
WEEK = (1 << 168) - 1  # every hour of the week


def plain_score(learner: Learner, guide: Guide, criteria: Criteria, guide_ids, forbidden) -> int:
    """One pair's score, criterion by criterion, in Python integers: -1 if not allowed."""
    c = criteria
    if (learner.id, guide.id) in forbidden or learner.id == guide.id:
        return -1
    if learner.previous_guide == guide.id and learner.rematch:
        return -1
    common = (learner.availability & guide.availability).bit_count()
    ranked_here = [g for g in learner.ranked_guides if g in guide_ids]
    met = {
        Criterion.SPECIALTY: bool(learner.specialties & guide.specialties),
        Criterion.RESEARCH: bool(learner.research & guide.research),
        Criterion.LANGUAGE: bool(learner.languages & guide.languages),
        Criterion.CAMPUS: learner.campus is not None and learner.campus == guide.campus,
        Criterion.BACKGROUND: bool(learner.background_wishes & guide.background),
        Criterion.AVAILABILITY: common >= c.availability_target,
        Criterion.RANKED_CHOICE: guide.id in ranked_here,
    }
    expressed = {
        Criterion.SPECIALTY: bool(learner.specialties),
        Criterion.RESEARCH: bool(learner.research),
        Criterion.LANGUAGE: bool(learner.languages),
        Criterion.CAMPUS: learner.campus is not None,
        Criterion.BACKGROUND: bool(learner.background_wishes),
        Criterion.AVAILABILITY: learner.availability != 0,
        Criterion.RANKED_CHOICE: bool(ranked_here),
    }
    if any(expressed[m] and not met[m] for m in c.must_have):
        return -1

    def rank_points(weight: int, ranked, who) -> int:
        if who not in ranked:
            return 0
        r = ranked.index(who) + 1
        return weight * (c.rank_depth + 1 - r) // c.rank_depth if r <= c.rank_depth else 0

    points = c.specialty * met[Criterion.SPECIALTY]
    if learner.research:
        points += c.research * len(learner.research & guide.research) // len(learner.research)
    points += c.language * met[Criterion.LANGUAGE]
    points += c.campus * met[Criterion.CAMPUS]
    if learner.background_wishes:
        wishes = learner.background_wishes
        points += c.background * len(wishes & guide.background) // len(wishes)
    points += c.availability * min(common, c.availability_target) // c.availability_target
    points += rank_points(c.ranked_choice, learner.ranked_guides, guide.id)
    points += rank_points(c.guide_preference, guide.preferred_learners, learner.id)
    if learner.previous_guide == guide.id:
        points += c.continuity
    return points


def _people(rng: np.random.Generator, n_l: int, n_g: int):
    def labels(pool, most):
        k = int(rng.integers(0, most + 1))
        return frozenset(pool[x] for x in rng.choice(len(pool), size=k, replace=False))

    def hours() -> int:
        if rng.random() < 0.2:
            return WEEK  # 168 common hours: the most a pair can share
        return int(sum(1 << int(h) for h in rng.choice(168, size=rng.integers(0, 40))))

    guide_ids = [100 + j if j % 4 else j for j in range(n_g)]  # some guides are also learners
    guides = [
        Guide(
            id=g,
            capacity=int(rng.integers(0, 4)),
            specialties=labels(WORDS, 3),
            research=labels(WORDS, 8),
            languages=labels(LANGS, 2),
            campus=CAMPUSES[rng.integers(3)],
            background=labels(WORDS, 6),
            availability=hours(),
            preferred_learners=tuple(int(x) for x in rng.permutation(n_l)[: rng.integers(0, 4)]),
        )
        for g in guide_ids
    ]
    learners = []
    for i in range(n_l):
        previous = guide_ids[rng.integers(n_g)] if rng.random() < 0.3 else None
        learners.append(
            Learner(
                id=i,
                specialties=labels(WORDS, 3),
                research=labels(WORDS, 8),
                languages=labels(LANGS, 1),
                campus=CAMPUSES[rng.integers(3)],
                background_wishes=labels(WORDS, 6),
                availability=hours(),
                ranked_guides=tuple(guide_ids[x] for x in rng.permutation(n_g)[:4]),
                previous_guide=previous,
                rematch=previous is not None and rng.random() < 0.3,
            )
        )
    forbidden = {
        (int(rng.integers(n_l)), guide_ids[rng.integers(n_g)]) for _ in range(n_l * n_g // 10)
    }
    return learners, guides, sorted(forbidden)


def _criteria(rng: np.random.Generator, weight: int, must: frozenset) -> Criteria:
    return Criteria(
        **{c.value: weight for c in Criterion},
        must_have=must,
        availability_target=int(rng.choice([1, 4, 168, 1_000])),
        rank_depth=int(rng.integers(1, 6)),
    )


def _check_against_plain(learners, guides, criteria, forbidden, rng, pairs: int) -> None:
    li = rng.integers(0, len(learners), pairs)
    gj = rng.integers(0, len(guides), pairs)
    got = pair_scores(learners, guides, criteria, li, gj, forbidden=forbidden)
    guide_ids = {g.id for g in guides}
    banned = set(forbidden)
    want = [
        plain_score(learners[i], guides[j], criteria, guide_ids, banned)
        for i, j in zip(li.tolist(), gj.tolist(), strict=True)
    ]
    assert got.tolist() == want


@pytest.mark.parametrize("must", [frozenset(), frozenset(FILTERABLE)], ids=["plain", "must"])
@pytest.mark.parametrize("seed", range(4))
def test_largest_accepted_weights_score_as_a_direct_computation(seed, must):
    rng = np.random.default_rng(seed)
    learners, guides, forbidden = _people(rng, 40, 30)
    criteria = _criteria(rng, MAX_WEIGHT, must)
    _check_against_plain(learners, guides, criteria, forbidden, rng, 2_000)


def test_availability_at_a_large_weight_scores_a_good_pair_in_full():
    # 8,192 x 4 common hours does not fit in 16 bits: it once wrapped around to -1 point.
    learner = Learner(id=1, availability=0b1111)
    guide = Guide(id=2, capacity=1, availability=0b1111)
    criteria = Criteria(availability=8_192, availability_target=4)
    assert pair_scores([learner], [guide], criteria, [0], [0]).tolist() == [8_192]
    every = Criteria(**{c.value: MAX_WEIGHT for c in Criterion}, availability_target=168)
    learner = Learner(
        id=1,
        specialties=frozenset({"a"}),
        research=frozenset(WORDS),
        languages=frozenset({"French"}),
        campus="North",
        background_wishes=frozenset(WORDS),
        availability=WEEK,
        ranked_guides=(2,),
        previous_guide=2,
    )
    guide = Guide(
        id=2,
        capacity=1,
        specialties=frozenset({"a"}),
        research=frozenset(WORDS),
        languages=frozenset({"French"}),
        campus="North",
        background=frozenset(WORDS),
        availability=WEEK,
        preferred_learners=(1,),
    )
    assert pair_scores([learner], [guide], every, [0], [0]).tolist() == [9 * MAX_WEIGHT]


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    weight=st.sampled_from([1, 100, 8_192, MAX_WEIGHT]),
    must=st.frozensets(st.sampled_from(sorted(FILTERABLE)), max_size=3),
)
def test_scores_match_the_plain_scorer_on_random_cohorts(seed, weight, must):
    rng = np.random.default_rng(seed)
    learners, guides, forbidden = _people(rng, 12, 8)
    _check_against_plain(learners, guides, _criteria(rng, weight, must), forbidden, rng, 200)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), load_balance=st.sampled_from([0, 10, MAX_WEIGHT]))
def test_optimum_at_the_largest_weights_equals_a_dense_solve(seed, load_balance):
    rng = np.random.default_rng(seed)
    learners, guides, forbidden = _people(rng, 9, 5)
    criteria = Criteria(
        **{c.value: MAX_WEIGHT for c in Criterion if c is not Criterion.LOAD_BALANCE},
        load_balance=load_balance,
        availability_target=4,
    )
    result = match(learners, guides, criteria, forbidden=forbidden)
    assert (len(result.proposals), result.total_score) == brute_force(
        learners, guides, criteria, forbidden, []
    )
    assert result.stats.certified_optimal


def test_floor_ratio_is_exact_integer_division():
    # every count of every divisor up to 300 and a few large divisors, at the largest weights
    divisor = np.concatenate([np.arange(1, 301), [1_000, 4_096, 32_767]]).astype(np.int16)
    for weight in (1, 7, 9_999, MAX_WEIGHT):
        for d in divisor.tolist():
            count = np.arange(d + 1, dtype=np.int16)
            got = _floor_ratio(count, weight, np.full(len(count), d, np.int16))
            assert got.tolist() == [k * weight // d for k in range(d + 1)], (weight, d)
