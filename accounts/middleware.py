"""Session lifetime and the MFA requirement, applied to every request."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts.permissions import mfa_pending

SIGNED_IN_AT = "_mentoring_signed_in_at"
LAST_ACTIVITY = "_mentoring_last_activity"
# Write the activity stamp at most this often, so an idle check costs no write per request.
ACTIVITY_RESOLUTION_SECONDS = 60


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


class SessionLifetimeMiddleware:
    """Sign a person out after SESSION_IDLE_TIMEOUT without a request, and in any case
    SESSION_ABSOLUTE_TIMEOUT after they signed in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._expired_reason(request)
            if expired:
                logout(request)
                messages.info(request, expired)
                query = urlencode({"next": request.get_full_path()})
                return _redirect(request, f"{reverse(settings.LOGIN_URL)}?{query}")
            self._touch(request)
        response = self.get_response(request)
        # The request that signed someone in: start their clocks.
        if request.user.is_authenticated and SIGNED_IN_AT not in request.session:
            self._touch(request, start=True)
        return response

    @staticmethod
    def _expired_reason(request: HttpRequest) -> str | None:
        now = time.time()
        signed_in_at = request.session.get(SIGNED_IN_AT)
        last_activity = request.session.get(LAST_ACTIVITY)
        if signed_in_at is None:
            return None
        absolute = settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
        idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
        if now - signed_in_at > absolute:
            hours = int(absolute // 3600)
            return f"For your security you were signed out {hours} hours after signing in."
        if last_activity is not None and now - last_activity > idle:
            minutes = int(idle // 60)
            return (
                f"For your security you were signed out after {minutes} minutes without activity."
            )
        return None

    @staticmethod
    def _touch(request: HttpRequest, start: bool = False) -> None:
        now = time.time()
        if start or SIGNED_IN_AT not in request.session:
            request.session[SIGNED_IN_AT] = now
            request.session[LAST_ACTIVITY] = now
            return
        if now - request.session.get(LAST_ACTIVITY, 0) >= ACTIVITY_RESOLUTION_SECONDS:
            request.session[LAST_ACTIVITY] = now


# Pages a person who must set up MFA may still reach: the setup itself, the recovery codes
# it leads to, re-authentication (allauth asks for it before adding an authenticator),
# signing out, and the health probe.
MFA_SETUP_URL_NAMES = frozenset(
    {
        "mfa_activate_totp",
        "mfa_index",
        "mfa_view_recovery_codes",
        "mfa_generate_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "account_logout",
        "healthz",
    }
)


class MFARequiredMiddleware:
    """Send anyone whose role requires MFA to authenticator setup until they have one.

    Runs after LoginRequiredMiddleware, so only signed-in people reach it; covers the Django
    admin too (its login goes through allauth).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        match = request.resolver_match
        if match is not None and match.url_name in MFA_SETUP_URL_NAMES:
            return None
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        if mfa_pending(request):
            messages.warning(
                request,
                "Your role requires two-factor authentication. Set up an authenticator app "
                "to continue.",
            )
            return _redirect(request, reverse("mfa_activate_totp"))
        return None
