"""A small school for the dashboards, with figures worked out by hand (see `school`)."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import pytest

from accounts.models import Membership, ParticipantProfile, Role, StatusChange
from accounts.services import membership_grant
from mentoring.models import Program, Relationship, Term
from sessions_log.models import Meeting
from tests.factories import UserFactory

UTC = datetime.UTC
NOW = datetime.datetime(2025, 3, 15, 12, 0, tzinfo=UTC)  # academic year 2024-25, "so far"


def at(year, month, day, hour=10) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=UTC)


def learner(name, program, *, cohort, enrolled, joined):
    user = UserFactory(full_name=name, email=f"{name.lower().replace(' ', '.')}@school.test")
    ParticipantProfile.objects.create(user=user, cohort=cohort)
    StatusChange.objects.create(
        user=user, population="learner", status="enrolled", effective_on=enrolled
    )
    Membership.objects.create(user=user, program=program, role=Role.LEARNER, started_at=joined)
    return user


def _guide(name, program, role="mentor"):
    user = UserFactory(full_name=name, email=f"{name.lower().replace(' ', '.')}@school.test")
    Membership.objects.create(
        user=user, program=program, role=role, capacity=5, started_at=at(2020, 1, 6)
    )
    return user


def pair(program, guide, learner, *, origin="matched", started=datetime.date(2024, 9, 1)):
    return Relationship.objects.create(
        program=program,
        guide=guide,
        learner=learner,
        kind=program.kind,
        status="active",
        origin=origin,
        started_on=started,
    )


def _meeting(relationship, when, status="completed"):
    return Meeting.objects.create(
        relationship=relationship,
        starts_at=when,
        ends_at=when + datetime.timedelta(minutes=45),
        status=status,
    )


@pytest.fixture
def school(db, settings):
    """Academic year 2024-25 (today is 2025-03-15), minimum cell 2.

    Alpha mentoring (terms: fall, spring): seven learners of the Class of 2027; Ann, Ben, Cal,
    Dee and Eli paired with Dr. Ito since 2024-09-01 (Dee's and Eli's self-initiated), Eve
    and Fay not; Fay withdrew on 2025-02-01. Ann, Ben, Cal and Dee met three times in the fall
    and once on 2025-02-10; Eli three times in the fall only (and cancelled once).
      -> 7 learners, 6 retained (85.7%); paired 5, all retained; not paired 2, 1 retained.
      -> meetings per relationship per term: 19 / (5 x 2 terms) = 1.9.
      -> active relationships met in the last 60 days: 4 of 5 (80%).
    Beta mentoring: no learner (tests add one); Dr. Novak left on 2025-01-31.
    Each program also has a second guide with nobody (Drs Ivy, Nash, Rey, Sun): 8 guides.
    Delta mentoring: six learners, four paired with Dr. Ruiz (two self-initiated).
    Gamma coaching: five learners of the Class of 2028, joined 2024-08-15; three paired with
    coach Dr. Sato on 2024-09-01 (17 days).
    Everyone in school all year but Fay: 18 learners in 2024-25.
    """
    settings.SURVEY_MIN_CELL = 2
    settings.TIME_ZONE = "UTC"
    alpha = Program.objects.create(name="Alpha mentoring", kind="mentoring")
    beta = Program.objects.create(name="Beta mentoring", kind="mentoring")
    delta = Program.objects.create(name="Delta mentoring", kind="mentoring")
    gamma = Program.objects.create(name="Gamma coaching", kind="coaching")
    Term.objects.create(
        program=alpha,
        name="2024-25 fall",
        starts_on=datetime.date(2024, 8, 1),
        ends_on=datetime.date(2024, 12, 31),
    )
    Term.objects.create(
        program=alpha,
        name="2024-25 spring",
        starts_on=datetime.date(2025, 1, 1),
        ends_on=datetime.date(2025, 7, 31),
    )
    ito, novak, ruiz = _guide("Dr Ito", alpha), _guide("Dr Novak", beta), _guide("Dr Ruiz", delta)
    sato = _guide("Dr Sato", gamma, role="coach")
    # A second guide in each program, with no learner today.
    spare = [
        _guide("Dr Ivy", alpha),
        _guide("Dr Nash", beta),
        _guide("Dr Rey", delta),
        _guide("Dr Sun", gamma, role="coach"),
    ]
    for guide in (ito, novak, ruiz, sato, *spare):
        StatusChange.objects.create(
            user=guide,
            population="faculty",
            status="active",
            effective_on=datetime.date(2020, 1, 6),
        )
    StatusChange.objects.create(
        user=novak, population="faculty", status="left", effective_on=datetime.date(2025, 1, 31)
    )
    enrolled, joined = datetime.date(2023, 8, 1), at(2023, 8, 15)
    names = ["Ann Lee", "Ben Kim", "Cal Poe", "Dee Roy", "Eli Day", "Eve Yu", "Fay Orr"]
    a = [learner(n, alpha, cohort="Class of 2027", enrolled=enrolled, joined=joined) for n in names]
    StatusChange.objects.create(
        user=a[6], population="learner", status="withdrawn", effective_on=datetime.date(2025, 2, 1)
    )
    pairs = [
        pair(alpha, ito, person, origin="self_initiated" if i >= 3 else "matched")
        for i, person in enumerate(a[:5])
    ]
    for i, relationship in enumerate(pairs):
        for when in (at(2024, 9, 20), at(2024, 10, 20), at(2024, 11, 20)):
            _meeting(relationship, when)
        if i < 4:
            _meeting(relationship, at(2025, 2, 10))
    _meeting(pairs[4], at(2025, 2, 12), status="cancelled")
    d = [
        learner(
            f"Delta Learner {i}", delta, cohort="Class of 2027", enrolled=enrolled, joined=joined
        )
        for i in range(6)
    ]
    for i, person in enumerate(d[:4]):
        pair(delta, ruiz, person, origin="self_initiated" if i >= 2 else "matched")
    g = [
        learner(
            f"Gamma Learner {i}",
            gamma,
            cohort="Class of 2028",
            enrolled=datetime.date(2024, 8, 1),
            joined=at(2024, 8, 15),
        )
        for i in range(5)
    ]
    for person in g[:3]:
        pair(gamma, sato, person)
    admin = UserFactory(full_name="Rosa Admin", email="rosa.admin@school.test")
    membership_grant(user=admin, role=Role.PROGRAM_ADMIN, program=alpha)
    dean = UserFactory(full_name="Helen Dean", email="helen.dean@school.test")
    membership_grant(user=dean, role=Role.DEAN)
    return SimpleNamespace(
        alpha=alpha,
        beta=beta,
        delta=delta,
        gamma=gamma,
        alpha_learners=a,
        pairs=pairs,
        novak=novak,
        enrolled=enrolled,
        joined=joined,
        guides=(ito, novak, ruiz, sato),
        admin=admin,
        dean=dean,
        now=NOW,
    )
