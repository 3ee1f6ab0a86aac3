"""The suggestion pool (matching.services.pool): participants' suggestions ranked from a
program's compiled cohort, shared between requests, and rebuilt after the rows it was compiled
from change.

- The pooled rankings equal the rankings computed from the database on every call
  (`suggested_*_uncached`), on a random cohort with relationships, a no-fault rematch, an R2
  conflict, an opt-out, a full guide, must-have criteria and searches.
- The pool is really shared: a write that no signal reports (a queryset `update()`) is not
  seen until the pool expires, which shows the next tests are not passing merely because
  nothing is cached.
- A profile change, a new membership, a new relationship, a new name, a term opt-out and an
  assessment role each change the ranking on the next request; so does a membership ending
  (at its time, without any write).
"""

from __future__ import annotations

import datetime
import random

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, Role
from accounts.services import membership_grant
from matching import preferences
from matching.models import MatchRun, TermOptOut
from matching.services import DEFAULT_WEIGHTS, pool
from mentoring import services as mentoring_services
from mentoring.models import Relationship, Term
from tests.conftest import give_mfa
from tests.factories import UserFactory

SPECIALTIES = ["surgery", "cardiology", "pediatrics", "neurology", "psychiatry"]
RESEARCH = ["education", "outcomes", "genetics", "imaging"]
CAMPUSES = ["north", "south", ""]


def _profile(rng: random.Random, user) -> ParticipantProfile:
    return ParticipantProfile.objects.create(
        user=user,
        campus=rng.choice(CAMPUSES),
        specialty_interests=rng.sample(SPECIALTIES, rng.randint(0, 2)),
        research_interests=rng.sample(RESEARCH, rng.randint(0, 2)),
        languages=rng.sample(["english", "spanish"], rng.randint(0, 2)),
        shared_background=rng.sample(["rural", "first-generation"], rng.randint(0, 1)),
        availability=rng.getrandbits(21),
    )


def _person(program, role, rng, *, capacity=None, name=None):
    person = UserFactory(**({"full_name": name} if name else {}))
    membership_grant(user=person, role=role, program=program, capacity=capacity)
    if rng.random() < 0.85:  # a few people never filled in a profile
        _profile(rng, person)
    return person


def _weights(program, **weights) -> MatchRun:
    return MatchRun.objects.create(
        program=program,
        weights={**DEFAULT_WEIGHTS, **weights},
        status=MatchRun.Status.DONE,
    )


def _ranking(suggestions) -> list[tuple]:
    return [(s.person.pk, s.score, tuple(s.reasons), s.room) for s in suggestions]


@pytest.fixture
def school(program, assessor):
    """24 learners and 8 mentors with random profiles; two learners paired, one ended with a
    no-fault rematch and one ended plainly (continuity), one learner assessed by a mentor of
    the program (R2), one mentor full, one sitting out the matching term."""
    rng = random.Random(7)  # noqa: S311 - reproducible test data, not a secret
    today = timezone.localdate()
    term = Term.objects.create(
        program=program,
        name="This year",
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=300),
    )
    guides = [
        _person(program, Role.MENTOR, rng, capacity=rng.randint(1, 4), name=f"Mentor {k}")
        for k in range(8)
    ]
    membership_grant(user=assessor, role=Role.MENTOR, program=program, capacity=2)
    guides.append(assessor)
    learners = [_person(program, Role.LEARNER, rng, name=f"Learner {k}") for k in range(24)]
    full = guides[0]
    Membership.objects.filter(user=full, program=program).update(capacity=1)
    for learner, guide in ((learners[0], full), (learners[1], guides[1])):
        mentoring_services.relationship_start(program=program, guide=guide, learner=learner)
    for learner, guide, reason in (
        (learners[2], guides[2], Relationship.EndReason.NO_FAULT_REMATCH),
        (learners[3], guides[3], Relationship.EndReason.COMPLETED),
    ):
        relationship = mentoring_services.relationship_start(
            program=program,
            guide=guide,
            learner=learner,
            started_on=today - datetime.timedelta(days=90),
        )
        mentoring_services.relationship_end(relationship=relationship, reason=reason)
    mentoring_services.assessment_role_add(
        assessor=assessor,
        learner=learners[4],
        kind="assessor",
        context="OSCE",
        starts_on=today - datetime.timedelta(days=5),
    )
    TermOptOut.objects.create(term=term, guide=guides[5])
    return {"learners": learners, "guides": guides, "term": term}


