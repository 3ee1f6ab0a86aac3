"""Match runs and their proposals."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from mentoring.models.programs import ProgramScopedQuerySet


class MatchRunQuerySet(ProgramScopedQuerySet):
    """Runs take their administrators from their program (R9)."""


class ProposalQuerySet(ProgramScopedQuerySet):
    """Proposals take their administrators from their run's program (R9)."""

    program_path = "run__program"


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
        APPROVING = "approving", "Approving: creating the relationships"
        APPROVED = "approved", "Approved"
        SUPERSEDED = "superseded", "Replaced by a newer run"

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
    number = models.PositiveIntegerField(
        default=0, help_text="The run's number in its program: 1, 2, 3... (set when saved)."
    )
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The newer run of the same program and term that replaced this one.",
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
    touched_at = models.DateTimeField(
        default=timezone.now,
        help_text="When a worker last moved the run on, or the sweep last queued its work again.",
    )
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
                condition=Q(
                    status__in=[
                        "queued",
                        "running",
                        "done",
                        "failed",
                        "approving",
                        "approved",
                        "superseded",
                    ]
                ),
            ),
            models.UniqueConstraint(
                fields=["program", "number"],
                condition=Q(number__gt=0),
                name="match_run_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Match run {self.number} of {self.program}"

    def save(self, *args, **kwargs):
        if not self.number:
            # The next number in the program; match_run_create holds the program's row lock, so
            # two runs started at once are numbered one after the other.
            last = MatchRun.objects.filter(program_id=self.program_id).aggregate(
                n=models.Max("number")
            )["n"]
            self.number = (last or 0) + 1
        super().save(*args, **kwargs)


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

    objects = ProposalQuerySet.as_manager()

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


class Choice(models.Model):
    """One entry of a ranked list: a learner's choice of guide, or a guide's of learner.

    A list is rewritten whole (matching.preferences), so ranks stay 1..n without gaps."""

    class Side(models.TextChoices):
        LEARNER = "learner", "A learner's ranked guides"
        GUIDE = "guide", "A guide's preferred learners"

    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="match_choices"
    )
    side = models.CharField(max_length=10, choices=Side.choices)
    chooser = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="match_choices_made"
    )
    chosen = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rank = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "side", "chooser", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "side", "chooser", "chosen"], name="choice_once_per_person"
            ),
            models.UniqueConstraint(
                fields=["program", "side", "chooser", "rank"], name="choice_one_per_rank"
            ),
            models.CheckConstraint(name="choice_rank_positive", condition=Q(rank__gte=1)),
            models.CheckConstraint(
                name="choice_side_valid", condition=Q(side__in=["learner", "guide"])
            ),
            models.CheckConstraint(
                name="choice_not_self", condition=~Q(chosen=models.F("chooser"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chooser} ranks {self.chosen} #{self.rank}"


class TermOptOut(models.Model):
    """A guide takes no new learners in a term (a sabbatical, a heavy rotation)."""

    term = models.ForeignKey("mentoring.Term", on_delete=models.CASCADE, related_name="opt_outs")
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="term_opt_outs"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["term", "guide"], name="opt_out_once_per_term")
        ]

    def __str__(self) -> str:
        return f"{self.guide} opts out of {self.term}"


class MatchRequestQuerySet(models.QuerySet):
    def pending(self) -> MatchRequestQuerySet:
        return self.filter(state=MatchRequest.State.PENDING)


class MatchRequest(models.Model):
    """Self-match: a learner asks a suggested guide, who accepts or declines before it expires."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn by the learner"
        EXPIRED = "expired", "Expired without an answer"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="match_requests"
    )
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="match_requests_sent"
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="match_requests_received"
    )
    message = models.TextField(
        blank=True, max_length=1000, help_text="The learner's note to the guide."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(
        blank=True, max_length=1000, help_text="The guide's note with a decline (optional)."
    )
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = MatchRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["expires_at"],
                condition=Q(state="pending"),
                name="match_request_pending_expiry",
            ),
            models.Index(fields=["guide", "state"], name="match_request_guide_state"),
        ]
        constraints = [
            # One open question at a time: a learner cannot hold several guides' places.
            models.UniqueConstraint(
                fields=["program", "learner"],
                condition=Q(state="pending"),
                name="match_request_one_pending",
            ),
            models.CheckConstraint(
                name="match_request_not_self", condition=~Q(guide=models.F("learner"))
            ),
            models.CheckConstraint(
                name="match_request_state_valid",
                condition=Q(state__in=["pending", "accepted", "declined", "withdrawn", "expired"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.learner} asks {self.guide} ({self.get_state_display()})"
