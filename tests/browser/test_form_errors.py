"""Refusals where the eye is, in a real browser: a guide whose availability page is long adds a
time that overlaps one of his slots; the page comes back with the error summary at the top,
focused, naming the clashing slot in his zone, with what he typed still in the form, the
page's own address in the address bar, and no serious axe violation; on a desktop and a phone.
"""

from __future__ import annotations

import datetime
import os
import zoneinfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.times import describe
from sessions_log.models import Slot
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD
from tests.sessions_log.booking_helpers import set_zone

pytestmark = pytest.mark.browser

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def sign_in(page, user, *, code: bool) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if code:
        page.get_by_label("Code").fill(current_totp(totp_secret_for(user.email)))
        page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_refused_slot_shows_the_summary_at_the_top_focused_naming_the_clash(
    browser, live_server, mentor, viewport
):
    set_zone(mentor, "America/Chicago")
    day = timezone.localdate(timezone=CHICAGO) + datetime.timedelta(days=10)
    clash_start = datetime.datetime.combine(day, datetime.time(17), tzinfo=CHICAGO)
    clash = Slot.objects.create(
        guide=mentor,
        starts_at=clash_start,
        ends_at=clash_start + datetime.timedelta(hours=1),
        location="Room 4.12",
    )
    # A long page, as a busy guide's is: the form is far below the first screen.
    for n in range(1, 30):
        at = datetime.datetime.combine(
            day + datetime.timedelta(days=n), datetime.time(9), tzinfo=CHICAGO
        )
        Slot.objects.create(
            guide=mentor, starts_at=at, ends_at=at + datetime.timedelta(minutes=30), location="B"
        )

    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[viewport], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, mentor, code=True)
        page.goto("/meetings/availability/")
        form = page.locator("#add-slot")
        form.get_by_label("Date").fill(day.isoformat())
        form.get_by_label("Starts at").fill("17:30")
        form.get_by_label("Length in minutes").fill("30")
        form.get_by_label("Room").fill("Typed room 12")
        form.get_by_role("button", name="Add the time").click()

        summary = page.locator("[data-error-summary]")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("This time was not added")
        expect(summary).to_contain_text(describe(clash.starts_at, clash.ends_at, CHICAGO))
        expect(summary).to_contain_text("What you typed is kept")
        if os.environ.get("SCREENSHOTS_DIR"):  # set it to look at the page
            page.screenshot(
                path=os.path.join(os.environ["SCREENSHOTS_DIR"], f"refused-{viewport}.png")
            )
        # At the top of the page, in view, above the heading; the form is far below it.
        box = summary.bounding_box()
        assert box is not None and 0 <= box["y"] < VIEWPORTS[viewport]["height"] / 2
        assert box["y"] + page.evaluate("window.scrollY") < 400  # the top of the page
        heading = page.get_by_role("heading", level=1).bounding_box()
        assert box["y"] < heading["y"]
        form_box = form.bounding_box()
        assert form_box["y"] > box["y"] + 1000
        # The page's own address, so a reload shows the page; what was typed is kept.
        assert page.evaluate("location.pathname") == "/meetings/availability/"
        expect(form.get_by_label("Room")).to_have_value("Typed room 12")
        expect(form.get_by_label("Starts at")).to_have_value("17:30")
        assert serious_violations(page) == []

        # The summary's link takes the eye and the keyboard to the field.
        page.get_by_role("button", name="Add the time").click()  # nothing changed: refused again
        expect(summary).to_be_focused()
        page.reload()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your availability")
        expect(page.locator("[data-error-summary]")).to_have_count(0)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_missing_place_links_to_the_room_field(browser, live_server, mentor, viewport):
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, mentor, code=True)
        page.goto("/meetings/availability/")
        form = page.locator("#add-slot")
        form.get_by_label("Starts at").fill("10:00")
        form.get_by_role("button", name="Add the time").click()
        summary = page.locator("[data-error-summary]")
        expect(summary).to_be_focused()
        expect(summary).to_contain_text("one of the two is required")
        summary.get_by_role("link", name="Room").click()
        expect(form.get_by_label("Room")).to_be_focused()
    finally:
        context.close()
