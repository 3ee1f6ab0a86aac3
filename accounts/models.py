"""People and the roles they hold.

Roles are held per program (learner, mentor, coach, advisor, program administrator), except
`dean`, which is institution-wide. A person can hold several (a PGY-3 learner in one program is
a peer mentor in another). The full per-program model (profiles, status history, terms) grows
from `Membership` in the next issue.
"""

from __future__ import annotations

import uuid
import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

NAME_TITLES = frozenset({"dr", "prof", "professor", "mr", "mrs", "ms", "mx", "miss", "sir"})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        default=False, help_text="Operators only: may sign in to the Django admin."
    )
    date_joined = models.DateTimeField(default=timezone.now)
    invited_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last invitation email was sent."
    )
    nudge_emails = models.CharField(
        "emails for nudges",
        max_length=10,
        choices=[
            ("each", "Each one as it comes"),
            ("digest", "One weekly digest"),
            ("off", "None"),
        ],
        default="each",
        help_text="Non-essential nudges (e.g. log a meeting). Bookings, changes, cancellations "
        "and reminders are always sent.",
    )

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            # Email is the login; two spellings of one address must not make two people.
            models.UniqueConstraint(models.functions.Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        """The first name, skipping a title ("Dr. Amina Yusuf" -> "Amina")."""
        words = self.full_name.split()
        while len(words) > 1 and words[0].lower().rstrip(".") in NAME_TITLES:
            words = words[1:]
        return words[0] if words else self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()


class Role(models.TextChoices):
    LEARNER = "learner", "Learner"
    MENTOR = "mentor", "Mentor"
    COACH = "coach", "Coach"
    ADVISOR = "advisor", "Advisor"
    PROGRAM_ADMIN = "program_admin", "Program administrator"
    DEAN = "dean", "Dean"


GUIDE_ROLES = frozenset({Role.MENTOR, Role.COACH, Role.ADVISOR})
INSTITUTION_ROLES = frozenset({Role.DEAN})
# Every role but learner must sign in with a second factor.
MFA_EXEMPT_ROLES = frozenset({Role.LEARNER})


class MembershipQuerySet(models.QuerySet):
    def current(self) -> MembershipQuerySet:
        """Memberships not ended (ended_at empty or in the future)."""
        return self.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=timezone.now()))

    def for_user(self, user) -> MembershipQuerySet:
        """Memberships held by `user`."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user)


class Membership(models.Model):
    """`user` holds `role` in `program` (or institution-wide for a dean: program is empty)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    program = models.ForeignKey(
        "mentoring.Program",
        on_delete=models.CASCADE,
        related_name="memberships",
        null=True,
        blank=True,
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    capacity = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Guides only: most learners they take at once in this program (R3).",
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["user", "program", "role"]
        constraints = [
            models.CheckConstraint(
                name="membership_role_valid",
                condition=Q(role__in=[choice.value for choice in Role]),
            ),
            # Dean is institution-wide; every other role belongs to one program.
            models.CheckConstraint(
                name="membership_program_matches_role",
                condition=(Q(role="dean") & Q(program__isnull=True))
                | (~Q(role="dean") & Q(program__isnull=False)),
            ),
            models.UniqueConstraint(
                fields=["user", "program", "role"],
                name="membership_unique_per_program",
                condition=Q(program__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                name="membership_unique_institution_role",
                condition=Q(program__isnull=True),
            ),
            # Capacity belongs to guide roles only.
            models.CheckConstraint(
                name="membership_capacity_only_for_guides",
                condition=Q(capacity__isnull=True) | Q(role__in=["mentor", "coach", "advisor"]),
            ),
            models.CheckConstraint(
                name="membership_ends_after_start",
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=models.F("started_at")),
            ),
        ]
        indexes = [models.Index(fields=["program", "role"], name="membership_program_role")]

    def __str__(self) -> str:
        where = self.program.name if self.program_id else "institution"
        return f"{self.user} - {self.get_role_display()} ({where})"


WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_PARTS = ("morning", "afternoon", "evening")
DAY_PART_HOURS = {"morning": "8-12", "afternoon": "13-17", "evening": "18-22"}
WEEK_PARTS: tuple[tuple[int, str], ...] = tuple(
    (3 * d + p, f"{day} {part}")
    for d, day in enumerate(WEEK_DAYS)
    for p, part in enumerate(DAY_PARTS)
)
"""The weekly availability pattern: 21 parts of four hours (matching's availability criterion
counts the parts two people have in common)."""
WEEK_PART_MINUTES = 240


def _tag_list(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Enter a list of words or phrases.")


class ParticipantProfile(models.Model):
    """What matching and the other person see about someone: level, interests, languages.

    Shared-background preferences are given only if the person chooses to; nobody else can
    set them.
    """

    class Level(models.TextChoices):
        MS1 = "MS1", "MS1"
        MS2 = "MS2", "MS2"
        MS3 = "MS3", "MS3"
        MS4 = "MS4", "MS4"
        PGY1 = "PGY1", "PGY1"
        PGY2 = "PGY2", "PGY2"
        PGY3 = "PGY3", "PGY3"
        PGY4 = "PGY4", "PGY4"
        PGY5 = "PGY5", "PGY5"
        PGY6 = "PGY6", "PGY6"
        PGY7 = "PGY7", "PGY7"
        FACULTY = "faculty", "Faculty"
        STAFF = "staff", "Staff"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="profile")
    level = models.CharField(max_length=10, choices=Level.choices, blank=True)
    cohort = models.CharField(max_length=50, blank=True, help_text="e.g. Class of 2029")
    track = models.CharField(max_length=100, blank=True)
    campus = models.CharField(max_length=100, blank=True)
    specialty_interests = models.JSONField(default=list, blank=True, validators=[_tag_list])
    research_interests = models.JSONField(default=list, blank=True, validators=[_tag_list])
    languages = models.JSONField(default=list, blank=True, validators=[_tag_list])
    shared_background = models.JSONField(
        default=list,
        blank=True,
        validators=[_tag_list],
        help_text="Backgrounds the person chooses to share for matching (optional).",
    )
    timezone = models.CharField(max_length=64, default="UTC")
    availability = models.PositiveIntegerField(
        default=0,
        help_text="Weekly pattern of the times the person is usually free: bit 3 x day + part "
        "(day 0 = Monday; part 0 morning, 1 afternoon, 2 evening). See WEEK_PARTS.",
    )
    contact_preference = models.CharField(
        max_length=200, blank=True, help_text="How they prefer to be contacted."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["level"], name="profile_level")]
        constraints = [
            models.CheckConstraint(
                name="profile_availability_bits",
                condition=Q(availability__gte=0, availability__lt=1 << len(WEEK_PARTS)),
            )
        ]

    def __str__(self) -> str:
        return f"Profile of {self.user}"

    def availability_labels(self) -> list[str]:
        """The person's usual free times in words, e.g. ["Monday morning", ...]."""
        return [label for bit, label in WEEK_PARTS if self.availability >> bit & 1]

    def clean(self) -> None:
        super().clean()
        if self.timezone not in zoneinfo.available_timezones():
            raise ValidationError({"timezone": f"{self.timezone!r} is not a known time zone."})


