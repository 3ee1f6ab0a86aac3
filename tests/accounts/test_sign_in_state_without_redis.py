"""A TOTP code works once and failed sign-ins keep counting, with Redis up, hung or gone, and
across web processes: the sign-in security state lives in the database (mentoring/cache.py).

The tests run a Redis server of their own, freeze it (SIGSTOP) or stop it, and stand in for a
second web process by dropping the cache object, and with it its in-memory fallback.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
from django.conf import settings
from django.core.cache import cache, caches

from accounts.models import SecurityCacheEntry
from accounts.tasks import purge_security_state, security_state_purge
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD

LOGIN = "/accounts/login/"
MFA = "/accounts/2fa/authenticate/"
TOO_MANY = b"Too many failed login attempts"
SOCKET_TIMEOUT = 0.3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis():
    """A throwaway redis-server: {"process": Popen, "url": ...}."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.05)
    yield {"process": process, "url": f"redis://127.0.0.1:{port}/0"}
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)
        process.kill()
    process.wait()


@pytest.fixture(params=["up", "frozen", "stopped"])
def redis_state(request, own_redis, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "mentoring.cache.ResilientRedisCache",
            "LOCATION": own_redis["url"],
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": SOCKET_TIMEOUT,
            },
        }
    }
    cache.set("probe", "value")
    assert cache.redis_available is True
    process = own_redis["process"]
    if request.param == "frozen":
        os.kill(process.pid, signal.SIGSTOP)
    elif request.param == "stopped":
        process.kill()
        process.wait()
    if request.param != "up":
        # Proves Redis really is hung or gone, so the tests below are not vacuous.
        started = time.monotonic()
        cache.set("probe", "value")
        assert cache.redis_available is False
        assert time.monotonic() - started < 2 * SOCKET_TIMEOUT + 0.5
    return request.param


def another_process() -> None:
    """Forget this process's cache object and its in-memory fallback, as a second web
    process (or a restarted one) would not have them."""
    del caches["default"]


def sign_in_with_code(client, user, code: str) -> tuple[bool, float]:
    """Whether `user` got in with the password and `code`, and the slower request's time."""
    client.logout()
    started = time.monotonic()
    response = client.post(LOGIN, {"login": user.email, "password": TEST_PASSWORD})
    slowest = time.monotonic() - started
    assert response.status_code == 302
    assert response["Location"] == MFA
    started = time.monotonic()
    response = client.post(MFA, {"code": code})
    slowest = max(slowest, time.monotonic() - started)
    assert response.status_code in (200, 302)
    return response.status_code == 302 and "_auth_user_id" in client.session, slowest


def test_a_totp_code_signs_in_once_across_processes(client, mentor, redis_state):
    code = current_totp(totp_secret_for(mentor.email), margin=10)
    client.get(LOGIN)  # the first request of a process loads URLs and templates
    accepted = []
    for attempt in range(6):
        if attempt:
            another_process()
        ok, slowest = sign_in_with_code(client, mentor, code)
        accepted.append(ok)
        # Sign-in never waits on Redis, hung or not.
        assert slowest < 1.0
    assert accepted == [True, False, False, False, False, False]
    assert SecurityCacheEntry.objects.filter(cache_key__contains="totp.used").count() == 1


def test_wrong_passwords_are_throttled_across_processes(client, learner, redis_state, settings):
    # allauth's default: 5 failed sign-ins per account per 5 minutes, then even the right
    # password is refused.
    client.get(LOGIN)  # the first request of a process loads URLs and templates
    through = 0
    slowest = 0.0
    for _ in range(40):
        another_process()
        started = time.monotonic()
        response = client.post(LOGIN, {"login": learner.email, "password": "wrong password"})
        slowest = max(slowest, time.monotonic() - started)
        # Refused: the form's "too many" error, or allauth's 429 past 30 sign-ins a minute
        # from one address.
        assert response.status_code in (200, 429)
        if response.status_code == 200 and TOO_MANY not in response.content:
            through += 1
    assert through == 5
    assert slowest < 1.0
    another_process()
    response = client.post(LOGIN, {"login": learner.email, "password": TEST_PASSWORD})
    assert response.status_code == 429 or TOO_MANY in response.content
    assert "_auth_user_id" not in client.session


def test_clearing_the_cache_keeps_the_security_state(db):
    cache.add("allauth.mfa.totp.used?user=1&code=123456", "y", timeout=90)
    cache.clear()
    assert cache.add("allauth.mfa.totp.used?user=1&code=123456", "y", timeout=90) is False


def test_expired_security_entries_are_purged_and_live_ones_kept(db):
    """The table is never culled by count, so the purge on the beat schedule is what keeps it to
    the entries still in force: a used code inside its window stays used."""
    now = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)
    SecurityCacheEntry.objects.create(
        cache_key="allauth:old", value="x", expires=now - datetime.timedelta(seconds=1)
    )
    SecurityCacheEntry.objects.create(
        cache_key="allauth:live", value="x", expires=now + datetime.timedelta(seconds=30)
    )
    assert security_state_purge(now=now) == 1
    assert list(SecurityCacheEntry.objects.values_list("cache_key", flat=True)) == ["allauth:live"]
    entry = settings.CELERY_BEAT_SCHEDULE["purge-security-state"]
    assert entry["task"] == purge_security_state.name
