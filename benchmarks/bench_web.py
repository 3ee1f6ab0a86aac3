"""The web tier under a whole school's signed-in load: gunicorn, production settings, locust.

Server: production settings (DJANGO_DEBUG=False, Secure cookies, HSTS, the manifest static
storage after collectstatic) behind a simulated TLS proxy (DJANGO_BEHIND_TLS_PROXY: the load
generator sends X-Forwarded-Proto and X-Forwarded-For, all from one address), served as the
Dockerfile runs it: `gunicorn config.wsgi:application --workers 3` (sync workers, access log
on). Its URL map adds a bare two-query view (benchmarks/web_urls.py) for the baseline.

Data: the demo school (devtools) plus `seed_scale` at a tenth (2,000 learners, 600 guides,
50,000 meetings), in the run's scratch database. The learners, guides and deans who sign in
get a known password (one Argon2 hash); guides and deans an authenticator (TOTP) secret.

Load (benchmarks/web_load.py, locust 2 headless in its own process, on the loopback): sign-in
of every learner at once from one address, then guides and deans with their code; each page
uncontended; `/healthz` and the bare view at saturation (the in-run baselines); the mix
(learners 85%: home, my meetings, booking; guides' home 10%; the dean's dashboard 5%) with
0.5-2.5 s of think time at each user count; then the mix at saturation (no think time).
Each row shows the 1-minute load average and the CPU used by the load generator, gunicorn and
the benchmark database's PostgreSQL backends (100% = one core; the machine has as many cores
as `nproc` says, shared with whatever else runs).

Targets: p95 < 300 ms and no errors at 200 users with think time; >= 200 req/s at saturation.
Also: queries per page (test client) and what one Argon2 password verification costs here.

`WEB_LEVELS=50,100` and `WEB_SECONDS=20` shorten a run.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, make_password
from django.core.management import call_command
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import GUIDE_ROLES, Membership, Role, User
from accounts.services import membership_grant, user_create
from devtools.scale import EMAIL_DOMAIN
from mentoring.models import Relationship

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-web-" + secrets.token_urlsafe(12)
LEVELS = [int(n) for n in os.environ.get("WEB_LEVELS", "50,100,150,200").split(",") if n]
SECONDS = float(os.environ.get("WEB_SECONDS", "30"))
WARM = 5.0
SATURATION_USERS = 24  # no think time: 8 per worker keep all three busy
CLIENT_ADDRESS = "203.0.113.10"  # one address for everyone: a lecture hall behind one NAT
SCALE = 0.1
SIGN_IN_WINDOW = 60.0  # seconds over which the lecture hall's learners arrive


def _data() -> float:
    started = time.perf_counter()
    quiet = io.StringIO()
    call_command("demo", stdout=quiet)
    call_command("seed_scale", scale=SCALE, force=True, refresh=True, stdout=quiet)
    return time.perf_counter() - started


def _accounts(learners: int, guides: int, deans: int) -> dict:
    """People who sign in: learners who hold no other role and have a guide (their booking
    page), guides with learners, deans; all with the benchmark's password."""
    other_role = (
        Membership.objects.current().filter(user=OuterRef("learner")).exclude(role=Role.LEARNER)
    )
    booking = {}
    for relationship in (
        Relationship.objects.filter(status="active", learner__email__endswith=EMAIL_DOMAIN)
        .exclude(Exists(other_role))
        .order_by("learner_id", "pk")
        .only("code", "learner_id")
    ):
        booking.setdefault(relationship.learner_id, f"/meetings/book/{relationship.code}/")
        if len(booking) == learners:
            break
    guide_ids = list(
        Relationship.objects.filter(
            status="active",
            guide__email__endswith=EMAIL_DOMAIN,
            guide__memberships__role__in=GUIDE_ROLES,
        )
        .exclude(guide_id__in=booking.keys())
        .values_list("guide_id", flat=True)
        .distinct()
        .order_by("guide_id")[:guides]
    )
    dean_users = []
    for n in range(deans):
        dean = user_create(email=f"bench.dean{n}@{EMAIL_DOMAIN}", full_name=f"Bench Dean {n}")
        membership_grant(user=dean, role=Role.DEAN)
        dean_users.append(dean)
    hashed = make_password(PASSWORD)
    secrets_by_id = {}
    second_factor = [*User.objects.filter(pk__in=guide_ids), *dean_users]
    Authenticator.objects.filter(user__in=second_factor, type=Authenticator.Type.TOTP).delete()
    for user in second_factor:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
        secrets_by_id[user.pk] = secret
    User.objects.filter(pk__in=[*booking, *guide_ids, *(d.pk for d in dean_users)]).update(
        password=hashed
    )
    emails = dict(User.objects.filter(pk__in=[*booking, *secrets_by_id]).values_list("pk", "email"))
    # The scale data's people have no allauth address rows; the product's accounts have a
    # verified one (accounts.services.user_create).
    EmailAddress.objects.bulk_create(
        [
            EmailAddress(user_id=pk, email=email, verified=True, primary=True)
            for pk, email in emails.items()
        ],
        ignore_conflicts=True,
    )
    EmailAddress.objects.filter(user_id__in=emails).update(verified=True, primary=True)
    return {
        "learners": [{"email": emails[pk], "booking": path} for pk, path in booking.items()],
        "guides": [{"email": emails[pk], "totp": secrets_by_id[pk]} for pk in guide_ids],
        "deans": [{"email": emails[d.pk], "totp": secrets_by_id[d.pk]} for d in dean_users],
    }


