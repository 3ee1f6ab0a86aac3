"""Input and output types of the matcher (plain frozen dataclasses, no Django)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

PersonId = Hashable
"""A person's id (the user's primary key in practice). A learner and a guide with the same id
are the same person, which R1 forbids pairing."""


class Criterion(StrEnum):
    SPECIALTY = "specialty"
    RESEARCH = "research"
    LANGUAGE = "language"
    CAMPUS = "campus"
    BACKGROUND = "background"
    AVAILABILITY = "availability"
    RANKED_CHOICE = "ranked_choice"
    GUIDE_PREFERENCE = "guide_preference"
    CONTINUITY = "continuity"
    LOAD_BALANCE = "load_balance"


FILTERABLE = frozenset(
    {
        Criterion.SPECIALTY,
        Criterion.RESEARCH,
        Criterion.LANGUAGE,
        Criterion.CAMPUS,
        Criterion.BACKGROUND,
        Criterion.AVAILABILITY,
        Criterion.RANKED_CHOICE,
    }
)
"""Criteria a program may mark must-have. A must-have criterion excludes a pair that fails it,
unless the learner expressed nothing for it (no specialty given, no campus, no ranked list...)."""


class Mode(StrEnum):
    OPTIMAL = "optimal"  # maximum number matched, then maximum total score (min-cost flow)
    STABLE = "stable"  # learner-proposing deferred acceptance: no blocking pair


@dataclass(frozen=True, slots=True)
class Learner:
    """A learner to be matched. Sets hold free-text labels (compared exactly)."""

    id: PersonId
    specialties: frozenset[str] = frozenset()
    research: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()  # languages the learner wants to be guided in
    campus: str | None = None
    background_wishes: frozenset[str] = frozenset()  # backgrounds they asked a guide to share
    availability: int = 0  # weekly bitmap: bit k set = free in slot k of the week
    ranked_guides: tuple[PersonId, ...] = ()  # the learner's choices, best first
    previous_guide: PersonId | None = None
    rematch: bool = False  # no-fault rematch: the previous guide is excluded, not rewarded
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class Guide:
    """A mentor, coach or advisor with a capacity of learners for this run."""

    id: PersonId
    capacity: int
    specialties: frozenset[str] = frozenset()
    research: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()  # languages the guide speaks
    campus: str | None = None
    background: frozenset[str] = frozenset()  # backgrounds the guide chose to share
    availability: int = 0
    preferred_learners: tuple[PersonId, ...] = ()  # the guide's wishes, best first
    opted_out: bool = False


@dataclass(frozen=True, slots=True)
class Criteria:
    """A program's weights (integer points) and filters.

    Points of a pair, per criterion (all integer arithmetic, floors):
      specialty      `specialty` if they share a specialty interest
      research       `research` x shared / number of the learner's research interests
      language       `language` if the guide speaks one of the learner's languages
      campus         `campus` if both are on the same campus
      background     `background` x wishes met / number of the learner's wishes
      availability   `availability` x min(common slots, availability_target) / availability_target
      ranked_choice  `ranked_choice` x (rank_depth + 1 - r) / rank_depth for the learner's r-th
                     choice (r <= rank_depth)
      guide_preference  the same for the guide's r-th wish
      continuity     `continuity` for the learner's previous guide (unless a no-fault rematch)
      load_balance   minus `load_balance` x (k - 1) / capacity for a guide's k-th learner, so the
                     solver spreads learners instead of filling the most popular guides
    """

    specialty: int = 0
    research: int = 0
    language: int = 0
    campus: int = 0
    background: int = 0
    availability: int = 0
    ranked_choice: int = 0
    guide_preference: int = 0
    continuity: int = 0
    load_balance: int = 0
    must_have: frozenset[Criterion] = frozenset()
    availability_target: int = 2  # common slots a week that earn full availability points
    rank_depth: int = 5
    slot_minutes: int = 60  # length of one availability slot, for explanations
    guide_noun: str = "mentor"  # "mentor", "coach" or "advisor", for explanations

    def __post_init__(self) -> None:
        for criterion in Criterion:
            points = self.weight(criterion)
            if not isinstance(points, int) or points < 0 or points > 10_000:
                raise ValueError(f"weight {criterion} must be an integer 0..10000, not {points!r}")
        if not self.must_have <= FILTERABLE:
            raise ValueError(f"cannot be must-have: {sorted(self.must_have - FILTERABLE)}")
        if self.availability_target < 1 or self.rank_depth < 1 or self.slot_minutes < 1:
            raise ValueError("availability_target, rank_depth and slot_minutes must be >= 1")

    def weight(self, criterion: Criterion) -> int:
        return getattr(self, criterion.value)


@dataclass(frozen=True, slots=True)
class Factor:
    """One criterion's contribution to a proposal, in words an administrator reads."""

    criterion: Criterion
    points: int
    text: str


@dataclass(frozen=True, slots=True)
class Proposal:
    learner_id: PersonId
    guide_id: PersonId
    score: int  # sum of `breakdown`
    breakdown: Mapping[Criterion, int]  # every criterion's points (load balance <= 0)
    factors: tuple[Factor, ...]  # non-zero contributions, largest first, penalties last
    locked: bool = False

    @property
    def explanation(self) -> str:
        """The top three reasons, e.g. "both interested in cardiology (+30); same campus (+10)"."""
        top = [f for f in self.factors if f.points > 0][:3]
        top += [f for f in self.factors if f.points < 0]
        parts = [f"{f.text} ({f.points:+d})" for f in top]
        if self.locked:
            parts.insert(0, "locked by the administrator")
        return "; ".join(parts) or "no criterion scored for this pair"


class UnmatchedReason(StrEnum):
    OPTED_OUT = "opted_out"
    NO_ELIGIBLE_GUIDE = "no_eligible_guide"
    CAPACITY_EXHAUSTED = "capacity_exhausted"


@dataclass(frozen=True, slots=True)
class Unmatched:
    learner_id: PersonId
    reason: UnmatchedReason
    text: str


@dataclass(frozen=True, slots=True)
class SolveStats:
    rounds: int  # min-cost flow solves (optimal mode) or proposal waves (stable mode)
    candidate_pairs: int  # pairs in the final sparse graph / preference lists fetched
    priced_pairs: int  # pairs scored from features along the way (all passes)
    certified_optimal: bool  # LP-duality certificate: no allowed pair can improve the total
    seconds: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    mode: Mode
    proposals: tuple[Proposal, ...]  # sorted by learner input order; locks included
    unmatched: tuple[Unmatched, ...]  # sorted by learner input order
    total_score: int  # sum of proposal scores (load-balance penalties included)
    blocking_pair_count: int  # learner and guide who both strictly prefer each other
    blocking_pairs: tuple[tuple[PersonId, PersonId], ...]  # up to `blocking_pair_limit` of them
    stats: SolveStats = field(compare=False)
