"""Meetings: a guide's availability, bookings, calendar feeds, reminders and meeting logs.

Rules held here (PRODUCT.md):
- R10: a guide's open slots never overlap (`slot_no_overlap`, an exclusion constraint on the
  time range) and a slot holds at most one live meeting (`meeting_one_per_slot`).
- R11: every reminder and nudge is claimed in a `Delivery` row (unique per meeting, kind and
  recipient) before it is sent; a sweeper re-sends claims left unsent by a killed worker.
- R5: a meeting's log (reflection, action items) is for the two people; administrators read
  the metadata only (date, duration, status, topic categories).
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Func, Q

from mentoring.crypto import EncryptedTextField


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = models.DateTimeField()  # only used inside the constraint


TOPICS = [
    ("academic", "Academic"),
    ("career", "Career"),
    ("wellbeing", "Wellbeing"),
    ("professionalism", "Professionalism and identity"),
    ("research", "Research"),
    ("personal", "Personal"),
]
TOPIC_KEYS = [key for key, _ in TOPICS]


class AvailabilityPattern(models.Model):
    """A weekly recurring time a guide is available, expanded into concrete slots a number of
    weeks ahead by a periodic task. Editing or ending a pattern never touches booked slots."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability_patterns"
    )
    weekday = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(6)], help_text="0 = Monday"
    )
    start_time = models.TimeField(help_text="Local time in `timezone`.")
    duration_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(10), MaxValueValidator(240)]
    )
    timezone = models.CharField(max_length=64, default="UTC")
    location = models.CharField(max_length=200, blank=True, help_text="Room, for in person.")
    video_link = models.URLField(blank=True)
    programs = models.ManyToManyField(
        "mentoring.Program",
        blank=True,
        related_name="+",
        help_text="Only learners of these programs may book (empty: any of the guide's).",
    )
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["guide", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(name="pattern_weekday_range", condition=Q(weekday__lte=6)),
            models.CheckConstraint(
                name="pattern_duration_range",
                condition=Q(duration_minutes__gte=10, duration_minutes__lte=240),
            ),
            models.CheckConstraint(
                name="pattern_ends_after_start",
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guide} weekly on day {self.weekday} at {self.start_time:%H:%M}"


class SlotQuerySet(models.QuerySet):
    def open(self) -> SlotQuerySet:
        """Slots not withdrawn (booked or free)."""
        return self.filter(withdrawn_at__isnull=True)

    def free(self) -> SlotQuerySet:
        """Open slots without a live meeting."""
        return self.open().exclude(meetings__status=Meeting.Status.BOOKED)


class Slot(models.Model):
    """A concrete time a guide offers (one-off, or expanded from a pattern)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="slots"
    )
    pattern = models.ForeignKey(
        AvailabilityPattern, on_delete=models.SET_NULL, null=True, blank=True, related_name="slots"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    programs = models.ManyToManyField("mentoring.Program", blank=True, related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["guide", "starts_at"], name="slot_guide_start")]
        constraints = [
            models.CheckConstraint(
                name="slot_ends_after_start", condition=Q(ends_at__gt=models.F("starts_at"))
            ),
            # R10: a guide's open slots never overlap (half-open ranges: back to back is fine).
            ExclusionConstraint(
                name="slot_no_overlap",
                expressions=[
                    (TsTzRange("starts_at", "ends_at", RangeBoundary()), RangeOperators.OVERLAPS),
                    ("guide", RangeOperators.EQUAL),
                ],
                condition=Q(withdrawn_at__isnull=True),
            ),
            # A pattern expands to one slot per start time, whatever the task's retries.
            models.UniqueConstraint(
                fields=["pattern", "starts_at"],
                condition=Q(pattern__isnull=False),
                name="slot_once_per_pattern_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guide} {self.starts_at:%Y-%m-%d %H:%M}"


class MeetingQuerySet(models.QuerySet):
    def for_participant(self, user) -> MeetingQuerySet:
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(relationship__guide=user) | Q(relationship__learner=user))


class Meeting(models.Model):
    """A booked or logged encounter of a relationship (ad hoc: no slot)."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"
        LATE_CANCEL = "late_cancel", "Cancelled late"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="meetings"
    )
    slot = models.ForeignKey(
        Slot, on_delete=models.PROTECT, null=True, blank=True, related_name="meetings"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BOOKED)
    sequence = models.PositiveIntegerField(
        default=0, help_text="iCalendar SEQUENCE: increased on every change of time or status."
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancel_message = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        indexes = [
            models.Index(fields=["relationship", "starts_at"], name="meeting_rel_start"),
            models.Index(fields=["status", "starts_at"], name="meeting_status_start"),
            # Quiet relationships and engagement figures read the last completed meetings.
            models.Index(
                fields=["relationship", "starts_at"],
                condition=Q(status="completed"),
                name="meeting_completed_rel_start",
            ),
        ]
        constraints = [
            # R10: a slot is never double-booked.
            models.UniqueConstraint(
                fields=["slot"],
                condition=Q(status="booked"),
                name="meeting_one_per_slot",
            ),
            models.CheckConstraint(
                name="meeting_ends_after_start", condition=Q(ends_at__gt=models.F("starts_at"))
            ),
            models.CheckConstraint(
                name="meeting_status_valid",
                condition=Q(
                    status__in=["booked", "cancelled", "completed", "no_show", "late_cancel"]
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Meeting of {self.relationship} at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def ical_uid(self) -> str:
        """Stable across reschedules and cancellation (RFC 5545 UID)."""
        return f"meeting-{self.code}@mentoring"


class MeetingLog(models.Model):
    """What happened: one per meeting, written by either person.

    SECURITY (R5): `reflection` is the learner's and, with the action items, is for the two
    people only; administrators see status, duration and topics."""

    meeting = models.OneToOneField(Meeting, on_delete=models.CASCADE, related_name="log")
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    duration_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    topics = models.JSONField(default=list, blank=True, help_text="Keys of TOPICS.")
    # SECURITY (R5): CONFIDENTIAL. Written by the learner only, read by the two people only;
    # never selected for an administrator's page, the Django admin or an export (see
    # sessions_log/logs.py). Encrypted at rest (mentoring.crypto).
    reflection = EncryptedTextField(blank=True, help_text="The learner's; confidential (R5).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Log of {self.meeting}"


class ActionItem(models.Model):
    """Something to do before the next meeting; shown at the top of it until done.

    SECURITY (R5): the text is for the two people only, like the reflection; `__str__` leaves
    it out, because the Django admin prints related objects by their `__str__` (a cascade
    delete's confirmation page, for one)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="action_items")
    # Encrypted at rest; the 300-character limit is the forms' (logs.ACTION_ITEM_MAX_CHARS).
    text = EncryptedTextField()
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Action item {self.code}"


class TimeRequest(models.Model):
    """A learner asks their guide for times when no slot is free in the next weeks; the guide
    answers by adding a slot (which closes the request)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relationship = models.ForeignKey(
        "mentoring.Relationship", on_delete=models.CASCADE, related_name="time_requests"
    )
    message = models.TextField(blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["relationship"],
                condition=Q(answered_at__isnull=True),
                name="time_request_one_open",
            )
        ]

    def __str__(self) -> str:
        return f"Time request in {self.relationship}"


def _feed_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarFeed(models.Model):
    """A person's private calendar feed: the secret token in the URL is the credential (no
    sign-in), so it can be revoked, which also issues a new one."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    token = models.CharField(max_length=64, unique=True, default=_feed_token)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=Q(revoked_at__isnull=True), name="feed_one_live"
            )
        ]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"


class Delivery(models.Model):
    """R11: the claim on one message about one meeting to one person. The unique constraint
    makes the claim; `sent_at` is set after the send; a sweeper re-sends claims older than a
    few minutes that were never marked sent (a worker killed mid-send)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(
        max_length=20,
        help_text='"reminder-24h", "reminder-1h" (the offsets are settings) or "log-nudge".',
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    skipped = models.BooleanField(
        default=False, help_text="Not sent by choice (nudges off, or gathered into a digest)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "kind", "recipient"], name="delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=Q(sent_at__isnull=True, skipped=False),
                name="delivery_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.recipient} ({self.meeting})"


class NudgeDigest(models.Model):
    """R11: the claim on one person's weekly digest of "log this meeting" nudges (people who
    chose `nudge_emails = "digest"`). Unique per person and week (the Monday of the week it is
    sent in), so a second beat or a duplicated task sends nothing more; the sweeper re-sends
    claims left unsent. The digest lists the nudges gathered (claimed skipped) in
    [covers_from, covers_until): each digest starts where the person's previous one ended, so
    every gathered nudge is in exactly one digest, even after a missed week."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    week = models.DateField(help_text="The Monday of the week the digest is sent in.")
    covers_from = models.DateTimeField()
    covers_until = models.DateTimeField()
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    skipped = models.BooleanField(
        default=False, help_text="Not sent: nothing was left to log when it was due to go."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "week"], name="nudge_digest_once"),
            models.CheckConstraint(
                name="nudge_digest_covers_forward",
                condition=Q(covers_until__gt=models.F("covers_from")),
            ),
        ]
        indexes = [
            models.Index(
                fields=["claimed_at"],
                condition=Q(sent_at__isnull=True, skipped=False),
                name="nudge_digest_unsent",
            )
        ]

    def __str__(self) -> str:
        return f"Nudge digest to {self.recipient} (week of {self.week})"
