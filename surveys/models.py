"""Surveys: templates, campaigns, invitations and anonymous responses.

Rules held here (PRODUCT.md):
- R6 anonymity. Who was invited and whether they answered (`Invitation`) is kept apart from
  what was answered (`Response`, `Answer`). A response has no foreign key, token, person,
  invitation or timestamp: its primary key is a random UUID (no insertion order), and it is
  written in its own transaction after the invitation is marked answered (surveys/answering.py).
  The attributes it carries (audience, kind of relationship, formal or not, peer or faculty,
  the guide it is about) are coarse and only ever read through surveys/results.py, the one
  reader of raw responses, which applies small-cell and complementary suppression.
- R11 sent once, and one survey email a day. Every invitation email and reminder is claimed in
  an `InvitationDelivery` row (unique per invitation and kind); the claims due to one person
  go out together as that day's `SurveyEmail` (unique per person and day), which a sweeper
  re-sends when it was left unsent.
- Free-text answers and unsent drafts are encrypted at rest (mentoring.crypto).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from mentoring.crypto import EncryptedTextField


class Audience(models.TextChoices):
    LEARNERS = "learners", "Learners"
    GUIDES = "guides", "Guides (mentors, coaches, advisors)"
    # Templates only (the check-in and the wellbeing item go to both sides). A response is
    # always "learners" or "guides": the side its respondent was invited on.
    BOTH = "both", "Learners and guides"


class SurveyTemplate(models.Model):
    """A program's questionnaire. Shipped defaults are copied into each program
    (surveys/defaults.py) and the program's administrators edit their copy."""

    class Kind(models.TextChoices):
        LEARNER_END = "learner_end", "Learner end-of-term survey"
        GUIDE_END = "guide_end", "Guide end-of-term survey"
        CHECK_IN = "check_in", "Relationship check-in"
        WELLBEING = "wellbeing", "Wellbeing"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="survey_templates"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    audience = models.CharField(max_length=10, choices=Audience.choices)
    name = models.CharField(max_length=200)
    introduction = models.TextField(blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Inactive templates start no new campaigns."
    )
    # Check-ins: first N days after a relationship starts, then every M days (0: once).
    first_after_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    repeat_every_days = models.PositiveSmallIntegerField(
        default=90, validators=[MaxValueValidator(365)]
    )
    # Every campaign: open this many days; remind non-responders this many days after opening.
    open_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(90)]
    )
    reminder_days = models.JSONField(
        default=list, blank=True, help_text="Days after opening, e.g. [4, 10]."
    )
    named_follow_up = models.BooleanField(
        default=False,
        help_text="Check-ins only: administrators see who has not answered (said on the form).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "kind"], name="survey_template_one_per_kind"
            ),
            models.CheckConstraint(
                name="survey_template_named_follow_up_check_in_only",
                condition=Q(named_follow_up=False) | Q(kind="check_in"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.program})"


class Section(models.Model):
    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


LIKERT_LABELS = [
    ("1", "Strongly disagree"),
    ("2", "Disagree"),
    ("3", "Neither agree nor disagree"),
    ("4", "Agree"),
    ("5", "Strongly agree"),
]


class Question(models.Model):
    class Kind(models.TextChoices):
        LIKERT = "likert", "Agreement, 5 points"
        SINGLE = "single", "One choice"
        MULTIPLE = "multiple", "Several choices"
        NUMBER = "number", "Number"
        TEXT = "text", "Free text"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    template = models.ForeignKey(SurveyTemplate, on_delete=models.CASCADE, related_name="questions")
    section = models.ForeignKey(
        Section, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    key = models.SlugField(
        max_length=50,
        help_text="Stable name for results and dashboards, e.g. relationship_satisfaction.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    prompt = models.CharField(max_length=500)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=True)
    # Single and multiple choice: [[key, label], ...]; Likert: the labels (default LIKERT_LABELS).
    choices = models.JSONField(default=list, blank=True)
    min_value = models.IntegerField(null=True, blank=True)
    max_value = models.IntegerField(null=True, blank=True)
    # Check-in: choosing this choice key offers the learner a no-fault rematch.
    offers_rematch_on = models.CharField(max_length=50, blank=True)
    # A question past campaigns answered cannot be removed (their results would lose it):
    # retired, it is asked no more and its past answers stay in results.
    retired = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="question_key_unique"),
            models.CheckConstraint(
                name="question_kind_valid",
                condition=Q(kind__in=["likert", "single", "multiple", "number", "text"]),
            ),
        ]

    def __str__(self) -> str:
        return self.prompt


class CampaignQuerySet(models.QuerySet):
    def open_at(self, now) -> CampaignQuerySet:
        """Campaigns taking answers at `now`: opened, and not past their closing time."""
        return self.filter(status=Campaign.Status.OPEN, closes_at__gt=now)


