"""The demo school's data: its programs, named people, profiles, weekly times and choices,
and how its demo credentials are made (`manage.py demo` writes them)."""

from __future__ import annotations

import base64
import hashlib

from accounts.models import DAY_PARTS, Role
from mentoring.models import Program

# The history: about 400 learners and 120 guides over six academic years (the dashboards' window),
# with relationships, meetings and survey answers; a few seconds to write.
HISTORY_SCALE = 0.02
HISTORY_SEED = 20261207

DEMO_PASSWORD = "demo-mentoring-2026"  # noqa: S105 - printed demo credential, refused in production
DOMAIN = "demo.mentoring.test"

PROGRAMS = [
    (
        "MS1 faculty mentoring",
        Program.Kind.MENTORING,
        "Every first-year student is paired with a faculty mentor for the year.",
    ),
    (
        "PGY peer mentoring",
        Program.Kind.MENTORING,
        "Senior residents mentor interns through their first year of residency.",
    ),
    (
        "Longitudinal coaching",
        Program.Kind.COACHING,
        "Academic coaches follow students from MS1 to graduation.",
    ),
    (
        "Residency application advising",
        Program.Kind.ADVISING,
        "Career advisors guide MS3 and MS4 students through applications.",
    ),
]

# Residents choose their peer mentor themselves; the other programs are paired by their
# administrator (learners may rank suggested guides first).
SELF_MATCH_PROGRAM = "PGY peer mentoring"

PRIVACY_OFFICERS = {"privacy.byrne"}  # members of the "Privacy officer" group

# (email local part, full name, [(role, program name or None)], operator?)
PEOPLE = [
    (
        "coordinator",
        "Rosa Delgado",
        [
            (Role.PROGRAM_ADMIN, "MS1 faculty mentoring"),
            (Role.PROGRAM_ADMIN, "Longitudinal coaching"),
        ],
        False,
    ),
    (
        "gme.coordinator",
        "Tom Okafor",
        [
            (Role.PROGRAM_ADMIN, "PGY peer mentoring"),
            (Role.PROGRAM_ADMIN, "Residency application advising"),
        ],
        False,
    ),
    ("dean", "Dr. Helen Marsh", [(Role.DEAN, None)], False),
    # Reads the access log of confidential notes (group "Privacy officer"; no program role).
    ("privacy.byrne", "Patrick Byrne", [], False),
    ("mentor.ito", "Dr. Kenji Ito", [(Role.MENTOR, "MS1 faculty mentoring")], False),
    ("mentor.adeyemi", "Dr. Funmi Adeyemi", [(Role.MENTOR, "MS1 faculty mentoring")], False),
    ("mentor.novak", "Dr. Petra Novak", [(Role.MENTOR, "MS1 faculty mentoring")], False),
    ("coach.rahman", "Dr. Samira Rahman", [(Role.COACH, "Longitudinal coaching")], False),
    (
        "advisor.lindqvist",
        "Dr. Erik Lindqvist",
        [(Role.ADVISOR, "Residency application advising")],
        False,
    ),
    # A PGY-3: learner in one program, peer mentor in another.
    (
        "pgy3.chen",
        "Dr. Wei Chen",
        [(Role.LEARNER, "Longitudinal coaching"), (Role.MENTOR, "PGY peer mentoring")],
        False,
    ),
    (
        "ms1.garcia",
        "Lucia Garcia",
        [(Role.LEARNER, "MS1 faculty mentoring"), (Role.LEARNER, "Longitudinal coaching")],
        False,
    ),
    ("ms1.patel", "Arjun Patel", [(Role.LEARNER, "MS1 faculty mentoring")], False),
    ("ms1.nguyen", "Linh Nguyen", [(Role.LEARNER, "MS1 faculty mentoring")], False),
    ("ms1.brown", "Jordan Brown", [(Role.LEARNER, "MS1 faculty mentoring")], False),
    ("ms2.kowalski", "Anna Kowalski", [(Role.LEARNER, "Longitudinal coaching")], False),
    (
        "ms3.haddad",
        "Omar Haddad",
        [(Role.LEARNER, "Residency application advising"), (Role.LEARNER, "Longitudinal coaching")],
        False,
    ),
    ("ms4.johnson", "Maya Johnson", [(Role.LEARNER, "Residency application advising")], False),
    ("pgy1.silva", "Dr. Rafael Silva", [(Role.LEARNER, "PGY peer mentoring")], False),
    ("pgy1.kim", "Dr. Soo-ah Kim", [(Role.LEARNER, "PGY peer mentoring")], False),
    ("pgy3.yusuf", "Dr. Amina Yusuf", [(Role.MENTOR, "PGY peer mentoring")], False),
    # Self-match: Dr. Fischer is still choosing; Dr. Ramos has asked Dr. Chen.
    ("pgy1.fischer", "Dr. Lena Fischer", [(Role.LEARNER, "PGY peer mentoring")], False),
    ("pgy1.ramos", "Dr. Diego Ramos", [(Role.LEARNER, "PGY peer mentoring")], False),
    ("operator", "Site Operator", [], True),
]