def _queries_per_page(accounts: dict) -> dict[str, int]:
    """SQL queries of one request to each page (test client, signed in, after a warm-up)."""
    by_email = {
        u.email: u
        for u in User.objects.filter(
            email__in=[
                accounts["learners"][0]["email"],
                accounts["guides"][0]["email"],
                accounts["deans"][0]["email"],
            ]
        )
    }
    learner = accounts["learners"][0]
    pages = [
        ("/healthz", None, "/healthz"),
        ("learner home", learner["email"], "/"),
        ("guide home", accounts["guides"][0]["email"], "/"),
        ("booking", learner["email"], learner["booking"]),
        ("my meetings", learner["email"], "/meetings/"),
        ("dean dashboard", accounts["deans"][0]["email"], "/dashboards/institution/"),
    ]
    counts = {}
    for name, email, path in pages:
        client = Client()
        if email:
            client.force_login(by_email[email])
        client.get(path, secure=True)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, secure=True)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(queries)
    return counts


def _argon2_cost() -> tuple[float, str]:
    hasher = Argon2PasswordHasher()
    hashed = make_password(PASSWORD, hasher="argon2")
    times = []
    for _ in range(10):
        started = time.perf_counter()
        assert check_password(PASSWORD, hashed)
        times.append((time.perf_counter() - started) * 1000)
    parameters = (
        f"time_cost={hasher.time_cost}, memory_cost={hasher.memory_cost} KiB, "
        f"parallelism={hasher.parallelism}"
    )
    return statistics.median(times), parameters


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_environment(static_root: str) -> dict:
    db = settings.DATABASES["default"]
    keys = list(settings.CONFIDENTIAL_KEYS)
    if not keys:  # the development key this process encrypted the data with (mentoring.crypto)
        digest = hashlib.sha256(
            b"mentoring-confidential-text:" + settings.SECRET_KEY.encode()
        ).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.web_settings",
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_BEHIND_TLS_PROXY": "True",
        "DJANGO_STATIC_ROOT": static_root,
        "DJANGO_LOG_LEVEL": "WARNING",
        "CONFIDENTIAL_KEYS": ",".join(keys),
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
    }


@contextmanager
def _gunicorn():
    """gunicorn as the Dockerfile runs it, on a free loopback port; yields (url, pid)."""
    with (
        tempfile.TemporaryDirectory(prefix="bench-web-") as static_root,
        tempfile.TemporaryFile("w+") as log,
    ):
        environment = _server_environment(static_root)
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
            cwd=ROOT,
            env=environment,
            check=True,
        )
        port = _free_port()
        server = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "3",
                "--timeout",
                "60",
                "--access-logfile",
                "-",
            ],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,  # the access log
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    request = urllib.request.Request(  # noqa: S310 - http on the loopback
                        url + "/healthz", headers={"X-Forwarded-Proto": "https"}
                    )
                    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start")
                time.sleep(0.5)
            yield url, server.pid, environment
        except BaseException:
            log.seek(0)
            print("gunicorn's log ends:", *log.readlines()[-30:], sep="\n", file=sys.stderr)
            raise
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _ms(value) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _cpu(row: dict) -> str:
    return (
        f"load {row['load']:>5.2f}  cpu% locust {row['locust_cpu']:>3} "
        f"gunicorn {_ms(row['server_cpu']):>3} postgres {_ms(row['db_cpu']):>3}"
    )


