"""The idle sign-out in a real browser (WCAG 2.2.1): the page's clock is driven with
Playwright's clock. The warning opens two minutes before the limit, focused on "Stay signed
in", which extends the session on the server; a note being typed survives a sign-out by the
idle limit and is back in the form after signing in again, and is gone once it was saved or
its author signed out with the button."""

from __future__ import annotations

import datetime
import os
import time

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from playwright.sync_api import expect

from accounts.middleware import LAST_ACTIVITY
from mentoring.models import ConfidentialNote
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_form_errors import sign_in
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD
from tests.sessions_log.booking_helpers import start_pair

pytestmark = pytest.mark.browser

NOTE = "Talked about the residency interview; follow up in January."


def _last_activity(user) -> float:
    for session in Session.objects.all():
        data = session.get_decoded()
        if data.get("_auth_user_id") == str(user.pk):
            return data[LAST_ACTIVITY]
    raise AssertionError("no session for this person")


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_warning_comes_before_the_limit_and_stay_signed_in_extends(
    browser, live_server, learner, viewport, settings
):
    settings.SESSION_IDLE_TIMEOUT = datetime.timedelta(minutes=30)
    settings.SESSION_IDLE_WARNING = datetime.timedelta(minutes=2)
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[viewport], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.clock.install()
        sign_in(page, learner, code=False)
        page.goto("/profile/")
        warning = page.get_by_role("dialog", name="Are you still there?")
        expect(warning).to_be_hidden()

        page.clock.fast_forward("27:00")  # 3 minutes left: no warning yet
        expect(warning).to_be_hidden()
        page.clock.fast_forward("01:30")  # 90 seconds left
        expect(warning).to_be_visible()
        stay = warning.get_by_role("button", name="Stay signed in")
        expect(stay).to_be_focused()
        expect(warning).to_contain_text("signed out in 90 seconds")
        if os.environ.get("SCREENSHOTS_DIR"):  # set it to look at the page
            page.screenshot(
                path=os.path.join(os.environ["SCREENSHOTS_DIR"], f"warning-{viewport}.png")
            )
        assert serious_violations(page) == []

        before = _last_activity(learner)
        with page.expect_response(lambda r: r.url.endswith("/profile/keep-alive/")) as answer:
            stay.click()
        assert answer.value.status == 200
        expect(warning).to_be_hidden()
        assert _last_activity(learner) > before  # the server's idle clock started again

        # The page's clock started again too: 27 minutes on, no warning; 28.5, the warning.
        page.clock.fast_forward("27:00")
        expect(warning).to_be_hidden()
        page.clock.fast_forward("01:30")
        expect(warning).to_be_visible()
    finally:
        context.close()


def test_a_typed_note_survives_a_sign_out_by_the_idle_limit(
    browser, live_server, program, learner, mentor, settings
):
    pair = start_pair(program, mentor, learner)
    note_page = reverse("notes:note-new", kwargs={"code": pair.code})
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS["desktop"])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.clock.install()
        sign_in(page, mentor, code=True)
        page.goto(note_page)
        page.get_by_label("Your note").fill(NOTE)

        # Away from the desk: the server's limit passes (shortened to a second here) and the
        # page's clock reaches it; the page reloads and the server signs him out.
        settings.SESSION_IDLE_TIMEOUT = datetime.timedelta(seconds=1)
        time.sleep(1.5)
        page.clock.fast_forward("31:00")
        page.wait_for_url("**/accounts/login/**")
        expect(page.locator(".messages")).to_contain_text("signed out")
        assert ConfidentialNote.objects.count() == 0

        # He signs in again and is back on the page with his text in the form.
        settings.SESSION_IDLE_TIMEOUT = datetime.timedelta(minutes=30)
        # An authenticator code is accepted once: wait for the next one.
        time.sleep(30.5 - time.time() % 30)
        page.get_by_label("Email").fill(mentor.email)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign In").click()
        page.get_by_label("Code").fill(current_totp(totp_secret_for(mentor.email)))
        page.get_by_role("button", name="Sign In").click()
        page.wait_for_url(f"**{note_page}")
        expect(page.get_by_label("Your note")).to_have_value(NOTE)
        expect(page.locator(".draft-notice")).to_contain_text("is back in the form")
        if os.environ.get("SCREENSHOTS_DIR"):
            page.screenshot(path=os.path.join(os.environ["SCREENSHOTS_DIR"], "draft-back.png"))

        # Saved: the draft is gone, the form is empty next time.
        page.get_by_role("button", name="Save the note").click()
        expect(page.locator(".messages")).to_contain_text("Note saved")
        assert ConfidentialNote.objects.get().body == NOTE
        page.goto(note_page)
        expect(page.get_by_label("Your note")).to_have_value("")
        expect(page.locator(".draft-notice")).to_have_count(0)

        # Signing out with the button leaves nothing typed behind in the tab.
        page.get_by_label("Your note").fill("A second thought")
        assert any(k.startswith("mentoring-draft:") for k in _stored(page))
        page.get_by_role("button", name="Sign out", exact=True).click()
        page.wait_for_url("**/accounts/login/**")
        assert not any(k.startswith("mentoring-draft") for k in _stored(page))
    finally:
        context.close()


def _stored(page) -> list[str]:
    return page.evaluate("Object.keys(window.sessionStorage)")
