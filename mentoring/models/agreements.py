"""The mentoring agreement and the learner's goals.

SECURITY: the free text here (the agreement's goals and boundaries, goal titles, descriptions
and progress notes) is for the two people in the relationship. It is encrypted at rest;
administrators see whether the agreement is done and how many goals there are, never the text.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from mentoring.crypto import EncryptedTextField


class MentoringAgreement(models.Model):
    """What the pair agreed at the start. Done when both have agreed to the current text; a
    change by one person clears the other's agreement, so both always agree to the same text."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Every week"
        FORTNIGHTLY = "fortnightly", "Every two weeks"
        MONTHLY = "monthly", "Every month"
        TERMLY = "termly", "Two or three times a term"
        AS_NEEDED = "as_needed", "When one of us asks"

    class Contact(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone call"
        MESSAGE = "message", "Text message"
        VIDEO = "video", "Video call"
        IN_PERSON = "in_person", "In person"

    relationship = models.OneToOneField(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="agreement"
    )
    goals = EncryptedTextField(blank=True, help_text="Goals for the term (the pair's).")
    meeting_frequency = models.CharField(max_length=12, choices=Frequency.choices, blank=True)
    preferred_contact = models.CharField(max_length=12, choices=Contact.choices, blank=True)
    boundaries = EncryptedTextField(blank=True, help_text="Boundaries (the pair's).")
    # Agreeing includes acknowledging confidentiality and its limits.
    learner_agreed_at = models.DateTimeField(null=True, blank=True)
    guide_agreed_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # "Agreements not done" (the administrators' list and the console's counts) is an
            # anti-join against the done ones: probed per relationship through this index,
            # rather than a hash of every agreement of the school.
            models.Index(
                fields=["relationship"],
                name="agreement_done",
                condition=models.Q(learner_agreed_at__isnull=False, guide_agreed_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"Agreement of relationship {self.relationship_id}"

    @property
    def is_done(self) -> bool:
        return self.learner_agreed_at is not None and self.guide_agreed_at is not None


class AgreementReminder(models.Model):
    """R11 claim row: the "please complete your agreement" email, once per person and
    relationship. Inserted before sending; `sent_at` is written in the sending transaction."""

    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="+"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["relationship", "recipient"], name="agreement_reminder_once"
            )
        ]

    def __str__(self) -> str:
        return f"Agreement reminder {self.pk}"


class Goal(models.Model):
    """A learner's goal in a relationship, set with the guide."""

    class Domain(models.TextChoices):
        ACADEMIC = "academic", "Academic"
        CAREER = "career", "Career"
        WELLBEING = "wellbeing", "Wellbeing"
        RESEARCH = "research", "Research"
        PROFESSIONALISM = "professionalism", "Professionalism and identity"

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        ACHIEVED = "achieved", "Achieved"
        SET_ASIDE = "set_aside", "Set aside"

    class Competency(models.TextChoices):
        """Coaching relationships tag goals with one of the ACGME core competencies."""

        PATIENT_CARE = "patient_care", "Patient care"
        MEDICAL_KNOWLEDGE = "medical_knowledge", "Medical knowledge"
        PRACTICE_BASED_LEARNING = (
            "practice_based_learning",
            "Practice-based learning and improvement",
        )
        COMMUNICATION = "communication", "Interpersonal and communication skills"
        PROFESSIONALISM = "professionalism", "Professionalism"
        SYSTEMS_BASED_PRACTICE = "systems_based_practice", "Systems-based practice"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="goals"
    )
    title = EncryptedTextField(help_text="Specific and measurable (the pair's).")
    description = EncryptedTextField(blank=True)
    domain = models.CharField(max_length=20, choices=Domain.choices)
    competency = models.CharField(
        max_length=30, choices=Competency.choices, blank=True, help_text="Coaching only."
    )
    target_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NOT_STARTED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["status", "target_on", "created_at"]
        constraints = [
            models.CheckConstraint(
                name="goal_domain_valid",
                condition=Q(
                    domain__in=["academic", "career", "wellbeing", "research", "professionalism"]
                ),
            ),
            models.CheckConstraint(
                name="goal_status_valid",
                condition=Q(status__in=["not_started", "in_progress", "achieved", "set_aside"]),
            ),
        ]

    def __str__(self) -> str:
        return f"Goal {self.code}"


class GoalProgress(models.Model):
    """A dated progress entry on a goal, by either person."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="progress")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = EncryptedTextField()
    status = models.CharField(
        max_length=12, choices=Goal.Status.choices, blank=True, help_text="The status set with it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Progress {self.code}"
