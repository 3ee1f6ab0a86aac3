"""The load generator of bench_web (run in a process of its own: locust patches the standard
library for gevent, which the Django process must not see).

    python -m benchmarks.web_load PLAN.json RESULTS.json

PLAN names the server (`base_url`, `server_pid`, `database`), the accounts (learners with
their booking page, guides and deans with their authenticator secrets), the password and the
phase lengths. Every request goes through the address of a TLS proxy in front of the site
(X-Forwarded-Proto https, X-Forwarded-For one address: a lecture hall behind one NAT), as a
deployment behind a load balancer receives it.

Phases, each with the 1-minute load average and the CPU used by this process, by gunicorn
(master and workers) and by the PostgreSQL backends of the benchmark's database:
1. sign-in: every learner at once through the real allauth form, then guides and deans with
   their TOTP code (pyotp): throughput, latency and refusals;
2. uncontended: one client, one page at a time;
3. baselines at saturation (no think time): `/healthz` and a bare two-query view;
4. the signed-in mix (learners 85%: home, meetings, booking; guides' home 10%; the dean's
   dashboard 5%) at each user count with 0.5-2.5 s of think time;
5. the same mix at saturation (no think time).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import resource
import statistics
import sys
import time

import gevent
import pyotp
from gevent.pool import Pool
from locust import FastHttpUser, task
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

try:
    import psutil
except ImportError:  # optional: CPU per process is left out without it
    psutil = None

CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
PLAN: dict = {}
SESSIONS: dict[str, list] = {"learner": [], "guide": [], "dean": []}
THINK = {"on": True}
SIGNED_OUT: dict[str, int] = {}


def headers() -> dict:
    base = PLAN["base_url"]
    return {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": PLAN["client_address"],
        "Origin": base.replace("http://", "https://"),
    }


def plain_cookies(session: FastHttpSession) -> None:
    """Production marks the session and CSRF cookies Secure; http.cookiejar never sends a
    Secure cookie over http (the TLS proxy is simulated by a header), so the client's copy
    drops the flag."""
    for cookie in session.cookiejar:
        cookie.secure = False


class PlainCookieSession(FastHttpSession):
    """A client session whose copy of every cookie the site sets loses the Secure flag
    (plain_cookies) as soon as it arrives: the site sets the session cookie again whenever
    the session changes (e.g. the activity stamp, once a minute)."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        plain_cookies(self)
        return response


def new_session(environment) -> FastHttpSession:
    return PlainCookieSession(
        base_url=PLAN["base_url"],
        request_event=environment.events.request,
        user=None,
        # A whole lecture hall queues behind three workers: wait for the answer, never retry
        # a sign-in.
        network_timeout=120.0,
        connection_timeout=120.0,
        max_retries=0,
    )


def _post_form(session, path: str, fields: dict, name: str):
    page = session.get(path, headers=headers(), name=name + " (form)", allow_redirects=False)
    match = CSRF_FIELD.search(page.content or b"")
    if page.status_code != 200 or match is None:
        return page, False
    data = {"csrfmiddlewaretoken": match.group(1).decode(), **fields}
    response = session.post(path, data=data, headers=headers(), name=name, allow_redirects=False)
    return response, True


def sign_in(environment, account: dict) -> tuple[FastHttpSession | None, float, str]:
    """The real sign-in: allauth's form, then the TOTP stage for accounts that have one.
    Returns the signed-in session (None if refused), the seconds it took and what happened."""
    session = new_session(environment)
    started = time.perf_counter()
    response, ok = _post_form(
        session,
        "/accounts/login/",
        {"login": account["email"], "password": PLAN["password"]},
        "sign-in: password",
    )
    if not ok or response.status_code != 302:
        refused = b"Too many" in (response.content or b"") or response.status_code == 429
        outcome = "throttled" if refused else f"refused ({response.status_code})"
        return None, time.perf_counter() - started, outcome
    location = (response.headers or {}).get("Location", "")
    if "2fa" in location:
        code = pyotp.TOTP(account["totp"]).now()
        response, ok = _post_form(session, location, {"code": code}, "sign-in: code")
        if not ok or response.status_code != 302:
            return None, time.perf_counter() - started, f"code refused ({response.status_code})"
    home = session.get("/", headers=headers(), name="sign-in: home", allow_redirects=False)
    if home.status_code != 200:
        return None, time.perf_counter() - started, f"home {home.status_code}"
    return session, time.perf_counter() - started, "ok"


