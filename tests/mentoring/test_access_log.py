"""The access log (R4): append-only at the database, one row per touch of a note, never the
content.

Changes to the log are refused by a trigger (migration mentoring/0006); each attempt runs in
its own `transaction.atomic()` (a savepoint), so that the failed statement does not poison the
test's transaction.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from allauth.account.adapter import get_adapter
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from mentoring.models import AccessLogEntry, ConfidentialNote
from mentoring.notes import (
    Access,
    NoteNotFound,
    NoteReadOnly,
    client_address,
    note_create,
    note_delete,
    note_edit,
    note_read,
    note_share,
    notes_erase_expired,
    notes_export,
)
from mentoring.services import relationship_end, relationship_start

BODY = "ACCESS-LOG-BODY she is thinking of leaving medicine"
TABLE = AccessLogEntry._meta.db_table


@pytest.fixture
def relationship(program, mentor, learner):
    return relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=timezone.localdate() - datetime.timedelta(days=30),
    )


@pytest.fixture
def note(relationship, mentor):
    return note_create(
        Access(user=mentor, address="10.0.0.1"), relationship=relationship, body=BODY
    )


def entries() -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.order_by("id"))


def new_entries(before: int) -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.order_by("id")[before:])


def assert_no_content_in_the_log(*texts: str) -> None:
    """Every column of every row, as the database returns it, is free of the texts."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT row_to_json(t)::text FROM {TABLE} t")  # noqa: S608
        rows = [row[0] for row in cursor.fetchall()]
    assert rows, "the log is empty: nothing was checked"
    for row in rows:
        for text in texts:
            assert text not in row
            assert text[:20] not in row


# --- Append-only at the database ---------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {TABLE} SET outcome = 'allowed', reason = '' WHERE id = %s",  # noqa: S608
        f"UPDATE {TABLE} SET actor_id = NULL WHERE id = %s",  # noqa: S608
        f"DELETE FROM {TABLE} WHERE id = %s",  # noqa: S608
    ],
)
def test_raw_sql_cannot_change_or_delete_a_log_row(note, outsider, sql):
    with pytest.raises(NoteNotFound):
        note_read(Access(user=outsider), note.code)
    entry = AccessLogEntry.objects.get(outcome="refused")
    before = AccessLogEntry.objects.filter(pk=entry.pk).values().get()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [entry.pk])
    assert AccessLogEntry.objects.filter(pk=entry.pk).values().get() == before


def test_truncate_is_refused_unless_the_session_allows_it(note):
    """A `manage.py flush` or a careless TRUNCATE by the tables' owner would empty the log;
    only a session that opted in (the test runner, to empty tables between tests) may."""
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE is refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        # The rows this test wrote have deferred foreign-key checks pending: run them now, or
        # PostgreSQL refuses any TRUNCATE of the table before our trigger is asked.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL mentoring.allow_access_log_truncate = 'off'")
        cursor.execute("TRUNCATE mentoring_accesslogentry CASCADE")
    assert AccessLogEntry.objects.count() == 1
    with pytest.raises(CommandError) as refused, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL mentoring.allow_access_log_truncate = ''")
        call_command("flush", "--no-input", inhibit_post_migrate=True)
    assert "TRUNCATE is refused" in str(refused.value.__cause__)
    assert AccessLogEntry.objects.count() == 1


def test_the_orm_cannot_change_a_log_row(note):
    entry = AccessLogEntry.objects.get()
    entry.reason = "tampered"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).update(reason="tampered")
    assert AccessLogEntry.objects.get(pk=entry.pk).reason == ""


def test_the_orm_cannot_delete_a_log_row(note):
    entry = AccessLogEntry.objects.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogEntry.objects.all().delete()
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_the_log_can_still_be_appended_to_after_a_refused_change(note, mentor):
    with pytest.raises(DatabaseError), transaction.atomic():
        AccessLogEntry.objects.all().delete()
    note_read(Access(user=mentor), note.code)
    assert AccessLogEntry.objects.count() == 2


# --- One row per touch -------------------------------------------------------------------------


def test_every_read_by_the_author_writes_exactly_one_allowed_row(note, mentor, relationship):
    for n in range(1, 4):
        before = AccessLogEntry.objects.count()
        read = note_read(Access(user=mentor, address="192.0.2.7"), note.code)
        assert read.body == BODY
        [entry] = new_entries(before)
        assert (entry.action, entry.outcome, entry.reason) == ("read", "allowed", "")
        assert entry.actor == mentor
        assert entry.object_kind == "note"
        assert entry.object_code == note.code
        assert entry.relationship_code == relationship.code
        assert entry.source_address == "192.0.2.7"
        assert AccessLogEntry.objects.filter(action="read").count() == n