@pytest.mark.parametrize(
    "weights",
    [
        {},
        {"campus": 40, "research": 25, "must_have": ["specialty"]},
        {"availability": 30, "background": 50, "must_have": ["campus", "language"]},
    ],
    ids=["default", "must-have-specialty", "must-have-campus-language"],
)
def test_pooled_rankings_equal_the_rankings_read_from_the_database(program, school, weights):
    _weights(program, **weights)
    for guide in school["guides"]:
        for query in ("", "learner 1", "surgery", "zzz"):
            assert _ranking(preferences.suggested_learners(program, guide, query=query)) == (
                _ranking(preferences.suggested_learners_uncached(program, guide, query=query))
            ), (guide, query)
        assert _ranking(preferences.suggested_learners(program, guide, limit=3)) == _ranking(
            preferences.suggested_learners_uncached(program, guide, limit=3)
        )
    declined = frozenset({school["guides"][2].pk})
    for learner in school["learners"][2:]:
        for kwargs in (
            {},
            {"query": "mentor"},
            {"query": "  CARDIO "},
            {"overlap_only": True},
            {"exclude": declined, "limit": 2},
        ):
            assert _ranking(preferences.suggested_guides(program, learner, **kwargs)) == (
                _ranking(preferences.suggested_guides_uncached(program, learner, **kwargs))
            ), (learner, kwargs)


def test_the_rankings_hold_what_the_rules_leave_out(program, school, assessor):
    learners, guides = school["learners"], school["guides"]
    offered = {s.person.pk for s in preferences.suggested_learners(program, guides[2], limit=50)}
    assert learners[0].pk not in offered and learners[1].pk not in offered  # paired already
    assert learners[2].pk not in offered  # asked for a no-fault rematch away from this mentor
    assert learners[4].pk not in {
        s.person.pk for s in preferences.suggested_learners(program, assessor, limit=50)
    }  # R2: assessed by them
    shown = {s.person.pk for s in preferences.suggested_guides(program, learners[6], limit=50)}
    assert guides[0].pk not in shown  # full
    assert guides[5].pk not in shown  # sits out the matching term
    assert len(shown) == len(guides) - 2
    continuing = preferences.suggested_guides(program, learners[3], limit=50)
    assert any("previous mentor" in " ".join(s.reasons) for s in continuing)


def test_a_learner_outside_the_pool_is_ranked_from_the_database(program, school):
    paired = school["learners"][1]
    assert _ranking(preferences.suggested_guides(program, paired)) == _ranking(
        preferences.suggested_guides_uncached(program, paired)
    )
    assert preferences.suggested_guides(program, paired)  # not empty: the fallback ran


def _top_learners(program, guide, limit=50) -> list[int]:
    return [s.person.pk for s in preferences.suggested_learners(program, guide, limit=limit)]


def test_the_pool_is_shared_until_a_change_is_reported(program, school):
    guide, learner = school["guides"][1], school["learners"][10]
    _weights(program, specialty=1000)
    ParticipantProfile.objects.filter(user=guide).update(specialty_interests=["dermatology"])
    ParticipantProfile.objects.update_or_create(
        user=learner,
        defaults={
            "specialty_interests": ["dermatology"],
            **{"research_interests": [], "languages": [], "campus": "", "availability": 0},
        },
    )
    pool.pool_invalidate([program.pk])  # the updates above send no signal
    assert _top_learners(program, guide, limit=1) == [learner.pk]
    # A queryset update sends no signal: the shared pool does not see it (this is what
    # MAX_AGE_SECONDS bounds), while the database says someone else comes first ...
    ParticipantProfile.objects.filter(user=learner).update(specialty_interests=["surgery"])
    fresh = _ranking_ids(preferences.suggested_learners_uncached(program, guide, limit=1))
    assert fresh != [learner.pk]
    assert _top_learners(program, guide, limit=1) == [learner.pk]
    # ... a save does.
    learner.profile.refresh_from_db()
    learner.profile.save()
    assert _top_learners(program, guide, limit=1) == fresh


def _ranking_ids(suggestions) -> list[int]:
    return [s.person.pk for s in suggestions]


def test_a_profile_change_changes_the_ranking_on_the_next_request(program, school):
    guide = school["guides"][1]
    _weights(program, specialty=100)
    waiting = school["learners"][-1]
    ParticipantProfile.objects.filter(user=guide).update(specialty_interests=["dermatology"])
    pool.pool_invalidate([program.pk])  # the update above sends no signal
    assert _top_learners(program, guide, limit=1) != [waiting.pk]
    profile = ParticipantProfile.objects.get(user=waiting)
    profile.specialty_interests = ["Dermatology"]
    profile.save()
    assert _top_learners(program, guide, limit=1) == [waiting.pk]


