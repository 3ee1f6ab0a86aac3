"""Confidential notes (R4): the only code that reads or changes a note's body.

Who may do what:
- the author (the relationship's guide when they wrote it) reads, edits, shares and deletes
  their own notes while the relationship is current, and only reads them after it ends, until
  `Program.note_retention_days` after its last day; then `notes_erase_expired` erases them;
- the learner reads a note its author shared with them, and nothing else;
- nobody else, whatever their role (administrator, dean, assessor, operator or superuser),
  reads one: they get "not found", like for a note that does not exist (R8).

Every read, write, share, export and deletion, and every refusal, writes one `AccessLogEntry`
(who, which note, action, outcome, when, from where; never the content). An allowed change is
logged in the same transaction as the change; a refusal is logged in its own, and then raised:
`NoteNotFound` (404) or `NoteReadOnly` (403, for a person who may read the note but not do
this). SECURITY: no message, log line or exception built here contains a body.
"""

from __future__ import annotations

import datetime
import ipaddress
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from mentoring.models import AccessLogEntry, ConfidentialNote, Relationship
from mentoring.models.confidential import NOTE_MAX_CHARS
from mentoring.models.relationships import CURRENT_STATUSES

Action = AccessLogEntry.Action
Outcome = AccessLogEntry.Outcome


class NoteNotFound(Http404):
    """No such note for this person (R8: the same answer whether it exists or not)."""


class NoteReadOnly(PermissionDenied):
    """The person may read the note but not do this to it."""


@dataclass(frozen=True)
class Access:
    """Who is asking, and from where (the request's address; None outside a request)."""

    user: object
    address: str | None = None

    @classmethod
    def of(cls, request) -> Access:
        return cls(user=request.user, address=client_address(request))


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind the trusted proxy (settings.
    BEHIND_TLS_PROXY) the last X-Forwarded-For entry, which that proxy appended (earlier ones
    come from the client and prove nothing). None when it is not an IP address."""

    address = request.META.get("REMOTE_ADDR") or ""
    if getattr(settings, "BEHIND_TLS_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            address = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def access_record(
    access: Access,
    *,
    action: str,
    outcome: str,
    note: ConfidentialNote | None = None,
    object_code: uuid.UUID | None = None,
    relationship_code: uuid.UUID | None = None,
    reason: str = "",
    object_kind: str = "note",
) -> AccessLogEntry:
    """Append one entry to the access log (the only writer of AccessLogEntry)."""
    user = access.user if getattr(access.user, "is_authenticated", False) else None
    if note is not None:
        object_code = note.code
        relationship_code = note.relationship.code
    return AccessLogEntry.objects.create(
        actor=user,
        object_kind=object_kind,
        object_code=object_code,
        relationship_code=relationship_code,
        action=action,
        outcome=outcome,
        reason=reason[:200],
        source_address=access.address,
    )


# --- The decision --------------------------------------------------------------------------
def retention_ends_on(relationship: Relationship) -> datetime.date | None:
    """The last day an ended relationship's notes are kept; None while it is current."""
    if relationship.status in CURRENT_STATUSES or relationship.status == "proposed":
        return None
    last_day = relationship.ends_on or timezone.localdate()
    return last_day + datetime.timedelta(days=relationship.program.note_retention_days)


def is_expired(note: ConfidentialNote, today: datetime.date | None = None) -> bool:
    ends = retention_ends_on(note.relationship)
    return ends is not None and (today or timezone.localdate()) > ends


def is_read_only(note: ConfidentialNote) -> bool:
    """The relationship is no longer current: the author keeps reading, nothing changes."""
    return note.relationship.status not in CURRENT_STATUSES


