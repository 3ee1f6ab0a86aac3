"""Writes about people and their roles."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import GUIDE_ROLES, Membership, Role, User
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


DEFAULT_GUIDE_CAPACITY = 3


@transaction.atomic
def membership_grant(
    *, user: User, role: str, program=None, capacity: int | None = None
) -> Membership:
    """Give `user` `role` in `program` (none for dean); idempotent.

    Guides get a capacity (R3): `capacity`, or their existing one, or DEFAULT_GUIDE_CAPACITY.
    A program administrator also receives the administer_program object grant on the
    program (R9: administrators are scoped to their programs).
    """
    is_guide = role in GUIDE_ROLES
    membership = Membership.objects.filter(user=user, program=program, role=role).first()
    if membership is None:
        membership = Membership(
            user=user,
            program=program,
            role=role,
            capacity=(capacity if capacity is not None else DEFAULT_GUIDE_CAPACITY)
            if is_guide
            else None,
        )
        # Each constraint's validation is a query in a savepoint (17 of a grant's 23
        # statements), and the database enforces them all. Only the role/program pairing can
        # be broken through this function (a dean in a program): then the constraints are
        # validated, so the caller gets the same ValidationError naming it. The others cannot
        # fail here: the role is checked against its choices by the field, capacity is set
        # for guides only, ended_at is empty, and the lookup above finds an existing row (a
        # concurrent grant meets the unique constraint as an IntegrityError, as it could
        # between validation and insert before).
        pairing_broken = (role == Role.DEAN) != (program is None)
        membership.full_clean(validate_constraints=pairing_broken)
        membership.save()
    else:
        fields = []
        if membership.ended_at is not None:
            membership.ended_at = None
            fields.append("ended_at")
        if is_guide and capacity is not None and capacity != membership.capacity:
            membership.capacity = capacity
            fields.append("capacity")
        if fields:
            membership.save(update_fields=fields)
    if role == Role.PROGRAM_ADMIN:
        assign_perm(ADMINISTER_PROGRAM, user, program)
    forget_roles(user)
    return membership


@transaction.atomic
def membership_end(*, membership: Membership, when=None) -> Membership:
    """End a membership (kept for history); a program administrator loses the grant."""

    membership.ended_at = when or timezone.now()
    membership.full_clean()
    membership.save(update_fields=["ended_at"])
    if membership.role == Role.PROGRAM_ADMIN:
        remove_perm(ADMINISTER_PROGRAM, membership.user, membership.program)
    forget_roles(membership.user)
    return membership


def _membership_is_current(membership: Membership) -> bool:
    return membership.ended_at is None or membership.ended_at > timezone.now()


@transaction.atomic
def membership_save(*, membership: Membership) -> Membership:
    """Save a membership edited as a whole (the operators' admin pages): a new one, or a change
    of its person, role, program, capacity or dates. The administer_program grant follows what
    was saved (R9): given while a program administrator's membership is current, taken away
    once it has ended or moved to another person, role or program. Refuses a membership the
    model refuses (a dean in a program, a capacity for a non-guide) with its ValidationError.
    """
    previous = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user", "program")
        .get(pk=membership.pk)
        if membership.pk
        else None
    )
    membership.full_clean()
    membership.save()
    if previous is not None and previous.role == Role.PROGRAM_ADMIN:
        moved = (previous.user_id, previous.program_id, previous.role) != (
            membership.user_id,
            membership.program_id,
            membership.role,
        )
        if moved:
            remove_perm(ADMINISTER_PROGRAM, previous.user, previous.program)
            forget_roles(previous.user)
    if membership.role == Role.PROGRAM_ADMIN:
        if _membership_is_current(membership):
            assign_perm(ADMINISTER_PROGRAM, membership.user, membership.program)
        else:
            remove_perm(ADMINISTER_PROGRAM, membership.user, membership.program)
    forget_roles(membership.user)
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    """Delete a membership (an operator's correction of a mistake; ending keeps the history),
    taking away a program administrator's grant with it."""
    if membership.role == Role.PROGRAM_ADMIN and membership.program_id:
        remove_perm(ADMINISTER_PROGRAM, membership.user, membership.program)
    membership.delete()
    forget_roles(membership.user)
