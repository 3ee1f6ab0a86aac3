"""/healthz reports database and broker status as JSON, without signing in."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.utils import OperationalError
from django.utils import timezone

from config.celery import app as celery_app
from mentoring.models import WorkerHeartbeat


def test_healthz_reports_ok_when_database_and_broker_are_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker_heartbeat"] is None
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_the_last_worker_heartbeat(client, db):
    WorkerHeartbeat.objects.create(name="heartbeat", beat_at=timezone.now(), hostname="w1")
    body = client.get("/healthz").json()
    assert body["worker_heartbeat"]["age_seconds"] < 5


@pytest.fixture
def broker_down():
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    yield
    celery_app.conf.broker_url = original


def test_healthz_answers_503_when_the_broker_is_down(client, db, broker_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body == {**body, "status": "unavailable", "database": "ok", "broker": "unavailable"}


def test_healthz_answers_503_when_the_database_is_down(client, db):
    refuse = mock.Mock(side_effect=OperationalError("connection refused"))
    # Patched only for the request, so the test database can be torn down afterwards.
    with mock.patch.object(DatabaseWrapper, "create_cursor", refuse):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_healthz_refuses_post(client, db):
    assert client.post("/healthz").status_code == 405