def test_a_new_membership_changes_the_ranking_on_the_next_request(program, school):
    guide = school["guides"][1]
    before = _top_learners(program, guide)
    newcomer = UserFactory(full_name="Newcomer Learner")
    membership_grant(user=newcomer, role=Role.LEARNER, program=program)
    after = _top_learners(program, guide)
    assert newcomer.pk not in before and newcomer.pk in after
    assert preferences.suggested_guides(program, newcomer)  # and they get suggestions


def test_a_new_relationship_changes_the_ranking_on_the_next_request(program, school):
    guide, other = school["guides"][1], school["guides"][3]
    learner = school["learners"][12]
    assert learner.pk in _top_learners(program, guide)
    room = {s.person.pk: s.room for s in preferences.suggested_guides(program, learner)}
    mentoring_services.relationship_start(program=program, guide=other, learner=learner)
    assert learner.pk not in _top_learners(program, guide)  # paired now
    looking = school["learners"][13]
    now_room = {s.person.pk: s.room for s in preferences.suggested_guides(program, looking)}
    assert now_room.get(other.pk, 0) == room[other.pk] - 1  # one place fewer


def test_a_new_name_is_found_by_search_on_the_next_request(program, school):
    guide, learner = school["guides"][1], school["learners"][14]
    assert preferences.suggested_learners(program, guide, query="quintessa") == []
    learner.full_name = "Quintessa Vale"
    learner.save(update_fields=["full_name"])
    found = preferences.suggested_learners(program, guide, query="quintessa")
    assert [s.person.pk for s in found] == [learner.pk]


def _top_guide(program, learner):
    (top,) = preferences.suggested_guides(program, learner, limit=1)
    assert _ranking([top]) == _ranking(
        preferences.suggested_guides_uncached(program, learner, limit=1)
    )
    return top.person


def test_an_opt_out_and_an_assessment_role_change_the_ranking_on_the_next_request(program, school):
    learner = school["learners"][15]
    first = _top_guide(program, learner)
    TermOptOut.objects.create(term=school["term"], guide=first)
    second = _top_guide(program, learner)
    assert second != first
    mentoring_services.assessment_role_add(
        assessor=second,
        learner=learner,
        kind="assessor",
        context="Clerkship",
        starts_on=timezone.localdate(),
    )
    assert _top_guide(program, learner) not in (first, second)


def test_a_membership_ending_leaves_the_pool_at_its_time(program, school):
    guide, learner = school["guides"][1], school["learners"][16]
    ends = timezone.now() + datetime.timedelta(hours=2)
    Membership.objects.filter(user=learner, program=program).update(ended_at=ends)
    pool.pool_invalidate([program.pk])  # the update above sends no signal
    assert learner.pk in _top_learners(program, guide)
    with time_machine.travel(ends + datetime.timedelta(minutes=1)):
        assert learner.pk not in _top_learners(program, guide)


def test_a_write_bumps_the_version_again_when_its_transaction_commits(
    program, school, django_capture_on_commit_callbacks
):
    learner = school["learners"][17]
    token = pool._tokens(program.pk)[0]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ParticipantProfile.objects.filter(user=learner).first().save()
    after_write = pool._tokens(program.pk)[0]
    assert after_write != token
    assert callbacks
    for callback in callbacks:
        callback()
    assert pool._tokens(program.pk)[0] != after_write


def test_a_sign_in_does_not_rebuild_the_pool(program, school):
    learner = school["learners"][18]
    token = pool._tokens(program.pk)[0]
    learner.last_login = timezone.now()
    learner.save(update_fields=["last_login"])
    assert pool._tokens(program.pk)[0] == token


def test_the_pages_read_as_many_queries_whatever_the_size_of_the_cohort(client, program, school):
    guide, learner = school["guides"][1], school["learners"][10]
    give_mfa(guide)  # every role but learner signs in with a second factor
    choose = reverse("choosing:choose", kwargs={"code": program.code})
    offer = reverse("choosing:offer", kwargs={"code": program.code})
    pages = [
        (guide, offer),
        (guide, offer + "?q=learner"),
        (learner, choose),
        (learner, choose + "?q=mentor"),
    ]

    def counts() -> list[int]:
        found = []
        for person, url in pages:
            client.force_login(person)
            assert client.get(url).status_code == 200  # builds the pool after a change
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200
            assert response.context["suggestions"]
            found.append(len(queries))
        return found

    small = counts()
    rng = random.Random(8)  # noqa: S311 - reproducible test data, not a secret
    for k in range(30):
        _person(program, Role.LEARNER, rng, name=f"Later Learner {k}")
    for k in range(8):
        _person(program, Role.MENTOR, rng, capacity=2, name=f"Later Mentor {k}")
    assert counts() == small
