"""Role-aware navigation for the base layout."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import SimpleLazyObject

from accounts.models import GUIDE_ROLES, Role
from accounts.permissions import is_privacy_officer, mfa_pending, roles_of


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    url_name: str


_URLS: dict[tuple, str] = {}


def _url(name: str) -> str:
    """reverse(name), kept per process: the navigation's links have no arguments, so they
    change only with the URL map and the script prefix (part of the key)."""
    key = (get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF, name)
    url = _URLS.get(key)
    if url is None:
        url = _URLS[key] = reverse(name)
    return url


def _navigation(request) -> dict:
    user = request.user
    if not user.is_authenticated:
        return {"items": [], "roles": frozenset(), "mfa_pending": False}
    roles = roles_of(user)
    items = [NavItem("Home", _url("home"), "home")]
    # Each link is listed only for the roles that may use it, so nobody is shown a link that
    # answers 404.
    if Role.LEARNER in roles or roles & GUIDE_ROLES:
        items.append(
            NavItem("My relationships", _url("mentoring:relationship-list"), "relationship-list")
        )
        items.append(NavItem("Meetings", _url("meetings:meetings"), "meetings"))
        # Surveys to answer; guides also reach their results about themselves from there.
        items.append(NavItem("Surveys", _url("surveys:mine"), "mine"))
    if roles & GUIDE_ROLES:
        items.append(NavItem("Availability", _url("meetings:availability"), "availability"))
        items.append(NavItem("Notes", _url("notes:my-notes"), "my-notes"))
    if Role.PROGRAM_ADMIN in roles:
        items.append(NavItem("Programs", _url("console:program-list"), "program-list"))
    if Role.DEAN in roles:
        items.append(NavItem("Dashboard", _url("dashboards:institution"), "institution"))
        items.append(NavItem("Survey results", _url("survey_results:all-programs"), "all-programs"))
    if is_privacy_officer(user):
        items.append(NavItem("Privacy", _url("privacy:access-log"), "access-log"))
    items.append(NavItem("Profile", _url("accounts:profile"), "profile"))
    items.append(NavItem("Account security", _url("mfa_index"), "mfa_index"))
    pending = mfa_pending(request)
    if pending:
        items = [
            NavItem(
                "Set up two-factor authentication",
                _url("mfa_activate_totp"),
                "mfa_activate_totp",
            )
        ]
    return {"items": items, "roles": roles, "mfa_pending": pending}


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
