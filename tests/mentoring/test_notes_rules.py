"""R4 on the service layer (`mentoring.notes`): a note is its author's alone.

The ladder for every operation: the author; the learner (only a shared note, and only to
read); and everyone else in the cast (another mentor of the program, an assessor of the
learner, the program's administrator, another program's administrator, the dean, an outsider,
the superuser), who never reads or changes one. After the relationship ends the author only
reads, until the program's retention period is over; then the note is not found.
"""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring.models import ConfidentialNote
from mentoring.models.confidential import NOTE_MAX_CHARS
from mentoring.notes import (
    Access,
    NoteNotFound,
    NoteReadOnly,
    note_create,
    note_delete,
    note_edit,
    note_list,
    note_read,
    note_share,
    notes_export,
    retention_ends_on,
)
from mentoring.services import (
    assessment_role_add,
    relationship_end,
    relationship_pause,
    relationship_start,
)
from tests.factories import UserFactory

BODY = "RULES-BODY worried about his burnout and the divorce"
NOBODY_ELSE = [
    "other_mentor",
    "assessor",
    "program_admin",
    "other_admin",
    "dean",
    "outsider",
    "superuser",
]
TODAY = timezone.localdate


@pytest.fixture
def world(cast, program):
    """The cast, with Kenji mentoring Lucia since 1000 days ago and Priya assessing her."""
    relationship = relationship_start(
        program=program,
        guide=cast["mentor"],
        learner=cast["learner"],
        started_on=TODAY() - datetime.timedelta(days=1000),
    )
    assessment_role_add(
        assessor=cast["assessor"],
        learner=cast["learner"],
        kind="assessor",
        context="Surgery clerkship",
        starts_on=TODAY() - datetime.timedelta(days=10),
    )
    note = note_create(Access(user=cast["mentor"]), relationship=relationship, body=BODY)
    return {**cast, "relationship": relationship, "note": note}


def as_(user) -> Access:
    return Access(user=user, address="127.0.0.1")


def body_of(note) -> str:
    return ConfidentialNote.objects.get(pk=note.pk).body


# --- Reading -----------------------------------------------------------------------------------


def test_the_author_reads_their_note(world):
    assert note_read(as_(world["mentor"]), world["note"].code).body == BODY


@pytest.mark.parametrize("who", ["learner", *NOBODY_ELSE])
def test_nobody_but_the_author_reads_an_unshared_note(world, who):
    with pytest.raises(NoteNotFound):
        note_read(as_(world[who]), world["note"].code)


def test_an_anonymous_visitor_reads_nothing(world):
    with pytest.raises(NoteNotFound):
        note_read(as_(AnonymousUser()), world["note"].code)


def test_a_refusal_looks_the_same_as_a_note_that_does_not_exist(world):
    with pytest.raises(NoteNotFound) as refused:
        note_read(as_(world["dean"]), world["note"].code)
    with pytest.raises(NoteNotFound) as missing:
        note_read(as_(world["dean"]), uuid.uuid4())
    assert str(refused.value) == str(missing.value)


def test_the_learner_reads_a_shared_note_and_nobody_else_gains_anything(world):
    note_share(as_(world["mentor"]), world["note"].code)
    assert note_read(as_(world["learner"]), world["note"].code).body == BODY
    assert note_read(as_(world["mentor"]), world["note"].code).body == BODY
    for who in NOBODY_ELSE:
        with pytest.raises(NoteNotFound):
            note_read(as_(world[who]), world["note"].code)


def test_sharing_one_note_does_not_share_the_others(world):
    other = note_create(
        as_(world["mentor"]), relationship=world["relationship"], body="still private"
    )
    note_share(as_(world["mentor"]), world["note"].code)
    with pytest.raises(NoteNotFound):
        note_read(as_(world["learner"]), other.code)


def test_a_shared_note_is_readable_only_by_the_learner_of_its_own_relationship(
    world, program, other_mentor
):
    """Another learner of the same mentor does not read the first learner's shared note."""
    second = UserFactory(full_name="Second Learner")
    membership_grant(user=second, role=Role.LEARNER, program=program)
    relationship_start(program=program, guide=world["mentor"], learner=second)
    note_share(as_(world["mentor"]), world["note"].code)
    with pytest.raises(NoteNotFound):
        note_read(as_(second), world["note"].code)


