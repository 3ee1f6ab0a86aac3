"""algorithm.suggest: the best allowed pairs for one person, explained (no database).

A property test checks it against pair_scores over the same pairs: exactly the allowed pairs
with room, best first, the top `limit` of them."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

from matching.algorithm import Criteria, Criterion, Guide, Learner, pair_scores, suggest
from tests.matching.test_algorithm import instances


def _guides():
    return [
        Guide(id=10, capacity=2, specialties=frozenset({"cardiology"}), campus="north"),
        Guide(id=11, capacity=1, specialties=frozenset({"surgery"}), campus="north"),
        Guide(id=12, capacity=0, specialties=frozenset({"cardiology"}), campus="north"),
        Guide(id=13, capacity=3, specialties=frozenset({"cardiology"}), opted_out=True),
        Guide(id=14, capacity=1, specialties=frozenset({"cardiology"}), campus="south"),
        Guide(id=15, capacity=1, background=frozenset({"first-generation"})),
    ]


CRITERIA = Criteria(specialty=30, campus=10, background=5, load_balance=50)


def test_one_learner_gets_allowed_guides_with_room_best_first():
    learner = Learner(
        id=1,
        specialties=frozenset({"cardiology"}),
        campus="north",
        background_wishes=frozenset({"first-generation"}),
    )
    guides = _guides()
    found = suggest([learner], guides, CRITERIA, [0] * 6, range(6), forbidden=[(1, 14)])
    # 12 has no room, 13 opted out, 14 is forbidden (R2); 10 beats 11 and 15 on specialty.
    assert [p.guide_id for p in found] == [10, 11, 15]
    assert [p.score for p in found] == [40, 10, 5]
    assert found[0].factors[0].text == "both interested in cardiology"
    # Each suggestion stands alone: no load-balance charge, whatever the guide's capacity.
    assert all(p.breakdown[Criterion.LOAD_BALANCE] == 0 for p in found)


def test_limit_and_ties_keep_the_order_given():
    learner = Learner(id=1)
    guides = [Guide(id=20 + k, capacity=1) for k in range(5)]
    found = suggest([learner], guides, CRITERIA, [0] * 5, [3, 1, 4, 0, 2], limit=3)
    assert [p.guide_id for p in found] == [23, 21, 24]
    assert suggest([learner], guides, CRITERIA, [], [], limit=3) == []
    assert suggest([learner], guides, CRITERIA, [0], [0], limit=0) == []


def test_one_guide_gets_learners_without_self_or_opted_out():
    guide = Guide(id=5, capacity=1, specialties=frozenset({"surgery"}))
    learners = [
        Learner(id=5, specialties=frozenset({"surgery"})),  # the guide themself (R1)
        Learner(id=6, specialties=frozenset({"surgery"}), opted_out=True),
        Learner(id=7, specialties=frozenset({"surgery"})),
        Learner(id=8),
    ]
    found = suggest(learners, [guide], CRITERIA, range(4), [0] * 4)
    assert [p.learner_id for p in found] == [7, 8]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_suggest_is_the_top_of_the_allowed_pairs(case):
    learners, guides, criteria, forbidden, _ = case
    li = np.repeat(np.arange(len(learners)), len(guides))
    gj = np.tile(np.arange(len(guides)), len(learners))
    scores = pair_scores(learners, guides, criteria, li, gj, forbidden=forbidden)
    allowed = [
        (int(s), learners[i].id, guides[j].id)
        for i, j, s in zip(li, gj, scores, strict=True)
        if s >= 0
        and guides[j].capacity > 0
        and not guides[j].opted_out
        and not learners[i].opted_out
    ]
    found = suggest(learners, guides, criteria, li, gj, forbidden=forbidden, limit=4)
    assert len(found) == min(4, len(allowed))
    assert [p.score for p in found] == sorted((s for s, _, _ in allowed), reverse=True)[:4]
    assert {(p.learner_id, p.guide_id) for p in found} <= {(a, b) for _, a, b in allowed}
    for p in found:
        assert p.score == sum(p.breakdown.values())
