"""Programs and their terms."""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from accounts.models import Membership

# What each side is called, by kind of relationship (for pages and emails).
GUIDE_NOUN = {"mentoring": "mentor", "coaching": "coach", "advising": "advisor"}
GUIDE_PLURAL = {"mentoring": "mentors", "coaching": "coaches", "advising": "advisors"}
LEARNER_NOUN = {"mentoring": "mentee", "coaching": "coachee", "advising": "advisee"}


class ProgramQuerySet(models.QuerySet):
    """Programs; `administered_by` here is the root every program-scoped row inherits (R9)."""

    def active(self) -> ProgramQuerySet:
        """Programs currently running (not archived)."""
        return self.filter(is_active=True)

    def administered_by(self, user) -> ProgramQuerySet:
        """Programs on which `user` holds the administer_program object grant (R9)."""
        if not user.is_authenticated:
            return self.none()
        return get_objects_for_user(
            user,
            "mentoring.administer_program",
            klass=self,
            use_groups=False,
            with_superuser=False,  # R9: no role, not even superuser, implies program access
            accept_global_perms=False,
        )

    def for_participant(self, user) -> ProgramQuerySet:
        """Programs in which `user` currently holds a learner or guide role."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            pk__in=Membership.objects.current()
            .for_user(user)
            .exclude(role="program_admin")
            .filter(program__isnull=False)
            .values("program")
        )


class ProgramScopedQuerySet(models.QuerySet):
    """Rows that belong to a program and take their administrators from it (R9), the way
    readthedocs' children take their permissions from their project: a child names the path
    from its row to its program in `program_path` ("program", "relationship__program",
    "run__program"), and inherits `administered_by`. A child whose program is not a foreign
    key path (an assessment role belongs to its learner's programs) overrides `in_programs`."""

    program_path = "program"

    def in_programs(self, programs):
        """Rows of the programs in `programs` (a Program queryset)."""
        return self.filter(**{f"{self.program_path}__in": programs})

    def administered_by(self, user):
        """Rows of programs `user` administers (R9); nothing for anyone else, superusers
        included."""
        if not user.is_authenticated:
            return self.none()
        return self.in_programs(Program.objects.administered_by(user))


class Program(models.Model):
    """A mentoring, coaching or advising scheme run by one or more program administrators."""

    class Kind(models.TextChoices):
        MENTORING = "mentoring", "Mentoring"
        COACHING = "coaching", "Coaching"
        ADVISING = "advising", "Advising"

    class AdvisingOverlap(models.TextChoices):
        BLOCK = "block", "Block: an advisor may not also assess their advisee"
        FLAG = "flag", "Flag: allow it, and list it in the conflict queue"

    class Pairing(models.TextChoices):
        ADMINISTRATOR = "administrator", "The administrator matches (learners may rank suggestions)"
        SELF = "self", "Learners choose: they ask a suggested guide, who accepts or declines"

    class AssessmentConflict(models.TextChoices):
        REFUSE = "refuse", "Refuse the new assessment role"
        QUEUE = "queue", "Queue it for an administrator to resolve"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    expected_meeting_interval_days = models.PositiveSmallIntegerField(
        "expected days between meetings",
        default=30,
        help_text="A relationship with no meeting for longer than this is listed as quiet.",
    )
    advising_overlap = models.CharField(
        "advisor who also assesses the learner",
        max_length=10,
        choices=AdvisingOverlap.choices,
        default=AdvisingOverlap.BLOCK,
        help_text="Advising programs only. Mentoring and coaching always block (R2).",
    )
    assessment_conflict = models.CharField(
        "new assessment role that collides with a relationship",
        max_length=10,
        choices=AssessmentConflict.choices,
        default=AssessmentConflict.QUEUE,
    )
    pairing = models.CharField(
        "how learners are paired",
        max_length=20,
        choices=Pairing.choices,
        default=Pairing.ADMINISTRATOR,
    )
    choices_allowed = models.PositiveSmallIntegerField(
        "guides a learner may rank",
        default=5,
        validators=[MaxValueValidator(10)],
        help_text="Learners rank up to this many suggested guides before a match run "
        "(0 turns ranking off).",
    )
    request_expiry_days = models.PositiveSmallIntegerField(
        "days a guide has to answer a request",
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="Self-match only: an unanswered request expires after this many days, so the "
        "learner can ask someone else.",
    )
    cancel_notice_hours = models.PositiveSmallIntegerField(
        "hours' notice to reschedule or cancel",
        default=24,
        validators=[MaxValueValidator(168)],
        help_text="A learner may move or cancel a meeting up to this many hours before it; "
        "later, a cancellation is recorded as late.",
    )
    note_retention_days = models.PositiveIntegerField(
        "days guides keep their notes after a relationship ends",
        default=365,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="After a relationship ends its guide can still read (not change) their "
        "confidential notes for this many days; then the notes are erased.",
    )
    agreement_due_days = models.PositiveSmallIntegerField(
        "days to complete the mentoring agreement",
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Both people are reminded once if their agreement is not done this many days "
        "after the relationship starts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("administer_program", "Can administer the program")]
        constraints = [
            models.CheckConstraint(
                name="program_kind_valid",
                condition=Q(kind__in=["mentoring", "coaching", "advising"]),
            ),
            # R2: only advising programs may choose to flag instead of block.
            models.CheckConstraint(
                name="program_only_advising_may_flag",
                condition=Q(kind="advising") | Q(advising_overlap="block"),
            ),
            models.CheckConstraint(
                name="program_meeting_interval_positive",
                condition=Q(expected_meeting_interval_days__gte=1),
            ),
            models.CheckConstraint(
                name="program_pairing_valid", condition=Q(pairing__in=["administrator", "self"])
            ),
            models.CheckConstraint(
                name="program_choices_allowed_range", condition=Q(choices_allowed__lte=10)
            ),
            models.CheckConstraint(
                name="program_request_expiry_range",
                condition=Q(request_expiry_days__gte=1, request_expiry_days__lte=60),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def guide_role(self) -> str:
        """The role a guide holds in this program: mentor, coach or advisor."""
        return GUIDE_NOUN[self.kind]

    @property
    def guide_plural(self) -> str:
        """ "mentors", "coaches" or "advisors"."""
        return GUIDE_PLURAL[self.kind]

    def matching_term(self) -> Term | None:
        """The term pairing is for now: the one running today, else the next to start, else
        the latest (one query). Guides' term opt-outs apply to it."""
        today = timezone.localdate()
        return (
            self.terms.annotate(
                _group=models.Case(
                    models.When(starts_on__lte=today, ends_on__gte=today, then=0),
                    models.When(starts_on__gt=today, then=1),
                    default=2,
                    output_field=models.IntegerField(),
                ),
                _upcoming=models.Case(
                    models.When(starts_on__gt=today, then=models.F("starts_on")),
                    default=None,
                    output_field=models.DateField(),
                ),
            )
            .order_by("_group", models.F("_upcoming").asc(nulls_last=True), "-starts_on")
            .first()
        )

    @property
    def overlap_is_flagged(self) -> bool:
        """True when an advisor's overlapping assessment role is flagged rather than blocked."""
        return (
            self.kind == self.Kind.ADVISING and self.advising_overlap == self.AdvisingOverlap.FLAG
        )


class Term(models.Model):
    """A dated period of a program (an academic year or a semester)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="terms")
    name = models.CharField(max_length=100)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["program", "-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="term_name_unique_in_program"),
            models.CheckConstraint(
                name="term_ends_after_start", condition=Q(ends_on__gt=models.F("starts_on"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program}: {self.name}"


class WorkerHeartbeat(models.Model):
    """The last time a periodic task ran on a worker; proves worker and beat are alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
