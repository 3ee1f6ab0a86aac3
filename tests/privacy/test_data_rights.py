"""Data rights: a person downloads their own data (and nobody else's confidential text), and an
erasure anonymises a person while the access log and every count stay as they were."""

from __future__ import annotations

import csv
import datetime
import io
import json
import logging
import time
import zipfile
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import authenticate
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ImportBatch, Membership, ParticipantProfile, Role, StatusChange, User
from accounts.services import membership_grant
from matching.models import Choice, MatchRequest, MatchRun
from mentoring import services
from mentoring.models import (
    AccessLogEntry,
    ConfidentialNote,
    Goal,
    GoalProgress,
    MentoringAgreement,
    Relationship,
    RematchRequest,
)
from mentoring.notes import Access, note_create, note_share
from privacy.erasure import ERASED_NAME, ERASED_TEXT, ErasureRefused, erase_person
from privacy.export import SECTIONS, ExportContext, export_person
from roster.services import import_batch_create
from sessions_log.models import (
    ActionItem,
    CalendarFeed,
    Meeting,
    MeetingLog,
    Slot,
)
from surveys.models import Campaign, Invitation, SurveyTemplate
from tests.factories import TEST_PASSWORD, UserFactory

PAGE = reverse("data:page")
DOWNLOAD = reverse("data:download")
HOUR = datetime.timedelta(hours=1)


# --- The story ---------------------------------------------------------------------------------
@pytest.fixture
def story(program, learner, mentor, other_mentor, outsider):
    """Lucia (learner) and Kenji (her mentor); Funmi mentors Bea. Each text is a marker that a
    test looks for (or must not find) in a download or in the database."""
    today = timezone.localdate()
    now = timezone.now().replace(microsecond=0)
    pair = services.relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=today - datetime.timedelta(days=60),
    )
    bea = UserFactory(email="bea@school.test", full_name="Bea Novak")
    membership_grant(user=bea, role=Role.LEARNER, program=program)
    other_pair = services.relationship_start(
        program=program,
        guide=other_mentor,
        learner=bea,
        started_on=today - datetime.timedelta(days=60),
    )
    ParticipantProfile.objects.create(
        user=learner,
        level="MS1",
        cohort="Class of 2029",
        campus="North campus",
        specialty_interests=["Surgery"],
        shared_background=["FIRST-GEN-MARKER"],
        contact_preference="CONTACT-MARKER",
        availability=0b111,
    )
    StatusChange.objects.create(
        user=learner, population="learner", status="enrolled", effective_on=today
    )
    met = Meeting.objects.create(
        relationship=pair,
        starts_at=now - 14 * 24 * HOUR,
        ends_at=now - 14 * 24 * HOUR + HOUR,
        status=Meeting.Status.COMPLETED,
        booked_by=learner,
        video_link="https://video.example/kenji-room",
    )
    MeetingLog.objects.create(
        meeting=met,
        logged_by=learner,
        duration_minutes=45,
        topics=["career"],
        reflection="LUCIA-REFLECTION",
    )
    ActionItem.objects.create(meeting=met, text="LUCIA-ACTION", created_by=learner)
    ActionItem.objects.create(meeting=met, text="KENJI-ACTION", created_by=mentor)
    cancelled = Meeting.objects.create(
        relationship=pair,
        starts_at=now - 7 * 24 * HOUR,
        ends_at=now - 7 * 24 * HOUR + HOUR,
        status=Meeting.Status.CANCELLED,
        booked_by=learner,
        cancelled_by=learner,
        cancel_message="LUCIA-CANCEL-MESSAGE",
    )
    bea_meeting = Meeting.objects.create(
        relationship=other_pair,
        starts_at=now - 10 * 24 * HOUR,
        ends_at=now - 10 * 24 * HOUR + HOUR,
        status=Meeting.Status.COMPLETED,
        booked_by=bea,
    )
    MeetingLog.objects.create(meeting=bea_meeting, logged_by=bea, reflection="BEA-REFLECTION")
    kenji = Access(user=mentor, address="10.0.0.2")
    kenji_private = note_create(kenji, relationship=pair, body="KENJI-PRIVATE")
    kenji_shared = note_create(kenji, relationship=pair, body="KENJI-SHARED")
    note_share(kenji, kenji_shared.code)
    funmi_private = note_create(
        Access(user=other_mentor), relationship=other_pair, body="FUNMI-PRIVATE"
    )
    services.rematch_request_create(relationship=pair, reason="LUCIA-REMATCH-REASON")
    MentoringAgreement.objects.create(
        relationship=pair,
        goals="AGREED-GOALS",
        boundaries="AGREED-BOUNDARIES",
        meeting_frequency="monthly",
        learner_agreed_at=now,
        guide_agreed_at=now,
    )
    goal = Goal.objects.create(
        relationship=pair,
        title="LUCIA-GOAL",
        description="LUCIA-GOAL-DETAIL",
        domain="career",
        created_by=learner,
    )
    GoalProgress.objects.create(goal=goal, author=mentor, note="KENJI-PROGRESS")
    GoalProgress.objects.create(goal=goal, author=learner, note="LUCIA-PROGRESS")
    Goal.objects.create(relationship=other_pair, title="BEA-GOAL", domain="research")
    MatchRequest.objects.create(
        program=program,
        learner=learner,
        guide=other_mentor,
        message="LUCIA-REQUEST-NOTE",
        expires_at=now + 7 * 24 * HOUR,
    )
    Choice.objects.create(
        program=program, side="learner", chooser=learner, chosen=other_mentor, rank=1
    )
    CalendarFeed.objects.create(user=learner)
    template = SurveyTemplate.objects.create(
        program=program, kind="learner_end", audience="learners", name="End of term"
    )
    campaign = Campaign.objects.create(
        program=program,
        template=template,
        kind="end_of_term",
        period_key="2026",
        title="Autumn survey",
        opens_at=now - 24 * HOUR,
        closes_at=now + 24 * HOUR,
    )
    Invitation.objects.create(campaign=campaign, person=learner, has_responded=True)
    return {
        "pair": pair,
        "other_pair": other_pair,
        "bea": bea,
        "kenji_notes": {kenji_private.code, kenji_shared.code},
        "kenji_shared": kenji_shared,
        "funmi_private": funmi_private,
        "cancelled": cancelled,
    }