LEARNER_STATUSES = ("enrolled", "leave", "withdrawn", "graduated")
FACULTY_STATUSES = ("active", "left")


class StatusChange(models.Model):
    """A person's status from a date on, for retention: learners are enrolled, on leave,
    withdrawn or graduated; faculty are active or have left."""

    class Population(models.TextChoices):
        LEARNER = "learner", "Learner"
        FACULTY = "faculty", "Faculty"

    class Status(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        LEAVE = "leave", "On leave"
        WITHDRAWN = "withdrawn", "Withdrawn"
        GRADUATED = "graduated", "Graduated"
        ACTIVE = "active", "Active"
        LEFT = "left", "Left"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="status_changes")
    population = models.CharField(max_length=10, choices=Population.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    effective_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "population", "effective_on"]
        constraints = [
            models.CheckConstraint(
                name="status_matches_population",
                condition=(Q(population="learner") & Q(status__in=LEARNER_STATUSES))
                | (Q(population="faculty") & Q(status__in=FACULTY_STATUSES)),
            ),
            models.UniqueConstraint(
                fields=["user", "population", "effective_on"], name="status_one_per_day"
            ),
        ]
        indexes = [
            models.Index(fields=["population", "status", "effective_on"], name="status_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_status_display()} from {self.effective_on}"


class ImportBatch(models.Model):
    """An administrator's uploaded CSV of people or assessment roles, waiting for a preview
    and an all-or-nothing commit (R12).

    `rows` holds the validated, normalised rows and `errors` every problem found, each as
    {row, field, value, message} with spreadsheet row numbers (the header is row 1).
    SECURITY: rows are personal data of one program; only that program's administrators may
    see them (views fetch batches through their program), and the Django admin never shows
    them. A discarded batch keeps no rows.
    """

    class Kind(models.TextChoices):
        PEOPLE = "people", "People"
        ASSESSMENT_ROLES = "assessment_roles", "Assessment roles"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        COMMITTED = "committed", "Imported"
        DISCARDED = "discarded", "Discarded"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, related_name="import_batches"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    uploaded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField("original file name", max_length=255, blank=True)
    columns = models.JSONField(default=list, blank=True, help_text="The file's columns, in order.")
    rows = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    commit_requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker was asked to commit a large batch."
    )
    committed_at = models.DateTimeField(null=True, blank=True)
    committed_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.CharField(
        max_length=300, blank=True, help_text="What the commit did, in the administrator's words."
    )

    class Meta:
        ordering = ["-uploaded_at"]
        constraints = [
            models.CheckConstraint(
                name="import_batch_kind_valid",
                condition=Q(kind__in=["people", "assessment_roles"]),
            ),
            models.CheckConstraint(
                name="import_batch_status_valid",
                condition=Q(status__in=["pending", "committed", "discarded"]),
            ),
            models.CheckConstraint(
                name="import_batch_committed_has_date",
                condition=~Q(status="committed") | Q(committed_at__isnull=False),
            ),
        ]
        indexes = [models.Index(fields=["program", "status"], name="import_batch_program_status")]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} import {self.uploaded_at:%Y-%m-%d %H:%M} ({self.program})"
        )


class SecurityCacheEntry(models.Model):
    """One entry of sign-in security state: allauth's rate-limit histories, their locks and
    the used-TOTP-code markers (mentoring.cache routes every `allauth` cache key here).

    The columns are those of Django's database cache, which reads and writes this table; they
    live in PostgreSQL so that a code used once stays used, and failed sign-ins keep counting,
    across every web process and whether Redis is up, down or hung.
    """

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "accounts_security_cache"

    def __str__(self) -> str:
        return self.cache_key


class Reviewed(models.Model):
    """When a person last went through one of their lists (`subject`: the privacy officer's
    access log, a dean's dashboard). Their home page counts only what came after. Holds a time
    and nothing of what was read."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=40)
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "subject"], name="reviewed_one_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.subject} reviewed at {self.at:%Y-%m-%d %H:%M}"
