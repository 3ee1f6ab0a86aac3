"""Confidential notes (R4) and the append-only access log that records every touch of one.

SECURITY (R4): a note's body is its author's alone. It is encrypted in the application
(`mentoring.crypto.EncryptedTextField`), read only through `mentoring.notes`, which writes an
`AccessLogEntry` for every read, write, share, export and deletion, and for every refusal.
Nothing else selects `body`: no list page, email, log line, admin page or export other than
the author's own. `__str__` never includes it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mentoring.crypto import EncryptedTextField

NOTE_MAX_CHARS = 10_000


class ConfidentialNoteQuerySet(models.QuerySet):
    def authored_by(self, user) -> ConfidentialNoteQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(author=user)

    def shared_with(self, user) -> ConfidentialNoteQuerySet:
        """Notes their author shared with `user` as the relationship's learner."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(shared_at__isnull=False, relationship__learner=user)

    def readable_by(self, user) -> ConfidentialNoteQuerySet:
        """R4: the author's own notes, and notes shared with the learner. Nothing else, for
        anyone: administrators, deans, assessors and superusers get no row from here."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(author=user) | Q(shared_at__isnull=False, relationship__learner=user))


class ConfidentialNote(models.Model):
    """A guide's private note about a relationship."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="confidential_notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="confidential_notes"
    )
    # SECURITY (R4): CONFIDENTIAL, encrypted at rest; read through mentoring.notes only.
    body = EncryptedTextField()
    shared_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the author shared it with the learner; a shared note is no longer "
        "confidential.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConfidentialNoteQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["relationship", "author"], name="note_relationship_author")]

    def __str__(self) -> str:
        return f"Note {self.code}"

    @property
    def is_shared(self) -> bool:
        return self.shared_at is not None


class AccessLogEntry(models.Model):
    """One touch of a confidential object (or an operator's change to an account): who,
    which, what, outcome, when, from where.

    Never the content. The table is append-only: a database trigger refuses UPDATE and DELETE
    (migration 0006), and no code path edits a row. The privacy officer (permission
    `mentoring.view_accesslogentry`) views and exports it; nobody can change it.
    """

    class Action(models.TextChoices):
        READ = "read", "Read"
        CREATE = "create", "Create"
        EDIT = "edit", "Edit"
        SHARE = "share", "Share with the learner"
        EXPORT = "export", "Export"
        DELETE = "delete", "Delete"
        ERASE = "erase", "Erase (retention over, or the author erased)"
        # An operator's change to a person's account in the Django admin (object_kind
        # "account"): who, whose account, and which fields or action, never the values.
        OPERATOR = "operator", "Account changed by an operator"

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Allowed"
        REFUSED = "refused", "Refused"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # PROTECT: people are anonymised, never deleted, so the log keeps who did what.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (retention erasure).",
    )
    object_kind = models.CharField(max_length=30, default="note")
    # No foreign key: the entry outlives the object it records.
    object_code = models.UUIDField(null=True, blank=True, db_index=True)
    relationship_code = models.UUIDField(null=True, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.CharField(
        max_length=200, blank=True, help_text="Why it was refused; never content."
    )
    source_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        permissions = [("export_accesslogentry", "Can export the access log")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.object_kind} {self.outcome}"
