"""30-minute idle timeout and 12-hour absolute lifetime; sessions live in the database."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from accounts.middleware import LAST_ACTIVITY, SIGNED_IN_AT
from tests.factories import TEST_PASSWORD

HOME = "/"


def _age_session(client, *, signed_in_ago: float, active_ago: float) -> None:
    session = client.session
    now = time.time()
    session[SIGNED_IN_AT] = now - signed_in_ago
    session[LAST_ACTIVITY] = now - active_ago
    session.save()


def _is_signed_out(client, response) -> bool:
    login = reverse("account_login")
    return (
        response.status_code == 302
        and response["Location"].startswith(login)
        and "_auth_user_id" not in client.session
    )


def test_first_request_starts_the_clocks(client, learner):
    client.force_login(learner)
    assert client.get(HOME).status_code == 200
    session = client.session
    assert time.time() - session[SIGNED_IN_AT] < 5
    assert time.time() - session[LAST_ACTIVITY] < 5


def test_signing_in_through_the_form_starts_the_clocks(client, learner):
    response = client.post(
        reverse("account_login"), {"login": learner.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert time.time() - client.session[SIGNED_IN_AT] < 5


def test_idle_for_29_minutes_keeps_the_session(client, learner):
    client.force_login(learner)
    client.get(HOME)
    _age_session(client, signed_in_ago=3600, active_ago=29 * 60)
    assert client.get(HOME).status_code == 200
    # ...and the request counted as activity.
    assert time.time() - client.session[LAST_ACTIVITY] < 5


def test_idle_for_31_minutes_signs_out_with_a_reason(client, learner):
    client.force_login(learner)
    client.get(HOME)
    _age_session(client, signed_in_ago=3600, active_ago=31 * 60)
    response = client.get(HOME)
    assert _is_signed_out(client, response)
    assert "next=%2F" in response["Location"]
    page = client.get(response["Location"])
    assert b"after 30 minutes without activity" in page.content


def test_active_session_ends_12_hours_after_sign_in(client, learner):
    client.force_login(learner)
    client.get(HOME)
    _age_session(client, signed_in_ago=12 * 3600 + 5, active_ago=10)
    response = client.get(HOME)
    assert _is_signed_out(client, response)
    page = client.get(response["Location"])
    assert b"12 hours after signing in" in page.content


def test_11_hours_of_activity_keeps_the_session(client, learner):
    client.force_login(learner)
    client.get(HOME)
    _age_session(client, signed_in_ago=11 * 3600, active_ago=10)
    assert client.get(HOME).status_code == 200


def test_htmx_request_gets_a_client_redirect(client, learner):
    client.force_login(learner)
    client.get(HOME)
    _age_session(client, signed_in_ago=3600, active_ago=31 * 60)
    response = client.get(HOME, headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(reverse("account_login"))


def test_sessions_are_stored_in_the_database(client, learner):
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    client.force_login(learner)
    assert Session.objects.filter(session_key=client.session.session_key).exists()


def test_configured_limits_are_30_minutes_and_12_hours():
    assert settings.SESSION_IDLE_TIMEOUT.total_seconds() == 30 * 60
    assert settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds() == 12 * 3600
