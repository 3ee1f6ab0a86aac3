"""Reminders and "log this meeting" nudges (R11): due windows, both people, people's choices,
claims, the sweeper, weekly digests, and exactly once with a real Celery worker on Redis that
is killed mid-send."""

from __future__ import annotations

import contextlib
import datetime
import email
import logging
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from config.celery import app as celery_app
from mentoring import services as mentoring_services
from mentoring.models import WorkerHeartbeat
from mentoring.tasks import heartbeat
from notify import engine
from sessions_log import digests, reminders
from sessions_log.models import Delivery, Meeting, MeetingLog, NudgeDigest
from sessions_log.tasks_reminders import dispatch_reminders, sweep_deliveries
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
H = datetime.timedelta(hours=1)
MIN = datetime.timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _reminder_settings(settings):
    settings.MEETING_REMINDER_HOURS = [24, 1]
    settings.MEETING_LOG_NUDGE_HOURS = 2
    settings.SITE_URL = "https://mentoring.school.test"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def pair(program, learner, mentor):
    return mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)


def _meeting(relationship, starts_at, *, minutes=30, **extra) -> Meeting:
    extra.setdefault("location", "Room 3.14, Simulation Centre")
    return Meeting.objects.create(
        relationship=relationship,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        **extra,
    )


def _claims(**filters) -> set[tuple[int, str, int, bool]]:
    return set(
        Delivery.objects.filter(**filters).values_list(
            "meeting_id", "kind", "recipient_id", "skipped"
        )
    )


def _dispatch_and_send(now) -> list[int]:
    ids = reminders.dispatch_due(now)
    reminders.deliveries_send(delivery_ids=ids, now=now)
    return ids


# --- Due windows -----------------------------------------------------------------------------


def test_no_reminder_before_its_window_opens(pair, now):
    _meeting(pair, now + 24 * H + MIN)
    assert reminders.dispatch_due(now) == []
    assert not Delivery.objects.exists()


def test_reminder_inside_its_window_goes_to_both_people(pair, mentor, learner, now):
    meeting = _meeting(pair, now + 23 * H)
    ids = reminders.dispatch_due(now)
    assert len(ids) == 2
    assert _claims() == {
        (meeting.pk, "reminder-24h", mentor.pk, False),
        (meeting.pk, "reminder-24h", learner.pk, False),
    }
    assert reminders.deliveries_send(delivery_ids=ids, now=now) == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([mentor.email, learner.email])
    assert Delivery.objects.filter(sent_at=now).count() == 2


def test_the_one_hour_reminder_follows_the_day_before_one(pair, now):
    meeting = _meeting(pair, now + 23 * H)
    _dispatch_and_send(now)
    later = meeting.starts_at - 59 * MIN
    _dispatch_and_send(later)
    assert len(mail.outbox) == 4
    kinds = Delivery.objects.filter(sent_at__isnull=False).values_list("kind", flat=True)
    assert sorted(kinds) == ["reminder-1h"] * 2 + ["reminder-24h"] * 2


def test_a_meeting_booked_at_short_notice_gets_the_nearest_reminder_only(pair, mentor, now):
    meeting = _meeting(pair, now + 30 * MIN)
    ids = reminders.dispatch_due(now)
    assert len(ids) == 2
    claims = _claims(recipient=mentor)
    assert claims == {
        (meeting.pk, "reminder-1h", mentor.pk, False),
        (meeting.pk, "reminder-24h", mentor.pk, True),
    }
    reminders.deliveries_send(delivery_ids=ids, now=now)
    assert len(mail.outbox) == 2  # not four


def test_a_reminder_is_never_sent_late(pair, now):
    meeting = _meeting(pair, now - MIN)  # started a minute ago
    assert reminders.dispatch_due(now) == []
    # A claim made in time but not sent before the start is dropped, not sent late.
    meeting.starts_at, meeting.ends_at = now + 10 * MIN, now + 40 * MIN
    meeting.save()
    ids = reminders.dispatch_due(now)
    assert reminders.deliveries_send(delivery_ids=ids, now=now + 11 * MIN) == 0
    assert mail.outbox == []
    assert Delivery.objects.filter(skipped=True).count() == 4  # 1h dropped, 24h not nearest
    assert reminders.deliveries_sweep(now=now + H) == 0