class Meter:
    """CPU seconds used between start() and stop() by this process, gunicorn and the
    benchmark database's PostgreSQL backends; load average at the end."""

    def __init__(self):
        self.server = psutil.Process(PLAN["server_pid"]) if psutil else None

    def _backends(self) -> dict[int, float]:
        used = {}
        if psutil is None:
            return used
        for proc in psutil.process_iter(["cmdline", "cpu_times"]):
            cmdline = " ".join(proc.info["cmdline"] or [])
            if cmdline.startswith("postgres: ") and f" {PLAN['database']} " in cmdline:
                times = proc.info["cpu_times"]
                used[proc.pid] = times.user + times.system
        return used

    def _server(self) -> dict[int, float]:
        if self.server is None:
            return {}
        used = {}
        for proc in [self.server, *self.server.children(recursive=True)]:
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            used[proc.pid] = times.user + times.system
        return used

    @staticmethod
    def _self() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def start(self):
        self.t0 = time.perf_counter()
        self.self0, self.server0, self.db0 = self._self(), self._server(), self._backends()

    def stop(self) -> dict:
        seconds = time.perf_counter() - self.t0
        server, db = self._server(), self._backends()

        def share(now, then):
            return round(100 * sum(v - then.get(pid, 0.0) for pid, v in now.items()) / seconds)

        return {
            "seconds": round(seconds, 1),
            "load": round(os.getloadavg()[0], 2),
            "locust_cpu": round(100 * (self._self() - self.self0) / seconds),
            "server_cpu": share(server, self.server0) if psutil else None,
            "db_cpu": share(db, self.db0) if psutil else None,
        }


def summary(environment, names) -> dict:
    stats = environment.runner.stats
    total = stats.total
    elapsed = max(time.time() - total.start_time, 1e-9)
    pages = {}
    for name in names:
        entry = stats.entries.get((name, "GET"))
        if entry and entry.num_requests:
            pages[name] = {
                "p95": entry.get_response_time_percentile(0.95),
                "requests": entry.num_requests,
                "errors": entry.num_failures,
            }
    return {
        "rps": round(total.num_requests / elapsed, 1),
        "p50": total.get_response_time_percentile(0.5),
        "p95": total.get_response_time_percentile(0.95),
        "requests": total.num_requests,
        "errors": total.num_failures,
        "pages": pages,
    }


def _think(user) -> float:
    return random.uniform(0.5, 2.5) if THINK["on"] else 0.0  # noqa: S311 - think time


