"""The fixed cast, MFA helpers and the browser fixture.

The cast (one program, "MS1 faculty mentoring", and a second one for the other administrator):
  learner          Lucia, learner in the program (no MFA: learners are exempt)
  mentor           Kenji, her mentor in the program
  other_mentor     Funmi, another mentor in the program
  assessor         Priya, faculty who assesses Lucia (her assessment role lands with the
                   programs/roles issue; today she is a mentor in another program)
  program_admin    Rosa, administrator of the program
  other_admin      Tom, administrator of the other program only
  dean             Helen, institution-wide dean
  outsider         Olive, signed-in person with no role anywhere
  superuser        the operator
Everyone whose role requires MFA has an authenticator (TOTP) already set up, so that
`client.force_login` reaches pages; tests of the MFA rule make their own people without one.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import shutil
import time

import pyotp
import pytest
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.core.cache import cache
from django.db.backends.signals import connection_created
from django.utils import timezone
from playwright.sync_api import sync_playwright

from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from config.celery import app as celery_app
from mentoring import services as mentoring_services
from tests import db_flush
from tests.factories import ProgramFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django refuses ORM calls from a
# thread with a running loop unless told this is deliberate (tests only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _allow_access_log_truncate(sender, connection, **kwargs):
    """The test runner empties every table with TRUNCATE after a transactional test; the
    access log refuses TRUNCATE unless the session allows it (mentoring migration 0007)."""
    with connection.cursor() as cursor:
        cursor.execute("SET mentoring.allow_access_log_truncate = 'on'")


connection_created.connect(
    _allow_access_log_truncate, dispatch_uid="tests.allow_access_log_truncate"
)

# Transactional tests empty the database with DELETE of the tables they filled rather than a
# TRUNCATE of every table: same outcome, most of a second less per test (tests/db_flush.py).
db_flush.install()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the product's hasher (asserted in tests/mentoring/test_settings.py); tests
    # that create dozens of people use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    # Rate-limit counters and used TOTP codes live in the cache; each test starts without them.
    # `make test` points the cache at a Redis database of its own (TEST_REDIS_URL).

    cache.clear()
    yield


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in the test process when they are enqueued."""

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


def totp_secret_for(email: str) -> str:
    return base64.b32encode(hashlib.sha256(f"test:{email}".encode()).digest()[:20]).decode()


def give_mfa(user) -> str:
    """Set up an authenticator app (and recovery codes) for `user`; returns the TOTP secret."""
    secret = totp_secret_for(user.email)
    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)
    return secret


def current_totp(secret: str, *, margin: float = 4.0) -> str:
    """The authenticator's code now, never one that expires within `margin` seconds.

    allauth accepts only the current 30-second window (no clock tolerance), so a code read
    just before the window turns is refused by the time the browser has posted it: the test
    waits for the next window instead.
    """
    totp = pyotp.TOTP(secret)
    left = totp.interval - time.time() % totp.interval
    if left < margin:
        time.sleep(left + 0.1)
    return totp.now()


@pytest.fixture
def program(db):
    return ProgramFactory(name="MS1 faculty mentoring")


@pytest.fixture
def other_program(db):
    return ProgramFactory(name="PGY peer mentoring")


# Who each member is: email, name, role and where it is held (None: institution-wide or no
# role), and whether they have an authenticator. One table, so that the per-test fixtures below
# and a module-scoped world (tests/test_authorization_matrix.py) make the same people.
CAST_PEOPLE = {
    "learner": ("lucia@school.test", "Lucia Garcia", Role.LEARNER, "program", False),
    "mentor": ("kenji@school.test", "Kenji Ito", Role.MENTOR, "program", True),
    "other_mentor": ("funmi@school.test", "Funmi Adeyemi", Role.MENTOR, "program", True),
    "assessor": ("priya@school.test", "Priya Raman", Role.MENTOR, "other_program", True),
    "program_admin": ("rosa@school.test", "Rosa Delgado", Role.PROGRAM_ADMIN, "program", True),
    "other_admin": ("tom@school.test", "Tom Okafor", Role.PROGRAM_ADMIN, "other_program", True),
    "dean": ("helen@school.test", "Helen Marsh", Role.DEAN, None, True),
    "outsider": ("olive@school.test", "Olive Stone", None, None, False),
}