@pytest.mark.parametrize("status", ["cancelled", "completed"])
def test_no_reminder_for_a_meeting_not_booked(pair, now, status):
    _meeting(pair, now + 2 * H, status=status)
    assert reminders.dispatch_due(now) == []


def test_a_meeting_cancelled_after_the_claim_is_not_reminded(pair, now):
    meeting = _meeting(pair, now + 2 * H)
    ids = reminders.dispatch_due(now)
    Meeting.objects.filter(pk=meeting.pk).update(status="cancelled")
    assert reminders.deliveries_send(delivery_ids=ids, now=now) == 0
    assert mail.outbox == []


def test_a_change_after_the_batch_was_loaded_is_seen_before_sending(pair, program, now):
    """A send task loads its batch in one query, then locks each row: what changed in between
    (a cancellation, a new room) decides, not the batch's copy."""
    moved = _meeting(pair, now + 2 * H)
    cancelled = _people_and_meetings(program, 1, now + 2 * H)[0]
    ids = reminders.dispatch_due(now)
    loaded = Delivery.objects.select_related(*reminders._DELIVERY_RELATED).in_bulk(ids)
    Meeting.objects.filter(pk=moved.pk).update(location="Room 9, Library")
    Meeting.objects.filter(pk=cancelled.pk).update(status="cancelled")
    mailer = engine.Mailer()
    for pk in ids:
        reminders._delivery_send(pk, mailer, now, loaded[pk])
    assert len(mail.outbox) == 2
    assert all("Room 9, Library" in m.body for m in mail.outbox)


def test_no_reminder_once_the_relationship_has_ended(pair, now):
    _meeting(pair, now + 2 * H)
    mentoring_services.relationship_end(relationship=pair, reason="completed")
    assert reminders.dispatch_due(now) == []


def test_a_rescheduled_meeting_is_reminded_again_for_its_new_time(pair, now):
    meeting = _meeting(pair, now + 23 * H)
    _dispatch_and_send(now)
    assert reminders.dispatch_due(now + 5 * MIN) == []  # still claimed for this time
    meeting.starts_at += 72 * H
    meeting.ends_at += 72 * H
    meeting.save()
    assert reminders.dispatch_due(now + 10 * MIN) == []  # the new window is not open yet
    _dispatch_and_send(meeting.starts_at - 23 * H)
    assert len(mail.outbox) == 4
    assert Delivery.objects.count() == 2  # the same claim rows, claimed again


def test_the_reminder_shows_the_time_in_the_recipients_zone_and_nothing_confidential(
    pair, mentor, learner, now
):
    ParticipantProfile.objects.create(user=learner, timezone="America/Chicago")
    starts = datetime.datetime(2031, 1, 15, 15, 0, tzinfo=datetime.UTC)  # 09:00 in Chicago
    meeting = _meeting(pair, starts, video_link="https://video.school.test/room/42")
    MeetingLog.objects.create(meeting=meeting, reflection="I worry about my exams")
    ids = reminders.dispatch_due(starts - 2 * H)
    reminders.deliveries_send(delivery_ids=ids, now=starts - 2 * H)
    to_learner = next(m for m in mail.outbox if m.to == [learner.email])
    to_mentor = next(m for m in mail.outbox if m.to == [mentor.email])
    text, html = to_learner.body, to_learner.alternatives[0].content
    assert "Wednesday 15 January 2031, 09:00 to 09:30 (America/Chicago)" in text
    assert "Wednesday 15 January 2031, 15:00 to 15:30 (UTC)" in to_mentor.body
    assert "Kenji Ito" in text and "Kenji Ito" in to_learner.subject
    assert "Lucia Garcia" in to_mentor.body
    for body in (text, html):
        assert "Room 3.14, Simulation Centre" in body
        assert "https://video.school.test/room/42" in body
        assert reminders.meeting_url(meeting) in body
        assert "exams" not in body
    assert reminders.meeting_url(meeting).startswith("https://mentoring.school.test/")
    assert to_learner.extra_headers["X-Mentoring-Claim"].startswith("delivery-")


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (datetime.timedelta(minutes=2), "5 minutes"),
        (datetime.timedelta(minutes=28), "30 minutes"),
        (datetime.timedelta(minutes=59), "1 hour"),
        (datetime.timedelta(hours=1, minutes=59), "2 hours"),
        (datetime.timedelta(hours=23, minutes=59), "24 hours"),
        (datetime.timedelta(hours=62), "3 days"),
    ],
)
def test_the_time_to_the_meeting_is_said_as_people_say_it(delta, words):
    assert reminders.starts_in(delta) == words


