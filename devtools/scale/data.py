"""What the scale data set is made of: its targets, programs and the rows it plans."""

from __future__ import annotations

import datetime
import random
import uuid
from dataclasses import dataclass, field

TARGETS = {
    "learners": 20_000,
    "guides": 6_000,
    "peer_guides": 600,
    "relationships": 60_000,
    "meetings": 500_000,
    "responses": 100_000,
}
EMAIL_DOMAIN = "scale.invalid"
DAY = datetime.timedelta(days=1)

# name, kind, share of learners (first membership), for which track ("ms", "pgy" or both)
PROGRAMS = (
    ("MS1-MS2 faculty mentoring", "mentoring", 0.30, "ms"),
    ("Clinical years mentoring", "mentoring", 0.16, "ms"),
    ("Resident peer mentoring", "mentoring", 0.18, "pgy"),
    ("Research mentoring", "mentoring", 0.04, "both"),
    ("Longitudinal academic coaching", "coaching", 0.14, "ms"),
    ("Resident wellbeing coaching", "coaching", 0.14, "pgy"),
    ("Leadership coaching", "coaching", 0.004, "both"),  # small: suppression at work
    ("Residency application advising", "advising", 0.0, "ms"),
    ("Career advising", "advising", 0.0, "both"),
    ("Learning specialist advising", "advising", 0.0, "ms"),
)
ADVISING = ("Residency application advising", "Career advising", "Learning specialist advising")
PEER_PROGRAM = "Resident peer mentoring"
GUIDE_ROLE = {"mentoring": "mentor", "coaching": "coach", "advising": "advisor"}


@dataclass
class Learner:
    user_id: int
    track: str
    entry: datetime.date
    exit: datetime.date | None = None  # withdrawn or graduated on
    paired: bool = False  # will have relationships (decided before they withdraw or not)
    memberships: list = field(default_factory=list)  # (program index, intake date)


@dataclass
class Rel:
    id: int
    program: int
    learner: int
    guide: int
    kind: str
    origin: str
    started: datetime.date
    ends: datetime.date | None
    status: str
    end_reason: str


def new_uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)