class Campaign(models.Model):
    """One sending of a template to a target group, over a window."""

    class Kind(models.TextChoices):
        END_OF_TERM = "end_of_term", "End of term"
        RELATIONSHIP_END = "relationship_end", "End of a relationship"
        CHECK_IN = "check_in", "Relationship check-in"
        WELLBEING = "wellbeing", "Wellbeing"

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="survey_campaigns"
    )
    template = models.ForeignKey(SurveyTemplate, on_delete=models.PROTECT, related_name="campaigns")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    term = models.ForeignKey(
        "mentoring.Term", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What makes a scheduled campaign unique: the term's code for end of term, the month
    # ("2026-11") for pooled check-ins and relationship ends, anything for hand-made ones.
    period_key = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    reminder_days = models.JSONField(default=list, blank=True)
    named_follow_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-opens_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "kind", "period_key"], name="campaign_once_per_period"
            ),
            models.CheckConstraint(
                name="campaign_window_ordered", condition=Q(closes_at__gt=models.F("opens_at"))
            ),
        ]
        indexes = [models.Index(fields=["status", "closes_at"], name="campaign_status_closes")]

    def __str__(self) -> str:
        return self.title

    def is_open_at(self, now) -> bool:
        """Taking answers at `now` (the same test as `Campaign.objects.open_at`)."""
        return self.status == self.Status.OPEN and now < self.closes_at


class InvitationQuerySet(models.QuerySet):
    def for_person(self, user) -> InvitationQuerySet:
        """The invitations of `user` (none for an anonymous visitor)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(person=user)


class Invitation(models.Model):
    """Who was asked, and whether they have answered. Never what they answered.

    SECURITY (R6): no timestamp of the answer is kept (only `has_responded`), so the moment a
    response was written cannot be matched to the moment an invitation was used."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="invitations")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="survey_invitations"
    )
    # The relationship a check-in or relationship-end survey is about (for the email's wording
    # and the response's coarse attributes); never copied to the response.
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    has_responded = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "person", "relationship"],
                name="invitation_once",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["campaign", "has_responded"], name="invitation_rate")]

    def __str__(self) -> str:
        return f"Invitation {self.code}"


class InvitationDraft(models.Model):
    """Answers typed but not yet submitted, so a person can leave and come back. Deleted when
    the response is submitted or the campaign closes. Encrypted (it is tied to a person)."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="draft")
    answers = EncryptedTextField(help_text="JSON of the form's data.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Draft {self.pk}"


class SurveyEmail(models.Model):
    """R11: the one survey email a person gets on a day (the day in their own time zone). It
    lists each invitation and reminder claimed for them (`deliveries`), each with its own
    one-time link; claims that fall due once the day's email is made wait for the next day."""

    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    skipped = models.BooleanField(default=False, help_text="Nothing left to send in it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["person", "day"], name="survey_email_once_a_day")
        ]
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=Q(sent_at__isnull=True, skipped=False),
                name="survey_email_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"Survey email {self.pk} of {self.day}"


class InvitationDelivery(models.Model):
    """R11: the claim on one email (the invitation, or reminder number n) for one invitation.
    It goes out in its person's `SurveyEmail` of the day (`email`, empty until then)."""

    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20, help_text='"invitation" or "reminder-1", "reminder-2"…')
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    skipped = models.BooleanField(default=False, help_text="Answered or closed before sending.")
    # SET_NULL: a claim whose email row went is put in the next day's email, never lost.
    email = models.ForeignKey(
        SurveyEmail,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invitation", "kind"], name="invitation_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=Q(sent_at__isnull=True, skipped=False, email__isnull=True),
                name="invitation_delivery_waiting",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} for invitation {self.invitation_id}"


class Response(models.Model):
    """What one person answered, with no way back to them (R6). Read only by
    surveys/results.py."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="responses")
    audience = models.CharField(max_length=10, choices=Audience.choices)
    relationship_kind = models.CharField(max_length=20, blank=True)
    formal = models.BooleanField(null=True, help_text="Program-made pairing, or informal.")
    peer = models.BooleanField(null=True, help_text="Guide is a learner too (peer mentoring).")
    # Guides see results about themselves (at least the minimum number, after closing).
    about_guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="response_audience_one_side",
                condition=Q(audience__in=["learners", "guides"]),
            )
        ]
        indexes = [models.Index(fields=["campaign", "about_guide"], name="response_campaign_guide")]

    def __str__(self) -> str:
        return "Response"


class Answer(models.Model):
    """One answer; a multiple-choice question has one row per chosen option."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    number = models.IntegerField(null=True, blank=True, help_text="Likert point or number.")
    choice = models.CharField(max_length=50, blank=True)
    text = EncryptedTextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["question", "choice"], name="answer_question_choice")]

    def __str__(self) -> str:
        return "Answer"