def _refusal(note: ConfidentialNote | None, user, action: str) -> tuple[type, str] | None:
    """None when `user` may do `action` to `note`; else the exception and the logged reason."""
    if note is None:
        return NoteNotFound, "no such note"
    if is_expired(note):
        return NoteNotFound, "retention period over"
    is_author = user.is_authenticated and note.author_id == user.pk
    is_reader = is_author or (
        note.is_shared and user.is_authenticated and note.relationship.learner_id == user.pk
    )
    if not is_reader:
        return NoteNotFound, "not the author"
    if action == Action.READ:
        return None
    if not is_author:
        return NoteReadOnly, "shared with the learner: only the author changes it"
    if is_read_only(note):
        return NoteReadOnly, "the relationship has ended: read-only"
    if action == Action.SHARE and note.is_shared:
        return NoteReadOnly, "already shared"
    return None


def _fetch(code, *, lock: bool = False) -> ConfidentialNote | None:
    code = _as_uuid(code)
    if code is None:  # a malformed code is "no such note", not a ValidationError (a 500)
        return None
    qs = ConfidentialNote.objects.select_related("relationship__program")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(code=code).first()


def _refuse(access: Access, code, note, action: str, refusal: tuple[type, str]):
    """Log the refusal in its own transaction, then raise it."""
    exc_class, reason = refusal
    access_record(
        access,
        action=action,
        outcome=Outcome.REFUSED,
        note=note,
        object_code=None if note else _as_uuid(code),
        reason=reason,
    )
    if exc_class is NoteReadOnly:
        raise NoteReadOnly(reason)
    raise NoteNotFound("No such note.")


def _as_uuid(code) -> uuid.UUID | None:
    try:
        return code if isinstance(code, uuid.UUID) else uuid.UUID(str(code))
    except ValueError:
        return None


# SECURITY: Django's error report (the operator's email, DEBUG pages) prints every frame's
# local variables. sensitive_variables() hides all of them in the functions that hold a body
# and in every frame they call (the model's save, the field, the cipher), whatever the name.
@sensitive_variables()
def _validate_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something, or leave without saving."})
    if len(body) > NOTE_MAX_CHARS:
        raise ValidationError(
            {"body": f"A note is at most {NOTE_MAX_CHARS:,} characters ({len(body):,} now)."}
        )
    if "\x00" in body:
        raise ValidationError(
            {
                "body": "The note holds an invisible NUL character, which cannot be saved: remove "
                "it (it often comes with text pasted from another program)."
            }
        )
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            {"body": "The note holds a broken character that cannot be saved: remove it."}
        ) from None
    return body


# --- Reads ---------------------------------------------------------------------------------
def note_read(access: Access, code) -> ConfidentialNote:
    """The note, body decrypted, for its author or (once shared) its learner; logged."""
    note = _fetch(code)
    refusal = _refusal(note, access.user, Action.READ)
    if refusal:
        _refuse(access, code, note, Action.READ, refusal)
    access_record(access, action=Action.READ, outcome=Outcome.ALLOWED, note=note)
    return note


def note_list(user, relationship: Relationship):
    """Metadata of the notes `user` may open on `relationship` (no body: listing is not
    reading). The author sees their own; the learner sees those shared with them."""
    qs = ConfidentialNote.objects.readable_by(user).filter(relationship=relationship)
    today = timezone.localdate()
    ends = retention_ends_on(relationship)
    if ends is not None and today > ends:
        return ConfidentialNote.objects.none()
    return qs.defer("body").order_by("-created_at")


def may_write_on(user, relationship: Relationship) -> bool:
    """The relationship's guide, while it is current, writes notes on it."""
    return (
        user.is_authenticated
        and relationship.guide_id == user.pk
        and relationship.status in CURRENT_STATUSES
    )


# --- Writes --------------------------------------------------------------------------------
@sensitive_variables()
def note_create(access: Access, *, relationship: Relationship, body: str) -> ConfidentialNote:
    if not may_write_on(access.user, relationship):
        reason = (
            "the relationship has ended: read-only"
            if relationship.guide_id == getattr(access.user, "pk", None)
            else "not the relationship's guide"
        )
        access_record(
            access,
            action=Action.CREATE,
            outcome=Outcome.REFUSED,
            relationship_code=relationship.code,
            reason=reason,
        )
        if relationship.guide_id == getattr(access.user, "pk", None):
            raise NoteReadOnly(reason)
        raise NoteNotFound("No such relationship.")
    body = _validate_body(body)
    with transaction.atomic():
        note = ConfidentialNote.objects.create(
            relationship=relationship, author=access.user, body=body
        )
        access_record(access, action=Action.CREATE, outcome=Outcome.ALLOWED, note=note)
    return note


