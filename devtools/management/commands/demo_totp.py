"""Print the current authenticator code of a demo account (demo sites only)."""

from __future__ import annotations

import time

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.demo_school import DOMAIN, demo_totp_secret


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo account (demo sites only)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        if not settings.DEMO_ALLOWED:
            raise CommandError("Demo codes are available only on demo sites (DEMO_ALLOWED).")
        if not email.endswith("@" + DOMAIN):
            raise CommandError(f"Only demo accounts (@{DOMAIN}) have a known secret.")
        period = mfa_settings.TOTP_PERIOD
        counter = int(time.time()) // period
        code = format_hotp_value(hotp_value(demo_totp_secret(email), counter))
        remaining = period - int(time.time()) % period
        self.stdout.write(f"{code}  (valid for about {remaining} more seconds)")
