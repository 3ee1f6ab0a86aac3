"""R1-R3 in one place: who may be paired with whom, checked against the database.

Each rule is decided by one function here, and every path that needs the answer asks it:
- R2: `role_separation` decides what happens when an assessment role and a relationship of
  the same two people share a day (refuse, queue or flag, and the refusal's words), whichever
  came second. Pairing (`check_role_separation`), a new assessment role
  (`check_assessment_role`), the import preview (roster) and the matcher's forbidden pairs
  (matching) all call it. The overlap itself is `overlapping` on the QuerySets
  (mentoring/models/dated.py), the one test of shared days.
- R3: `check_capacity` (room for one more), `check_capacity_floor` (a stated capacity never
  below the current load), `places_left` and `guide_loads` (the count the matcher uses), and
  `check_one_per_kind`.

Every refusal is a `RuleViolation` whose message names the rule and the conflicting record in
an administrator's words. The database backs these checks where it can: R1 is a check
constraint, R3's one-current-relationship-per-kind is a unique constraint, and capacity is
counted under a row lock on the guide's membership (see services.relationship_start).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Count

from accounts.models import Membership, Role
from mentoring.models import AssessmentRole, Program, Relationship
from mentoring.models.relationships import GUIDE_NOUN, LEARNER_NOUN

RULE_TITLES = {
    "R1": "No self-relationship",
    "R2": "Role separation",
    "R3": "Capacity",
    "ROLE": "Program roles",
    "DATES": "Dates",
    "STATE": "Relationship status",
    "R10": "Slots and bookings",
    "BOOKING": "Booking rules",
}


class RuleViolation(ValidationError):
    """A refusal by one of the product's rules; `rule` is a key of RULE_TITLES."""

    def __init__(self, rule: str, message: str, *, record=None):
        self.rule = rule
        self.record = record
        self.text = f"{rule} {RULE_TITLES[rule]}: {message}"
        super().__init__(self.text, code=rule)

    def __str__(self) -> str:
        return self.text


def _dates(starts_on: datetime.date, ends_on: datetime.date | None) -> str:
    return f"{starts_on.isoformat()} to {ends_on.isoformat() if ends_on else 'no end date'}"