def _change(access: Access, code, action: str, apply) -> ConfidentialNote | None:
    """Lock, decide, apply and log in one transaction; log and raise a refusal outside it."""
    with transaction.atomic():
        note = _fetch(code, lock=True)
        refusal = _refusal(note, access.user, action)
        if refusal is None:
            result = apply(note)
            access_record(access, action=action, outcome=Outcome.ALLOWED, note=note)
            return result
    _refuse(access, code, note, action, refusal)
    return None  # unreachable: _refuse raises


@sensitive_variables()
def note_edit(access: Access, code, *, body: str) -> ConfidentialNote:
    """Replace the body. The decision comes before the text is checked, so a person who may
    not edit the note gets NoteNotFound/NoteReadOnly (logged) whatever they typed, never a
    form error that would answer for a note that is not theirs (R8)."""

    def apply(note):
        note.body = _validate_body(body)
        note.save(update_fields=["body", "updated_at"])
        return note

    return _change(access, code, Action.EDIT, apply)


def note_share(access: Access, code) -> ConfidentialNote:
    """Share one note with the learner: both see it from now on; it is no longer confidential
    and cannot be made confidential again (the learner may already have read it)."""

    def apply(note):
        note.shared_at = timezone.now()
        note.save(update_fields=["shared_at", "updated_at"])
        return note

    return _change(access, code, Action.SHARE, apply)


def note_delete(access: Access, code) -> None:
    def apply(note):
        note.delete()

    _change(access, code, Action.DELETE, apply)


def notes_export(access: Access) -> list[ConfidentialNote]:
    """The author's own readable notes, bodies decrypted, for their own download; one EXPORT
    entry per note."""
    user = access.user
    if not getattr(user, "is_authenticated", False):
        return []
    notes = [
        note
        for note in ConfidentialNote.objects.authored_by(user)
        .select_related("relationship__program", "relationship__learner")
        .order_by("created_at")
        if not is_expired(note)
    ]
    with transaction.atomic():
        for note in notes:
            access_record(access, action=Action.EXPORT, outcome=Outcome.ALLOWED, note=note)
    return notes


def _erase(access: Access, notes, reason: str) -> int:
    """Delete each note in its own transaction with one ERASE entry (actor: `access.user`,
    None for the system); returns how many were erased (a note already gone is skipped)."""
    erased = 0
    for note in notes:
        with transaction.atomic():
            deleted, _ = ConfidentialNote.objects.filter(pk=note.pk).delete()
            if deleted:
                access_record(
                    access, action=Action.ERASE, outcome=Outcome.ALLOWED, note=note, reason=reason
                )
                erased += 1
    return erased


def notes_erase_expired(*, today: datetime.date | None = None) -> int:
    """Erase the notes of relationships whose retention period is over (the periodic task).

    Each erasure is logged with no actor (the system). Returns how many notes were erased."""
    today = today or timezone.localdate()
    candidates = (
        ConfidentialNote.objects.exclude(relationship__status__in=[*CURRENT_STATUSES, "proposed"])
        .select_related("relationship__program")
        .defer("body")
    )
    expired = (note for note in candidates.iterator(chunk_size=500) if is_expired(note, today))
    return _erase(Access(user=None), expired, "retention period over")


def notes_erase_of_author(access: Access, *, author) -> int:
    """Erase every note `author` wrote (their erasure: privacy.erase_person).

    One ERASE entry per note, with `access.user` (the person performing the erasure, or None
    for the system) as actor. Returns how many notes were erased; a rerun erases nothing."""
    notes = (
        ConfidentialNote.objects.filter(author=author)
        .select_related("relationship")
        .defer("body")
        .order_by("pk")
    )
    return _erase(access, notes, "the author's personal data was erased")
