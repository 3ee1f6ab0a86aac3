"""R1-R3 in one place: who may be paired with whom, checked against the database.

Every refusal is a `RuleViolation` whose message names the rule and the conflicting record in
an administrator's words. The database backs these checks where it can: R1 is a check
constraint, R3's one-current-relationship-per-kind is a unique constraint, and capacity is
counted under a row lock on the guide's membership (see services.relationship_start).
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError

from accounts.models import Membership, Role
from mentoring.models import AssessmentRole, Program, Relationship

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
    collisions = list(
        colliding_assessment_roles(
            guide=guide, learner=learner, starts_on=starts_on, ends_on=ends_on
        )
    )
    if not collisions:
        return []
    if program.overlap_is_flagged:
        return collisions
    first = collisions[0]
    raise RuleViolation(
        "R2",
        f"{first.describe()}, which overlaps this relationship ({_dates(starts_on, ends_on)}). "
        f"A {Role(program.guide_role).label.lower()} may not assess their own "
        f"{'advisee' if program.kind == Program.Kind.ADVISING else 'mentee'}.",
        record=first,
    )


def check_capacity(
    *, program: Program, membership: Membership, exclude: Relationship | None = None
) -> None:
    """R3: the guide has room for one more current relationship in this program."""
    capacity = membership.capacity or 0
    current = Relationship.objects.current().filter(program=program, guide=membership.user)
    if exclude is not None:
        current = current.exclude(pk=exclude.pk)
    taken = current.count()
    if taken >= capacity:
        raise RuleViolation(
            "R3",
            f"{membership.user} already has {taken} current relationship"
            f"{'' if taken == 1 else 's'} in {program} and a capacity of {capacity}.",
            record=membership,
        )


def check_one_per_kind(*, program: Program, learner, exclude: Relationship | None = None) -> None:
    """R3: a learner has at most one current relationship of each kind per program."""
    current = Relationship.objects.current().filter(
        program=program, learner=learner, kind=program.kind
    )
    if exclude is not None:
        current = current.exclude(pk=exclude.pk)
    existing = current.select_related("guide").first()
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
