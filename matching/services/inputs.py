"""The matcher's input, built from the database: the program's unpaired learners and its
guides with room (capacity minus current relationships, R3: rules.places_left), their profile
features and ranked choices, and the pairs R2 forbids (rules.role_separation decides)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import WEEK_PART_MINUTES, Membership, ParticipantProfile, Role
from matching import algorithm
from matching.models import Choice, MatchRun, TermOptOut
from mentoring import rules
from mentoring.models import AssessmentRole, Program, Relationship

DEFAULT_WEIGHTS = {
    "specialty": 30,
    "research": 15,
    "language": 10,
    "campus": 10,
    "background": 10,
    "availability": 10,
    "ranked_choice": 20,
    "guide_preference": 10,
    "continuity": 15,
    "load_balance": 10,
    "must_have": [],
}


@dataclass(frozen=True)
class MatchInput:
    learners: list[algorithm.Learner]
    guides: list[algorithm.Guide]
    forbidden: list[tuple[int, int]]
    criteria: algorithm.Criteria


@dataclass(frozen=True, slots=True)
class _Features:
    specialties: frozenset[str] = frozenset()
    research: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    campus: str | None = None
    background: frozenset[str] = frozenset()
    availability: int = 0


_NO_FEATURES = _Features()


@lru_cache(maxsize=50_000)
def _label_set(values: tuple) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values if isinstance(v, str) and v.strip())


def _labels(values) -> frozenset[str]:
    return _label_set(tuple(values or ()))


@lru_cache(maxsize=50_000)
def _labels_json(text: str | None) -> frozenset[str]:
    """Labels from a tag list's JSON text; cached, since at school scale most people share a
    few common lists, and parsing each row's JSON is most of the cost of reading 20,000
    profiles."""
    values = json.loads(text) if text else ()
    return _labels(values if isinstance(values, list) else ())


_TAG_LISTS = ("specialty_interests", "research_interests", "languages", "shared_background")


def _features(people) -> dict[int, _Features]:
    """Matching features of the profiles of `people` (ids, or a subquery of user ids), read as
    plain values with the tag lists as JSON text (see _labels_json)."""
    rows = (
        ParticipantProfile.objects.filter(user_id__in=people)
        .annotate(**{f"{name}_text": Cast(name, TextField()) for name in _TAG_LISTS})
        .values_list("user_id", *(f"{name}_text" for name in _TAG_LISTS), "campus", "availability")
    )
    return {
        user_id: _Features(
            _labels_json(specialties),
            _labels_json(research),
            _labels_json(languages),
            (campus or "").strip().lower() or None,
            _labels_json(background),
            availability,
        )
        for user_id, specialties, research, languages, background, campus, availability in rows
    }


def _ranked(program: Program, side: str, limit: int, chooser_ids=None) -> dict[int, tuple]:
    """Each chooser's ranked list (ids, best first), at most `limit` long."""
    ranked: dict[int, list[int]] = {}
    if limit < 1:
        return {}
    choices = Choice.objects.filter(program=program, side=side)
    if chooser_ids is not None:
        choices = choices.filter(chooser_id__in=chooser_ids)
    for chooser_id, chosen_id in choices.order_by("chooser_id", "rank").values_list(
        "chooser_id", "chosen_id"
    ):
        ranked.setdefault(chooser_id, []).append(chosen_id)
    return {k: tuple(v[:limit]) for k, v in ranked.items()}


def unpaired_learners(program: Program):
    """A subquery of the user ids of the program's current learners without a current
    relationship of its kind."""
    return (
        Membership.objects.current()
        .filter(program=program, role=Role.LEARNER)
        .exclude(
            user_id__in=Relationship.objects.current()
            .filter(program=program, kind=program.kind)
            .values("learner_id")
        )
        .values("user_id")
    )


