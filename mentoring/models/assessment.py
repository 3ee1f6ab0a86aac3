"""The conflict-of-interest registry: who assesses whom, and the conflicts it raises (R2)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class AssessmentRoleQuerySet(models.QuerySet):
    def in_force(self) -> AssessmentRoleQuerySet:
        """Roles that count for R2: accepted ones and those waiting in the conflict queue."""
        return self.exclude(status=AssessmentRole.Status.REJECTED)

    def overlapping(self, starts_on, ends_on) -> AssessmentRoleQuerySet:
        """Roles whose dates share at least one day with [starts_on, ends_on] (open if None)."""
        qs = self.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
        if ends_on is not None:
            qs = qs.filter(starts_on__lte=ends_on)
        return qs

    def administered_by(self, user) -> AssessmentRoleQuerySet:
        """Roles about learners in programs `user` administers (R9)."""
        from accounts.models import Membership, Role
        from mentoring.models.programs import Program

        if not user.is_authenticated:
            return self.none()
        learners = Membership.objects.filter(
            role=Role.LEARNER, program__in=Program.objects.administered_by(user)
        ).values("user")
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


class ConflictQuerySet(models.QuerySet):
    def open(self) -> ConflictQuerySet:
        """Conflicts waiting for an administrator."""
        return self.filter(status=Conflict.Status.OPEN)

    def administered_by(self, user) -> ConflictQuerySet:
        """Conflicts in programs `user` administers (R9)."""
        from mentoring.models.programs import Program

        if not user.is_authenticated:
            return self.none()
        return self.filter(program__in=Program.objects.administered_by(user))


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
