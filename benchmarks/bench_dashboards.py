"""Dashboards at school scale: the figures service, the evaluation and the administrators' lists.

Data: `manage.py seed_scale` (devtools/scale/): 20,000 learners, 6,000 guides, 60,000
relationships, 500,000 meetings, 100,000 survey responses, five years of status history. The
full-scale set lives in a database of its own (DASHBOARDS_BENCH_DB, default
"mentoring_scale"), created, migrated and seeded on the first run and reused afterwards (it
takes minutes); the set ten times smaller is seeded into the run's scratch database each time.

Per scale: the seed's time (when it ran), the refresh of the summary tables, then each service
call 30 times after a warm-up: median and 95th-percentile wall time, and SQL queries per call
(which must not grow with the data: compare the two scales). Baseline, same run: the
cheapest read a page makes anyway (`freshness()`, one query). Then each dashboard page
rendered through the test client, signed in ("page: ..."; queries include the session's,
the roles', the MFA check's and the navigation's), and every console list an administrator
opens ("console: ..."). Target: every page under 200 ms at the 95th percentile at full scale.

The administrators' lists are also timed the way they were read before (`_lists_before`: the
first rows with every user joined, then a COUNT, per list), as the same run's baseline; it
runs on today's indexes, which speed its agreement anti-join up too, so it understates what
the lists cost before them.

`DASHBOARDS_SCALES=0.1` runs the small set only.
"""

from __future__ import annotations

import datetime
import os
import statistics
import time

import psycopg2
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core.management import call_command
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from psycopg2 import sql

from accounts.models import Membership, Role, User
from accounts.permissions import has_mfa
from dashboards import aggregates, evaluation, lists
from dashboards.summaries import summaries_refresh
from devtools.scale import EMAIL_DOMAIN, TARGETS, ScaleSeed
from mentoring.agreements import agreements_not_done
from mentoring.models import Conflict, Program, Relationship, RematchRequest
from sessions_log.logs import quiet_relationships
from sessions_log.models import Meeting
from surveys.models import Campaign
from surveys.results import with_rates

CALLS = 30
SCALES = [float(s) for s in os.environ.get("DASHBOARDS_SCALES", "1,0.1").split(",") if s]
FULL_DB = os.environ.get("DASHBOARDS_BENCH_DB", "mentoring_scale")


def _use_database(name: str) -> None:
    """Point the default connection at `name`, creating the database if needed."""
    settings = connections["default"].settings_dict
    connection.close()
    admin = psycopg2.connect(
        dbname="postgres",
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"],
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    settings["NAME"] = name


def _seeded(scale: float) -> bool:
    people = User.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").count()
    return people > 0 and Meeting.objects.count() >= round(TARGETS["meetings"] * scale)


def _measure(call) -> tuple[float, float, float]:
    call()  # warm-up
    times = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(CALLS):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], len(queries) / CALLS


def _lists_before(program) -> None:
    """The five lists as they were read before: rows with both people joined, then COUNT."""
    today = timezone.localdate()
    cutoff = today - datetime.timedelta(days=program.expected_meeting_interval_days)
    for found in (
        quiet_relationships(program, cutoff=cutoff),
        RematchRequest.objects.open()
        .filter(relationship__program=program)
        .select_related("relationship__learner", "relationship__guide")
        .order_by("created_at", "pk"),
        Conflict.objects.open()
        .filter(program=program)
        .select_related("relationship__learner", "relationship__guide", "assessment_role__assessor")
        .order_by("raised_at", "pk"),
        agreements_not_done()
        .filter(program=program)
        .select_related("learner", "guide")
        .order_by("started_on", "pk"),
        with_rates(
            Campaign.objects.filter(program=program)
            .exclude(status=Campaign.Status.SCHEDULED)
            .order_by("-opens_at", "-pk")
        ),
    ):
        list(found[: lists.LIST_LIMIT])
        found.count()


