"""Per-request cost of the session-lifetime and MFA rules on the home page.

Baseline: the same requests with those two middlewares removed, in the same run; for a
learner (no MFA) and a program administrator (MFA checked on every request).

Figures: median and 95th-percentile wall time per request, and queries per request.
"""

from __future__ import annotations

import statistics
import time

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.services import membership_grant, user_create
from mentoring.models import Program

REQUESTS = 300
RULE_MIDDLEWARE = {
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.MFARequiredMiddleware",
}


def _people():
    programs = [
        Program.objects.create(name=f"Bench program {i}", kind="mentoring") for i in range(5)
    ]
    learner = user_create(email="bench.learner@school.test", full_name="Bench Learner")
    admin = user_create(email="bench.admin@school.test", full_name="Bench Admin")
    for program in programs:
        membership_grant(user=learner, role=Role.LEARNER, program=program)
        membership_grant(user=admin, role=Role.PROGRAM_ADMIN, program=program)
        for n in range(40):
            person = user_create(email=f"b{program.pk}-{n}@school.test", full_name=f"P {n}")
            membership_grant(user=person, role=Role.LEARNER, program=program)
    TOTP.activate(admin, generate_totp_secret())
    RecoveryCodes.activate(admin)
    return {"learner": learner, "program administrator": admin}


def _measure(user) -> tuple[float, float, float]:
    client = Client()
    client.force_login(user)
    client.get("/")  # warm up: starts the session clocks, fills caches
    times = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = client.get("/")
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], len(queries) / REQUESTS


def run() -> None:
    people = _people()
    baseline_middleware = [m for m in settings.MIDDLEWARE if m not in RULE_MIDDLEWARE]
    print(f"{'person':<24}{'stack':<12}{'median ms':>10}{'p95 ms':>9}{'queries':>9}")
    for label, user in people.items():
        with override_settings(MIDDLEWARE=baseline_middleware):
            base = _measure(user)
        rules = _measure(user)
        for stack, (median, p95, queries) in (("baseline", base), ("rules", rules)):
            print(f"{label:<24}{stack:<12}{median:>10.2f}{p95:>9.2f}{queries:>9.1f}")
        print(
            f"{'':<24}{'overhead':<12}{rules[0] - base[0]:>+10.2f}{rules[1] - base[1]:>+9.2f}"
            f"{rules[2] - base[2]:>+9.1f}"
        )