def _files(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _export(user, address="10.0.0.9") -> tuple[dict, dict[str, bytes], str]:
    files = _files(export_person(user, address=address))
    text = "\n".join(body.decode("utf-8-sig") for body in files.values())
    return json.loads(files["data.json"]), files, text


def _reauthenticated(client, user):
    """Signed in, and re-authenticated just now (as after allauth's password prompt)."""
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time(), "reauthenticated": True}
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()


# --- The export ---------------------------------------------------------------------------------
def test_export_holds_json_a_csv_per_section_and_a_readme(story, learner):
    data, files, _ = _export(learner)
    expected = {"data.json", "README.txt"} | {f"{s.name}.csv" for s in SECTIONS}
    assert set(files) == expected
    readme = files["README.txt"].decode()
    for sec in SECTIONS:
        assert f"{sec.name}.csv" in readme
        rows = list(csv.reader(io.StringIO(files[f"{sec.name}.csv"].decode("utf-8-sig"))))
        assert tuple(rows[0]) == sec.columns
        assert len(rows) - 1 == (
            (1 if data[sec.name] else 0) if sec.single else len(data[sec.name])
        )
    # Anonymous survey answers cannot be in it, and the README says why.
    assert "anonymous" in readme.lower()
    assert "survey answers" in readme.lower()
    assert data["export"]["person"] == str(learner.code)


@pytest.mark.parametrize("who", ["learner", "mentor", "other_mentor", "outsider"])
def test_every_section_gives_exactly_its_columns(story, cast, who):
    ctx = ExportContext(user=cast[who], access=Access(user=cast[who]))
    for sec in SECTIONS:
        for row in sec.rows(ctx):
            assert tuple(row) == sec.columns, sec.name