def _calls():
    admin = User.objects.filter(email__startswith="admin0.", email__endswith=EMAIL_DOMAIN).first()
    program = Program.objects.administered_by(admin).first()
    coaching = Program.objects.filter(kind="coaching").order_by("pk").first()
    dean = aggregates.dean_dashboard()
    cohort = dean.cohorts[len(dean.cohorts) // 2].value if dean.cohorts else ""
    return (
        ("baseline: freshness()", aggregates.freshness),
        ("dean dashboard, no filter", aggregates.dean_dashboard),
        ("dean dashboard, one program", lambda: aggregates.dean_dashboard(program=coaching)),
        (
            "dean dashboard, kind + cohort + year",
            lambda: aggregates.dean_dashboard(
                kind="mentoring", cohort=cohort, year=dean.filters.year - 1
            ),
        ),
        ("admin dashboard", lambda: aggregates.admin_dashboard(user=admin, program=program)),
        ("admin lists (5), as read before", lambda: _lists_before(program)),
        (
            "admin lists (5)",
            lambda: lists.operational_lists(user=admin, program=program),
        ),
        (
            "admin list counts (5), count_...()",
            lambda: [
                count(program, today=timezone.localdate())
                for count in (
                    lists.count_quiet_relationships,
                    lists.count_rematch_requests,
                    lists.count_open_conflicts,
                    lists.count_agreements_not_done,
                    lists.count_response_rates,
                )
            ],
        ),
        ("evaluation, all years", evaluation.program_evaluation),
        (
            "evaluation, one program, one year",
            lambda: evaluation.program_evaluation(program=program, year=dean.filters.year),
        ),
        *_page_calls(admin, program, coaching),
    )


def _page_calls(admin, program, coaching) -> tuple:
    """The dashboard pages rendered through the test client, signed in: each call is one
    whole request (session, roles, MFA check, navigation, figures, template). The seeded dean
    and administrator get an authenticator app first (every role but learner needs one)."""
    dean = (
        Membership.objects.filter(role=Role.DEAN, user__email__endswith=f"@{EMAIL_DOMAIN}")
        .select_related("user")
        .first()
        .user
    )
    clients = {}
    for person in (dean, admin):
        if not has_mfa(person):
            TOTP.activate(person, generate_totp_secret())
        clients[person.pk] = Client()
        clients[person.pk].force_login(person)

    def page(person, url):
        client = clients[person.pk]

        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if response.streaming:
                b"".join(response.streaming_content)

        return call

    institution = reverse("dashboards:institution")
    relationship = Relationship.objects.filter(program=program).order_by("pk").first()
    code = {"code": program.code}
    console = tuple(
        (f"console: {label}", page(admin, url))
        for label, url in (
            ("programs", reverse("console:program-list")),
            ("program", reverse("console:program-detail", kwargs=code)),
            ("people", reverse("console:people", kwargs=code)),
            ("people, page 20", reverse("console:people", kwargs=code) + "?page=20"),
            ("people, search", reverse("console:people", kwargs=code) + "?q=an"),
            (
                "person",
                reverse(
                    "console:person-detail",
                    kwargs={**code, "person": relationship.guide.code},
                ),
            ),
            ("assessment roles", reverse("console:assessments", kwargs=code)),
            ("relationships", reverse("console:relationships", kwargs=code)),
            (
                "relationships, all, search",
                reverse("console:relationships", kwargs=code) + "?status=all&q=an",
            ),
            ("new relationship", reverse("console:relationship-create", kwargs=code)),
            ("quiet", reverse("console:quiet", kwargs=code)),
            ("conflicts", reverse("console:conflicts", kwargs=code)),
            ("rematch requests", reverse("console:rematch-requests", kwargs=code)),
            (
                "relationship",
                reverse("console:relationship-detail", kwargs={"code": relationship.code}),
            ),
            ("people import", reverse("console:people-import", kwargs=code)),
            ("people CSV (all)", reverse("console:people-export", kwargs=code)),
        )
    )
    return (
        ("page: dean dashboard, no filter", page(dean, institution)),
        ("page: dean dashboard, one program", page(dean, f"{institution}?program={coaching.code}")),
        (
            "page: dean CSV, retention by program",
            page(
                dean,
                reverse("dashboards:institution-csv", kwargs={"table": "retention_by_program"}),
            ),
        ),
        ("page: evaluation, dean, all years", page(dean, reverse("dashboards:evaluation"))),
        (
            "page: admin dashboard (figures + lists)",
            page(admin, reverse("dashboards:program", kwargs={"code": program.code})),
        ),
        (
            "page: evaluation, admin's program",
            page(admin, reverse("dashboards:evaluation") + f"?program={program.code}"),
        ),
        *console,
    )


def _run_scale(scale: float, scratch: str) -> None:
    name = FULL_DB if scale == 1 else scratch
    _use_database(name)
    call_command("migrate", verbosity=0)
    if _seeded(scale):
        print(f"scale {scale:g}: reusing the data set in database {name}")
    else:
        started = time.perf_counter()
        counts = ScaleSeed(scale=scale).run()
        print(
            f"scale {scale:g}: seeded database {name} in {time.perf_counter() - started:.1f} s "
            f"({counts['learners']:,} learners, {counts['guides']:,} guides, "
            f"{counts['relationships']:,} relationships, {counts['meetings']:,} meetings, "
            f"{counts['responses']:,} responses)"
        )
    started = time.perf_counter()
    refresh = summaries_refresh()
    print(
        f"scale {scale:g}: summary refresh {time.perf_counter() - started:.1f} s "
        f"({refresh.cells:,} cells, {refresh.hidden:,} hidden)"
    )
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'call':<44}{'median ms':>10}{'p95 ms':>9}{'queries':>9}")
    for label, call in _calls():
        median, p95, queries = _measure(call)
        print(f"{label:<44}{median:>10.1f}{p95:>9.1f}{queries:>9.1f}")
    print(f"load average {os.getloadavg()[0]:.1f}")


def run() -> None:
    scratch = connections["default"].settings_dict["NAME"]
    try:
        for scale in SCALES:
            _run_scale(scale, scratch)
            print()
    finally:
        _use_database(scratch)
