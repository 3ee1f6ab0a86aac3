"""Encryption at rest (R4): every confidential column holds a Fernet token, never the text;
rotation to a new key keeps every row readable and re-encrypts it; text cannot be searched.

The raw columns are read with SQL through `connection.cursor()`, below the ORM field that
decrypts them, so a field that forgot to encrypt (or stored the text beside the token) fails.
"""

from __future__ import annotations

import datetime
import io

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from mentoring import crypto
from mentoring.crypto import TOKEN_PREFIX, UndecryptableText
from mentoring.models import ConfidentialNote, Goal, GoalProgress, MentoringAgreement
from mentoring.notes import Access, note_create
from mentoring.services import relationship_start
from sessions_log.models import ActionItem, Meeting, MeetingLog
from tests.conftest import give_mfa

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()

# Distinct, searchable text per column: a leak of one column is named by the failure.
TEXT = {
    "note": "NOTE-TEXT imposter syndrome after the anatomy exam",
    "reflection": "REFLECTION-TEXT I felt out of my depth on the ward",
    "action": "ACTION-TEXT email Dr Shah about the research elective",
    "agreement_goals": "AGREEMENT-GOALS pass Step 1 and start a case report",
    "agreement_boundaries": "AGREEMENT-BOUNDARIES no messages after 9 pm",
    "goal_title": "GOAL-TITLE submit the abstract by March",
    "goal_description": "GOAL-DESCRIPTION two drafts reviewed by the mentor",
    "progress": "PROGRESS-TEXT first draft done, stuck on the discussion",
}


def build_rows(relationship, mentor, learner) -> dict[str, tuple[type, int, str, str]]:
    """One row of every encrypted column; returns {name: (model, pk, field attname, text)}."""
    note = note_create(Access(user=mentor), relationship=relationship, body=TEXT["note"])
    start = timezone.now() - datetime.timedelta(days=2)
    meeting = Meeting.objects.create(
        relationship=relationship,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=1),
        status=Meeting.Status.COMPLETED,
    )
    log = MeetingLog.objects.create(
        meeting=meeting, logged_by=learner, reflection=TEXT["reflection"]
    )
    item = ActionItem.objects.create(meeting=meeting, text=TEXT["action"], created_by=learner)
    agreement = MentoringAgreement.objects.create(
        relationship=relationship,
        goals=TEXT["agreement_goals"],
        boundaries=TEXT["agreement_boundaries"],
        updated_by=learner,
    )
    goal = Goal.objects.create(
        relationship=relationship,
        title=TEXT["goal_title"],
        description=TEXT["goal_description"],
        domain=Goal.Domain.RESEARCH,
        created_by=learner,
    )
    progress = GoalProgress.objects.create(goal=goal, author=mentor, note=TEXT["progress"])
    return {
        "note": (ConfidentialNote, note.pk, "body", TEXT["note"]),
        "reflection": (MeetingLog, log.pk, "reflection", TEXT["reflection"]),
        "action": (ActionItem, item.pk, "text", TEXT["action"]),
        "agreement_goals": (MentoringAgreement, agreement.pk, "goals", TEXT["agreement_goals"]),
        "agreement_boundaries": (
            MentoringAgreement,
            agreement.pk,
            "boundaries",
            TEXT["agreement_boundaries"],
        ),
        "goal_title": (Goal, goal.pk, "title", TEXT["goal_title"]),
        "goal_description": (Goal, goal.pk, "description", TEXT["goal_description"]),
        "progress": (GoalProgress, progress.pk, "note", TEXT["progress"]),
    }


def raw(model, pk: int, attname: str) -> str:
    """The column as the database holds it (no field conversion)."""
    column = model._meta.get_field(attname).column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        return cursor.fetchone()[0]


def orm(model, pk: int, attname: str) -> str:
    return getattr(model.objects.get(pk=pk), attname)


@pytest.fixture
def relationship(program, mentor, learner):
    return relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def rows(relationship, mentor, learner):
    return build_rows(relationship, mentor, learner)


# --- Ciphertext at rest ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TEXT))
def test_the_raw_column_holds_a_fernet_token_and_the_orm_reads_the_text(rows, name):
    model, pk, attname, text = rows[name]
    stored = raw(model, pk, attname)
    assert stored.startswith(TOKEN_PREFIX), f"{name}: not a Fernet token"
    assert text not in stored
    # Nothing of the text is visible in the column, not even a distinctive word of it.
    assert text.split()[0] not in stored
    # It is a real token of the text under the configured key, not something else.
    assert crypto.fernet().decrypt(stored.encode()).decode() == text
    assert orm(model, pk, attname) == text