def test_learner_gets_her_data_and_the_shared_note_only(story, learner, mentor):
    data, _, text = _export(learner)
    assert data["account"]["email"] == learner.email
    assert data["account"]["full_name"] == "Lucia Garcia"
    assert data["profile"]["shared_background"] == ["FIRST-GEN-MARKER"]
    assert data["profile"]["usual_free_times"] == [
        "Monday morning",
        "Monday afternoon",
        "Monday evening",
    ]
    assert [m["role"] for m in data["memberships"]] == ["learner"]
    assert [s["status"] for s in data["status_history"]] == ["enrolled"]
    [relationship] = data["relationships"]
    assert relationship["other_person"] == "Kenji Ito"
    assert relationship["other_person_email"] == mentor.email  # her contact, shown to her
    assert relationship["your_role"] == "learner"
    logged = next(m for m in data["meetings"] if m["reflection"])
    assert logged["reflection"] == "LUCIA-REFLECTION"
    assert logged["topics"] == ["career"]
    assert logged["logged_by"] == "you"
    assert {i["text"] for i in data["action_items"]} == {"LUCIA-ACTION", "KENJI-ACTION"}
    assert [r["reason"] for r in data["rematch_requests"]] == ["LUCIA-REMATCH-REASON"]
    assert data["agreements"][0]["goals"] == "AGREED-GOALS"
    assert [g["title"] for g in data["goals"]] == ["LUCIA-GOAL"]
    assert {p["note"] for p in data["goal_progress"]} == {"KENJI-PROGRESS", "LUCIA-PROGRESS"}
    assert [n["body"] for n in data["notes_shared_with_you"]] == ["KENJI-SHARED"]
    assert data["notes_shared_with_you"][0]["author"] == "Kenji Ito"
    assert data["notes_written"] == []
    assert [r["message"] for r in data["match_requests"]] == ["LUCIA-REQUEST-NOTE"]
    assert [c["person"] for c in data["match_choices"]] == ["Funmi Adeyemi"]
    assert len(data["calendar_feeds"]) == 1
    assert [(i["survey"], i["answered"]) for i in data["survey_invitations"]] == [
        ("Autumn survey", True)
    ]
    # Never another author's note, another learner's reflection or goal, or anyone's email
    # beyond the person she is paired with; never a secret or a ciphertext.
    for absent in (
        "KENJI-PRIVATE",
        "FUNMI-PRIVATE",
        "BEA-REFLECTION",
        "BEA-GOAL",
        "Bea Novak",
        "bea@school.test",
        "funmi@school.test",
        "gAAAAA",
    ):
        assert absent not in text, absent
    feed = CalendarFeed.objects.get(user=learner)
    assert feed.token not in text


def test_guide_gets_his_notes_and_the_log_but_never_the_rematch_reason(story, mentor, learner):
    data, _, text = _export(mentor)
    assert {n["body"] for n in data["notes_written"]} == {"KENJI-PRIVATE", "KENJI-SHARED"}
    assert {n["code"] for n in data["notes_written"]} == {str(c) for c in story["kenji_notes"]}
    assert all(n["learner"] == "Lucia Garcia" for n in data["notes_written"])
    # R5: both people see the log, reflection included.
    assert "LUCIA-REFLECTION" in text
    assert data["relationships"][0]["other_person_email"] == learner.email
    assert data["relationships"][0]["your_role"] == "mentor"
    # The learner's rematch request is invisible to the guide; so are her private profile
    # answers, her request to another guide and her ranked choices.
    assert data["rematch_requests"] == []
    for absent in (
        "LUCIA-REMATCH-REASON",
        "FIRST-GEN-MARKER",
        "LUCIA-REQUEST-NOTE",
        "FUNMI-PRIVATE",
        "BEA-REFLECTION",
        "bea@school.test",
        "gAAAAA",
    ):
        assert absent not in text, absent


