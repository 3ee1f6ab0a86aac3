"""Participants' matching pages at school scale: a learner's suggested guides, a guide's
suggested learners.

Data: one program with 6,000 guides (capacities 1-6) and 20,000 learners, every person with a
profile (specialties, research, languages, campus, weekly availability), bulk-inserted. Each
page is rendered through the test client 30 times after a warm-up.

Baselines, same run and same people: the home page (the lightest page each person opens),
and the rankings computed the way they were before the suggestion pool, from the database on
every call (`suggested_*_uncached`, kept as the pool's reference). Also measured: rebuilding
the pool after a change (the first request after a profile, membership or relationship
changes pays it), and the floor of the other design, precomputed features: the cohort's
`Learner` objects kept in memory and only compiled per request (what every request would
still pay).

Figures per scale: median and 95th-percentile wall time, and SQL queries per call (which must
not grow with the data: compare the scales). `SUGGESTIONS_SCALES` (default "0.1,1") picks the
scales; the full-scale data set lives in a database of its own (SUGGESTIONS_BENCH_DB, default
"mentoring_scale_suggestions"), created and filled on the first run and reused afterwards; the
smaller ones go to the run's scratch database.
"""

from __future__ import annotations

import os
import random
import statistics
import time

import numpy as np
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, ParticipantProfile, Role, User
from benchmarks.bench_dashboards import _use_database
from matching import preferences
from matching.algorithm.features import compile_instance, score_pairs
from matching.services import learners_build, pool
from mentoring.models import Program

REQUESTS = 30
SCALES = [float(x) for x in os.environ.get("SUGGESTIONS_SCALES", "0.1,1").split(",") if x]
FULL_DB = os.environ.get("SUGGESTIONS_BENCH_DB", "mentoring_scale_suggestions")
PROGRAM_NAME = "Bench school mentoring"
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
    program = Program.objects.create(name=PROGRAM_NAME, kind="mentoring")
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


def _existing(n_learners: int, n_guides: int):
    """The school a previous run made in this database, if it has the right size."""
    program = Program.objects.filter(name=PROGRAM_NAME).first()
    if program is None:
        return None
    members = Membership.objects.filter(program=program)
    if (
        members.filter(role=Role.LEARNER).count() != n_learners
        or members.filter(role=Role.MENTOR).count() != n_guides
    ):
        return None
    first = members.order_by("user_id")
    guide = first.filter(role=Role.MENTOR).first().user
    learner = first.filter(role=Role.LEARNER).first().user
    return program, learner, guide


def _timed(call, runs: int = REQUESTS) -> tuple[float, float, float]:
    call()  # warm-up
    times = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(runs):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], len(queries) / runs


def _page(client: Client, url: str):
    def call():
        response = client.get(url)
        assert response.status_code == 200, response.status_code

    return call


def _rebuilt(program, guide):
    """The first offer ranking after a change: the pool is built again."""

    def call():
        pool.pool_invalidate([program.pk])
        preferences.suggested_learners(program, guide)

    return call


def _features_in_memory(program, guide):
    """Precomputed features' floor: the cohort's Learner objects already in memory (no read),
    compiled against the guide and scored on every request."""
    criteria = preferences._suggestion_criteria(program)
    learners = learners_build(program, with_choices=False)
    me = preferences._offering(program, guide)
    index = {p.id: k for k, p in enumerate(learners)}

    def call():
        compiled = compile_instance(learners, [me], criteria, [], index, {me.id: 0})
        rows = np.arange(len(learners), dtype=np.int64)
        score_pairs(compiled, rows, np.zeros(len(learners), dtype=np.int64))

    return call


def _run_scale(scale: float, scratch: str) -> None:
    n_learners, n_guides = int(20_000 * scale), int(6_000 * scale)
    _use_database(FULL_DB if scale == 1 else scratch)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    found = _existing(n_learners, n_guides)
    if found is None:
        found = _school(n_learners, n_guides)
        done = f"inserted in {time.perf_counter() - started:.1f} s"
    else:
        done = f"reused from database {FULL_DB}"
    program, learner, guide = found
    # A database of the same name (the scratch one, made again each run) may have left pools
    # in Redis under the same program id: start from new versions.
    pool.pool_invalidate([program.pk])
    print(
        f"scale {scale:g}: {n_learners:,} learners, {n_guides:,} guides with profiles, {done}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    choose = reverse("choosing:choose", kwargs={"code": program.code})
    offer = reverse("choosing:offer", kwargs={"code": program.code})
    clients = {}
    for person in (learner, guide):
        clients[person.pk] = Client()
        clients[person.pk].force_login(person)
    cases = (
        ("learner: home (baseline)", _page(clients[learner.pk], reverse("home")), REQUESTS),
        ("learner: suggested guides", _page(clients[learner.pk], choose), REQUESTS),
        (
            "learner: suggested guides, search",
            _page(clients[learner.pk], choose + "?q=specialty+1"),
            REQUESTS,
        ),
        ("guide: home (baseline)", _page(clients[guide.pk], reverse("home")), REQUESTS),
        ("guide: offer page, suggested learners", _page(clients[guide.pk], offer), REQUESTS),
        (
            "guide: offer page, search",
            _page(clients[guide.pk], offer + "?q=specialty+1"),
            REQUESTS,
        ),
        (
            "before: guides for a learner, uncached",
            lambda: preferences.suggested_guides_uncached(program, learner),
            10,
        ),
        (
            "after: guides for a learner, pooled",
            lambda: preferences.suggested_guides(program, learner),
            REQUESTS,
        ),
        (
            "before: learners for a guide, uncached",
            lambda: preferences.suggested_learners_uncached(program, guide),
            10,
        ),
        (
            "after: learners for a guide, pooled",
            lambda: preferences.suggested_learners(program, guide),
            REQUESTS,
        ),
        ("after a change: pool rebuilt", _rebuilt(program, guide), 5),
        ("other design: features in memory", _features_in_memory(program, guide), 10),
    )
    print(f"{'page or call':<44}{'median ms':>10}{'p95 ms':>9}{'queries':>9}")
    for label, call, runs in cases:
        median, p95, queries = _timed(call, runs)
        print(f"{label:<44}{median:>10.1f}{p95:>9.1f}{queries:>9.1f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def run() -> None:
    scratch = connections["default"].settings_dict["NAME"]
    try:
        for scale in SCALES:
            _run_scale(scale, scratch)
            print()
    finally:
        _use_database(scratch)