def test_a_guide_who_is_not_the_author_does_not_read_after_a_transfer(world, program):
    """A note stays its author's: the next guide of the same learner does not inherit it."""
    relationship_end(relationship=world["relationship"], reason="no_fault_rematch")
    relationship_start(program=program, guide=world["other_mentor"], learner=world["learner"])
    with pytest.raises(NoteNotFound):
        note_read(as_(world["other_mentor"]), world["note"].code)
    assert note_read(as_(world["mentor"]), world["note"].code).body == BODY


# --- Listing -----------------------------------------------------------------------------------


def test_the_list_shows_the_author_their_notes_and_the_learner_only_shared_ones(world):
    private = note_create(as_(world["mentor"]), relationship=world["relationship"], body="mine")
    note_share(as_(world["mentor"]), world["note"].code)
    relationship = world["relationship"]
    assert {n.code for n in note_list(world["mentor"], relationship)} == {
        world["note"].code,
        private.code,
    }
    assert [n.code for n in note_list(world["learner"], relationship)] == [world["note"].code]
    for who in NOBODY_ELSE:
        assert list(note_list(world[who], relationship)) == []
    assert list(note_list(AnonymousUser(), relationship)) == []


def test_the_list_does_not_load_the_body(world):
    notes = list(note_list(world["mentor"], world["relationship"]))
    assert "body" in notes[0].get_deferred_fields()


@pytest.mark.parametrize("who", ["learner", *NOBODY_ELSE])
def test_the_readable_by_queryset_agrees_with_note_read(world, who):
    """Parity: the queryset and the decision give the same answer for every cast member."""
    note_share(as_(world["mentor"]), world["note"].code)
    person = world[who]
    listed = ConfidentialNote.objects.readable_by(person).filter(pk=world["note"].pk).exists()
    try:
        note_read(as_(person), world["note"].code)
        readable = True
    except NoteNotFound:
        readable = False
    assert listed == readable == (who == "learner")


# --- Writing -----------------------------------------------------------------------------------


def test_the_author_edits_shares_and_deletes_while_the_relationship_is_current(world):
    access = as_(world["mentor"])
    note_edit(access, world["note"].code, body="rewritten by the author")
    assert body_of(world["note"]) == "rewritten by the author"
    shared = note_share(access, world["note"].code)
    assert shared.is_shared
    note_delete(access, world["note"].code)
    assert not ConfidentialNote.objects.filter(pk=world["note"].pk).exists()


def test_a_paused_relationship_is_still_current_for_its_notes(world):
    relationship_pause(relationship=world["relationship"])
    note_edit(as_(world["mentor"]), world["note"].code, body="written while paused")
    assert body_of(world["note"]) == "written while paused"


@pytest.mark.parametrize("who", ["learner", *NOBODY_ELSE])
def test_nobody_else_changes_a_note(world, who):
    person = world[who]
    code = world["note"].code
    for attempt in (
        lambda: note_edit(as_(person), code, body="overwritten"),
        lambda: note_share(as_(person), code),
        lambda: note_delete(as_(person), code),
    ):
        with pytest.raises(NoteNotFound):
            attempt()
    note = ConfidentialNote.objects.get(pk=world["note"].pk)
    assert (note.body, note.shared_at) == (BODY, None)


def test_the_learner_of_a_shared_note_may_read_it_but_gets_403_changing_it(world):
    note_share(as_(world["mentor"]), world["note"].code)
    learner = world["learner"]
    for attempt in (
        lambda: note_edit(as_(learner), world["note"].code, body="the learner rewrites it"),
        lambda: note_delete(as_(learner), world["note"].code),
    ):
        with pytest.raises(NoteReadOnly):
            attempt()
    assert body_of(world["note"]) == BODY


def test_a_note_is_shared_once(world):
    note_share(as_(world["mentor"]), world["note"].code)
    with pytest.raises(NoteReadOnly, match="already shared"):
        note_share(as_(world["mentor"]), world["note"].code)


@pytest.mark.parametrize("who", ["learner", *NOBODY_ELSE])
def test_only_the_relationship_guide_writes_a_note_on_it(world, who):
    with pytest.raises(NoteNotFound):
        note_create(as_(world[who]), relationship=world["relationship"], body="not theirs to write")
    assert ConfidentialNote.objects.count() == 1


