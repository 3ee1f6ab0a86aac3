"""The privacy officer's access log pages: 404 without the permission (R8), newest first with
the person's name and email, filters, the CSV export (its own permission), bounded queries,
no way to change an entry, and never a note's content."""

from __future__ import annotations

import csv
import datetime
import io
import uuid

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from mentoring import notes
from mentoring.models import AccessLogEntry
from mentoring.services import relationship_end, relationship_start
from tests.conftest import give_mfa
from tests.factories import UserFactory

BODY = "PRIVACY-BODY her scholarship may be withdrawn"
LOG = reverse("privacy:access-log")
LOG_CSV = reverse("privacy:access-log-csv")


@pytest.fixture
def officer(db):
    """A privacy officer: the group migration 0006 creates, nothing else."""
    user = UserFactory(email="pat@school.test", full_name="Pat Officer")
    user.groups.add(Group.objects.get(name="Privacy officer"))
    give_mfa(user)  # a privacy officer needs a second factor (accounts.permissions)
    return user


@pytest.fixture
def viewer_only(db):
    """May view the log but not export it."""
    user = UserFactory(email="vic@school.test", full_name="Vic Viewer")
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="mentoring", codename="view_accesslogentry")
    )
    give_mfa(user)
    return user


@pytest.fixture
def history(program, mentor, learner, dean):
    """A note read by its author, refused to the dean; returns (note, relationship)."""
    pair = relationship_start(program=program, guide=mentor, learner=learner)
    note = notes.note_create(
        notes.Access(user=mentor, address="10.0.0.7"), relationship=pair, body=BODY
    )
    notes.note_read(notes.Access(user=mentor, address="10.0.0.7"), note.code)
    with pytest.raises(notes.NoteNotFound):
        notes.note_read(notes.Access(user=dean, address="10.0.0.9"), note.code)
    return note, pair


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def rows_of(response) -> list[AccessLogEntry]:
    return list(response.context["page"].object_list)


@pytest.mark.parametrize(
    "member", ["learner", "mentor", "program_admin", "dean", "outsider", "assessor"]
)
def test_without_the_permission_both_pages_are_not_found(client, cast, history, member):
    client.force_login(cast[member])
    assert client.get(LOG).status_code == 404
    assert client.get(LOG_CSV).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for path in (LOG, LOG_CSV):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_officer_sees_the_log_newest_first_with_names_and_emails(client, officer, history):
    note, _pair = history
    client.force_login(officer)
    response = client.get(LOG)
    assert response.status_code == 200
    entries = rows_of(response)
    assert [(e.action, e.outcome) for e in entries] == [
        ("read", "refused"),
        ("read", "allowed"),
        ("create", "allowed"),
    ]
    text = response.content.decode()
    for shown in ("Kenji Ito", "kenji@school.test", "Helen Marsh", "helen@school.test"):
        assert shown in text
    assert str(note.code) in text and "10.0.0.9" in text
    assert BODY not in text
    # The officer's nav leads here; a mentor's does not.
    labels = [item.label for item in response.context["nav"]["items"]]
    assert "Privacy" in labels


def test_the_privacy_link_is_only_in_an_officers_nav(client, mentor, officer):
    client.force_login(mentor)
    labels = [item.label for item in client.get("/").context["nav"]["items"]]
    assert "Privacy" not in labels
    assert "Notes" in labels  # guides reach their notes area from the nav


def test_filters_by_action_outcome_person_and_code(client, officer, history, mentor, dean):
    note, pair = history
    client.force_login(officer)

    def actions(**query):
        response = client.get(LOG, query)
        assert response.status_code == 200
        return [(e.action, e.outcome, e.actor_id) for e in rows_of(response)]

    assert actions(action="create") == [("create", "allowed", mentor.pk)]
    assert actions(outcome="refused") == [("read", "refused", dean.pk)]
    assert actions(actor="HELEN@") == [("read", "refused", dean.pk)]
    assert len(actions(code=str(note.code))) == 3
    assert len(actions(code=str(pair.code))) == 3  # the relationship's code finds them too
    assert actions(code=str(uuid.uuid4())) == []
    assert actions(action="read", outcome="allowed", actor="kenji") == [
        ("read", "allowed", mentor.pk)
    ]


