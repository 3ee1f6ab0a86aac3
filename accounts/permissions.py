"""Role helpers every app uses: which roles a person holds, and whether they need MFA.

The QuerySet (`Membership.objects.current().for_user(user)`) is the source of truth; these
functions read it once per request and keep the answer on the user object.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth.models import Permission
from django.db.models import Q

from accounts.models import GUIDE_ROLES, MFA_EXEMPT_ROLES, Membership, Role

_ROLE_CACHE_ATTR = "_mentoring_roles"


def roles_of(user) -> frozenset[str]:
    """The roles `user` currently holds in any program (or institution-wide)."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, _ROLE_CACHE_ATTR, None)
    if cached is None:
        # order_by(): Membership's default ordering would join users and programs (and put
        # their columns in the DISTINCT) to answer a question about roles alone.
        cached = frozenset(
            Membership.objects.current()
            .for_user(user)
            .order_by()
            .values_list("role", flat=True)
            .distinct()
        )
        setattr(user, _ROLE_CACHE_ATTR, cached)
    return cached


def forget_roles(user) -> None:
    """Drop the per-request role cache after a membership changed."""
    if hasattr(user, _ROLE_CACHE_ATTR):
        delattr(user, _ROLE_CACHE_ATTR)


def is_guide(user) -> bool:
    return bool(roles_of(user) & GUIDE_ROLES)


def is_learner(user) -> bool:
    return Role.LEARNER in roles_of(user)


def is_program_admin(user) -> bool:
    return Role.PROGRAM_ADMIN in roles_of(user)


def is_dean(user) -> bool:
    return Role.DEAN in roles_of(user)


def requires_mfa(user) -> bool:
    """True unless every role `user` holds is exempt (learner). Operators always need MFA.

    A person with no role yet needs none: they can reach nothing but their own account pages.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    # A privacy officer reads the access log: never without a second factor, whatever else.
    return bool(roles_of(user) - MFA_EXEMPT_ROLES) or is_privacy_officer(user)


_PRIVACY_CACHE_ATTR = "_mentoring_privacy_officer"


def is_privacy_officer(user) -> bool:
    """`mentoring.view_accesslogentry`, directly or through a group (the "Privacy officer"
    group): the same answer as user.has_perm, in one query (kept on the user for the request)
    instead of has_perm's two."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, _PRIVACY_CACHE_ATTR, None)
    if cached is None:
        cached = (
            Permission.objects.filter(
                content_type__app_label="mentoring", codename="view_accesslogentry"
            )
            .filter(Q(user=user) | Q(group__user=user))
            .exists()
        )
        setattr(user, _PRIVACY_CACHE_ATTR, cached)
    return cached


def has_mfa(user) -> bool:
    """True when `user` has an authenticator app (TOTP) set up."""
    return is_mfa_enabled(user, [Authenticator.Type.TOTP])


_MFA_PENDING_ATTR = "_mentoring_mfa_pending"


def mfa_pending(request) -> bool:
    """Whether the signed-in person must still set up an authenticator app: their role
    requires one (requires_mfa) and they have none. Asked by the MFA middleware and by the
    navigation of the same request, so it is answered once per request (on the request: a
    person who sets one up does so in a request of its own)."""
    pending = getattr(request, _MFA_PENDING_ATTR, None)
    if pending is None:
        user = request.user
        pending = requires_mfa(user) and not has_mfa(user)
        setattr(request, _MFA_PENDING_ATTR, pending)
    return pending
