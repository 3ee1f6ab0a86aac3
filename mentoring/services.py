"""Writes of the core domain (programs grow here with the next issues)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from mentoring.models import WorkerHeartbeat


@transaction.atomic
def heartbeat_record(*, name: str, hostname: str) -> WorkerHeartbeat:
    """Stamp the named heartbeat with the current time and count one more beat."""
    beat, _ = WorkerHeartbeat.objects.select_for_update().get_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": hostname}
    )
    WorkerHeartbeat.objects.filter(pk=beat.pk).update(
        beat_at=timezone.now(), hostname=hostname, count=F("count") + 1
    )
    beat.refresh_from_db()
    return beat