def test_a_request_note_reaches_its_recipient_without_the_senders_email(
    story, other_mentor, learner
):
    data, _, text = _export(other_mentor)
    [request] = data["match_requests"]
    assert (request["direction"], request["other_person"]) == ("received", "Lucia Garcia")
    assert request["message"] == "LUCIA-REQUEST-NOTE"
    assert learner.email not in text  # not paired with her: her address is not his to have
    assert [n["body"] for n in data["notes_written"]] == ["FUNMI-PRIVATE"]
    assert "KENJI-PRIVATE" not in text and "KENJI-SHARED" not in text
    # Her ranking of him is not shown to anyone.
    assert data["match_choices"] == []


def test_an_outsider_gets_an_export_with_nothing_of_anyone_else(story, outsider):
    data, _, text = _export(outsider)
    assert data["relationships"] == [] and data["meetings"] == []
    for absent in ("KENJI", "Kenji", "LUCIA", "Lucia", "FUNMI", "Funmi", "BEA", "Bea"):
        assert absent not in text, absent


def test_exporting_notes_writes_one_access_log_entry_per_note(story, mentor, learner):
    before = set(AccessLogEntry.objects.values_list("pk", flat=True))
    data, _, _ = _export(mentor, address="10.1.2.3")
    new = AccessLogEntry.objects.exclude(pk__in=before)
    assert sorted(new.values_list("action", "outcome", "actor", "source_address")) == [
        ("export", "allowed", mentor.pk, "10.1.2.3"),
        ("export", "allowed", mentor.pk, "10.1.2.3"),
    ]
    assert set(new.values_list("object_code", flat=True)) == story["kenji_notes"]
    # The download's own entries are in its access log section.
    exported = [e for e in data["access_log"] if e["action"] == "export"]
    assert {e["object_code"] for e in exported} == {str(c) for c in story["kenji_notes"]}

    # The learner reads the one note shared with her: one READ entry, by her.
    before = set(AccessLogEntry.objects.values_list("pk", flat=True))
    _export(learner)
    new = AccessLogEntry.objects.exclude(pk__in=before)
    assert list(new.values_list("action", "outcome", "actor", "object_code")) == [
        ("read", "allowed", learner.pk, story["kenji_shared"].code)
    ]


def test_notes_past_their_retention_are_not_exported(story, mentor, learner, program):
    services.relationship_end(
        relationship=story["pair"],
        reason="completed",
        ends_on=timezone.localdate() - datetime.timedelta(days=10),
    )
    program.note_retention_days = 1
    program.save()
    mentor_data, _, _ = _export(mentor)
    learner_data, _, _ = _export(learner)
    assert mentor_data["notes_written"] == []
    assert learner_data["notes_shared_with_you"] == []
    # An ended relationship no longer shows the other person's email (as on its page).
    assert learner_data["relationships"][0]["other_person_email"] == ""


def test_a_cell_that_a_spreadsheet_would_run_is_defused(story, learner):
    log = MeetingLog.objects.get(meeting__relationship=story["pair"])
    log.reflection = "=HYPERLINK(1)"
    log.save()
    _, files, _ = _export(learner)
    assert "'=HYPERLINK(1)" in files["meetings.csv"].decode("utf-8-sig")


def test_the_export_runs_a_bounded_number_of_queries(story, mentor, learner):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            export_person(mentor)
        return len(captured)

    few = queries()
    now = timezone.now()
    for day in range(1, 21):
        meeting = Meeting.objects.create(
            relationship=story["pair"],
            starts_at=now - day * 24 * HOUR - 30 * 24 * HOUR,
            ends_at=now - day * 24 * HOUR - 30 * 24 * HOUR + HOUR,
            status=Meeting.Status.COMPLETED,
        )
        MeetingLog.objects.create(meeting=meeting, reflection=f"R{day}")
        ActionItem.objects.create(meeting=meeting, text=f"A{day}", created_by=learner)
        Goal.objects.create(relationship=story["pair"], title=f"G{day}", domain="career")
        Slot.objects.create(guide=mentor, starts_at=meeting.starts_at, ends_at=meeting.ends_at)
    assert queries() == few