# (email local part) -> level, campus, specialty interests, research interests, languages
PROFILES = {
    "mentor.ito": ("faculty", "Main", ["cardiology"], ["heart failure"], ["English", "Japanese"]),
    "mentor.adeyemi": ("faculty", "Main", ["pediatrics"], ["global health"], ["English", "Yoruba"]),
    "mentor.novak": ("faculty", "North", ["surgery"], ["surgical education"], ["English", "Czech"]),
    "coach.rahman": (
        "faculty",
        "Main",
        ["internal medicine"],
        ["wellbeing"],
        ["English", "Bengali"],
    ),
    "advisor.lindqvist": ("faculty", "Main", ["emergency medicine"], [], ["English", "Swedish"]),
    "pgy3.chen": ("PGY3", "Main", ["internal medicine"], ["quality improvement"], ["English"]),
    "ms1.garcia": ("MS1", "Main", ["cardiology"], ["heart failure"], ["English", "Spanish"]),
    "ms1.patel": ("MS1", "Main", ["pediatrics"], [], ["English", "Gujarati"]),
    "ms1.nguyen": ("MS1", "North", ["surgery"], ["surgical education"], ["English"]),
    "ms1.brown": ("MS1", "North", ["psychiatry"], [], ["English"]),
    "ms2.kowalski": ("MS2", "Main", ["neurology"], [], ["English", "Polish"]),
    "ms3.haddad": ("MS3", "Main", ["emergency medicine"], [], ["English", "Arabic"]),
    "ms4.johnson": ("MS4", "Main", ["emergency medicine"], ["toxicology"], ["English"]),
    "pgy1.silva": ("PGY1", "Main", ["internal medicine"], [], ["English", "Portuguese"]),
    "pgy1.kim": ("PGY1", "Main", ["internal medicine"], [], ["English", "Korean"]),
    "pgy3.yusuf": ("PGY3", "Main", ["internal medicine"], ["medical education"], ["English"]),
    "pgy1.fischer": (
        "PGY1",
        "Main",
        ["internal medicine"],
        ["medical education"],
        ["English", "German"],
    ),
    "pgy1.ramos": (
        "PGY1",
        "Main",
        ["internal medicine"],
        ["quality improvement"],
        ["English", "Spanish"],
    ),
}

WEEKDAYS = range(5)
WEEKEND = (5, 6)


def free(days, *parts: str) -> int:
    """A weekly availability bitmap (ParticipantProfile.availability, bit 3 x day + part): the
    given parts of the day ("morning", "afternoon", "evening") on the given days (0 = Monday)."""
    return sum(1 << (3 * day + DAY_PARTS.index(part)) for day in days for part in parts)


# (email local part) -> when the person is usually free
AVAILABILITY = {
    "mentor.ito": free((1, 3), "afternoon") | free((2,), "evening"),
    "mentor.adeyemi": free((0, 2, 4), "morning"),
    "mentor.novak": free((1,), "morning", "afternoon"),
    "coach.rahman": free(WEEKDAYS, "afternoon"),
    "advisor.lindqvist": free((0, 3), "evening"),
    "pgy3.chen": free(WEEKDAYS, "evening") | free((6,), "afternoon"),
    "pgy3.yusuf": free((1, 3), "evening") | free(WEEKEND, "morning"),
    "ms1.garcia": free((1, 3), "afternoon") | free((5,), "morning"),
    "ms1.patel": free((0, 2), "morning", "evening"),
    "ms1.nguyen": free((1,), "afternoon", "evening"),
    "ms1.brown": free((2,), "evening") | free((4,), "morning", "afternoon"),
    "ms2.kowalski": free(WEEKDAYS, "evening"),
    "ms3.haddad": free((0, 4), "afternoon"),
    "ms4.johnson": free((3,), "evening") | free(WEEKEND, "afternoon"),
    "pgy1.silva": free((0, 2), "evening"),
    "pgy1.kim": free((6,), "morning", "afternoon"),
    "pgy1.fischer": free((1,), "afternoon") | free((5,), "morning"),  # shared with Dr. Yusuf only
    "pgy1.ramos": free((2, 4), "evening"),
}

# Jordan Brown, still unpaired in an administrator-paired program, ranks two mentors.
RANKED_CHOICES = ("MS1 faculty mentoring", "ms1.brown", ("mentor.adeyemi", "mentor.ito"))
# Dr. Ramos asks Dr. Chen to be his peer mentor; the request waits for an answer.
PENDING_REQUEST = (
    "pgy1.ramos",
    "pgy3.chen",
    "I would like help planning my ICU months and getting started on a QI project.",
)


def demo_totp_secret(email: str) -> str:
    """A fixed secret per demo account, so repeated runs print the same one."""
    digest = hashlib.sha256(f"demo-totp:{email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode("ascii")