def test_the_meeting_link_opens_a_page_the_recipient_may_see(client, pair, learner, now):
    meeting = _meeting(pair, now + 2 * H)
    path = reminders.meeting_url(meeting).removeprefix("https://mentoring.school.test")
    client.force_login(learner)
    assert client.get(path).status_code == 200


# --- Claims: once, whatever runs twice --------------------------------------------------------


def test_dispatching_twice_claims_and_sends_once(pair, now):
    _meeting(pair, now + 2 * H)
    first = reminders.dispatch_due(now)
    second = reminders.dispatch_due(now)
    assert len(first) == 2 and second == []
    reminders.deliveries_send(delivery_ids=first, now=now)
    reminders.deliveries_send(delivery_ids=first, now=now)  # the send task delivered twice
    assert len(mail.outbox) == 2


def test_the_claim_is_unique_in_the_database(pair, mentor, now):
    meeting = _meeting(pair, now + 2 * H)
    Delivery.objects.create(meeting=meeting, kind="reminder-24h", recipient=mentor, claimed_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(
            meeting=meeting, kind="reminder-24h", recipient=mentor, claimed_at=now
        )


def test_the_dispatch_task_claims_and_sends_through_celery(pair, now, eager_tasks):
    _meeting(pair, now + 2 * H)
    assert dispatch_reminders.apply().get() == 2
    assert dispatch_reminders.apply().get() == 0
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_claim_each_reminder_once(program, learner, mentor, now):
    """Eight dispatchers with their own database connections at once (duplicated tasks, two
    beat processes): every claim is made by exactly one of them."""
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    for n in range(10):
        _meeting(pair, now + 30 * MIN + n * 2 * MIN)
    results: list[list[int]] = []
    barrier = threading.Barrier(8)

    def dispatcher():
        try:
            barrier.wait()
            results.append(reminders.dispatch_due(now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatcher) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [pk for ids in results for pk in ids]
    assert len(results) == 8
    assert len(claimed) == len(set(claimed)) == 20  # 10 meetings x 2 people, 1-hour reminders
    assert Delivery.objects.count() == 40  # and the 24-hour ones, claimed skipped


# --- Nudges and people's choices ---------------------------------------------------------


def test_log_nudge_after_the_meeting_goes_to_both_people(pair, mentor, learner, now):
    meeting = _meeting(pair, now - 3 * H)
    _dispatch_and_send(now)
    assert _claims() == {
        (meeting.pk, "log-nudge", mentor.pk, False),
        (meeting.pk, "log-nudge", learner.pk, False),
    }
    assert sorted(m.to[0] for m in mail.outbox) == sorted([mentor.email, learner.email])
    assert all(reminders.meeting_url(meeting) in m.body for m in mail.outbox)
    assert all("profile" in m.body for m in mail.outbox)  # where to change the choice


def test_no_log_nudge_too_soon_too_late_or_for_a_logged_meeting(pair, now):
    _meeting(pair, now - 2 * H + MIN, minutes=1)  # ended 1h59 ago
    _meeting(pair, now - 8 * 24 * H)  # more than a week ago
    logged = _meeting(pair, now - 5 * H)
    MeetingLog.objects.create(meeting=logged)
    _meeting(pair, now - 6 * H, status="completed")
    assert reminders.dispatch_due(now) == []
    assert not Delivery.objects.exists()


def test_a_meeting_logged_after_the_claim_is_not_nudged(pair, now):
    meeting = _meeting(pair, now - 3 * H)
    ids = reminders.dispatch_due(now)
    MeetingLog.objects.create(meeting=meeting)
    assert reminders.deliveries_send(delivery_ids=ids, now=now) == 0
    assert mail.outbox == []


@pytest.mark.parametrize("choice", ["off", "digest"])
def test_nudges_respect_the_persons_choice(pair, mentor, learner, now, choice):
    learner.nudge_emails = choice
    learner.save(update_fields=["nudge_emails"])
    meeting = _meeting(pair, now - 3 * H)
    _dispatch_and_send(now)
    assert [m.to for m in mail.outbox] == [[mentor.email]]
    assert _claims(recipient=learner) == {(meeting.pk, "log-nudge", learner.pk, True)}
    assert reminders.dispatch_due(now + 5 * MIN) == []  # claimed: not looked at again


def test_reminders_are_essential_whatever_the_nudge_choice(pair, learner, now):
    learner.nudge_emails = "off"
    learner.save(update_fields=["nudge_emails"])
    _meeting(pair, now + 2 * H)
    _dispatch_and_send(now)
    assert learner.email in [m.to[0] for m in mail.outbox]


# --- The sweeper -------------------------------------------------------------------------


def test_the_sweeper_sends_a_claim_left_unsent_once(pair, now):
    _meeting(pair, now + 2 * H)
    ids = reminders.dispatch_due(now)  # the worker that should send them was killed
    assert reminders.deliveries_sweep(now=now + MIN) == 0  # not stale yet
    assert reminders.deliveries_sweep(now=now + 4 * MIN) == 2
    assert reminders.deliveries_sweep(now=now + 10 * MIN) == 0
    reminders.deliveries_send(delivery_ids=ids)  # the original task, redelivered late
    assert len(mail.outbox) == 2
    assert list(Delivery.objects.values_list("attempts", flat=True)) == [2, 2]


def test_the_sweeper_leaves_sent_and_skipped_claims_alone(pair, learner, now):
    learner.nudge_emails = "off"
    learner.save(update_fields=["nudge_emails"])
    _meeting(pair, now + 2 * H)
    _meeting(pair, now - 3 * H)
    _dispatch_and_send(now)
    assert len(mail.outbox) == 3  # two reminders, the mentor's nudge
    assert Delivery.objects.filter(skipped=True).count() == 1
    assert reminders.deliveries_sweep(now=now + H) == 0
    assert len(mail.outbox) == 3


def test_the_sweeper_gives_up_after_five_attempts_with_an_error(pair, now, caplog, settings):
    settings.EMAIL_BACKEND = "tests.sessions_log.test_reminders.BrokenMailBackend"
    _meeting(pair, now + 23 * H)
    assert reminders.deliveries_send(delivery_ids=reminders.dispatch_due(now), now=now) == 0
    at = now
    for attempt in range(2, engine.MAX_ATTEMPTS + 1):
        # Each attempt waits twice as long as the one before: not yet...
        at += reminders.SWEEP_AFTER * 2 ** (attempt - 2) - MIN
        assert reminders.deliveries_sweep(now=at) == 0
        assert set(Delivery.objects.values_list("attempts", flat=True)) == {attempt - 1}
        # ...now.
        at += MIN
        assert reminders.deliveries_sweep(now=at) == 0
        assert set(Delivery.objects.values_list("attempts", flat=True)) == {attempt}
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="sessions_log.reminders"):
        reminders.deliveries_sweep(now=at + 2 * H)
        reminders.deliveries_sweep(now=at + 4 * H)  # reported once only
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2, errors  # one per claim (the mentor's and the learner's)
    assert all("gave up" in message for message in errors)
    assert not Delivery.objects.filter(sent_at__isnull=False).exists()
    assert mail.outbox == []


def test_a_batch_goes_on_past_one_failed_send(pair, program, now, settings):
    """One message the mail server refuses does not hold back the others of its batch."""
    settings.EMAIL_BACKEND = "tests.sessions_log.test_reminders.PickyMailBackend"
    _meeting(pair, now + 2 * H)
    other = _people_and_meetings(program, 1, now + 2 * H)[0]
    ids = reminders.dispatch_due(now)
    assert reminders.deliveries_send(delivery_ids=sorted(ids), now=now) == 3
    assert Delivery.objects.filter(sent_at__isnull=True).get().recipient.email == (
        "lucia@school.test"
    )
    assert other.deliveries.filter(sent_at__isnull=False).count() == 2


class BrokenMailBackend(BaseEmailBackend):
    """A mail server that refuses every connection."""

    def open(self):
        raise ConnectionRefusedError("mail server down")


class PickyMailBackend(locmem.EmailBackend):
    """A mail server that refuses one address."""

    def send_messages(self, messages):
        if any("lucia@school.test" in m.to for m in messages):
            raise smtplib.SMTPRecipientsRefused({"lucia@school.test": (550, b"No such user")})
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_a_claim_being_sent_is_not_taken_by_the_sweeper(program, learner, mentor, now):
    """A row locked by a worker mid-send (FOR UPDATE) is skipped, not waited for or sent again:
    the same lock keeps two sweepers apart."""
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    _meeting(pair, now + 2 * H)
    ids = reminders.dispatch_due(now)
    locked, release = threading.Event(), threading.Event()

    def worker_mid_send():
        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=ids[0])
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker_mid_send)
    thread.start()
    try:
        assert locked.wait(10)
        assert reminders.deliveries_sweep(now=now + 4 * MIN) == 1  # the other one
        assert [m.to for m in mail.outbox] != []
        assert Delivery.objects.get(pk=ids[0]).attempts == 1
    finally:
        release.set()
        thread.join()


