"""Match runs and their proposals."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class MatchRunQuerySet(models.QuerySet):
    def administered_by(self, user) -> MatchRunQuerySet:
        """Runs of programs `user` administers (R9)."""
        from mentoring.models import Program

        if not user.is_authenticated:
            return self.none()
        return self.filter(program__in=Program.objects.administered_by(user))


class MatchRun(models.Model):
    """One run of the matcher over a program's unpaired learners and guides with room."""

    class Mode(models.TextChoices):
        OPTIMAL = "optimal", "Optimal (most learners matched, then the best total)"
        STABLE = "stable", "Stable (no learner and guide who both prefer each other)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready for review"
        FAILED = "failed", "Failed"
        APPROVED = "approved", "Approved"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="match_runs"
    )
    term = models.ForeignKey(
        "mentoring.Term", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    previous = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The run whose locks and rejections this one kept.",
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.OPTIMAL)
    weights = models.JSONField(default=dict, help_text="Criterion weights and must-haves used.")
    seed = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    learners = models.PositiveIntegerField(default=0)
    guides = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    total_score = models.IntegerField(default=0)
    blocking_pairs = models.PositiveIntegerField(default=0)
    certified_optimal = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    approval_report = models.JSONField(
        default=list, blank=True, help_text="Proposals refused at approval, with the rule."
    )

    objects = MatchRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="match_run_mode_valid", condition=Q(mode__in=["optimal", "stable"])
            ),
            models.CheckConstraint(
                name="match_run_status_valid",
                condition=Q(status__in=["queued", "running", "done", "failed", "approved"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Match run of {self.program} at {self.created_at:%Y-%m-%d %H:%M}"


class Proposal(models.Model):
    """A pair the matcher proposes (or a learner it could not match: guide empty)."""

    class State(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        LOCKED = "locked", "Locked"
        REJECTED = "rejected", "Rejected"
        APPROVED = "approved", "Approved"
        REFUSED = "refused", "Refused at approval"
        UNMATCHED = "unmatched", "Not matched"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    run = models.ForeignKey(MatchRun, on_delete=models.CASCADE, related_name="proposals")
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    score = models.IntegerField(default=0)
    breakdown = models.JSONField(default=dict)
    explanation = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED)
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["run", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["run", "learner"], name="proposal_one_per_learner"),
            models.CheckConstraint(
                name="proposal_guide_unless_unmatched",
                condition=Q(state="unmatched", guide__isnull=True)
                | (~Q(state="unmatched") & Q(guide__isnull=False)),
            ),
            models.CheckConstraint(
                name="proposal_not_self", condition=~Q(guide=models.F("learner"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} with {self.guide or 'nobody'} ({self.get_state_display()})"
