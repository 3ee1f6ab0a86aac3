"""An invited person's first sign-in in Chromium, from the emailed link to their home page, at
desktop and phone widths, with axe finding nothing serious or critical on any page."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Role
from accounts.services import membership_grant, user_create
from notify import tasks
from notify.invitations import invitation_queue
from tests.browser.test_accessibility import axe_page as axe_page  # a fixture
from tests.browser.test_accessibility import serious_violations, sign_in
from tests.conftest import current_totp, totp_secret_for

pytestmark = pytest.mark.browser

# Set ONBOARDING_SCREENSHOTS to a folder to keep a picture of each page.
SHOTS = os.environ.get("ONBOARDING_SCREENSHOTS")
PASSWORD = "a long and unguessable phrase 42"


def _check(page, name: str) -> None:
    if SHOTS:
        width = page.viewport_size["width"]
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    assert serious_violations(page) == [], name
    # Nothing wider than the screen (phone): no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name


def test_an_invited_mentor_goes_from_the_email_to_their_home_page(axe_page, program, program_admin):
    page = axe_page
    person = user_create(email="amara@school.test", full_name="Amara Osei")
    membership_grant(user=person, role=Role.MENTOR, program=program)
    pk = invitation_queue(user=person, invited_by=program_admin)
    assert tasks.send_outbox.apply(args=[[pk]]).get() == 1
    (message,) = mail.outbox
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", message.body).group(0)

    # 1. Welcome, and the password.
    page.goto(urlsplit(link).path)
    expect(page).to_have_title("Welcome: choose your password · Mentoring")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Amara Osei")
    expect(page.get_by_text("Rosa Delgado invited you")).to_contain_text(
        "as a mentor in MS1 faculty mentoring"
    )
    steps = page.get_by_role("navigation", name="Getting started")
    expect(steps.locator("[aria-current=step]")).to_have_text(re.compile("Choose your password"))
    _check(page, "1-welcome")
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label(re.compile(r"^Password again:?$")).fill(PASSWORD)
    page.get_by_role("button", name="Save my password and continue").click()

    # 2. Two-factor authentication, straight away: no "Confirm Access" for the password just
    # chosen.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    expect(steps.locator("[aria-current=step]")).to_have_text(
        re.compile("Set up two-factor authentication")
    )
    _check(page, "2-two-factor")
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(current_totp(secret))
    page.get_by_role("button", name="Activate").click()

    # 3. The recovery codes, with a way on.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.get_by_label("Unused codes")).not_to_be_empty()
    _check(page, "3-recovery-codes")
    page.get_by_role("link", name="I have saved my codes: continue").click()

    # 4. Home.
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    _check(page, "4-home")


def test_reauthentication_options_are_separate_buttons(axe_page, mentor):
    """allauth's alternatives ("Use authenticator app or code") are buttons set apart, not
    words that run together."""
    page = axe_page
    sign_in(page, mentor.email)
    page.get_by_label("Code").fill(current_totp(totp_secret_for(mentor.email)))
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/accounts/reauthenticate/")
    option = page.get_by_role("link", name="Use authenticator app or code")
    expect(option).to_have_class(re.compile(r"\bbutton\b"))
    _check(page, "reauthenticate")