def learners_build(
    program: Program, learner_ids=None, *, with_choices: bool = True
) -> list[algorithm.Learner]:
    """The matcher's view of these learners (default: every unpaired learner of the program):
    profile features, ranked choices, and the last relationship each had in the program
    (continuity, or exclusion on a no-fault rematch)."""
    if learner_ids is None:
        people = unpaired_learners(program)
        learner_ids = sorted(people.values_list("user_id", flat=True))
    else:
        learner_ids = sorted(set(learner_ids))
        people = learner_ids
    features = _features(people)
    previous: dict[int, tuple[int, str]] = {}
    for learner_id, guide_id, reason in (
        Relationship.objects.filter(program=program, learner_id__in=people, status="ended")
        .order_by("learner_id", "-ends_on")
        .values_list("learner_id", "guide_id", "end_reason")
    ):
        previous.setdefault(learner_id, (guide_id, reason))
    ranked = _ranked(
        program,
        Choice.Side.LEARNER,
        program.choices_allowed if with_choices else 0,
        None if len(learner_ids) > 100 else learner_ids,
    )
    learners = []
    for user_id in learner_ids:
        f = features.get(user_id, _NO_FEATURES)
        last_guide, last_reason = previous.get(user_id, (None, ""))
        learners.append(
            algorithm.Learner(
                id=user_id,
                specialties=f.specialties,
                research=f.research,
                languages=f.languages,
                campus=f.campus,
                background_wishes=f.background,
                availability=f.availability,
                ranked_guides=ranked.get(user_id, ()),
                previous_guide=last_guide,
                rematch=last_reason == Relationship.EndReason.NO_FAULT_REMATCH,
            )
        )
    return learners


def guide_loads(program: Program) -> dict[int, int]:
    """Current relationships (active or paused: they hold a place, R3) per guide."""
    return rules.guide_loads(program)


def guides_build(
    program: Program, *, term=None, only=None, with_choices: bool = True
) -> list[algorithm.Guide]:
    """The program's current guides (or those among the ids `only`) with their room left
    (capacity minus current relationships), profile features, preferences, and whether they
    opted out of `term`."""
    current = Membership.objects.current().filter(program=program, role=program.guide_role)
    if only is not None:
        current = current.filter(user_id__in=only)
    memberships = sorted(current.values_list("user_id", "capacity"))
    taken = rules.guide_loads(program, only)
    features = _features(current.values("user_id"))
    opted_out = (
        set(TermOptOut.objects.filter(term=term).values_list("guide_id", flat=True))
        if term is not None
        else set()
    )
    preferred = _ranked(
        program, Choice.Side.GUIDE, program.choices_allowed if with_choices else 0, only
    )
    guides = []
    for user_id, capacity in memberships:
        f = features.get(user_id, _NO_FEATURES)
        guides.append(
            algorithm.Guide(
                id=user_id,
                capacity=rules.places_left(capacity, taken.get(user_id, 0)),
                specialties=f.specialties,
                research=f.research,
                languages=f.languages,
                campus=f.campus,
                background=f.background,
                availability=f.availability,
                preferred_learners=preferred.get(user_id, ()),
                opted_out=user_id in opted_out,
            )
        )
    return guides


def forbidden_build(program: Program, learners, *, guide=None) -> list[tuple[int, int]]:
    """The (learner, guide) pairs R2 forbids for a pair starting today (open-ended, so any
    assessment role in force from today on collides), for `learners` (ids or a subquery) and
    optionally one guide; none where the program only flags (rules.role_separation decides,
    once for the program: its answer for a new relationship depends on the program alone)."""
    if not rules.pairing_forbidden_by_role_separation(program):
        return []
    roles = (
        AssessmentRole.objects.in_force()
        .filter(learner_id__in=learners)
        .overlapping(timezone.localdate(), None)
    )
    if guide is not None:
        roles = roles.filter(assessor=guide)
    return list(roles.values_list("learner_id", "assessor_id"))


def criteria_build(program: Program, weights: dict) -> algorithm.Criteria:
    return algorithm.Criteria(
        **{k: int(v) for k, v in weights.items() if k != "must_have"},
        must_have=frozenset(algorithm.Criterion(c) for c in weights.get("must_have", [])),
        guide_noun=program.guide_role,
        rank_depth=max(1, program.choices_allowed),
        slot_minutes=WEEK_PART_MINUTES,
    )


def program_weights(program: Program) -> dict:
    """The weights of the program's latest run (what its administrator last chose), else the
    defaults."""
    last = MatchRun.objects.filter(program=program).order_by("-created_at").first()
    return {**DEFAULT_WEIGHTS, **(last.weights if last else {})}


def match_input_build(*, program: Program, weights: dict, term=None) -> MatchInput:
    """The program's learners without a current relationship of its kind, its guides with room
    left (capacity minus current relationships; opted out of `term` if they said so), and the
    pairs R2 forbids today."""
    return MatchInput(
        learners_build(program),
        guides_build(program, term=term),
        forbidden_build(program, unpaired_learners(program)),
        criteria_build(program, weights),
    )
