"""The conflict-of-interest registry: who assesses whom, and the conflicts it raises (R2)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Membership, Role
from mentoring.models.dated import DatedQuerySet
from mentoring.models.programs import ProgramScopedQuerySet


class AssessmentRoleQuerySet(ProgramScopedQuerySet, DatedQuerySet):
    """An assessment role has no program of its own: it belongs to the programs its learner
    is (or was) a learner in, and their administrators see it (R9)."""

    def in_force(self) -> AssessmentRoleQuerySet:
        """Roles that count for R2: accepted ones and those waiting in the conflict queue."""
        return self.exclude(status=AssessmentRole.Status.REJECTED)

    def in_programs(self, programs) -> AssessmentRoleQuerySet:
        """Roles about learners of the programs in `programs`."""
        learners = Membership.objects.filter(role=Role.LEARNER, program__in=programs).values("user")
        return self.filter(learner__in=learners)


class AssessmentRole(models.Model):
    """Person `assessor` assesses, supervises, line-manages or directs the program of
    `learner`, in a context (clerkship, course, rotation), over dates (inclusive)."""

    class Kind(models.TextChoices):
        ASSESSOR = "assessor", "Assessor"
        SUPERVISOR = "supervisor", "Educational supervisor"
        LINE_MANAGER = "line_manager", "Line manager"
        PROGRAM_DIRECTOR = "program_director", "Program director"

    class Status(models.TextChoices):
        ACTIVE = "active", "In force"
        PENDING = "pending", "Waiting in the conflict queue"
        REJECTED = "rejected", "Rejected by an administrator"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assessor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessing"
    )
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assessed_by"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    context = models.CharField(max_length=200, help_text="e.g. Surgery clerkship, Block 3")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = AssessmentRoleQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                name="assessment_not_self", condition=~Q(assessor=models.F("learner"))
            ),
            models.CheckConstraint(
                name="assessment_dates_ordered",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
            ),
            models.CheckConstraint(
                name="assessment_kind_valid",
                condition=Q(
                    kind__in=["assessor", "supervisor", "line_manager", "program_director"]
                ),
            ),
        ]
        indexes = [
            models.Index(fields=["assessor", "learner"], name="assessment_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.assessor} is {self.get_kind_display().lower()} of {self.learner}"

    def describe(self) -> str:
        """The record in an administrator's words, for refusals and the conflict queue."""
        until = self.ends_on.isoformat() if self.ends_on else "no end date"
        return (
            f"{self.assessor} is {self.learner}'s {self.get_kind_display().lower()} "
            f"({self.context}, {self.starts_on.isoformat()} to {until})"
        )


class ConflictQuerySet(ProgramScopedQuerySet):
    def open(self) -> ConflictQuerySet:
        """Conflicts waiting for an administrator."""
        return self.filter(status=Conflict.Status.OPEN)


class Conflict(models.Model):
    """An R2 collision between a relationship and an assessment role, for an administrator.

    `pending_assessment`: a new assessment role collided with a current relationship and the
    program queues such roles; the role is held (status pending) until resolved.
    `flagged_overlap`: an advising program that flags, not blocks, let the pair continue.
    """

    class Kind(models.TextChoices):
        PENDING_ASSESSMENT = "pending_assessment", "New assessment role collides"
        FLAGGED_OVERLAP = "flagged_overlap", "Advisor also assesses (flagged)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    class Resolution(models.TextChoices):
        ENDED_RELATIONSHIP = "ended_relationship", "Relationship ended"
        TRANSFERRED = "transferred", "Learner transferred to another guide"
        REJECTED_ASSESSMENT = "rejected_assessment", "Assessment role rejected"
        ACKNOWLEDGED = "acknowledged", "Acknowledged (flagged overlap allowed)"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="conflicts"
    )
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="conflicts"
    )
    assessment_role = models.ForeignKey(
        AssessmentRole, on_delete=models.CASCADE, related_name="conflicts"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    raised_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = ConflictQuerySet.as_manager()

    class Meta:
        ordering = ["raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["relationship", "assessment_role"], name="conflict_unique_pair"
            ),
            models.CheckConstraint(
                name="conflict_resolved_has_resolution",
                condition=Q(status="open", resolution="")
                | (Q(status="resolved") & ~Q(resolution="")),
            ),
        ]
        indexes = [models.Index(fields=["program", "status"], name="conflict_program_status")]

    def __str__(self) -> str:
        return f"Conflict: {self.assessment_role} / {self.relationship}"
