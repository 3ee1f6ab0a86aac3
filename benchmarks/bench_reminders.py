"""Reminders: 10,000 due reminders sent through a real Celery worker on Redis, each once (R11).

Data: 1,000 relationships (50 guides, 1,000 learners, half of them in another time zone), five
meetings each starting in two to three hours: 5,000 meetings, 10,000 "24 hours before"
reminders due (both people of each meeting), bulk-inserted.

Runs, in the same process and on the same data, every one writing with the file email backend
to a directory of its own:
- baseline: a plain in-process loop renders and writes the 10,000 messages with no claim, no
  row lock and no queue (what sending costs without R11);
- R11 in-process: `dispatch_due` claims the 10,000 rows, `deliveries_send` sends them in
  batches, each message in its own transaction holding its row lock (the database's share of
  R11's cost);
- R11 worker: `dispatch_reminders` enqueued twice (a duplicated beat) on Redis to a real
  `celery worker --pool=solo` subprocess, which claims and sends in batch tasks; timed from the
  enqueue until every claim is sent and the queue is drained.

Figures: wall time, messages per second, messages found in the files (exactly 10,000, and as
many distinct claims), and each run's cost relative to the baseline. `REMINDERS_SCALE=0.1`
runs ten times fewer.
"""

from __future__ import annotations

import datetime
import email
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.core.mail import get_connection
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import ParticipantProfile, User
from accounts.times import zone_of
from config.celery import app
from mentoring.models import Program, Relationship, WorkerHeartbeat
from mentoring.tasks import heartbeat
from sessions_log import reminders
from sessions_log.models import Delivery, Meeting
from sessions_log.tasks_reminders import dispatch_reminders

ROOT = Path(__file__).resolve().parent.parent
SCALE = float(os.environ.get("REMINDERS_SCALE", "1"))
RELATIONSHIPS = max(1, int(1000 * SCALE))
MEETINGS_EACH = 5
GUIDES = 50
EXPECTED = RELATIONSHIPS * MEETINGS_EACH * 2
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
SEPARATOR = b"\n" + b"-" * 79 + b"\n"


@transaction.atomic
def _school(now: datetime.datetime) -> None:
    unusable = make_password(None)
    program = Program.objects.create(name="Bench reminders", kind="mentoring")
    guides = User.objects.bulk_create(
        User(email=f"g{i}@bench.test", full_name=f"Guide {i:03d}", password=unusable)
        for i in range(GUIDES)
    )
    learners = User.objects.bulk_create(
        User(email=f"l{i}@bench.test", full_name=f"Learner {i:05d}", password=unusable)
        for i in range(RELATIONSHIPS)
    )
    ParticipantProfile.objects.bulk_create(
        ParticipantProfile(user=learner, timezone="America/Chicago") for learner in learners[::2]
    )
    relationships = Relationship.objects.bulk_create(
        Relationship(
            program=program,
            guide=guides[i % GUIDES],
            learner=learner,
            kind="mentoring",
            status="active",
            started_on=now.date(),
        )
        for i, learner in enumerate(learners)
    )
    Meeting.objects.bulk_create(
        Meeting(
            relationship=relationship,
            starts_at=now + datetime.timedelta(hours=2, minutes=10 * k + i % 10),
            ends_at=now + datetime.timedelta(hours=2, minutes=10 * k + i % 10 + 30),
            location=f"Room {i % 40}",
        )
        for i, relationship in enumerate(relationships)
        for k in range(MEETINGS_EACH)
    )


def _messages(directory: Path) -> list[email.message.Message]:
    found = []
    for path in directory.iterdir():
        for chunk in path.read_bytes().split(SEPARATOR):
            if chunk.strip():
                found.append(email.message_from_bytes(chunk))
    return found


def _check(directory: Path, *, claims: bool) -> tuple[int, int]:
    """(messages written, distinct claims among them); raises unless exactly EXPECTED."""
    messages = _messages(directory)
    distinct = len({m["X-Mentoring-Claim"] for m in messages}) if claims else len(messages)
    assert len(messages) == EXPECTED, f"{len(messages)} messages written, not {EXPECTED}"
    assert distinct == EXPECTED, f"{distinct} distinct claims among {len(messages)} messages"
    return len(messages), distinct