# --- Weekly digests ----------------------------------------------------------------------


def test_digest_lists_the_meetings_to_log_once_a_week(pair, mentor, learner, other_mentor, now):
    learner.nudge_emails = "digest"
    learner.save(update_fields=["nudge_emails"])
    first = _meeting(pair, now - 50 * H)
    second = _meeting(pair, now - 26 * H)
    logged = _meeting(pair, now - 30 * H)
    reminders.dispatch_due(now - 40 * H)  # the first meeting's nudges
    _dispatch_and_send(now - 3 * H)  # the others'
    MeetingLog.objects.create(meeting=logged)
    mail.outbox.clear()

    sent = digests.digests_send(digest_ids=digests.digests_claim(now=now))
    assert sent == 1
    (digest,) = mail.outbox
    assert digest.to == [learner.email]
    assert "2 meetings to log" in digest.subject
    for meeting in (first, second):
        assert reminders.meeting_url(meeting) in digest.body
    assert reminders.meeting_url(logged) not in digest.body
    assert digest.extra_headers["X-Mentoring-Claim"].startswith("digest-")

    # Once per person per week: a second run (a second beat, a duplicated task) sends nothing.
    assert digests.digests_claim(now=now + MIN) == []
    assert digests.digests_claim(now=now) == []
    # Next week, only nudges gathered since are listed; none means no digest.
    next_week = now + 7 * 24 * H
    assert digests.digests_claim(now=next_week) == []
    third = _meeting(pair, next_week - 10 * H)
    reminders.dispatch_due(next_week - 5 * H)
    digests.digests_send(digest_ids=digests.digests_claim(now=next_week))
    assert len(mail.outbox) == 2
    assert reminders.meeting_url(third) in mail.outbox[1].body
    assert reminders.meeting_url(first) not in mail.outbox[1].body
    assert NudgeDigest.objects.filter(recipient=learner, sent_at__isnull=False).count() == 2
    assert not NudgeDigest.objects.exclude(recipient=learner).exists()


