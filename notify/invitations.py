"""The invitation to join (set a password and sign in): an outbox kind notify owns itself,
because the people it is about (accounts) sit below notify and cannot import it.

Each `invitation_queue` is one email: an administrator who presses "invite" again means it, so
the key carries a fresh token; a duplicated task or a sweep of the same row sends it once.
"""

from __future__ import annotations

import datetime
import uuid

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, User
from accounts.signals import person_added
from notify import registry
from notify.outbox import email_queue

KIND = "invitation"


def invitation_queue(*, user: User, invited_by: User | None = None) -> int | None:
    """Queue the invitation email to `user` (sent once the caller's transaction commits)."""
    return email_queue(
        kind=KIND,
        key=f"{user.pk}:{uuid.uuid4().hex}",
        recipient=user,
        params={"invited_by": invited_by.pk if invited_by else None},
    )


def _prepare(row, now: datetime.datetime):
    """The link is allauth's password-reset link (key from allauth's token generator), made
    now: it works for PASSWORD_RESET_TIMEOUT and stops working once the password is set or
    changed. Records when the person was invited (`invited_at`)."""
    user = row.recipient
    invited_by_id = row.params.get("invited_by")
    invited_by = User.objects.filter(pk=invited_by_id).first() if invited_by_id else None
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    programs = sorted(
        {
            membership.program.name
            for membership in Membership.objects.current()
            .filter(user=user, program__isnull=False)
            .exclude(role=Role.PROGRAM_ADMIN)
            .select_related("program")
        }
    )
    context = {
        "user": user,
        "invited_by": invited_by,
        "programs": programs,
        "set_password_url": settings.SITE_URL + path,
        "sign_in_url": settings.SITE_URL + reverse("account_login"),
        "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    user.invited_at = timezone.now()
    user.save(update_fields=["invited_at"])
    return registry.Prepared(
        "invitation", context, subject_prefix=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    )


registry.register_kind(registry.OutboxKind(KIND, _prepare))


@receiver(person_added, dispatch_uid="notify.invitations.person_added")
def _invite_person_added(sender, *, user: User, by: User | None = None, **kwargs) -> None:
    """An operator added a person in the admin: they are invited to sign in."""
    invitation_queue(user=user, invited_by=by)