def test_filters_by_date_range(client, officer, history):
    today = timezone.localdate()
    old = AccessLogEntry.objects.create(
        at=timezone.now() - datetime.timedelta(days=40), action="read", outcome="refused"
    )
    client.force_login(officer)
    last_month = (today - datetime.timedelta(days=41)).isoformat()
    month_ago = (today - datetime.timedelta(days=39)).isoformat()
    response = client.get(LOG, {"date_from": last_month, "date_to": month_ago})
    assert [e.pk for e in rows_of(response)] == [old.pk]
    response = client.get(LOG, {"date_from": today.isoformat()})
    assert old.pk not in [e.pk for e in rows_of(response)]
    assert len(rows_of(response)) == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"code": "not-a-code"}, "A code looks like"),
        ({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "before the start date"),
        ({"date_from": "yesterday"}, "Enter a valid date"),
        ({"action": "tamper"}, "Select a valid choice"),
    ],
)
def test_bad_filters_are_named_and_answer_no_entries(client, officer, history, query, message):
    client.force_login(officer)
    response = client.get(LOG, query)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert rows_of(response) == []
    # The CSV with the same bad filters goes back to the page rather than failing.
    download = client.get(LOG_CSV, query)
    assert download.status_code == 302
    assert download["Location"].startswith(LOG)


def test_the_log_is_paginated_with_a_bounded_number_of_queries(
    client, officer, history, django_assert_max_num_queries
):
    people = [UserFactory() for _ in range(10)]
    for i in range(60):
        AccessLogEntry.objects.create(actor=people[i % 10], action="read", outcome="refused")
    client.force_login(officer)
    client.get(LOG)  # warm the session
    with django_assert_max_num_queries(10):  # 8 measured; constant in the entries
        response = client.get(LOG)
    assert response.status_code == 200
    assert len(rows_of(response)) == 50
    second = client.get(LOG, {"page": 2})
    assert len(rows_of(second)) == 13  # 63 entries in all


def test_csv_export_of_the_filtered_log(client, officer, history, mentor):
    note, pair = history
    client.force_login(officer)
    page = client.get(LOG, {"outcome": "allowed"})
    assert f"{LOG_CSV}?outcome=allowed" in page.content.decode()
    response = client.get(LOG_CSV, {"outcome": "allowed"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    rows = read_csv(response)
    assert [(r["action"], r["outcome"], r["email"]) for r in rows] == [
        ("read", "allowed", mentor.email),
        ("create", "allowed", mentor.email),
    ]
    assert rows[0]["person"] == "Kenji Ito"
    assert rows[0]["object code"] == str(note.code)
    assert rows[0]["relationship code"] == str(pair.code)
    assert rows[0]["source address"] == "10.0.0.7"
    full = b"".join(client.get(LOG_CSV).streaming_content).decode()
    assert BODY not in full
    assert "System" not in full  # no system entries yet


def test_exporting_needs_its_own_permission(client, viewer_only, history):
    client.force_login(viewer_only)
    page = client.get(LOG)
    assert page.status_code == 200
    assert LOG_CSV not in page.content.decode()  # no link to a download they cannot make
    assert client.get(LOG_CSV).status_code == 403


def test_no_page_changes_an_entry(client, officer, history):
    client.force_login(officer)
    before = list(AccessLogEntry.objects.values_list("id", "action", "outcome", "reason"))
    for path in (LOG, LOG_CSV):
        assert client.post(path, {"reason": "tampered"}).status_code == 405
        assert client.delete(path).status_code == 405
    after = list(AccessLogEntry.objects.values_list("id", "action", "outcome", "reason"))
    assert after == before


def test_system_erasures_show_as_the_system(client, officer, program, mentor, learner):
    today = timezone.localdate()
    days = program.note_retention_days
    pair = relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=today - datetime.timedelta(days=days + 30),
    )
    notes.note_create(notes.Access(user=mentor), relationship=pair, body=BODY)

    relationship_end(
        relationship=pair, reason="completed", ends_on=today - datetime.timedelta(days=days + 1)
    )
    assert notes.notes_erase_expired() == 1
    client.force_login(officer)
    response = client.get(LOG, {"action": "erase"})
    (entry,) = rows_of(response)
    assert entry.actor is None
    assert "System" in response.content.decode()
    rows = read_csv(client.get(LOG_CSV, {"action": "erase"}))
    assert [(r["person"], r["email"], r["reason"]) for r in rows] == [
        ("System", "", "retention period over")
    ]
