"""The optimal mode on small cohorts of every family the benchmark generates (tight and loose
capacity, 10% forbidden pairs, many must-haves, clustered campuses, massive ties, its own):
the same number matched and total as a dense assignment over all pairs, certified, with the
current pricing loop, the loop as first written, and both from one pair per learner (so that
the pricing rounds do the work)."""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_matching import FAMILIES, family_criteria, instance
from matching.algorithm import match, optimal
from tests.matching.test_algorithm import brute_force


@pytest.mark.parametrize("family", list(FAMILIES))
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32 - 1), n_l=st.integers(20, 60), n_g=st.integers(4, 20))
def test_optimum_of_every_cohort_family_equals_a_dense_solve(family, seed, n_l, n_g):
    learners, guides, forbidden = instance((n_l, n_g, 1, 4), seed=seed, family=family)
    criteria = family_criteria(family)
    want = brute_force(learners, guides, criteria, forbidden.tolist(), [])
    small = optimal.Strategy(initial_per_learner=1, added_per_learner=2)  # pricing works hard
    for strategy in (
        optimal.STRATEGY,
        optimal.BASELINE,
        replace(small, guide_side_factor=1, guide_side_extra=1),
        replace(small, slack=0, partial_pricing=False),
    ):
        with mock.patch.object(optimal, "STRATEGY", strategy):
            result = match(learners, guides, criteria, forbidden=forbidden)
        assert (len(result.proposals), result.total_score) == want, strategy
        assert result.stats.certified_optimal