def test_a_shared_note_read_by_the_learner_is_logged_as_theirs(note, mentor, learner):
    note_share(Access(user=mentor), note.code)
    before = AccessLogEntry.objects.count()
    note_read(Access(user=learner), note.code)
    [entry] = new_entries(before)
    assert (entry.actor, entry.action, entry.outcome) == (learner, "read", "allowed")


@pytest.mark.parametrize(
    "who", ["learner", "other_mentor", "assessor", "program_admin", "dean", "superuser"]
)
def test_every_refused_read_writes_exactly_one_refused_row_without_content(note, cast, who):
    person = cast[who]
    before = AccessLogEntry.objects.count()
    with pytest.raises(NoteNotFound) as caught:
        note_read(Access(user=person, address="198.51.100.4"), note.code)
    assert BODY not in str(caught.value)
    [entry] = new_entries(before)
    assert entry.actor == person
    assert (entry.action, entry.outcome, entry.reason) == ("read", "refused", "not the author")
    assert entry.object_code == note.code
    assert entry.source_address == "198.51.100.4"
    assert_no_content_in_the_log(BODY)


def test_a_refused_read_of_a_note_that_does_not_exist_is_logged_with_its_code(mentor, db):
    code = uuid.uuid4()
    with pytest.raises(NoteNotFound):
        note_read(Access(user=mentor), code)
    [entry] = entries()
    assert (entry.action, entry.outcome, entry.reason) == ("read", "refused", "no such note")
    assert entry.object_code == code
    assert entry.relationship_code is None


def test_a_refused_read_of_a_malformed_code_is_logged_without_one(mentor, db):
    with pytest.raises(NoteNotFound):
        note_read(Access(user=mentor), "not-a-uuid")
    [entry] = entries()
    assert (entry.outcome, entry.reason, entry.object_code) == ("refused", "no such note", None)


def test_an_anonymous_refusal_is_logged_with_no_actor(note):
    with pytest.raises(NoteNotFound):
        note_read(Access(user=AnonymousUser(), address="203.0.113.9"), note.code)
    entry = AccessLogEntry.objects.get(outcome="refused")
    assert entry.actor is None
    assert entry.source_address == "203.0.113.9"


def test_create_edit_share_export_and_delete_each_write_one_row(relationship, mentor):
    access = Access(user=mentor, address="10.1.1.1")
    note = note_create(access, relationship=relationship, body=BODY)
    note_edit(access, note.code, body=BODY + " (edited)")
    note_share(access, note.code)
    exported = notes_export(access)
    note_delete(access, note.code)

    assert [e.action for e in entries()] == ["create", "edit", "share", "export", "delete"]
    for entry in entries():
        assert (entry.actor, entry.outcome, entry.object_code) == (mentor, "allowed", note.code)
        assert entry.relationship_code == relationship.code
        assert entry.source_address == "10.1.1.1"
    assert [n.code for n in exported] == [note.code]
    assert not ConfidentialNote.objects.filter(code=note.code).exists()
    # The entries outlive the note they record (no foreign key to it).
    assert AccessLogEntry.objects.filter(object_code=note.code).count() == 5
    assert_no_content_in_the_log(BODY, "(edited)")


def test_an_export_writes_one_row_per_note(relationship, mentor):
    access = Access(user=mentor)
    codes = {
        note_create(access, relationship=relationship, body=f"note {n} body").code for n in range(3)
    }
    before = AccessLogEntry.objects.count()
    notes_export(access)
    exported = new_entries(before)
    assert {e.object_code for e in exported} == codes
    assert {(e.action, e.outcome) for e in exported} == {("export", "allowed")}


@pytest.mark.parametrize("operation", ["edit", "share", "delete"])
def test_refused_changes_are_logged_as_refused(note, other_mentor, operation):
    access = Access(user=other_mentor)
    before = AccessLogEntry.objects.count()
    with pytest.raises(NoteNotFound):
        if operation == "edit":
            note_edit(access, note.code, body="overwritten by someone else")
        elif operation == "share":
            note_share(access, note.code)
        else:
            note_delete(access, note.code)
    [entry] = new_entries(before)
    assert (entry.actor, entry.action, entry.outcome) == (other_mentor, operation, "refused")
    assert entry.reason == "not the author"
    assert ConfidentialNote.objects.get(code=note.code).body == BODY