@pytest.mark.parametrize("body", ["", "   ", "x" * (NOTE_MAX_CHARS + 1)])
def test_an_empty_or_too_long_body_is_refused_with_a_message(world, body):
    with pytest.raises(ValidationError) as caught:
        note_create(as_(world["mentor"]), relationship=world["relationship"], body=body)
    assert "body" in caught.value.message_dict
    assert "x" * 50 not in str(caught.value)
    assert ConfidentialNote.objects.count() == 1


def test_a_body_of_exactly_the_limit_is_accepted(world):
    note = note_create(
        as_(world["mentor"]), relationship=world["relationship"], body="y" * NOTE_MAX_CHARS
    )
    assert len(body_of(note)) == NOTE_MAX_CHARS


# --- After the end, and after retention ---------------------------------------------------------


def end(world, *, days_ago: int):
    relationship_end(
        relationship=world["relationship"],
        reason="completed",
        ends_on=TODAY() - datetime.timedelta(days=days_ago),
    )
    world["relationship"].refresh_from_db()


def test_after_the_end_the_author_reads_but_changes_nothing(world):
    note_share(as_(world["mentor"]), world["note"].code)
    private = ConfidentialNote.objects.create(
        relationship=world["relationship"], author=world["mentor"], body="private, kept"
    )
    end(world, days_ago=1)
    mentor = as_(world["mentor"])
    assert note_read(mentor, world["note"].code).body == BODY
    assert note_read(mentor, private.code).body == "private, kept"
    assert note_read(as_(world["learner"]), world["note"].code).body == BODY
    with pytest.raises(NoteReadOnly, match="read-only"):
        note_edit(mentor, private.code, body="changed after the end")
    with pytest.raises(NoteReadOnly, match="read-only"):
        note_share(mentor, private.code)
    with pytest.raises(NoteReadOnly, match="read-only"):
        note_delete(mentor, private.code)
    with pytest.raises(NoteReadOnly, match="read-only"):
        note_create(mentor, relationship=world["relationship"], body="a new note after the end")
    assert body_of(private) == "private, kept"
    assert ConfidentialNote.objects.get(pk=private.pk).shared_at is None
    for who in NOBODY_ELSE:
        with pytest.raises(NoteNotFound):
            note_read(as_(world[who]), private.code)


def test_the_author_reads_until_the_last_day_of_retention(world, program):
    end(world, days_ago=program.note_retention_days)
    assert retention_ends_on(world["relationship"]) == TODAY()
    assert note_read(as_(world["mentor"]), world["note"].code).body == BODY
    assert [n.code for n in note_list(world["mentor"], world["relationship"])] == [
        world["note"].code
    ]
    assert [n.code for n in notes_export(as_(world["mentor"]))] == [world["note"].code]


def test_after_retention_the_note_is_not_found_even_for_its_author(world, program):
    note_share(as_(world["mentor"]), world["note"].code)
    end(world, days_ago=program.note_retention_days + 1)
    for who in ("mentor", "learner"):
        with pytest.raises(NoteNotFound):
            note_read(as_(world[who]), world["note"].code)
        assert list(note_list(world[who], world["relationship"])) == []
    assert notes_export(as_(world["mentor"])) == []


def test_retention_follows_the_program_setting(world, program):
    program.note_retention_days = 10
    program.save(update_fields=["note_retention_days"])
    end(world, days_ago=11)
    with pytest.raises(NoteNotFound):
        note_read(as_(world["mentor"]), world["note"].code)


# --- Export ------------------------------------------------------------------------------------


def test_the_export_holds_the_authors_notes_only(world, program):
    note_share(as_(world["mentor"]), world["note"].code)
    other_learner = UserFactory()
    membership_grant(user=other_learner, role=Role.LEARNER, program=program)
    theirs = relationship_start(program=program, guide=world["other_mentor"], learner=other_learner)
    note_create(as_(world["other_mentor"]), relationship=theirs, body="Funmi's own note")

    assert [n.body for n in notes_export(as_(world["mentor"]))] == [BODY]
    assert [n.body for n in notes_export(as_(world["other_mentor"]))] == ["Funmi's own note"]
    # Shared with her or not, a note is not the learner's to export: it is the author's.
    for who in ("learner", *NOBODY_ELSE[1:]):
        assert notes_export(as_(world[who])) == []
    assert notes_export(as_(AnonymousUser())) == []
