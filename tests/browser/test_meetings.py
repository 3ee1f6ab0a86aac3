"""Meetings in a real browser: a mentor adds a weekly time, his mentee books the first one,
both see the booking, she moves it to the next week, logs it with an action item, and
the item is at the top of her next meeting."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from sessions_log import availability, booking
from sessions_log.availability import WEEKDAYS
from sessions_log.models import Meeting, Slot
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_console import sign_in_with_code
from tests.browser.test_self_match import sign_in_learner
from tests.sessions_log.booking_helpers import start_pair

pytestmark = pytest.mark.browser


def test_guide_adds_a_weekly_time_the_learner_books_it_and_moves_it(
    page, browser, live_server, program, learner, mentor, eager_tasks
):
    pair = start_pair(program, mentor, learner)
    day = timezone.localdate() + datetime.timedelta(days=3)

    # The mentor publishes a weekly time: three days from now at 10:00, in Room 4.12.
    guide = browser.new_page(base_url=live_server.url)
    sign_in_with_code(guide, mentor)
    guide.get_by_role("link", name="Availability", exact=True).click()
    expect(guide.get_by_role("heading", level=1)).to_have_text("Your availability")
    weekly = guide.locator("#weekly")
    weekly.get_by_label("Day of the week").select_option(label=WEEKDAYS[day.weekday()])
    weekly.get_by_label("Starts at").fill("10:00")
    weekly.get_by_label("Length in minutes").fill("30")
    weekly.get_by_label("Room").fill("Room 4.12")
    weekly.get_by_role("button", name="Add the weekly time").click()
    expect(guide.locator(".messages")).to_contain_text("Weekly time added")
    slots = guide.locator("#slots")
    expect(slots.get_by_role("heading", level=3).first).to_have_text(
        f"{day:%A} {day.day} {day:%B %Y}"
    )
    expect(slots.get_by_text("Free").first).to_be_visible()
    first = Slot.objects.filter(guide=mentor).order_by("starts_at").first()
    assert first.starts_at.date() == day and first.starts_at.hour == 10

    # His mentee follows her relationship page to the booking page and books the first time.
    sign_in_learner(page, learner)
    page.goto(f"/relationships/{pair.code}/")
    page.get_by_role("link", name="Book a meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book a meeting with Kenji Ito")
    page.locator("#free-times").get_by_role("button", name=re.compile("^Book ")).first.click()
    expect(page.locator(".messages")).to_contain_text("Booked:")
    upcoming = page.locator("#upcoming")
    expect(upcoming).to_contain_text(f"{day:%A} {day.day} {day:%B}, 10:00")
    meeting = Meeting.objects.get(relationship=pair)
    assert (meeting.slot, meeting.status, meeting.location) == (first, "booked", "Room 4.12")

    # He sees her name on that time.
    guide.reload()
    booked_row = slots.get_by_role("listitem").filter(has_text="Lucia Garcia")
    expect(booked_row).to_have_count(1)
    expect(booked_row).to_contain_text("10:00")
    expect(booked_row).to_contain_text("Booked")

    # She moves it to the next week.
    upcoming.get_by_role("link", name=re.compile("^Move the meeting")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Move your meeting")
    next_week = day + datetime.timedelta(days=7)
    page.get_by_role("radio").first.check()
    page.get_by_role("button", name="Move the meeting").click()
    expect(page.locator(".messages")).to_contain_text("Moved to")
    expect(upcoming).to_contain_text(f"{next_week:%A} {next_week.day} {next_week:%B}, 10:00")
    meeting.refresh_from_db()
    assert meeting.starts_at.date() == next_week and meeting.sequence == 1

    # He sees the move: her name on next week's time, this week's free again.
    guide.reload()
    expect(booked_row).to_have_count(1)
    first_row = slots.get_by_role("listitem").first
    expect(first_row).to_contain_text("Free")
    guide.close()

    # Both got an invitation for the booking and an update for the move.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([learner.email, mentor.email] * 2)

    # The meeting takes place (time passes: it is moved to an hour ago), and she logs it with
    # a reflection and an action item.
    hour = datetime.timedelta(hours=1)
    start = timezone.now().replace(second=0, microsecond=0) - hour
    Meeting.objects.filter(pk=meeting.pk).update(starts_at=start, ends_at=start + hour / 2)
    page.goto(f"/meetings/{meeting.code}/")
    page.get_by_role("link", name="Log this meeting").click()
    page.get_by_label("It took place").check()
    page.get_by_label("How long it lasted, in minutes").fill("30")
    page.get_by_label("Career").check()
    page.get_by_label("Your reflection").fill("I will ask the program director myself.")
    page.get_by_label("An action item for next time").fill("Draft my personal statement")
    page.get_by_role("button", name="Save the log").click()
    expect(page.locator("#action-items")).to_contain_text("Draft my personal statement")
    meeting.refresh_from_db()
    assert meeting.status == "completed" and meeting.log.topics == ["career"]

    # She books the next time: the action item is at the top of that meeting's page.
    page.goto(f"/meetings/book/{pair.code}/")
    page.locator("#free-times").get_by_role("button", name=re.compile("^Book ")).first.click()
    expect(page.locator(".messages")).to_contain_text("Booked:")
    following = (
        Meeting.objects.filter(relationship=pair, status="booked").order_by("starts_at").first()
    )
    page.goto(f"/meetings/{following.code}/")
    expect(page.locator("#carried")).to_contain_text("Draft my personal statement")


@pytest.fixture(params=["desktop", "phone"])
def axe_page(request, browser, live_server):
    # bypass_csp lets the test inject axe; the site's own pages never need it.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[request.param], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_availability_and_booking_pages_are_accessible(axe_page, program, learner, mentor):
    pair = start_pair(program, mentor, learner)
    now = timezone.now()
    _, expansion = availability.pattern_add(
        guide=mentor,
        weekday=(now + datetime.timedelta(days=2)).weekday(),
        start_time=datetime.time(9, 0),
        duration_minutes=30,
        timezone_name="UTC",
        location="Room 4.12",
        starts_on=now.date(),
    )
    meeting = booking.meeting_book(relationship=pair, slot=expansion.created[0], learner=learner)

    sign_in_learner(axe_page, learner)
    for path in (
        f"/meetings/book/{pair.code}/",
        f"/meetings/{meeting.code}/reschedule/",
        f"/meetings/{meeting.code}/cancel/",
        "/meetings/feed/",
    ):
        axe_page.goto(path)
        assert serious_violations(axe_page) == [], path
    axe_page.context.clear_cookies()
    sign_in_with_code(axe_page, mentor)
    pattern = expansion.created[0].pattern
    for path in ("/meetings/availability/", f"/meetings/availability/weekly/{pattern.code}/"):
        axe_page.goto(path)
        assert serious_violations(axe_page) == [], path