def test_an_unsent_digest_is_sent_by_the_sweeper(pair, learner, now):
    learner.nudge_emails = "digest"
    learner.save(update_fields=["nudge_emails"])
    _meeting(pair, now - 30 * H)
    _dispatch_and_send(now - 20 * H)  # the mentor's nudge
    mail.outbox.clear()
    (pk,) = digests.digests_claim(now=now)  # the worker died before sending it
    assert reminders.deliveries_sweep(now=now + 4 * MIN) == 1
    digests.digests_send(digest_ids=[pk])  # the original, run again: nothing more
    assert [m.to for m in mail.outbox] == [[learner.email]]


def test_no_digest_for_people_who_turned_nudges_off(pair, learner, now):
    learner.nudge_emails = "digest"
    learner.save(update_fields=["nudge_emails"])
    _meeting(pair, now - 30 * H)
    reminders.dispatch_due(now - 20 * H)
    learner.nudge_emails = "off"
    learner.save(update_fields=["nudge_emails"])
    assert digests.digests_claim(now=now) == []


# --- The profile choice ------------------------------------------------------------------


def _profile_data(**overrides) -> dict:
    data = {"full_name": "Lucia Garcia", "timezone": "UTC", "nudge_emails": "digest"}
    data.update(overrides)
    return data


def test_people_choose_their_nudge_emails_on_their_profile(client, learner):
    client.force_login(learner)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'name="nudge_emails"' in page and "One weekly digest" in page
    response = client.post(reverse("accounts:profile"), _profile_data())
    assert response.status_code == 302
    learner.refresh_from_db()
    assert learner.nudge_emails == "digest"
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'value="digest" id="id_nudge_emails_1" checked' in page


