"""Celery wiring: the reliability settings, and a real worker running the periodic task
against Redis and the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app
from mentoring.models import WorkerHeartbeat
from mentoring.tasks import heartbeat

ROOT = Path(__file__).resolve().parents[2]


def test_reliability_settings():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["socket_timeout"] <= 5
    assert conf.broker_transport_options["socket_connect_timeout"] <= 5
    # Redis re-delivers an unacknowledged task after the visibility timeout: it must outlast
    # the longest task, or a slow task would run twice.
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.beat_schedule["heartbeat"]["task"] == heartbeat.name


def test_heartbeat_task_records_a_beat(db):
    heartbeat.apply()
    heartbeat.apply()
    beat = WorkerHeartbeat.objects.get(name="heartbeat")
    assert beat.count == 2


@pytest.fixture
def worker_queue(transactional_db):
    """A real `celery worker` process consuming a queue of its own from Redis."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/"
        f"{settings_dict['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DATABASE_CONN_MAX_AGE": "0"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--loglevel=info",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.mark.worker
def test_a_real_worker_runs_the_heartbeat_through_redis(worker_queue):
    assert celery_app.conf.broker_url.startswith("redis://")
    heartbeat.apply_async(queue=worker_queue)
    deadline = time.monotonic() + 60
    beat = None
    while time.monotonic() < deadline:
        beat = WorkerHeartbeat.objects.filter(name="heartbeat").first()
        if beat is not None:
            break
        time.sleep(0.25)
    assert beat is not None, "the worker did not run the task within 60 seconds"
    assert beat.count == 1
    assert beat.hostname.startswith(worker_queue)