class Signed(FastHttpUser):
    abstract = True
    kind = ""
    wait_time = _think
    _counters: dict = {}

    def on_start(self):
        pool = SESSIONS[self.kind]
        counter = Signed._counters.setdefault(self.kind, itertools.count())
        self.client = pool[next(counter) % len(pool)]
        self.account = self.client.account

    def page(self, path: str, name: str) -> None:
        with self.client.get(
            path, headers=headers(), name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(
                    f"{response.status_code} {(response.headers or {}).get('Location', '')}"
                )


class Learner(Signed):
    weight = 85
    kind = "learner"

    @task
    def home(self):
        self.page("/", "learner home")

    @task
    def meetings(self):
        self.page("/meetings/", "my meetings")

    @task
    def booking(self):
        self.page(self.account["booking"], "booking")


class Guide(Signed):
    weight = 10
    kind = "guide"

    @task
    def home(self):
        self.page("/", "guide home")


class Dean(Signed):
    weight = 5
    kind = "dean"

    @task
    def dashboard(self):
        self.page("/dashboards/institution/", "dean dashboard")


MIX_PAGES = ["learner home", "my meetings", "booking", "guide home", "dean dashboard"]


class Baseline(FastHttpUser):
    abstract = True
    wait_time = _think
    path = ""

    @task
    def probe(self):
        with self.client.get(
            self.path, headers=headers(), name=self.path, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(str(response.status_code))


class Health(Baseline):
    path = "/healthz"


class Bare(Baseline):
    path = "/bench/bare"


def environment_for(user_classes) -> Environment:
    environment = Environment(user_classes=user_classes, host=PLAN["base_url"])
    environment.create_local_runner()
    return environment


def measure(environment, users: int, warm: float, seconds: float, names) -> dict:
    environment.runner.start(users, spawn_rate=max(users, 1))
    while environment.runner.user_count < users:
        gevent.sleep(0.1)
    gevent.sleep(warm)
    environment.runner.stats.reset_all()
    meter = Meter()
    meter.start()
    gevent.sleep(seconds)
    result = {"users": users, **summary(environment, names), **meter.stop()}
    return result


def phase_sign_in(environment) -> dict:
    """Every learner within one minute from one address (a lecture hall behind one NAT: each
    arrives at a random moment of the window), then guides and deans with their codes."""
    results = {}
    window = PLAN["sign_in_window"]
    for kind, group, spread in (
        ("learner", PLAN["learners"], window),
        ("guide", PLAN["guides"], window / 4),
        ("dean", PLAN["deans"], window / 4),
    ):
        meter = Meter()
        meter.start()
        outcomes, durations = [], []

        def one(account, kind=kind, spread=spread, outcomes=outcomes, durations=durations):
            gevent.sleep(random.uniform(0, spread))  # noqa: S311 - arrival time
            session, seconds, outcome = sign_in(environment, account)
            outcomes.append(outcome)
            durations.append(seconds)
            if session is not None:
                session.account = account
                SESSIONS[kind].append(session)

        Pool(len(group)).map(one, group)
        durations.sort()
        measured = meter.stop()
        server_seconds = (measured["server_cpu"] or 0) * measured["seconds"] / 100
        results[kind] = {
            "accounts": len(group),
            "signed_in": outcomes.count("ok"),
            "refused": {o: outcomes.count(o) for o in set(outcomes) if o != "ok"},
            "p50_ms": round(1000 * statistics.median(durations)),
            "p95_ms": round(1000 * durations[int(0.95 * (len(durations) - 1))]),
            "server_cpu_ms_each": round(1000 * server_seconds / len(group)),
            **measured,
        }
    return results


def _still_signed_in(kind: str) -> FastHttpSession:
    """The first session of `kind` whose home page still answers (a session found signed out
    is set aside and counted)."""
    for session in list(SESSIONS[kind]):
        response = session.get("/", headers=headers(), name="check", allow_redirects=False)
        if response.status_code == 200:
            return session
        SESSIONS[kind].remove(session)
        SIGNED_OUT[kind] = SIGNED_OUT.get(kind, 0) + 1
    raise SystemExit(f"no {kind} is still signed in")


def phase_uncontended(environment) -> dict:
    """One client, one request at a time: median and queries-free wall time per page."""
    calls = PLAN["uncontended_calls"]
    learner, guide, dean = (_still_signed_in(kind) for kind in ("learner", "guide", "dean"))
    anonymous = new_session(environment)
    pages = [
        ("/healthz", anonymous, "/healthz"),
        ("/bench/bare", anonymous, "/bench/bare"),
        ("learner home", learner, "/"),
        ("guide home", guide, "/"),
        ("booking", learner, learner.account["booking"]),
        ("my meetings", learner, "/meetings/"),
        ("dean dashboard", dean, "/dashboards/institution/"),
    ]
    results = {}
    for name, session, path in pages:
        times, size = [], 0
        for i in range(calls + 3):
            started = time.perf_counter()
            response = session.get(path, headers=headers(), name=name, allow_redirects=False)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{name}: {response.status_code} {response.headers or ''}")
            size = len(response.content or b"")
            if i >= 3:  # the first calls warm the worker's caches
                times.append(elapsed)
        times.sort()
        results[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "bytes": size,
        }
    return results


def main(plan_path: str, results_path: str) -> None:
    PLAN.update(json.loads(open(plan_path).read()))  # noqa: SIM115 - one small file
    results: dict = {"load_at_start": round(os.getloadavg()[0], 2)}
    mix = environment_for([Learner, Guide, Dean])
    print("  sign-in...", file=sys.stderr, flush=True)
    results["sign_in"] = phase_sign_in(mix)
    if not all(SESSIONS.values()):
        results["aborted"] = "some kind of account could not sign in"
        json.dump(results, open(results_path, "w"))  # noqa: SIM115
        return
    print("  uncontended pages...", file=sys.stderr, flush=True)
    results["uncontended"] = phase_uncontended(mix)
    results["signed_out"] = SIGNED_OUT
    seconds, warm = PLAN["seconds"], PLAN["warm"]
    THINK["on"] = False
    results["baselines"] = {}
    for user_class in (Health, Bare):
        print(f"  baseline {user_class.path}...", file=sys.stderr, flush=True)
        environment = environment_for([user_class])
        results["baselines"][user_class.path] = measure(
            environment, PLAN["saturation_users"], warm, seconds, [user_class.path]
        )
        environment.runner.quit()
    THINK["on"] = True
    results["levels"] = []
    for users in PLAN["levels"]:
        print(f"  {users} users with think time...", file=sys.stderr, flush=True)
        results["levels"].append(measure(mix, users, warm, seconds, MIX_PAGES))
    mix.runner.stop()
    THINK["on"] = False
    print("  saturation...", file=sys.stderr, flush=True)
    results["saturation"] = measure(mix, PLAN["saturation_users"], warm, seconds, MIX_PAGES)
    mix.runner.quit()
    with open(results_path, "w") as out:
        json.dump(results, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
