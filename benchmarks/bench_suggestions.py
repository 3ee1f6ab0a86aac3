"""Participants' matching pages at school scale: a learner's suggested guides, a guide's
suggested learners.

Data: one program with 6,000 guides (capacities 1-6) and 20,000 learners, every person with a
profile (specialties, research, languages, campus, weekly availability), bulk-inserted. Each
page is rendered through the test client 30 times after a warm-up.

Baseline, same run and same people: the home page (the lightest page each person opens).
Figures: median and 95th-percentile wall time per page, and SQL queries per page (which must
not grow with the data). `SUGGESTIONS_SCALE=0.1` runs a data set ten times smaller.
"""

from __future__ import annotations

import os
import random
import statistics
import time

from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, ParticipantProfile, Role, User
from mentoring.models import Program

REQUESTS = 30
SCALE = float(os.environ.get("SUGGESTIONS_SCALE", "1"))
SPECIALTIES = [f"specialty {i}" for i in range(40)]
RESEARCH = [f"topic {i}" for i in range(120)]
LANGUAGES = ["english", "spanish", "french", "mandarin", "arabic", "hindi", "portuguese"]
CAMPUSES = ["north", "south", "east", "west"]


def _profile(rng: random.Random, user_id: int):
    return ParticipantProfile(
        user_id=user_id,
        campus=rng.choice(CAMPUSES),
        specialty_interests=rng.sample(SPECIALTIES, rng.randint(1, 3)),
        research_interests=rng.sample(RESEARCH, rng.randint(0, 3)),
        languages=["english", *rng.sample(LANGUAGES[1:], rng.randint(0, 1))],
        availability=rng.getrandbits(21) & rng.getrandbits(21),
    )


@transaction.atomic
def _school(n_learners: int, n_guides: int):
    UNUSABLE = make_password(None)  # nobody signs in with a password here
    rng = random.Random(20261126)  # noqa: S311 - reproducible benchmark data, not a secret
    program = Program.objects.create(name="Bench school mentoring", kind="mentoring")
    users = User.objects.bulk_create(
        [
            User(email=f"g{i}@bench.test", full_name=f"Guide {i:05d}", password=UNUSABLE)
            for i in range(n_guides)
        ]
        + [
            User(email=f"l{i}@bench.test", full_name=f"Learner {i:05d}", password=UNUSABLE)
            for i in range(n_learners)
        ],
        batch_size=2000,
    )
    guides, learners = users[:n_guides], users[n_guides:]
    Membership.objects.bulk_create(
        [
            Membership(user=u, program=program, role=Role.MENTOR, capacity=rng.randint(1, 6))
            for u in guides
        ]
        + [Membership(user=u, program=program, role=Role.LEARNER) for u in learners],
        batch_size=2000,
    )
    ParticipantProfile.objects.bulk_create([_profile(rng, u.pk) for u in users], batch_size=2000)
    TOTP.activate(guides[0], generate_totp_secret())  # guides sign in with MFA
    RecoveryCodes.activate(guides[0])
    return program, learners[0], guides[0]


def _measure(client: Client, url: str) -> tuple[float, float, float]:
    assert client.get(url).status_code == 200  # warm-up
    times = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(REQUESTS):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, response.status_code
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], len(queries) / REQUESTS


def run() -> None:
    n_learners, n_guides = int(20_000 * SCALE), int(6_000 * SCALE)
    started = time.perf_counter()
    program, learner, guide = _school(n_learners, n_guides)
    print(
        f"data: {n_learners:,} learners, {n_guides:,} guides with profiles, "
        f"inserted in {time.perf_counter() - started:.1f} s"
    )
    print(f"{'page':<44}{'median ms':>10}{'p95 ms':>9}{'queries':>9}")
    for person, label, url in (
        (learner, "learner: home (baseline)", reverse("home")),
        (
            learner,
            "learner: suggested guides",
            reverse("choosing:choose", kwargs={"code": program.code}),
        ),
        (
            learner,
            "learner: suggested guides, search",
            reverse("choosing:choose", kwargs={"code": program.code}) + "?q=specialty+1",
        ),
        (guide, "guide: home (baseline)", reverse("home")),
        (
            guide,
            "guide: offer page, suggested learners",
            reverse("choosing:offer", kwargs={"code": program.code}),
        ),
    ):
        client = Client()
        client.force_login(person)
        median, p95, queries = _measure(client, url)
        print(f"{label:<44}{median:>10.1f}{p95:>9.1f}{queries:>9.1f}")
