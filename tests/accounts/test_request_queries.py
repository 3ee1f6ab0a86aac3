"""What every signed-in page asks the database for itself: the roles without joins, and the
authenticator check once per request for the MFA rule and the navigation together."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from accounts.permissions import roles_of
from accounts.services import membership_grant
from tests.factories import UserFactory


@pytest.mark.django_db
def test_the_roles_are_read_from_the_membership_table_alone(mentor):
    with CaptureQueriesContext(connection) as queries:
        assert "mentor" in roles_of(mentor)
    (query,) = queries.captured_queries
    assert "JOIN" not in query["sql"]
    assert "accounts_membership" in query["sql"]


def _authenticator_queries(queries) -> int:
    return sum('FROM "mfa_authenticator"' in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_a_page_asks_once_whether_a_guide_has_an_authenticator(client, mentor):
    client.force_login(mentor)
    client.get(reverse("home"))  # starts the session's clocks
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"Availability" in response.content  # the navigation was drawn
    assert _authenticator_queries(queries) == 1


@pytest.mark.django_db
def test_a_guide_without_an_authenticator_is_still_sent_to_set_one_up(client, program):
    guide = UserFactory()
    membership_grant(user=guide, role=Role.MENTOR, program=program)
    client.force_login(guide)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    # The pages on the way to setting one up show the one link that leads there.
    page = client.get(reverse("account_reauthenticate"))
    assert page.status_code == 200
    assert b"Set up two-factor authentication" in page.content
    assert b"Availability" not in page.content
