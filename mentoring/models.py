"""Core domain: programs (thin for now; terms, relationships and assessment roles grow here)."""

from __future__ import annotations

import uuid

from django.db import models


class ProgramQuerySet(models.QuerySet):
    def active(self) -> ProgramQuerySet:
        """Programs currently running (not archived)."""
        return self.filter(is_active=True)

    def administered_by(self, user) -> ProgramQuerySet:
        """Programs on which `user` holds the administer_program object grant (R9)."""
        from guardian.shortcuts import get_objects_for_user

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


class Program(models.Model):
    """A mentoring, coaching or advising scheme run by one or more program administrators."""

    class Kind(models.TextChoices):
        MENTORING = "mentoring", "Mentoring"
        COACHING = "coaching", "Coaching"
        ADVISING = "advising", "Advising"

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProgramQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        permissions = [("administer_program", "Can administer the program")]
        constraints = [
            models.CheckConstraint(
                name="program_kind_valid",
                condition=models.Q(kind__in=["mentoring", "coaching", "advising"]),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """The last time a periodic task ran on a worker; proves worker and beat are alive."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True)
    count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
