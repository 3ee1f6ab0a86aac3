"""Relationships between a guide and a learner, and learners' requests for a rematch."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from mentoring.models.dated import DatedQuerySet
from mentoring.models.programs import (  # noqa: F401 (the nouns are read from here too)
    GUIDE_NOUN,
    GUIDE_PLURAL,
    LEARNER_NOUN,
    ProgramScopedQuerySet,
)

# A relationship that occupies the guide's capacity and the learner's one place per kind (R3).
CURRENT_STATUSES = ("active", "paused")


class RelationshipQuerySet(ProgramScopedQuerySet, DatedQuerySet):
    start_field = "started_on"

    def current(self) -> RelationshipQuerySet:
        """Active or paused relationships (they hold capacity, R3)."""
        return self.filter(status__in=CURRENT_STATUSES)

    def active(self) -> RelationshipQuerySet:
        """Relationships whose status is active."""
        return self.filter(status=Relationship.Status.ACTIVE)

    def for_participant(self, user) -> RelationshipQuerySet:
        """Relationships in which `user` is the guide or the learner."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(guide=user) | Q(learner=user))

    def visible_to(self, user) -> RelationshipQuerySet:
        """Relationships `user` may open: their own, and those of programs they administer."""
        if not user.is_authenticated:
            return self.none()
        return self.for_participant(user) | self.administered_by(user)


class Relationship(models.Model):
    """One guide and one learner in one program."""

    class Kind(models.TextChoices):
        MENTORING = "mentoring", "Mentoring"
        COACHING = "coaching", "Coaching"
        ADVISING = "advising", "Advising"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    class Origin(models.TextChoices):
        MATCHED = "matched", "Matched by the program"
        ASSIGNED = "assigned", "Assigned by an administrator"
        SELF_INITIATED = "self_initiated", "Self-initiated (informal)"
        SELF_MATCHED = "self_matched", "Chosen by the learner from the program's suggestions"

    class EndReason(models.TextChoices):
        COMPLETED = "completed", "Completed"
        NO_FAULT_REMATCH = "no_fault_rematch", "No-fault rematch"
        CONFLICT = "conflict", "Conflict of interest (role separation)"
        LEFT = "left", "A participant left the program"
        DECLINED = "declined", "Declined by the guide"
        OTHER = "other", "Other"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.PROTECT, related_name="relationships"
    )
    term = models.ForeignKey(
        "mentoring.Term",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="relationships",
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guiding"
    )
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="guided_by"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.ASSIGNED)
    started_on = models.DateField()
    ends_on = models.DateField(
        null=True, blank=True, help_text="Planned or actual last day; empty while open-ended."
    )
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = RelationshipQuerySet.as_manager()

    class Meta:
        ordering = ["-started_on", "-created_at"]
        constraints = [
            # R1: a guide is never their own learner.
            models.CheckConstraint(
                name="relationship_not_self", condition=~Q(guide=models.F("learner"))
            ),
            # R3: at most one active (or paused) relationship of each kind per program.
            models.UniqueConstraint(
                fields=["program", "learner", "kind"],
                condition=Q(status__in=CURRENT_STATUSES),
                name="relationship_one_current_per_kind",
                violation_error_message=(
                    "R3: this learner already has a current relationship of this kind in this "
                    "program."
                ),
            ),
            models.CheckConstraint(
                name="relationship_dates_ordered",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("started_on")),
            ),
            models.CheckConstraint(
                name="relationship_ended_has_end",
                condition=~Q(status="ended") | (Q(ends_on__isnull=False) & ~Q(end_reason="")),
            ),
            models.CheckConstraint(
                name="relationship_kind_valid",
                condition=Q(kind__in=["mentoring", "coaching", "advising"]),
            ),
            models.CheckConstraint(
                name="relationship_status_valid",
                condition=Q(status__in=["proposed", "active", "paused", "ended"]),
            ),
        ]
        indexes = [
            models.Index(fields=["guide", "status"], name="relationship_guide_status"),
            models.Index(fields=["learner", "status"], name="relationship_learner_status"),
            models.Index(fields=["program", "status"], name="relationship_program_status"),
        ]

    def __str__(self) -> str:
        return f"{self.guide} and {self.learner} ({self.program})"

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_STATUSES

    @property
    def guide_noun(self) -> str:
        """ "mentor", "coach" or "advisor"."""
        return GUIDE_NOUN[self.kind]

    @property
    def learner_noun(self) -> str:
        """ "mentee", "coachee" or "advisee"."""
        return LEARNER_NOUN[self.kind]


class RematchRequestQuerySet(ProgramScopedQuerySet):
    program_path = "relationship__program"

    def open(self) -> RematchRequestQuerySet:
        """Requests an administrator has not answered yet."""
        return self.filter(status=RematchRequest.Status.OPEN)


class RematchRequest(models.Model):
    """A learner's request to end a relationship without fault and be paired again.

    The reason is for the administrator only; the guide sees that the relationship ended with
    a no-fault rematch, never why.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for the administrator"
        REMATCHED = "rematched", "Relationship ended for a rematch"
        WITHDRAWN = "withdrawn", "Withdrawn by the learner"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="rematch_requests"
    )
    reason = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = RematchRequestQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["relationship"],
                condition=Q(status="open"),
                name="rematch_one_open_per_relationship",
            ),
        ]

    def __str__(self) -> str:
        return f"Rematch request for {self.relationship}"
