"""Sign-in in a real browser: Debian's Chromium through Playwright against live_server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services import membership_grant
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD, ProgramFactory, UserFactory

pytestmark = pytest.mark.browser


def sign_in(page, email: str) -> None:
    page.goto("/")
    # Deny by default: the home page sends an anonymous visitor to sign in.
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_learner_signs_in_and_sees_their_home_page(page, learner):
    sign_in(page, learner.email)

    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Lucia")
    expect(page.get_by_role("heading", name="Your programs")).to_be_visible()
    expect(page.get_by_text("MS1 faculty mentoring")).to_be_visible()
    # A learner is not asked to set up MFA and sees no administrator section.
    expect(page.get_by_role("heading", name="Programs you administer")).to_have_count(0)
    expect(page.get_by_role("link", name="Skip to main content")).to_be_attached()


def test_program_admin_without_mfa_is_held_at_setup_until_they_have_it(page, db):
    program = ProgramFactory(name="Longitudinal coaching")
    admin = UserFactory(email="newadmin@school.test", full_name="Nadia Admin")
    membership_grant(user=admin, role=Role.PROGRAM_ADMIN, program=program)

    sign_in(page, admin.email)
    # Sent straight to authenticator setup: having just typed the password, they are not
    # asked for it again (allauth's reauthentication) before adding their first authenticator.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")

    # No other page is reachable: home, email settings, password change, the Django admin.
    for path in ("/", "/accounts/email/", "/accounts/password/change/", "/admin/"):
        page.goto(path)
        expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Set up two-factor authentication"
        )
        expect(page.get_by_text("Your role requires two-factor authentication")).to_be_visible()

    # Set up the authenticator the way an app would: read the secret, compute the code.
    secret = page.locator("#authenticator_secret").input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.get_by_label("Authenticator code").fill(current_totp(secret))
    page.get_by_role("button", name="Activate").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))

    page.goto("/")
    expect(page.get_by_role("heading", name="Programs you administer")).to_be_visible()
    expect(page.get_by_role("rowheader", name="Longitudinal coaching")).to_be_visible()


def test_program_admin_with_mfa_must_give_a_code_to_get_in(page, program_admin):
    sign_in(page, program_admin.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))

    page.get_by_label("Code").fill(
        "000000" if current_totp(totp_secret_for(program_admin.email)) != "000000" else "111111"
    )
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.get_by_text("Incorrect code")).to_be_visible()

    page.get_by_label("Code").fill(current_totp(totp_secret_for(program_admin.email)))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Rosa")
    expect(page.get_by_role("rowheader", name="MS1 faculty mentoring")).to_be_visible()