def _report(results: dict, queries: dict, argon2: tuple[float, str], seconds: float) -> None:
    print(
        f"data: demo + seed_scale {SCALE:g} in {seconds:.0f} s; cores: {os.cpu_count()}; "
        f"load average at start {results['load_at_start']:.2f}"
    )
    median, parameters = argon2
    print(f"argon2 verify: {median:.0f} ms median ({parameters})")
    print("\nsign-in (allauth form; guides and deans then their TOTP code), all from one address:")
    print(
        f"{'who':<9}{'accounts':>9}{'signed in':>10}{'in s':>6}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'server cpu ms each':>20}  refused"
    )
    for kind, row in results["sign_in"].items():
        print(
            f"{kind:<9}{row['accounts']:>9}{row['signed_in']:>10}{row['seconds']:>6.0f}"
            f"{_ms(row['p50_ms']):>8}{_ms(row['p95_ms']):>8}{row['server_cpu_ms_each']:>20}"
            f"  {row['refused'] or 'none'}   [{_cpu(row)}]"
        )
    learners = results["sign_in"]["learner"]
    if learners["server_cpu_ms_each"]:
        print(
            "sign-in capacity at that cost: about "
            f"{1000 * (os.cpu_count() or 1) / learners['server_cpu_ms_each']:.0f} per second "
            "with every core on sign-ins"
        )
    if "aborted" in results:
        print("aborted:", results["aborted"])
        return
    if results.get("signed_out"):
        print(f"sessions found signed out before the load: {results['signed_out']}")
    print("\nuncontended (one client, one request at a time):")
    print(f"{'page':<16}{'median ms':>10}{'p95 ms':>8}{'kB':>7}{'queries':>9}")
    for name, row in results["uncontended"].items():
        print(
            f"{name:<16}{row['median_ms']:>10}{row['p95_ms']:>8}{row['bytes'] / 1000:>7.1f}"
            f"{queries.get(name, '-'):>9}"
        )
    pages = ["learner home", "my meetings", "booking", "guide home", "dean dashboard"]
    head = f"{'run':<22}{'users':>6}{'req/s':>8}{'p50':>6}{'p95':>6}{'errors':>7}"
    print("\nunder load (ms; per-page columns are p95):")
    print(head + "".join(f"{p[:12]:>13}" for p in pages))

    def line(label, row, names):
        cells = "".join(
            f"{_ms(row['pages'].get(p, {}).get('p95')):>13}" if p in row["pages"] else f"{'':>13}"
            for p in names
        )
        print(
            f"{label:<22}{row['users']:>6}{row['rps']:>8}{_ms(row['p50']):>6}{_ms(row['p95']):>6}"
            f"{row['errors']:>7}{cells}   [{_cpu(row)}]"
        )

    for path, row in results["baselines"].items():
        line(f"baseline {path}", row, pages)
    for row in results["levels"]:
        line("mix, think 0.5-2.5 s", row, pages)
    line("mix, saturation", results["saturation"], pages)
    at_200 = next((r for r in results["levels"] if r["users"] == 200), None)
    if at_200:
        verdict = "met" if at_200["p95"] < 300 and at_200["errors"] == 0 else "NOT met"
        print(
            f"\ntarget p95 < 300 ms and 0 errors at 200 users: {verdict} "
            f"(p95 {at_200['p95']} ms, {at_200['errors']} errors)"
        )
    saturation = results["saturation"]["rps"]
    bare = results["baselines"]["/bench/bare"]["rps"]
    print(
        f"target >= 200 req/s at saturation: {'met' if saturation >= 200 else 'NOT met'} "
        f"({saturation} req/s; the bare view {bare} req/s in the same run: "
        f"{100 * saturation / bare:.0f}% of it)"
    )


def run() -> None:
    seconds = _data()
    accounts = _accounts(learners=200, guides=20, deans=10)
    queries = _queries_per_page(accounts)
    argon2 = _argon2_cost()
    with _gunicorn() as (url, pid, environment), tempfile.TemporaryDirectory() as scratch:
        plan = {
            "base_url": url,
            "server_pid": pid,
            "database": settings.DATABASES["default"]["NAME"],
            "client_address": CLIENT_ADDRESS,
            "password": PASSWORD,
            "levels": LEVELS,
            "seconds": SECONDS,
            "warm": WARM,
            "saturation_users": SATURATION_USERS,
            "uncontended_calls": 40,
            "sign_in_window": SIGN_IN_WINDOW,
            **accounts,
        }
        plan_path, results_path = Path(scratch, "plan.json"), Path(scratch, "results.json")
        plan_path.write_text(json.dumps(plan))
        bound = 300 + (len(LEVELS) + 4) * (SECONDS + 30)
        subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "-m", "benchmarks.web_load", str(plan_path), str(results_path)],
            cwd=ROOT,
            env=environment,
            check=True,
            timeout=bound,
        )
        results = json.loads(results_path.read_text())
    kept = Path(settings.VAR_DIR, "bench_web_results.json")  # the figures, for a second look
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps({"results": results, "queries": queries, "argon2": argon2}))
    _report(results, queries, argon2, seconds)