def cast_member_create(member: str, *, program=None):
    """Make one member of the cast (not the superuser) in `program`, the program their role
    is held in (None for the dean and the outsider)."""
    email, full_name, role, _, mfa = CAST_PEOPLE[member]
    user = UserFactory(email=email, full_name=full_name)
    if role is not None:
        membership_grant(user=user, role=role, program=program)
    if mfa:
        give_mfa(user)
    return user


def superuser_create():
    user = UserFactory(
        email="operator@school.test", full_name="Site Operator", is_staff=True, is_superuser=True
    )
    give_mfa(user)
    return user


def cast_create(*, program, other_program) -> dict:
    """The whole cast, made in the order the `cast` fixture makes it."""
    programs = {"program": program, "other_program": other_program, None: None}
    cast = {
        member: cast_member_create(member, program=programs[CAST_PEOPLE[member][3]])
        for member in CAST_PEOPLE
    }
    cast["superuser"] = superuser_create()
    return cast


@pytest.fixture
def learner(program):
    return cast_member_create("learner", program=program)


@pytest.fixture
def mentor(program):
    return cast_member_create("mentor", program=program)


@pytest.fixture
def other_mentor(program):
    return cast_member_create("other_mentor", program=program)


@pytest.fixture
def assessor(other_program):
    return cast_member_create("assessor", program=other_program)


@pytest.fixture
def program_admin(program):
    return cast_member_create("program_admin", program=program)


@pytest.fixture
def other_admin(other_program):
    return cast_member_create("other_admin", program=other_program)


@pytest.fixture
def dean(db):
    return cast_member_create("dean")


@pytest.fixture
def outsider(db):
    return cast_member_create("outsider")


@pytest.fixture
def superuser(db):
    return superuser_create()


@pytest.fixture
def cast(
    learner, mentor, other_mentor, assessor, program_admin, other_admin, dean, outsider, superuser
):
    return {
        "learner": learner,
        "mentor": mentor,
        "other_mentor": other_mentor,
        "assessor": assessor,
        "program_admin": program_admin,
        "other_admin": other_admin,
        "dean": dean,
        "outsider": outsider,
        "superuser": superuser,
    }


@pytest.fixture
def cohort(program, learner, mentor, other_mentor, assessor, program_admin):
    """For matching: Lucia and five more learners, three mentors of capacity 3; Priya (the
    assessor) is a mentor here too, shares Lucia's interest in surgery and assesses her."""

    membership_grant(user=assessor, role=Role.MENTOR, program=program)
    mentoring_services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind="assessor",
        context="OSCE",
        starts_on=timezone.localdate() - datetime.timedelta(days=5),
    )
    learners = [learner]
    for _ in range(5):
        person = UserFactory()
        membership_grant(user=person, role=Role.LEARNER, program=program)
        learners.append(person)
    ParticipantProfile.objects.create(user=learner, specialty_interests=["Surgery"])
    ParticipantProfile.objects.create(user=assessor, specialty_interests=["surgery"])
    return {"learners": learners, "guides": [mentor, other_mentor, assessor]}


# --- Browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright. Missing Chromium is a failure, not a
    skip: `.ci/run` installs it."""
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)"
        )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


# --- Confidential notes never leak (R4) --------------------------------------------------------
# Autouse: every test fails if a note body saved during it reached an email or a log record.
from tests.confidential_leaks import (  # noqa: E402, F401
    deliberate_note_leaks,
    no_confidential_note_leaks,
)