def test_every_encrypted_column_of_the_project_is_covered_here():
    """A new encrypted column (survey free text aside, tested with surveys) must be added to
    this file's table; otherwise its ciphertext-at-rest test silently does not exist."""
    covered = {
        (ConfidentialNote, "body"),
        (MeetingLog, "reflection"),
        (ActionItem, "text"),
        (MentoringAgreement, "goals"),
        (MentoringAgreement, "boundaries"),
        (Goal, "title"),
        (Goal, "description"),
        (GoalProgress, "note"),
    }
    found = {
        (model, name)
        for model, names in crypto.encrypted_fields()
        for name in names
        if model._meta.app_label != "surveys"
    }
    assert found == covered


def test_the_same_text_is_stored_as_a_different_token_each_time(relationship, mentor):
    first = note_create(Access(user=mentor), relationship=relationship, body="same words here")
    second = note_create(Access(user=mentor), relationship=relationship, body="same words here")
    assert raw(ConfidentialNote, first.pk, "body") != raw(ConfidentialNote, second.pk, "body")


def test_queryset_update_encrypts_too(rows):
    model, pk, attname, _ = rows["reflection"]
    model.objects.filter(pk=pk).update(**{attname: "UPDATED-TEXT written by update()"})
    stored = raw(model, pk, attname)
    assert stored.startswith(TOKEN_PREFIX)
    assert "UPDATED-TEXT" not in stored
    assert orm(model, pk, attname) == "UPDATED-TEXT written by update()"


def test_empty_text_stays_empty_and_is_not_a_token(relationship, learner):
    agreement = MentoringAgreement.objects.create(relationship=relationship, updated_by=learner)
    assert raw(MentoringAgreement, agreement.pk, "goals") == ""
    assert orm(MentoringAgreement, agreement.pk, "goals") == ""


def test_unicode_text_survives_the_round_trip(relationship, mentor):
    body = "Überlegungen: 患者との対話 — ça va 🙂"
    note = note_create(Access(user=mentor), relationship=relationship, body=body)
    assert "Überlegungen" not in raw(ConfidentialNote, note.pk, "body")
    assert orm(ConfidentialNote, note.pk, "body") == body


# --- Searching is refused ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, attname",
    [
        (ConfidentialNote, "body"),
        (MeetingLog, "reflection"),
        (ActionItem, "text"),
        (MentoringAgreement, "goals"),
        (Goal, "title"),
        (GoalProgress, "note"),
    ],
)
def test_an_exact_lookup_on_encrypted_text_is_refused(db, model, attname):
    with pytest.raises(TypeError, match="Encrypted text cannot be compared in SQL"):
        model.objects.filter(**{attname: "anything"})


@pytest.mark.parametrize("lookup", ["icontains", "startswith", "in", "gt", "iexact"])
def test_other_lookups_on_encrypted_text_do_not_exist(db, lookup):
    value = ["a"] if lookup == "in" else "a"
    with pytest.raises(FieldError):
        ConfidentialNote.objects.filter(**{f"body__{lookup}": value})


def test_empty_and_null_lookups_still_work(rows):
    assert not MentoringAgreement.objects.filter(goals="").exists()
    assert Goal.objects.filter(description="").count() == 0
    assert ConfidentialNote.objects.filter(body__isnull=False).count() == 1


def test_a_value_that_is_not_a_fernet_key_is_named(db):
    with (
        override_settings(CONFIDENTIAL_KEYS=["not-a-fernet-key"]),
        pytest.raises(ImproperlyConfigured, match="not a Fernet key"),
    ):
        crypto.encrypt("anything")


def test_an_undecryptable_value_is_refused_without_echoing_it(db):
    token = Fernet(KEY_A).encrypt(b"SECRET-WORDS of a key we do not hold").decode()
    with (
        override_settings(CONFIDENTIAL_KEYS=[KEY_B]),
        pytest.raises(UndecryptableText) as caught,
    ):
        crypto.decrypt(token)
    assert "SECRET-WORDS" not in str(caught.value)
    assert token not in str(caught.value)


# --- Rotation ----------------------------------------------------------------------------------


def read_everything(rows) -> dict[str, str]:
    return {name: orm(model, pk, attname) for name, (model, pk, attname, _) in rows.items()}


def raw_everything(rows) -> dict[str, str]:
    return {name: raw(model, pk, attname) for name, (model, pk, attname, _) in rows.items()}


