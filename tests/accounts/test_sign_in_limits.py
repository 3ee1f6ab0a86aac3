"""Sign-in throttles: a lecture hall behind one address signs in together, while guessing one
account's password stays throttled from one address or many, and spraying from one address is
bounded."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.test import Client
from django.urls import reverse

from accounts.models import Membership, Role, User
from tests.factories import TEST_PASSWORD

NOW = datetime.datetime(2027, 3, 1, 9, 0, tzinfo=datetime.UTC)
HALL = "192.0.2.10"  # the one address a lecture hall's network shows the site
TOO_MANY = b"Too many failed login attempts"


def _people(program, count: int, prefix: str) -> list[User]:
    hashed = make_password(TEST_PASSWORD)
    users = User.objects.bulk_create(
        User(email=f"{prefix}{n}@school.test", full_name=f"Student {n}", password=hashed)
        for n in range(count)
    )
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, primary=True, verified=True) for user in users
    )
    Membership.objects.bulk_create(
        Membership(user=user, program=program, role=Role.LEARNER) for user in users
    )
    return users


def _sign_in(email: str, password: str, address: str) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    return client, response


def _signed_in(client: Client, response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.mark.django_db
def test_a_lecture_hall_of_200_signs_in_within_one_minute_from_one_address(program):
    students = _people(program, 200, "hall")
    with time_machine.travel(NOW, tick=False):  # every sign-in in the same minute
        for student in students:
            client, response = _sign_in(student.email, TEST_PASSWORD, HALL)
            assert _signed_in(client, response), (student.email, response.status_code)
            assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_the_per_address_limits_are_above_a_lecture_hall():
    assert settings.ACCOUNT_RATE_LIMITS["login"] == "400/m/ip"
    assert settings.ACCOUNT_RATE_LIMITS["login_failed"] == "60/m/ip,5/300s/key"


@pytest.mark.django_db
def test_guessing_one_accounts_password_from_one_address_is_throttled(learner):
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            client, response = _sign_in(learner.email, "wrong password", HALL)
            assert response.status_code == 200
            assert TOO_MANY not in response.content
        # The sixth attempt is refused, even with the right password.
        client, response = _sign_in(learner.email, TEST_PASSWORD, HALL)
        assert not _signed_in(client, response)
        assert TOO_MANY in response.content
    # Five minutes later the account signs in again.
    with time_machine.travel(NOW + datetime.timedelta(minutes=5, seconds=1), tick=False):
        client, response = _sign_in(learner.email, TEST_PASSWORD, HALL)
        assert _signed_in(client, response)


@pytest.mark.django_db
def test_guessing_one_accounts_password_from_many_addresses_is_throttled(learner):
    with time_machine.travel(NOW, tick=False):
        for n in range(5):
            client, response = _sign_in(learner.email, "wrong password", f"198.51.100.{n + 1}")
            assert TOO_MANY not in response.content
        client, response = _sign_in(learner.email, TEST_PASSWORD, "198.51.100.99")
        assert not _signed_in(client, response)
        assert TOO_MANY in response.content


@pytest.mark.django_db
def test_spraying_one_password_over_many_accounts_from_one_address_is_throttled(program):
    """Wrong passwords for 60 different accounts from one address (each account below its own
    limit): the address is refused for the rest of the minute, other addresses are not."""
    sprayed = _people(program, 61, "sprayed")
    with time_machine.travel(NOW, tick=False):
        for user in sprayed[:60]:
            client, response = _sign_in(user.email, "Summer2027!", HALL)
            assert response.status_code == 200
            assert TOO_MANY not in response.content
        client, response = _sign_in(sprayed[60].email, TEST_PASSWORD, HALL)
        assert not _signed_in(client, response)
        assert TOO_MANY in response.content
        client, response = _sign_in(sprayed[60].email, TEST_PASSWORD, "192.0.2.99")
        assert _signed_in(client, response)
    with time_machine.travel(NOW + datetime.timedelta(minutes=1, seconds=1), tick=False):
        client, response = _sign_in(sprayed[0].email, TEST_PASSWORD, HALL)
        assert _signed_in(client, response)