def test_a_bad_nudge_choice_keeps_what_was_typed_and_saves_nothing(client, learner):
    client.force_login(learner)
    response = client.post(
        reverse("accounts:profile"), _profile_data(nudge_emails="hourly", full_name="Lucía G")
    )
    assert response.status_code == 200
    assert 'value="Lucía G"' in response.content.decode()
    assert response.context["form"].errors["nudge_emails"]
    learner.refresh_from_db()
    assert (learner.nudge_emails, learner.full_name) == ("each", "Lucia Garcia")
    assert not ParticipantProfile.objects.filter(user=learner).exists()


def test_a_profile_form_without_the_choice_keeps_it(client, learner):
    learner.nudge_emails = "off"
    learner.save(update_fields=["nudge_emails"])
    client.force_login(learner)
    data = _profile_data()
    del data["nudge_emails"]
    assert client.post(reverse("accounts:profile"), data).status_code == 302
    learner.refresh_from_db()
    assert learner.nudge_emails == "off"


# --- Exactly once with a real worker on Redis, killed mid-send (R11) ---------------------------


def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Celery worker subprocesses on one queue of their own, against the test database and the
    test's Redis, writing email to files. Each in a session of its own, so it is killed whole
    (a prefork worker and its children) at the end, whatever happened."""

    def __init__(self, tmp_path: Path):
        self.queue = f"test-reminders-{uuid.uuid4().hex[:8]}"
        self.mail_dir = tmp_path / "mail"
        self.stall_dir = tmp_path / "stall"
        self.log_dir = tmp_path / "logs"
        for path in (self.mail_dir, self.stall_dir, self.log_dir):
            path.mkdir()
        self.processes: list[subprocess.Popen] = []

    def start(self, *, pool: str = "solo", **env) -> subprocess.Popen:
        n = len(self.processes)
        environment = {
            **os.environ,
            "DATABASE_URL": _database_url(),
            "DATABASE_CONN_MAX_AGE": "0",
            "DJANGO_EMAIL_BACKEND": "tests.sessions_log.stalling_mail.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "MEETING_REMINDER_HOURS": "24,1",
            "MEETING_LOG_NUDGE_HOURS": "2",
            **env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--pool={pool}",
            "--loglevel=info",
            "-Q",
            self.queue,
            "-n",
            f"{self.queue}-{n}@%h",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
        ]
        if pool == "prefork":
            command.append("--concurrency=1")
        log = open(self.log_dir / f"worker-{n}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process.log = log
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):  # it died on its own
                os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        process.log.close()

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-3000:] for p in sorted(self.log_dir.iterdir()))

    def enqueue(self, task, **kwargs) -> None:
        task.apply_async(queue=self.queue, **kwargs)

    def stalled(self, count: int, timeout: float = 40) -> list[int]:
        """Wait until `count` processes hang mid-send; their process ids."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            markers = list(self.stall_dir.iterdir())
            if len(markers) >= count:
                return [int(m.name) for m in markers]
            time.sleep(0.1)
        raise AssertionError(f"no worker stalled mid-send in {timeout}s\n{self.logs()}")

    def wait_for(self, condition, timeout: float = 40) -> None:
        """Wait until `condition()` holds (the workers' logs on failure)."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, self.logs()
            time.sleep(0.1)

    def drain(self, timeout: float = 40) -> None:
        """Wait until the queue is worked through: a heartbeat enqueued last has run."""
        WorkerHeartbeat.objects.filter(name="heartbeat").delete()
        self.enqueue(heartbeat)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if WorkerHeartbeat.objects.filter(name="heartbeat").exists():
                return
            time.sleep(0.1)
        raise AssertionError(f"the worker did not drain its queue in {timeout}s\n{self.logs()}")

    def messages(self) -> list[email.message.Message]:
        """Every message the workers wrote (the file backend appends them to files)."""
        separator = b"\n" + b"-" * 79 + b"\n"
        found = []
        for path in sorted(self.mail_dir.iterdir()):
            for chunk in path.read_bytes().split(separator):
                if chunk.strip():
                    found.append(email.message_from_bytes(chunk))
        return found


@pytest.fixture
def workers(transactional_db, tmp_path):
    assert celery_app.conf.broker_url.startswith("redis://"), "set REDIS_URL"
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.kill_all()


def _people_and_meetings(program, count: int, starts_at) -> list[Meeting]:
    meetings = []
    for _ in range(count):
        guide, learner = UserFactory(), UserFactory()
        membership_grant(user=guide, role=Role.MENTOR, program=program)
        membership_grant(user=learner, role=Role.LEARNER, program=program)
        pair = mentoring_services.relationship_start(program=program, guide=guide, learner=learner)
        meetings.append(_meeting(pair, starts_at))
    return meetings


def _assert_each_due_message_sent_exactly_once(workers: Workers, expected: int) -> None:
    due = Delivery.objects.filter(skipped=False)
    assert due.count() == expected
    assert not due.filter(sent_at__isnull=True).exists(), workers.logs()
    messages = workers.messages()
    claims = [m["X-Mentoring-Claim"] for m in messages]
    assert len(messages) == expected, sorted(claims)
    assert sorted(claims) == sorted(f"delivery-{pk}" for pk in due.values_list("pk", flat=True))
    expected_to = sorted(due.values_list("recipient__email", flat=True))
    assert sorted(m["To"] for m in messages) == expected_to


@pytest.mark.worker
def test_duplicated_dispatch_and_a_worker_killed_mid_send_send_each_reminder_once(program, workers):
    """Two workers run the same dispatch at once; the one sending is killed with SIGKILL in the
    middle of a send (after the claim, before the message is written), then a worker is
    started again and the sweeper runs: every due reminder is sent exactly once."""
    now = timezone.now()
    soon = _people_and_meetings(program, 2, now + 30 * MIN)  # 1-hour reminders
    later = _people_and_meetings(program, 3, now + 5 * H)  # 24-hour reminders
    not_due = _people_and_meetings(program, 1, now + 30 * H)[0]
    started = _people_and_meetings(program, 1, now - 5 * MIN)[0]

    stall = {"STALL_MAIL_DIR": str(workers.stall_dir), "STALL_MAIL_AFTER": "3"}
    first, second = workers.start(**stall), workers.start(**stall)
    workers.enqueue(dispatch_reminders)
    workers.enqueue(dispatch_reminders)
    workers.stalled(1)
    time.sleep(0.5)  # let the other worker finish whatever it holds
    workers.kill(first)
    workers.kill(second)
    assert len(workers.messages()) == 3  # written before the kill
    assert Delivery.objects.filter(sent_at__isnull=False).count() == 3  # no lost COMMIT
    assert Delivery.objects.filter(sent_at__isnull=True, skipped=False).count() == 7

    workers.start()  # restarted; the killed task waits in Redis for its visibility timeout
    workers.enqueue(dispatch_reminders)  # beat goes on: nothing new to claim
    workers.enqueue(sweep_deliveries, kwargs={"stale_seconds": 0})
    workers.drain()

    _assert_each_due_message_sent_exactly_once(workers, expected=10)
    assert {m.pk for m in soon} | {m.pk for m in later} == set(
        Delivery.objects.filter(skipped=False).values_list("meeting_id", flat=True)
    )
    assert not Delivery.objects.filter(meeting__in=[not_due, started]).exists()
    # The short-notice meetings' 24-hour reminders were claimed skipped, never sent.
    assert Delivery.objects.filter(skipped=True).count() == 4
    attempts = sorted(Delivery.objects.filter(skipped=False).values_list("attempts", flat=True))
    assert attempts == [1, 1, 1] + [2] * 7


@pytest.mark.worker
def test_a_killed_worker_process_task_is_redelivered_and_sends_each_reminder_once(program, workers):
    """Late acknowledgement: the pool process running a send is killed with SIGKILL mid-send;
    its task goes back to the queue (reject on worker lost) and the next pool process sends
    every reminder of it, the interrupted one included, once, without the sweeper."""
    _people_and_meetings(program, 3, timezone.now() + 5 * H)
    workers.start(
        pool="prefork",
        STALL_MAIL_DIR=str(workers.stall_dir),
        STALL_MAIL_AFTER="1",
        STALL_MAIL_MAX="1",
    )
    workers.enqueue(dispatch_reminders)
    workers.enqueue(dispatch_reminders)
    (child,) = workers.stalled(1)
    os.kill(child, signal.SIGKILL)
    workers.wait_for(lambda: not Delivery.objects.filter(sent_at__isnull=True).exists())
    workers.drain()
    _assert_each_due_message_sent_exactly_once(workers, expected=6)
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