def test_rotation_adds_a_key_re_encrypts_every_row_and_retires_the_old_key(
    relationship, mentor, learner
):
    with override_settings(CONFIDENTIAL_KEYS=[KEY_A]):
        rows = build_rows(relationship, mentor, learner)
        # The cast's authenticators were made under the development key: again under KEY_A.
        Authenticator.objects.filter(user=mentor).delete()
        secret = give_mfa(mentor)
        # More notes than a batch, so that rotation has to page through the table.
        extra = [
            note_create(Access(user=mentor), relationship=relationship, body=f"extra note {n}")
            for n in range(4)
        ]
        under_a = raw_everything(rows)
        note_updated_at = ConfidentialNote.objects.get(pk=rows["note"][1]).updated_at
    expected = {name: text for name, (_, _, _, text) in rows.items()}
    for name, token in under_a.items():
        assert Fernet(KEY_A).decrypt(token.encode()).decode() == expected[name]
        with pytest.raises(InvalidToken):
            Fernet(KEY_B).decrypt(token.encode())

    # A new key in front: old rows still read (MultiFernet tries every key).
    with override_settings(CONFIDENTIAL_KEYS=[KEY_B, KEY_A]):
        assert read_everything(rows) == expected
        call_command("rotate_confidential_keys", "--batch-size", "2", stdout=open_null())
        under_b = raw_everything(rows)
        assert read_everything(rows) == expected

    for name, token in under_b.items():
        assert token != under_a[name], f"{name} was not re-encrypted"
        assert Fernet(KEY_B).decrypt(token.encode()).decode() == expected[name]

    # The old key can go: everything reads under the new key alone.
    with override_settings(CONFIDENTIAL_KEYS=[KEY_B]):
        assert read_everything(rows) == expected
        totp = Authenticator.objects.get(user=mentor, type=Authenticator.Type.TOTP)
        assert Fernet(KEY_B).decrypt(totp.data["secret"].encode()).decode() == secret
        assert TOTP(totp).validate_code(pyotp.TOTP(secret).now())
        assert sorted(
            n.body for n in ConfidentialNote.objects.filter(pk__in=[e.pk for e in extra])
        ) == [f"extra note {n}" for n in range(4)]
        # Rotation rewrites the column only: no auto_now touched, no signal sent.
        assert ConfidentialNote.objects.get(pk=rows["note"][1]).updated_at == note_updated_at

    # And the old key alone opens nothing any more.
    with override_settings(CONFIDENTIAL_KEYS=[KEY_A]):
        for model, pk, attname, _ in rows.values():
            with pytest.raises(UndecryptableText):
                orm(model, pk, attname)


def test_rotation_reports_rows_per_model(relationship, mentor, learner):
    with override_settings(CONFIDENTIAL_KEYS=[KEY_A]):
        build_rows(relationship, mentor, learner)
    with override_settings(CONFIDENTIAL_KEYS=[KEY_B, KEY_A]):
        counts = crypto.rotate_all(batch_size=1)
    assert counts["mentoring.ConfidentialNote"] == 1
    assert counts["mentoring.MentoringAgreement"] == 1
    assert counts["sessions_log.MeetingLog"] == 1
    assert counts["sessions_log.ActionItem"] == 1
    assert counts["mentoring.Goal"] == 1
    assert counts["mentoring.GoalProgress"] == 1


def test_rotation_refuses_without_configured_keys(db):
    with (
        override_settings(CONFIDENTIAL_KEYS=[]),
        pytest.raises(CommandError, match="CONFIDENTIAL_KEYS is empty"),
    ):
        call_command("rotate_confidential_keys")


def test_rotation_refuses_when_the_old_key_was_dropped_too_early(relationship, mentor, learner):
    with override_settings(CONFIDENTIAL_KEYS=[KEY_A]):
        rows = build_rows(relationship, mentor, learner)
        before = raw_everything(rows)
    with (
        override_settings(CONFIDENTIAL_KEYS=[KEY_B]),
        pytest.raises(CommandError, match="Keep every old key"),
    ):
        call_command("rotate_confidential_keys", stdout=open_null())
    # Nothing was rewritten with garbage: every row still opens with the old key.
    with override_settings(CONFIDENTIAL_KEYS=[KEY_A]):
        assert raw_everything(rows) == before
        assert read_everything(rows) == {n: t for n, (_, _, _, t) in rows.items()}


def open_null():
    return io.StringIO()
