"""Role-aware navigation for the base layout."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts.models import GUIDE_ROLES, Role
from accounts.permissions import has_mfa, is_privacy_officer, requires_mfa, roles_of


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    url_name: str


def _navigation(request) -> dict:
    user = request.user
    if not user.is_authenticated:
        return {"items": [], "roles": frozenset(), "mfa_pending": False}
    roles = roles_of(user)
    items = [NavItem("Home", reverse("home"), "home")]
    # Each link is listed only for the roles that may use it, so nobody is shown a link that
    # answers 404.
    if Role.LEARNER in roles or roles & GUIDE_ROLES:
        items.append(
            NavItem("My relationships", reverse("mentoring:relationship-list"), "relationship-list")
        )
        items.append(NavItem("Meetings", reverse("meetings:meetings"), "meetings"))
        # Surveys to answer; guides also reach their results about themselves from there.
        items.append(NavItem("Surveys", reverse("surveys:mine"), "mine"))
    if roles & GUIDE_ROLES:
        items.append(NavItem("Availability", reverse("meetings:availability"), "availability"))
        items.append(NavItem("Notes", reverse("notes:my-notes"), "my-notes"))
    if Role.PROGRAM_ADMIN in roles:
        items.append(NavItem("Programs", reverse("console:program-list"), "program-list"))
    if Role.DEAN in roles:
        items.append(NavItem("Dashboard", reverse("dashboards:institution"), "institution"))
        items.append(
            NavItem("Survey results", reverse("survey_results:all-programs"), "all-programs")
        )
    if is_privacy_officer(user):
        items.append(NavItem("Privacy", reverse("privacy:access-log"), "access-log"))
    items.append(NavItem("Profile", reverse("accounts:profile"), "profile"))
    items.append(NavItem("Account security", reverse("mfa_index"), "mfa_index"))
    mfa_pending = requires_mfa(user) and not has_mfa(user)
    if mfa_pending:
        items = [
            NavItem(
                "Set up two-factor authentication",
                reverse("mfa_activate_totp"),
                "mfa_activate_totp",
            )
        ]
    return {"items": items, "roles": roles, "mfa_pending": mfa_pending}


def navigation(request) -> dict:
    return {"nav": SimpleLazyObject(lambda: _navigation(request))}


def session_timeout(request) -> dict:
    """The idle limit and the warning before it, in seconds, for the signed-in pages' warning
    (templates/includes/session_warning.html, static/js/session.js)."""
    idle = int(settings.SESSION_IDLE_TIMEOUT.total_seconds())
    warn = min(int(settings.SESSION_IDLE_WARNING.total_seconds()), idle // 2)
    return {"session_timeout": {"idle_seconds": idle, "warn_seconds": warn}}


def signup(request) -> dict:
    """Whether self sign-up is open (the sign-in page links to it only then)."""

    return {"signup_open": settings.ACCOUNT_ALLOW_SIGNUP}
