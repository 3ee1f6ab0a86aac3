"""MFA is required for every role but learner (middleware), and the Django admin cannot
bypass it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.middleware import MFA_SETUP_URL_NAMES
from accounts.models import Role
from accounts.permissions import requires_mfa
from accounts.services import membership_grant
from tests.conftest import give_mfa
from tests.factories import ProgramFactory, UserFactory
from tests.url_walk import all_url_cases

ACTIVATE = "/accounts/2fa/totp/activate/"


@pytest.mark.parametrize(
    ("roles", "staff", "expected"),
    [
        ([Role.LEARNER], False, False),
        ([], False, False),
        ([Role.MENTOR], False, True),
        ([Role.COACH], False, True),
        ([Role.ADVISOR], False, True),
        ([Role.PROGRAM_ADMIN], False, True),
        ([Role.DEAN], False, True),
        ([Role.LEARNER, Role.MENTOR], False, True),  # a PGY-3 who is also a peer mentor
        ([], True, True),  # operators
    ],
)
def test_requires_mfa_for_every_role_but_learner(db, roles, staff, expected):
    program = ProgramFactory()
    user = UserFactory(is_staff=staff)
    for role in roles:
        membership_grant(user=user, role=role, program=None if role == Role.DEAN else program)
    assert requires_mfa(user) is expected


@pytest.mark.parametrize("roles", [[], [Role.LEARNER]])
def test_a_privacy_officer_needs_mfa_whatever_their_roles(db, client, roles):
    program = ProgramFactory()
    officer = UserFactory(email="pat@school.test")
    for role in roles:
        membership_grant(user=officer, role=role, program=program)
    assert requires_mfa(officer) is False
    officer.groups.add(Group.objects.get(name="Privacy officer"))
    officer = type(officer).objects.get(pk=officer.pk)  # no per-request caches
    assert requires_mfa(officer) is True
    client.force_login(officer)
    response = client.get(reverse("privacy:access-log"))
    assert response.status_code == 302 and response["Location"] == ACTIVATE
    give_mfa(officer)
    assert client.get(reverse("privacy:access-log")).status_code == 200


@pytest.fixture
def admin_without_mfa(program):
    user = UserFactory(email="nadia@school.test")
    membership_grant(user=user, role=Role.PROGRAM_ADMIN, program=program)
    return user


def test_admin_without_mfa_is_sent_to_setup_from_every_page(client, admin_without_mfa):
    client.force_login(admin_without_mfa)
    checked = 0
    for case in all_url_cases():
        if case.name in MFA_SETUP_URL_NAMES:
            continue
        response = client.get(case.url)
        assert response.status_code == 302, case
        assert response["Location"] == ACTIVATE, case
        checked += 1
    # The walk must have covered the project's and allauth's pages, not an empty list.
    assert checked > 20


def test_admin_without_mfa_cannot_post_either(client, admin_without_mfa):
    client.force_login(admin_without_mfa)
    response = client.post(reverse("account_email"), {"email": "x@school.test", "action_add": ""})
    assert response.status_code == 302
    assert response["Location"] == ACTIVATE


def test_admin_without_mfa_may_sign_out(client, admin_without_mfa):
    client.force_login(admin_without_mfa)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_learner_is_not_asked_for_mfa(client, learner):
    client.force_login(learner)
    assert client.get(reverse("home")).status_code == 200


def test_admin_with_mfa_reaches_home(client, program_admin):
    client.force_login(program_admin)
    assert client.get(reverse("home")).status_code == 200


def test_losing_the_learner_only_status_makes_mfa_required(client, learner, other_program):
    client.force_login(learner)
    assert client.get(reverse("home")).status_code == 200
    membership_grant(user=learner, role=Role.MENTOR, program=other_program)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == ACTIVATE


def test_superuser_without_mfa_cannot_open_the_django_admin(client, db):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == ACTIVATE
    give_mfa(operator)
    assert client.get("/admin/").status_code == 200


def test_django_admin_login_goes_through_allauth(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