def test_a_refused_create_is_logged_against_the_relationship(relationship, other_mentor):
    with pytest.raises(NoteNotFound):
        note_create(Access(user=other_mentor), relationship=relationship, body=BODY)
    [entry] = entries()
    assert (entry.action, entry.outcome) == ("create", "refused")
    assert entry.relationship_code == relationship.code
    assert entry.object_code is None
    assert not ConfidentialNote.objects.exists()


def test_a_refused_change_after_the_end_is_logged_with_its_reason(note, mentor, relationship):
    relationship_end(relationship=relationship, reason="completed")
    before = AccessLogEntry.objects.count()
    with pytest.raises(NoteReadOnly):
        note_edit(Access(user=mentor), note.code, body="too late to change")
    [entry] = new_entries(before)
    assert (entry.action, entry.outcome) == ("edit", "refused")
    assert entry.reason == "the relationship has ended: read-only"


def test_an_invalid_body_is_refused_before_anything_is_written(note, mentor):
    before = AccessLogEntry.objects.count()
    with pytest.raises(ValidationError):
        note_edit(Access(user=mentor), note.code, body="   ")
    assert AccessLogEntry.objects.count() == before
    assert ConfidentialNote.objects.get(code=note.code).body == BODY


# --- Erasure after retention -------------------------------------------------------------------


def test_erasure_after_retention_writes_erase_rows_with_no_actor(program, mentor, learner):
    program.note_retention_days = 30
    program.save(update_fields=["note_retention_days"])
    relationship = relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=timezone.localdate() - datetime.timedelta(days=200),
    )
    notes = [
        note_create(Access(user=mentor), relationship=relationship, body=f"{BODY} {n}")
        for n in range(2)
    ]
    last_day = timezone.localdate() - datetime.timedelta(days=100)
    relationship_end(relationship=relationship, reason="completed", ends_on=last_day)

    # On the last day of retention nothing goes.
    assert notes_erase_expired(today=last_day + datetime.timedelta(days=30)) == 0
    assert ConfidentialNote.objects.count() == 2
    before = AccessLogEntry.objects.count()

    assert notes_erase_expired(today=last_day + datetime.timedelta(days=31)) == 2
    assert not ConfidentialNote.objects.exists()
    erased = new_entries(before)
    assert {e.object_code for e in erased} == {n.code for n in notes}
    for entry in erased:
        assert (entry.action, entry.outcome, entry.actor) == ("erase", "allowed", None)
        assert entry.relationship_code == relationship.code
        assert entry.reason == "retention period over"
    # A second run finds nothing and logs nothing.
    assert notes_erase_expired(today=last_day + datetime.timedelta(days=31)) == 0
    assert AccessLogEntry.objects.count() == before + 2
    assert_no_content_in_the_log(BODY)


def test_erasure_leaves_current_relationships_alone(note):
    assert notes_erase_expired(today=timezone.localdate() + datetime.timedelta(days=5000)) == 0
    assert ConfidentialNote.objects.filter(code=note.code).exists()


def test_the_source_address_is_the_proxys_last_forwarded_entry_only_behind_the_proxy(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    settings.BEHIND_TLS_PROXY = False
    assert client_address(request) == "10.0.0.2"  # a client's header is not believed
    settings.BEHIND_TLS_PROXY = True
    assert client_address(request) == "203.0.113.7"  # appended by the proxy; 6.6.6.6 is forged
    garbage = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="nonsense")
    assert client_address(garbage) is None


def test_the_sign_in_rate_limits_key_on_the_same_address_as_the_access_log(settings):
    """allauth's throttles and the access log agree on who the client is: behind the trusted
    proxy, its last X-Forwarded-For entry; without it, the connection's address (a forged
    header neither locks everyone out nor lets one client pass as many)."""
    assert (1 if settings.BEHIND_TLS_PROXY else 0) == settings.ALLAUTH_TRUSTED_PROXY_COUNT
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    for behind, expected in ((False, "10.0.0.2"), (True, "203.0.113.7")):
        settings.BEHIND_TLS_PROXY = behind
        settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1 if behind else 0
        assert get_adapter(request).get_client_ip(request) == expected
        assert client_address(request) == expected
