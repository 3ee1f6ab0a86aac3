"""allauth's account adapter: who may sign in, where a new session lands, and when the
password is asked for again."""

from __future__ import annotations

import datetime
import time

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.flows.login import get_authentication_records
from allauth.core import context
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.urls import reverse

from accounts.permissions import has_mfa, requires_mfa

# The session key that marks a person's first sign-in (they followed their invitation and chose
# a password): the two-factor and recovery-code pages show where they are in the steps.
ONBOARDING = "mentoring_onboarding"

# The ways of signing in that prove the person typed their password (or chose it, by the
# emailed link) in this session.
_PASSWORD_SIGN_INS = frozenset({"password", "password_reset"})


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts come from program administrators (imports and invitations), not sign-up.
        return settings.ACCOUNT_ALLOW_SIGNUP

    def login(self, request, user) -> None:
        first = user.last_login is None
        super().login(request, user)
        if first:
            request.session[ONBOARDING] = True

    def get_login_redirect_url(self, request) -> str:
        # A person whose role requires two-factor authentication goes straight to set it up
        # (MFARequiredMiddleware would send them there from any page anyway).
        user = request.user
        if requires_mfa(user) and not has_mfa(user):
            return reverse("mfa_activate_totp")
        return super().get_login_redirect_url(request)

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """allauth asks for the password again before any change of authenticators. Not while a
        person sets up their first one right after signing in (or choosing their password by
        the invitation's link): they typed it moments ago, in this very session. Any
        authenticator they had before that sign-in, or a sign-in older than
        MFA_SETUP_AFTER_SIGN_IN, and the question is asked as usual."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        if not required or app != "allauth.mfa":
            return required
        request = context.request
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return required
        sign_ins = [
            record
            for record in get_authentication_records(request, user)
            if record.get("method") in _PASSWORD_SIGN_INS
        ]
        if not sign_ins:
            return required
        signed_in_at = sign_ins[-1]["at"]
        if time.time() - signed_in_at > settings.MFA_SETUP_AFTER_SIGN_IN.total_seconds():
            return required
        had_one_before = Authenticator.objects.filter(
            user=user,
            created_at__lt=datetime.datetime.fromtimestamp(signed_in_at, tz=datetime.UTC),
        ).exists()
        return had_one_before
