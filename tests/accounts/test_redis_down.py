"""Signed-in people keep working when Redis is down: sessions are in the database and the
cache falls back to process memory instead of failing."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.urls import reverse

from mentoring.cache import ResilientRedisCache
from tests.factories import TEST_PASSWORD

UNREACHABLE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "mentoring.cache.ResilientRedisCache",
            "LOCATION": UNREACHABLE,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    # Proves Redis really is unreachable, so the tests below are not vacuous.
    cache.set("probe", "value")
    assert cache.redis_available is False


def test_signed_in_person_keeps_working_when_redis_is_down(client, learner, redis_down):
    client.force_login(learner)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert b"MS1 faculty mentoring" in response.content


def test_signing_in_works_when_redis_is_down(client, learner, redis_down):
    # allauth keeps its rate-limit counters in the cache.
    response = client.post(
        reverse("account_login"), {"login": learner.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_sign_in_rate_limit_still_applies_when_redis_is_down(client, learner, redis_down):
    # allauth allows 5 failed sign-ins per account per 5 minutes by default, then refuses
    # even the right password.
    for _ in range(5):
        response = client.post(
            reverse("account_login"), {"login": learner.email, "password": "wrong password"}
        )
        assert b"Too many failed login attempts" not in response.content
    response = client.post(
        reverse("account_login"), {"login": learner.email, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session


def test_cache_uses_redis_when_it_is_up(db):
    assert isinstance(caches["default"], ResilientRedisCache)
    cache.set("probe-up", "value", 10)
    assert cache.get("probe-up") == "value"
    assert cache.redis_available is True
    assert cache.client.get_client().get(cache.make_key("probe-up")) is not None