# --- The pages ----------------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for response in (client.get(PAGE), client.post(DOWNLOAD)):
        assert response.status_code == 302
        assert urlparse(response["Location"]).path == reverse("account_login")


def test_the_page_explains_and_offers_a_post_form(client, learner):
    client.force_login(learner)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'action="{DOWNLOAD}"' in html and 'method="post"' in html
    assert "csrfmiddlewaretoken" in html
    for sec in SECTIONS:
        assert f"{sec.name}.csv" in html
    assert "anonymous" in html
    # The profile page links to it.
    assert PAGE in client.get(reverse("accounts:profile")).content.decode()


def test_the_download_is_post_only(client, learner):
    _reauthenticated(client, learner)
    assert client.get(DOWNLOAD).status_code == 405


def test_the_download_needs_the_csrf_token(learner):
    client = Client(enforce_csrf_checks=True)
    _reauthenticated(client, learner)
    assert client.post(DOWNLOAD).status_code == 403


def test_the_download_asks_for_the_password_again(client, learner):
    client.force_login(learner)
    response = client.post(DOWNLOAD)
    assert response.status_code == 302
    assert urlparse(response["Location"]).path == reverse("account_reauthenticate")
    assert not AccessLogEntry.objects.filter(action="export").exists()


def test_after_the_password_the_download_is_the_persons_own_zip(client, story, learner):
    client.force_login(learner)
    prompt = client.post(DOWNLOAD)["Location"]
    response = client.post(prompt, {"password": TEST_PASSWORD})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    data = json.loads(_files(response.content)["data.json"])
    assert data["account"]["email"] == learner.email


