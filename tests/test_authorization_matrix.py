"""Drives tests/authz_matrix.py: each URL x each cast member gets exactly the expected answer,
and every project URL has a row."""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from matching import services as matching_services
from matching.models import MatchRequest
from mentoring import services
from mentoring.models import Term
from roster.services import import_batch_create
from sessions_log.models import Meeting, Slot
from tests.authz_matrix import CAST, MATRIX
from tests.authz_matrix_notes import mark_recently_authenticated
from tests.conftest import cast_create
from tests.factories import ProgramFactory, UserFactory

# URL namespaces and names that belong to libraries, not to the project.
THIRD_PARTY_PREFIXES = ("admin:", "account_", "mfa_")


@dataclass
class World:
    cast: dict
    program: object
    pair: object
    rematch: object
    conflict: object
    proposed: object
    batch: object
    run: object
    proposal: object
    match_request: object
    slot: object
    meeting: object
    past_meeting: object
    term: object


def world_create(cast: dict, program) -> World:
    today = timezone.localdate()
    program.pairing = "self"  # learners ask guides directly (the request pages exist)
    program.save()
    pair = services.relationship_start(
        program=program, guide=cast["mentor"], learner=cast["learner"]
    )
    rematch = services.rematch_request_create(relationship=pair, reason="Not a fit")
    # A second learner whose mentor then becomes her supervisor: a queued R2 conflict.
    second = UserFactory(full_name="Second Learner")
    membership_grant(user=second, role=Role.LEARNER, program=program)
    guided = services.relationship_start(
        program=program, guide=cast["other_mentor"], learner=second
    )
    conflict = services.assessment_role_add(
        assessor=cast["other_mentor"],
        learner=second,
        kind="supervisor",
        context="Ward block",
        starts_on=today,
    ).conflicts[0]
    assert guided.conflicts.get() == conflict
    # A third learner who recorded an informal relationship that other_mentor must confirm.
    third = UserFactory(full_name="Third Learner")
    membership_grant(user=third, role=Role.LEARNER, program=program)
    proposed = services.relationship_propose_informal(
        program=program,
        guide=cast["other_mentor"],
        learner=third,
        started_on=today - datetime.timedelta(days=1),
    )
    batch = import_batch_create(
        program=program,
        kind="people",
        filename="people.csv",
        data=b"email,full_name,role\r\nnew.person@school.test,New Person,learner\r\n",
        uploaded_by=cast["program_admin"],
    )

    run = matching_services.match_run_execute(
        run=matching_services.match_run_create(program=program, by=cast["program_admin"])
    )
    proposal = run.proposals.exclude(guide__isnull=True).first()
    assert proposal is not None, "the world's match run must propose a pair"

    match_request = MatchRequest.objects.create(
        program=program,
        learner=cast["learner"],
        guide=cast["other_mentor"],
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )

    now = timezone.now().replace(second=0, microsecond=0)
    hour = datetime.timedelta(hours=1)
    slot = Slot.objects.create(
        guide=cast["mentor"], starts_at=now + 72 * hour, ends_at=now + 73 * hour
    )
    booked = Slot.objects.create(
        guide=cast["mentor"], starts_at=now + 24 * hour, ends_at=now + 25 * hour
    )
    meeting = Meeting.objects.create(
        relationship=pair,
        slot=booked,
        starts_at=booked.starts_at,
        ends_at=booked.ends_at,
        booked_by=cast["learner"],
    )
    past_meeting = Meeting.objects.create(
        relationship=pair,
        starts_at=now - 7 * 24 * hour,
        ends_at=now - 7 * 24 * hour + hour,
        booked_by=cast["learner"],
    )
    return World(
        cast,
        program,
        pair,
        rematch,
        conflict,
        proposed,
        batch,
        run,
        proposal,
        match_request,
        slot,
        meeting,
        past_meeting,
        Term.objects.create(
            program=program,
            name="Matrix year",
            starts_on=today - datetime.timedelta(days=300),
            ends_on=today - datetime.timedelta(days=100),
        ),
    )


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """The world, built once for the module inside a transaction that is rolled back at its
    end. Each test runs in a savepoint within it (pytest-django's per-test atomic block
    nests), so a test's writes are undone before the next; building the world for each of
    the matrix's 1,200 tests took half the suite's time."""
    with (
        django_db_blocker.unblock(),
        # The autouse `_fast_password_hashing` is per test; the cast is made before it.
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        program = ProgramFactory(name="MS1 faculty mentoring")
        other_program = ProgramFactory(name="PGY peer mentoring")
        built = world_create(cast_create(program=program, other_program=other_program), program)
        yield built
        transaction.set_rollback(True)


@pytest.fixture
def matrix_world(shared_world, db):
    """A copy of the shared world for one test (as Django's TestCase does with
    setUpTestData): a test that changes an instance in memory, or caches objects it made on
    the world (authz_matrix_survey_console.surveys), leaves the next test's world as built."""
    return copy.deepcopy(shared_world)


@pytest.fixture
def world(cast, program):
    """The world built for one test alone (tests/mentoring/test_permission_parity.py)."""
    return world_create(cast, program)


def project_url_names() -> set[str]:
    names = set()

    def walk(patterns, namespace):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                ns = ":".join(filter(None, [namespace, entry.namespace]))
                walk(entry.url_patterns, ns or None)
            elif isinstance(entry, URLPattern) and entry.name:
                names.add(f"{namespace}:{entry.name}" if namespace else entry.name)

    walk(get_resolver().url_patterns, None)
    return {name for name in names if not name.startswith(THIRD_PARTY_PREFIXES)}


def test_every_project_url_has_a_row_in_the_matrix():
    missing = project_url_names() - set(MATRIX)
    assert not missing, f"add these URLs to tests/authz_matrix.py: {sorted(missing)}"
    stale = set(MATRIX) - project_url_names()
    assert not stale, f"these matrix rows name no URL: {sorted(stale)}"


CASES = [(name, member) for name in sorted(MATRIX) for member in CAST]


@pytest.mark.parametrize(("url_name", "member"), CASES, ids=[f"{n}-{m}" for n, m in CASES])
def test_authorization_matrix(client, matrix_world, url_name, member):
    world = matrix_world
    row = MATRIX[url_name]
    target = reverse(url_name, kwargs=row.kwargs(world))
    if member != "anonymous":
        client.force_login(world.cast[member])
        # Notes pages ask for a recent authentication; the matrix is about who sees what.
        mark_recently_authenticated(client, world.cast[member])
    response = client.post(target, row.data(world)) if row.method == "post" else client.get(target)
    assert response.status_code == row.expected(member), (
        f"{member} {row.method.upper()} {url_name}: got {response.status_code}, "
        f"expected {row.expected(member)}"
    )
    if member == "anonymous" and row.anonymous == 302:
        assert response["Location"].startswith(reverse("account_login"))
