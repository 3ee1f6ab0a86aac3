"""Background work about people: invitation emails."""

from __future__ import annotations

import logging

from celery import shared_task

from accounts import services
from accounts.models import User

logger = logging.getLogger(__name__)


@shared_task(name="accounts.tasks.send_invitation")
def send_invitation(user_id: int, invited_by_id: int | None = None) -> None:
    """Email the person an invitation to set their password (accounts.services.invitation_send).

    Enqueued on commit by imports and the console's invite button. A person deactivated in the
    meantime gets nothing: a set-password link must not reach a closed account.
    """
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    invited_by = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    services.invitation_send(user=user, invited_by=invited_by)