def test_the_download_is_an_uncached_attachment(client, story, mentor):
    _reauthenticated(client, mentor)
    response = client.post(DOWNLOAD, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="')
    assert response["Content-Disposition"].endswith('.zip"')
    assert "no-store" in response["Cache-Control"]
    data = json.loads(_files(response.content)["data.json"])
    assert data["account"]["email"] == mentor.email
    assert {n["body"] for n in data["notes_written"]} == {"KENJI-PRIVATE", "KENJI-SHARED"}
    assert set(
        AccessLogEntry.objects.filter(action="export").values_list("actor", "source_address")
    ) == {(mentor.pk, "10.9.9.9")}


# --- Erasure ------------------------------------------------------------------------------------
def _database_text() -> str:
    """Every row of every table, as JSON text, lower case (encrypted columns hold tokens)."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT row_to_json(t)::text FROM "{table}" t')  # noqa: S608
            chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks).lower()


def _access_log() -> list[dict]:
    return list(AccessLogEntry.objects.order_by("pk").values())


def _counts() -> dict[str, int]:
    return {
        "relationships": Relationship.objects.count(),
        "meetings": Meeting.objects.count(),
        "logs": MeetingLog.objects.count(),
        "action items": ActionItem.objects.count(),
        "goals": Goal.objects.count(),
        "progress": GoalProgress.objects.count(),
        "agreements": MentoringAgreement.objects.count(),
        "rematch requests": RematchRequest.objects.count(),
        "memberships": Membership.objects.count(),
        "status changes": StatusChange.objects.count(),
        "invitations": Invitation.objects.count(),
        "people": User.objects.count(),
    }


@pytest.fixture
def traces(story, client, learner, mentor, program, program_admin, superuser):
    """Copies of Lucia's name and address outside her own rows, and a session of hers."""
    client.force_login(learner)
    import_batch_create(
        program=program,
        kind="people",
        filename="people.csv",
        data=b"email,full_name,role\r\nlucia@school.test,Lucia Garcia,learner\r\n",
        uploaded_by=program_admin,
    )
    LogEntry.objects.create(
        user=superuser,
        content_type=ContentType.objects.get_for_model(User),
        object_id=str(learner.pk),
        object_repr=str(learner),
        action_flag=CHANGE,
        change_message="[]",
    )
    MatchRun.objects.create(
        program=program,
        approval_report=[
            {
                "learner": "Lucia Garcia",
                "guide": "Kenji Ito",
                "rule": "R3",
                "message": "R3: Lucia Garcia already has a current relationship.",
            }
        ],
    )
    return story


def test_erasure_leaves_no_trace_of_the_person_and_keeps_counts_and_the_log(
    traces, learner, mentor, django_capture_on_commit_callbacks, caplog
):
    text = _database_text()
    assert "lucia garcia" in text and "lucia@school.test" in text  # the test can fail
    assert "first-gen-marker" in text
    counts, log = _counts(), _access_log()
    assert Session.objects.count() == 1

    with (
        caplog.at_level(logging.INFO, logger="privacy"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        summary = erase_person(learner, by=None)

    text = _database_text()
    for trace in ("lucia garcia", "lucia@school.test", "first-gen-marker", "contact-marker"):
        assert trace not in text, trace
    assert "kenji ito" in text  # other people's names stay
    assert _counts() == counts
    assert _access_log() == log  # she wrote no notes: not one row added or changed
    learner.refresh_from_db()
    assert learner.full_name == ERASED_NAME
    assert learner.email.endswith("@erased.invalid")
    assert not learner.is_active and not learner.has_usable_password()
    assert not Session.objects.exists()
    assert not Membership.objects.current().filter(user=learner).exists()
    # What she wrote is blanked; the rows and their metadata stay.
    log_row = MeetingLog.objects.get(meeting__relationship=traces["pair"])
    assert (log_row.reflection, log_row.duration_minutes, log_row.topics) == ("", 45, ["career"])
    texts = dict(ActionItem.objects.values_list("created_by", "text"))
    assert texts == {learner.pk: ERASED_TEXT, mentor.pk: "KENJI-ACTION"}
    goal = Goal.objects.get(relationship=traces["pair"])
    assert (goal.title, goal.description, goal.domain) == (ERASED_TEXT, "", "career")
    assert Goal.objects.get(relationship=traces["other_pair"]).title == "BEA-GOAL"
    notes = dict(GoalProgress.objects.values_list("author", "note"))
    assert notes == {learner.pk: ERASED_TEXT, mentor.pk: "KENJI-PROGRESS"}
    agreement = MentoringAgreement.objects.get()
    assert (agreement.goals, agreement.boundaries) == ("", "")
    assert agreement.is_done
    assert RematchRequest.objects.get().reason == ""
    assert Meeting.objects.get(pk=traces["cancelled"].pk).cancel_message == ""
    request = MatchRequest.objects.get()
    assert (request.message, request.state) == ("", MatchRequest.State.WITHDRAWN)
    assert not Choice.objects.filter(chooser=learner).exists()
    assert not CalendarFeed.objects.filter(user=learner).exists()
    profile = ParticipantProfile.objects.get(user=learner)
    assert (profile.level, profile.cohort) == ("MS1", "Class of 2029")
    assert profile.shared_background == [] and profile.availability == 0
    assert ImportBatch.objects.get().status == ImportBatch.Status.DISCARDED
    # Her guide's notes are his, and stay.
    assert ConfidentialNote.objects.filter(author=mentor).count() == 2
    # The summary is counts only; one log line with the id and no personal data.
    assert summary.counts["meeting reflections blanked"] == 1
    assert summary.counts["account anonymised"] == 1
    assert summary.current_relationships == 1
    output = "\n".join(summary.lines())
    assert "Lucia" not in output and "lucia@" not in output
    records = [r.getMessage() for r in caplog.records if r.name.startswith("privacy")]
    assert records == [f"person erased: user_id={learner.pk} changed={summary.changed}"]


def test_an_erased_person_cannot_sign_in(client, story, learner):
    email = learner.email
    erase_person(learner)
    learner.refresh_from_db()
    assert authenticate(email=email, password=TEST_PASSWORD) is None
    assert authenticate(email=learner.email, password=TEST_PASSWORD) is None
    response = client.post(reverse("account_login"), {"login": email, "password": TEST_PASSWORD})
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


def test_erasing_again_changes_nothing(traces, learner):
    erase_person(learner)
    learner.refresh_from_db()
    email, text, counts, log = learner.email, _database_text(), _counts(), _access_log()
    again = erase_person(learner)
    assert again.already_erased and again.changed == 0
    learner.refresh_from_db()
    assert learner.email == email
    assert _database_text() == text
    assert (_counts(), _access_log()) == (counts, log)


def test_erasing_a_guide_erases_his_notes_through_the_log(story, mentor, learner, superuser):
    log = _access_log()
    summary = erase_person(mentor, by=superuser)
    assert summary.counts["confidential notes erased"] == 2
    assert not ConfidentialNote.objects.filter(author=mentor).exists()
    assert ConfidentialNote.objects.filter(pk=story["funmi_private"].pk).exists()
    after = _access_log()
    assert after[: len(log)] == log  # earlier entries untouched
    added = after[len(log) :]
    assert {(e["action"], e["outcome"], e["actor_id"]) for e in added} == {
        ("erase", "allowed", superuser.pk)
    }
    assert {e["object_code"] for e in added} == story["kenji_notes"]
    # His second factor and sign-in addresses are gone; the learner's texts are hers.
    assert not Authenticator.objects.filter(user=mentor).exists()
    assert not EmailAddress.objects.filter(user=mentor).exists()
    assert ActionItem.objects.get(created_by=mentor).text == ERASED_TEXT
    assert ActionItem.objects.get(created_by=learner).text == "LUCIA-ACTION"
    assert MeetingLog.objects.get(meeting__relationship=story["pair"]).reflection == (
        "LUCIA-REFLECTION"
    )
    assert Meeting.objects.filter(relationship__guide=mentor).exclude(video_link="").count() == 0
    assert Goal.objects.get(relationship=story["pair"]).title == "LUCIA-GOAL"


def test_a_dry_run_counts_the_same_and_writes_nothing(traces, learner):
    text, log = _database_text(), _access_log()
    dry = erase_person(learner, dry_run=True)
    assert _database_text() == text and _access_log() == log
    real = erase_person(learner)
    assert dry.counts == real.counts
    assert dry.changed > 0


def test_operators_are_refused_unless_included(superuser):
    with pytest.raises(ErasureRefused):
        erase_person(superuser)
    superuser.refresh_from_db()
    assert superuser.is_active
    erase_person(superuser, include_operator=True)
    superuser.refresh_from_db()
    assert not (superuser.is_active or superuser.is_staff or superuser.is_superuser)


# --- The command --------------------------------------------------------------------------------
def _run(*args) -> str:
    out = io.StringIO()
    call_command("erase_person", *args, stdout=out)
    return out.getvalue()


def test_the_command_without_yes_only_shows_what_would_change(traces, learner):
    text = _database_text()
    output = _run("Lucia@School.test")
    assert "Would change" in output and "meeting reflections blanked: 1" in output
    assert "Nothing was changed" in output
    assert _database_text() == text
    assert "Lucia" not in output.replace("Lucia@School.test", "")


def test_the_command_erases_with_yes_and_a_rerun_is_harmless(story, learner, superuser):
    output = _run("lucia@school.test", "--yes", "--by", superuser.email)
    assert "Erased." in output and "lucia" not in output.lower()
    learner.refresh_from_db()
    assert learner.full_name == ERASED_NAME
    with pytest.raises(CommandError, match="Nobody has that address"):
        _run("lucia@school.test", "--yes")
    again = _run(str(learner.code), "--yes")
    assert "Nothing left to erase." in again


def test_the_command_refuses_an_operator_without_the_flag(superuser):
    with pytest.raises(CommandError, match="--include-operator"):
        _run(superuser.email, "--yes")
    superuser.refresh_from_db()
    assert superuser.full_name == "Site Operator"
    assert "Erased." in _run(superuser.email, "--yes", "--include-operator")