def _plain_loop(directory: Path, limit: int | None = None) -> float:
    """The baseline: render and write every message, nothing else."""
    now = timezone.now()
    start = time.perf_counter()
    meetings = Meeting.objects.select_related(
        "relationship__program", "relationship__guide__profile", "relationship__learner__profile"
    ).order_by("pk")[:limit]
    mail = get_connection(FILE_BACKEND, file_path=str(directory))
    mail.open()
    try:
        for meeting in meetings.iterator(chunk_size=500):
            for person in (meeting.relationship.guide, meeting.relationship.learner):
                message = reminders.render_email(
                    "reminder",
                    reminders._meeting_context(meeting, person, now),
                    to=person.email,
                    zone=zone_of(person),
                    claim=f"plain-{meeting.pk}-{person.pk}",
                )
                message.connection = mail
                message.send()
    finally:
        mail.close()
    return time.perf_counter() - start


def _in_process(directory: Path) -> float:
    with override_settings(EMAIL_BACKEND=FILE_BACKEND, EMAIL_FILE_PATH=str(directory)):
        start = time.perf_counter()
        ids = reminders.dispatch_due()
        for first in range(0, len(ids), reminders.SEND_BATCH):
            reminders.deliveries_send(delivery_ids=ids[first : first + reminders.SEND_BATCH])
        return time.perf_counter() - start


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


def _wait(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f}s\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def _through_worker(directory: Path, log: Path) -> float:
    assert app.conf.broker_url.startswith("redis://"), "set REDIS_URL"
    queue = f"bench-reminders-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DATABASE_CONN_MAX_AGE": "60",
        "DJANGO_EMAIL_BACKEND": FILE_BACKEND,
        "EMAIL_FILE_PATH": str(directory),
        "MEETING_REMINDER_HOURS": "24,1",
        "DJANGO_LOG_LEVEL": "WARNING",
        # A production worker: DEBUG off (no query log kept in memory).
        "DJANGO_DEBUG": "False",
        "DJANGO_SECRET_KEY": "bench-only-" + uuid.uuid4().hex * 2,
        "DJANGO_ALLOWED_HOSTS": "bench.invalid",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--pool=solo",
        "--loglevel=warning",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-heartbeat",
        "--without-mingle",
        "--without-gossip",
    ]

    def beat_seen() -> bool:
        return WorkerHeartbeat.objects.filter(name="heartbeat").exists()

    with open(log, "w") as output:
        worker = subprocess.Popen(  # noqa: S603 - our own interpreter, a fixed command
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed whole at the end
        )
        try:
            # Started and connected before the clock starts: a first heartbeat has run.
            WorkerHeartbeat.objects.filter(name="heartbeat").delete()
            heartbeat.apply_async(queue=queue)
            _wait(beat_seen, 60, "the worker did not start", log)
            WorkerHeartbeat.objects.filter(name="heartbeat").delete()

            start = time.perf_counter()
            dispatch_reminders.apply_async(queue=queue)
            dispatch_reminders.apply_async(queue=queue)  # a duplicated beat: claims nothing
            unsent = Delivery.objects.filter(sent_at__isnull=True, skipped=False)
            _wait(
                lambda: Delivery.objects.count() >= EXPECTED and not unsent.exists(),
                150,
                "the worker did not send every reminder",
                log,
            )
            heartbeat.apply_async(queue=queue)  # queued last: when it has run, all has
            _wait(beat_seen, 60, "the worker did not drain its queue", log)
            return time.perf_counter() - start
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


def run() -> None:
    _school(timezone.now())
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp:
        tmp_path = Path(tmp)
        for name in ("warm-up", "plain", "in-process", "worker"):
            (tmp_path / name).mkdir()
        _plain_loop(tmp_path / "warm-up", limit=10)  # templates and URL resolver loaded

        seconds = _plain_loop(tmp_path / "plain")
        rows.append(("baseline: plain loop", seconds, *_check(tmp_path / "plain", claims=False)))

        seconds = _in_process(tmp_path / "in-process")
        rows.append(("R11 in-process", seconds, *_check(tmp_path / "in-process", claims=True)))
        assert Delivery.objects.filter(sent_at__isnull=False).count() == EXPECTED
        Delivery.objects.all().delete()

        seconds = _through_worker(tmp_path / "worker", tmp_path / "worker.log")
        rows.append(("R11 worker on Redis", seconds, *_check(tmp_path / "worker", claims=True)))
        assert Delivery.objects.filter(sent_at__isnull=False).count() == EXPECTED

    base = rows[0][1]
    print(f"{EXPECTED:,} due reminders, file email backend")
    print(f"{'run':<24}{'seconds':>9}{'msg/s':>9}{'written':>9}{'distinct':>10}{'x base':>8}")
    for name, seconds, written, distinct in rows:
        print(
            f"{name:<24}{seconds:>9.1f}{EXPECTED / seconds:>9.0f}{written:>9,}{distinct:>10,}"
            f"{seconds / base:>8.1f}"
        )