def check_dates(starts_on: datetime.date, ends_on: datetime.date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise RuleViolation("DATES", f"the end date {ends_on} is before the start {starts_on}.")


def check_not_self(guide, learner) -> None:
    """R1: a guide is never their own learner."""
    if guide.pk == learner.pk:
        raise RuleViolation("R1", f"{guide} cannot be their own {'guide'}.", record=guide)


def guide_membership(program: Program, guide, *, lock: bool = False) -> Membership:
    """The guide's current membership in the program's guide role, or a ROLE refusal."""
    qs = Membership.objects.current().filter(user=guide, program=program, role=program.guide_role)
    if lock:
        # of=self: the default ordering joins the user and program, which must not be locked
        # too (that would serialise every pairing in the program and block inserts that
        # refer to the person, e.g. an assessment role racing this pairing: a deadlock).
        qs = qs.select_for_update(of=("self",))
    membership = qs.first()
    if membership is None:
        raise RuleViolation(
            "ROLE", f"{guide} is not a {Role(program.guide_role).label.lower()} in {program}."
        )
    return membership


def learner_membership(program: Program, learner, *, lock: bool = False) -> Membership:
    qs = Membership.objects.current().filter(user=learner, program=program, role=Role.LEARNER)
    if lock:
        qs = qs.select_for_update(of=("self",))  # see guide_membership
    membership = qs.first()
    if membership is None:
        raise RuleViolation("ROLE", f"{learner} is not a learner in {program}.")
    return membership


# --- R2 Role separation ---------------------------------------------------------------------

# Which of the two records is the newcomer: a relationship (pairing, matching, self-match) or
# an assessment role (added by hand or imported).
ARRIVING_RELATIONSHIP = "relationship"
ARRIVING_ROLE = "assessment_role"


class Separation:
    """What R2 does with an assessment role and a relationship that share a day."""

    FLAG = "flag"  # an advising program that flags: both stand, listed in the conflict queue
    QUEUE = "queue"  # the new assessment role waits (pending) in the conflict queue
    REFUSE = "refuse"  # the newcomer is refused, naming the other record


@dataclass(frozen=True)
class RoleSeparation:
    """R2's answer for one assessment role and one relationship of the same two people."""

    outcome: str
    arriving: str
    relationship: Relationship
    role: AssessmentRole | None = None

    @property
    def refused(self) -> bool:
        return self.outcome == Separation.REFUSE

    @property
    def queued(self) -> bool:
        return self.outcome == Separation.QUEUE

    def violation(self) -> RuleViolation:
        """The refusal, naming the rule and both records. The words are the same whichever
        of the two came second, so every path that refuses a case refuses it alike."""
        relationship, role = self.relationship, self.role
        program = relationship.program
        guide_noun, learner_noun = GUIDE_NOUN[program.kind], LEARNER_NOUN[program.kind]
        return RuleViolation(
            "R2",
            f"{role.describe()} and their {guide_noun} in {program} "
            f"({_dates(relationship.started_on, relationship.ends_on)}), on overlapping days. "
            f"A {guide_noun} may not assess their own {learner_noun}.",
            # The record already there is the conflicting one.
            record=role if self.arriving == ARRIVING_RELATIONSHIP else relationship,
        )


def role_separation(
    *, arriving: str, relationship: Relationship, role: AssessmentRole | None = None
) -> RoleSeparation:
    """R2's one decision, for an assessment role and a relationship of the same assessor and
    learner whose dates share a day (found with the QuerySets' `overlapping`).

    - The relationship's program is an advising program that flags overlaps: FLAG (both
      stand; the conflict queue lists them).
    - A new assessment role meets a relationship of a program that queues: QUEUE (the role
      waits, pending, for an administrator).
    - Otherwise the newcomer is refused: REFUSE, with `violation()` naming both records.

    `role` may be None when only the outcome is wanted (the matcher asks once per program).
    """
    program = relationship.program
    if program.overlap_is_flagged:
        outcome = Separation.FLAG
    elif (
        arriving == ARRIVING_ROLE
        and program.assessment_conflict == Program.AssessmentConflict.QUEUE
    ):
        outcome = Separation.QUEUE
    else:
        outcome = Separation.REFUSE
    return RoleSeparation(outcome=outcome, arriving=arriving, relationship=relationship, role=role)


def pairing_forbidden_by_role_separation(program: Program) -> bool:
    """Whether R2 refuses, in `program`, a new relationship that an assessment role collides
    with (the matcher leaves such pairs out; a flagging advising program does not)."""
    return role_separation(
        arriving=ARRIVING_RELATIONSHIP, relationship=Relationship(program=program)
    ).refused


def assessors_refused(
    *, program: Program, learners, starts_on: datetime.date, ends_on: datetime.date | None = None
) -> set[tuple[int, int]]:
    """The (learner id, assessor id) pairs R2 would refuse for a new relationship in `program`
    on the given dates, for `learners` (ids or a subquery): one query, none where the program
    only flags (role_separation decides)."""
    if not pairing_forbidden_by_role_separation(program):
        return set()
    return set(
        AssessmentRole.objects.in_force()
        .filter(learner__in=learners)
        .overlapping(starts_on, ends_on)
        .values_list("learner_id", "assessor_id")
    )


def colliding_assessment_roles(
    *, guide, learner, starts_on: datetime.date, ends_on: datetime.date | None
):
    """Assessment roles of `guide` over `learner` in force on any day of the given dates."""
    return (
        AssessmentRole.objects.in_force()
        .filter(assessor=guide, learner=learner)
        .overlapping(starts_on, ends_on)
        .select_related("assessor", "learner")
    )


def check_role_separation(
    *, program: Program, guide, learner, starts_on: datetime.date, ends_on: datetime.date | None
) -> list[AssessmentRole]:
    """R2 for a new relationship: refuse if the guide assesses the learner on any shared day.

    In an advising program that flags rather than blocks, returns the colliding roles so the
    caller can raise them in the conflict queue instead.
    """
    relationship = Relationship(
        program=program,
        guide=guide,
        learner=learner,
        kind=program.kind,
        started_on=starts_on,
        ends_on=ends_on,
    )
    flagged = []
    for role in colliding_assessment_roles(
        guide=guide, learner=learner, starts_on=starts_on, ends_on=ends_on
    ):
        verdict = role_separation(
            arriving=ARRIVING_RELATIONSHIP, relationship=relationship, role=role
        )
        if verdict.refused:
            raise verdict.violation()
        flagged.append(role)
    return flagged


def role_separation_verdicts(role: AssessmentRole, relationships) -> list[RoleSeparation]:
    """R2 for a new assessment role against the current relationships it collides with: one
    verdict each; raises the first refusal. The role is held pending if any verdict queues."""
    verdicts = [
        role_separation(arriving=ARRIVING_ROLE, relationship=relationship, role=role)
        for relationship in relationships
    ]
    for verdict in verdicts:
        if verdict.refused:
            raise verdict.violation()
    return verdicts


def check_assessment_role(role: AssessmentRole) -> list[RoleSeparation]:
    """R2 for a new assessment role (unsaved) against the database: the verdict on each
    current relationship of its assessor guiding its learner on a shared day."""
    return role_separation_verdicts(
        role,
        colliding_relationships(
            assessor=role.assessor,
            learner=role.learner,
            starts_on=role.starts_on,
            ends_on=role.ends_on,
        ),
    )


# --- R3 Capacity --------------------------------------------------------------------------


def guide_loads(program: Program, guides=None) -> dict[int, int]:
    """Current relationships (active or paused: they hold a place, R3) per guide of `program`
    (optionally only the guides `guides`, ids or a subquery)."""
    current = Relationship.objects.current().filter(program=program)
    if guides is not None:
        current = current.filter(guide__in=guides)
    return dict(current.values_list("guide").annotate(n=Count("id")).order_by())


@dataclass(frozen=True)
class GuideRoom:
    """A current guide of a program with their stated capacity and current load (R3)."""

    user: object
    capacity: int
    taken: int

    @property
    def left(self) -> int:
        return places_left(self.capacity, self.taken)

    def refusal(self) -> str:
        """Why R3 refuses them a new learner, in a few words ("" when they have room)."""
        if self.left:
            return ""
        return f"no place left ({self.taken} of {self.capacity} taken)"


def guides_room(program: Program) -> list[GuideRoom]:
    """Every current guide of `program` with their room for new learners (capacity minus
    current relationships), by name: two queries whatever the program's size."""
    loads = guide_loads(program)
    memberships = (
        Membership.objects.current()
        .filter(program=program, role=program.guide_role)
        .select_related("user")
        .order_by("user__full_name", "user__email", "pk")
    )
    seen, rooms = set(), []
    for membership in memberships:
        if membership.user_id in seen:
            continue
        seen.add(membership.user_id)
        rooms.append(
            GuideRoom(
                user=membership.user,
                capacity=membership.capacity or 0,
                taken=loads.get(membership.user_id, 0),
            )
        )
    return rooms


def places_left(capacity: int | None, taken: int) -> int:
    """A guide's room for new learners: their stated capacity minus their current load."""
    return max(0, (capacity or 0) - taken)


def check_capacity_floor(
    *, program: Program, guide, capacity: int, current: int, to_guide: bool = False
) -> None:
    """R3: a stated capacity is never below the guide's current relationships (R3 would be
    broken already). `to_guide`: the guide is setting it, and the words speak to them."""
    if capacity >= current:
        return
    if to_guide:
        message = (
            f"you have {current} current {'learner' if current == 1 else 'learners'} in "
            f"{program}; your capacity cannot be lower than that. Ask the program "
            "administrator to end a relationship first."
        )
    else:
        message = (
            f"{guide} has {current} current relationships in this program, so the "
            f"capacity cannot be below {current}."
        )
    raise RuleViolation("R3", message)


def check_capacity(
    *, program: Program, membership: Membership, exclude: Relationship | None = None
) -> None:
    """R3: the guide has room for one more current relationship in this program."""
    capacity = membership.capacity or 0
    current = Relationship.objects.current().filter(program=program, guide=membership.user)
    if exclude is not None:
        current = current.exclude(pk=exclude.pk)
    taken = current.count()
    if places_left(capacity, taken) < 1:
        raise RuleViolation(
            "R3",
            f"{membership.user} already has {taken} current relationship"
            f"{'' if taken == 1 else 's'} in {program} and a capacity of {capacity}.",
            record=membership,
        )


def current_of_kind(program: Program, learner, *, exclude: Relationship | None = None):
    """The learner's current relationship of the program's kind, if any (R3 allows one)."""
    current = Relationship.objects.current().filter(
        program=program, learner=learner, kind=program.kind
    )
    if exclude is not None:
        current = current.exclude(pk=exclude.pk)
    return current.select_related("guide").first()


def check_one_per_kind(
    *, program: Program, learner, exclude: Relationship | None = None, to_learner: bool = False
) -> None:
    """R3: a learner has at most one current relationship of each kind per program.
    `to_learner`: the learner is asking, and the words speak to them."""
    existing = current_of_kind(program, learner, exclude=exclude)
    if existing is not None and to_learner:
        raise RuleViolation(
            "R3", f"you already have a {program.guide_role} in {program}.", record=existing
        )
    if existing is not None:
        raise RuleViolation(
            "R3",
            f"{learner} already has a current {program.get_kind_display().lower()} relationship "
            f"in {program} (with {existing.guide}, since {existing.started_on}). End it first.",
            record=existing,
        )


def colliding_relationships(
    *, assessor, learner, starts_on: datetime.date, ends_on: datetime.date | None
):
    """Current relationships of `assessor` guiding `learner` on any day of the given dates."""
    return (
        Relationship.objects.current()
        .filter(guide=assessor, learner=learner)
        .overlapping(starts_on, ends_on)
        .select_related("program", "guide", "learner")
    )
