"""Writes about people and their roles."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Membership, Role, User
from accounts.permissions import forget_roles

ADMINISTER_PROGRAM = "mentoring.administer_program"


@transaction.atomic
def user_create(
    *, email: str, full_name: str, password: str | None = None, email_verified: bool = True
) -> User:
    """Create a person with a primary email address allauth knows about.

    Accounts come from administrators, so the address is verified by default: the person
    proves it by following the invitation or password-reset link sent to it.
    """
    user = User.objects.create_user(email=email, full_name=full_name, password=password)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=email_verified)
    return user


@transaction.atomic
def membership_grant(*, user: User, role: str, program=None) -> Membership:
    """Give `user` `role` in `program` (none for dean); idempotent.

    A program administrator also receives the administer_program object grant on the
    program (R9: administrators are scoped to their programs).
    """
    membership = Membership.objects.filter(user=user, program=program, role=role).first()
    if membership is None:
        membership = Membership(user=user, program=program, role=role)
        membership.full_clean()
        membership.save()
    elif membership.ended_at is not None:
        membership.ended_at = None
        membership.save(update_fields=["ended_at"])
    if role == Role.PROGRAM_ADMIN:
        assign_perm(ADMINISTER_PROGRAM, user, program)
    forget_roles(user)
    return membership


@transaction.atomic
def membership_end(*, membership: Membership, when=None) -> Membership:
    """End a membership (kept for history); a program administrator loses the grant."""
    from django.utils import timezone

    membership.ended_at = when or timezone.now()
    membership.full_clean()
    membership.save(update_fields=["ended_at"])
    if membership.role == Role.PROGRAM_ADMIN:
        remove_perm(ADMINISTER_PROGRAM, membership.user, membership.program)
    forget_roles(membership.user)
    return membership
