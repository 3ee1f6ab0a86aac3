"""Background work about people's sign-in state."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.models import SecurityCacheEntry


def security_state_purge(*, now=None) -> int:
    """Delete sign-in security entries past their expiry (used TOTP codes, rate-limit histories
    and their locks). The cache never culls them by count, on purpose, so without this the table
    would keep every expired entry and each write's row count would grow with it."""
    deleted, _ = SecurityCacheEntry.objects.filter(expires__lt=now or timezone.now()).delete()
    return deleted


@shared_task(name="accounts.tasks.purge_security_state")
def purge_security_state() -> int:
    return security_state_purge()
