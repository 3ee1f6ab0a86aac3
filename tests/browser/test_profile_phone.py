"""The profile on a phone: the weekly availability grid (which matching reads) fits a 390 px
screen, every column visible, labelled and operable; the profile and the data page have no
serious or critical axe violation at either width."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from accounts.models import DAY_PARTS, WEEK_DAYS, ParticipantProfile
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_form_errors import sign_in

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("SCREENSHOTS_DIR")  # set it to look at the pages


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_the_weekly_grid_fits_and_every_box_can_be_ticked(browser, live_server, learner, viewport):
    ParticipantProfile.objects.create(user=learner, timezone="Europe/London")
    size = VIEWPORTS[viewport]
    context = browser.new_context(base_url=live_server.url, viewport=size, bypass_csp=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, learner, code=False)
        page.goto("/profile/")
        grid = page.locator(".week-grid")
        # Nothing wider than the screen: the page does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        grid_box = grid.bounding_box()
        assert grid_box["x"] >= 0 and grid_box["x"] + grid_box["width"] <= size["width"]
        # Every column has a visible heading inside the screen, Evening included.
        for part in DAY_PARTS:
            header = grid.get_by_role("columnheader", name=part.capitalize())
            expect(header).to_be_visible()
            box = header.bounding_box()
            assert box["x"] + box["width"] <= size["width"], part
        # Every box is labelled with its day and part, in view, and can be ticked.
        for day in WEEK_DAYS:
            for part in DAY_PARTS:
                box = page.get_by_role("checkbox", name=f"{day} {part}", exact=True)
                expect(box).to_be_visible()
                place = box.bounding_box()
                assert place["x"] + place["width"] <= size["width"], (day, part)
        page.get_by_role("checkbox", name="Wednesday evening", exact=True).check()
        page.get_by_role("checkbox", name="Sunday evening", exact=True).check()
        _shot(page, f"profile-{viewport}.png")
        if SHOTS:
            grid.screenshot(path=os.path.join(SHOTS, f"grid-{viewport}.png"))
        assert serious_violations(page) == []
        page.get_by_role("button", name="Save profile").click()
        expect(page.locator(".messages")).to_be_visible()
        profile = ParticipantProfile.objects.get(user=learner)
        assert {"Wednesday evening", "Sunday evening"} <= set(profile.availability_labels())

        page.goto("/profile/data/")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        _shot(page, f"profile-data-{viewport}.png")
        assert serious_violations(page) == []
    finally:
        context.close()
