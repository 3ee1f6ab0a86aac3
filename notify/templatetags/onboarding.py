"""The first sign-in's pages (allauth's, with our templates): who invited the person, to
which programs and in what roles, and where they are in the steps."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from accounts.models import Membership, Role
from accounts.permissions import requires_mfa
from notify.invitations import KIND
from notify.models import OutboxEmail

register = template.Library()


@dataclass(frozen=True)
class Invitation:
    invited_by: str | None
    roles: list[str]


def _role_phrase(membership: Membership) -> str:
    role = membership.get_role_display().lower()
    if membership.role == Role.DEAN:
        return "dean for the whole school"
    article = "an" if role[0] in "aeiou" else "a"
    return f"{article} {role} in {membership.program.name}"


@register.simple_tag
def invitation_for(user) -> Invitation | None:
    """The latest invitation `user` was sent and the roles they hold now; None for a person
    who was never invited (or no one at all)."""
    if user is None or user.pk is None:
        return None
    sent = (
        OutboxEmail.objects.filter(kind=KIND, recipient=user).order_by("-pk").only("params").first()
    )
    inviter_id = (sent.params or {}).get("invited_by") if sent else None
    inviter = None
    if inviter_id:
        inviter = (
            type(user).objects.filter(pk=inviter_id).values_list("full_name", flat=True).first()
        )
    memberships = (
        Membership.objects.current()
        .filter(user=user)
        .select_related("program")
        .order_by("program__name", "role")
    )
    return Invitation(invited_by=inviter or None, roles=[_role_phrase(m) for m in memberships])


@dataclass(frozen=True)
class Step:
    number: int
    label: str
    state: str  # "done", "current" or "todo"


_STEPS = {
    "password": "Choose your password",
    "two_factor": "Set up two-factor authentication",
    "recovery_codes": "Save your recovery codes",
    "home": "Start on your home page",
}


@register.simple_tag
def onboarding_steps(user, current: str) -> list[Step]:
    """The steps of a first sign-in for `user`, `current` marked: two-factor authentication
    and its recovery codes only for the roles that require it."""
    names = ["password", "two_factor", "recovery_codes", "home"]
    if not requires_mfa(user):
        names = ["password", "home"]
    position = names.index(current) if current in names else 0
    return [
        Step(
            number=index + 1,
            label=_STEPS[name],
            state="done" if index < position else "current" if index == position else "todo",
        )
        for index, name in enumerate(names)
    ]
