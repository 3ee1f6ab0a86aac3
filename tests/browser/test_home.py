"""Each role's home page in a real browser, at desktop and phone widths: the to-do items in
order, the first one followed and done, and gone from the home page after; axe finds no serious
or critical violation on any page passed."""

from __future__ import annotations

import datetime
import os
import re

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from dashboards.models import SummaryRefresh
from mentoring import agreements, services
from mentoring.models import AccessLogEntry, RematchRequest
from sessions_log.models import Meeting, MeetingLog
from surveys.models import SurveyTemplate
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_console import sign_in_with_code
from tests.browser.test_self_match import sign_in_learner
from tests.conftest import give_mfa
from tests.factories import UserFactory
from tests.surveys.survey_helpers import invite, open_campaign

pytestmark = pytest.mark.browser

DAY = datetime.timedelta(days=1)


@pytest.fixture(params=list(VIEWPORTS))
def home_page(request, browser, live_server):
    # bypass_csp lets the test inject axe; the site's own pages never need it.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[request.param], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def kinds(page, key: str) -> list[str]:
    return page.locator(f"#todo-{key} .todo-item").evaluate_all(
        "items => items.map(item => item.dataset.kind)"
    )


def clean(page) -> None:
    if os.environ.get("HOME_SCREENSHOTS"):  # a directory: look at the pages passed
        name = re.sub(r"\W+", "-", page.url.split("//", 1)[1].split("/", 1)[1]).strip("-")
        width = page.viewport_size["width"]
        page.screenshot(path=f"{os.environ['HOME_SCREENSHOTS']}/{name or 'home'}-{width}.png")
    assert serious_violations(page) == [], page.url


def header_fits_one_row(page) -> None:
    """The brand, the navigation and "Sign out" share one row at 1280 px."""
    if page.viewport_size["width"] < 1280:
        return
    tops = page.evaluate(
        "() => ['.brand', '.site-nav li:first-child', '.site-user button']"
        ".map(s => document.querySelector(s).getBoundingClientRect())"
        ".map(r => Math.round(r.top + r.height / 2))"
    )
    assert max(tops) - min(tops) <= 4, tops


def meeting(pair, starts_at, minutes=30) -> Meeting:
    return Meeting.objects.create(
        relationship=pair,
        starts_at=starts_at,
        ends_at=starts_at + datetime.timedelta(minutes=minutes),
        location="Room 4.12",
    )


def test_learner_agrees_then_the_agreement_leaves_her_list(home_page, program, learner, mentor):
    pair = services.relationship_start(program=program, guide=mentor, learner=learner)
    agreements.agreement_save(
        by=mentor,
        relationship=pair,
        goals="Choose a specialty by spring",
        meeting_frequency="monthly",
        preferred_contact="email",
        agree=True,
        acknowledged=True,
    )
    invite(open_campaign(program, SurveyTemplate.Kind.LEARNER_END), learner, pair)
    meeting(pair, timezone.now() + 2 * DAY)

    page = home_page
    sign_in_learner(page, learner)
    assert kinds(page, "learner") == ["agreement", "survey", "meeting"]
    expect(page.locator("#learning")).to_contain_text("Kenji Ito")  # the programs stay below
    header_fits_one_row(page)
    clean(page)

    page.locator("#todo-learner .todo-item__link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your mentoring agreement")
    clean(page)
    agree = page.locator("#agree")
    agree.get_by_label(re.compile("^I have read what stays confidential")).check()
    agree.get_by_role("button", name="I agree").click()
    expect(page.locator(".messages")).to_contain_text("You have both agreed")

    page.goto("/")
    assert kinds(page, "learner") == ["survey", "meeting"]


def test_guide_logs_a_meeting_then_it_leaves_his_list(home_page, program, learner, mentor):
    pair = services.relationship_start(
        program=program, guide=mentor, learner=learner, started_on=timezone.localdate() - 30 * DAY
    )
    now = timezone.now()
    held = meeting(pair, now - datetime.timedelta(hours=3))
    meeting(pair, now + 3 * DAY)

    page = home_page
    sign_in_with_code(page, mentor)
    assert kinds(page, "guide") == ["log-due", "meeting"]
    expect(page.locator("#guiding")).to_contain_text("MS1 faculty mentoring")
    header_fits_one_row(page)
    clean(page)

    page.locator("#todo-guide .todo-item__link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Log")
    clean(page)
    page.get_by_role("button", name="Save the log").click()
    expect(page.locator(".messages")).to_be_visible()
    assert MeetingLog.objects.filter(meeting=held).exists()

    page.goto("/")
    assert kinds(page, "guide") == ["meeting"]


def test_administrator_answers_a_rematch_request_then_it_leaves_her_list(
    home_page, program, program_admin, learner, mentor
):
    pair = services.relationship_start(
        program=program, guide=mentor, learner=learner, started_on=timezone.localdate() - 60 * DAY
    )
    services.rematch_request_create(relationship=pair, reason="Our timetables never meet")

    page = home_page
    sign_in_with_code(page, program_admin)
    assert kinds(page, "admin") == ["rematch", "quiet"]
    expect(page.locator("#todo-admin")).to_contain_text("1 rematch request to answer")
    expect(page.locator("#programs")).to_contain_text("MS1 faculty mentoring")
    header_fits_one_row(page)
    clean(page)

    page.locator("#todo-admin .todo-item__link").first.click()
    clean(page)
    # Granting is a confirmation page that says who has room; this program has nobody else.
    page.get_by_role("link", name="Grant this rematch").click()
    clean(page)
    page.get_by_role("button", name=re.compile(r"^(Grant the rematch|End without fault)")).click()
    expect(page.locator(".messages")).to_be_visible()
    assert not RematchRequest.objects.open().exists()

    page.goto("/")
    expect(page.locator("#todo-admin")).to_contain_text("Nothing is waiting in your programs")
    assert kinds(page, "admin") == []


def test_dean_opens_the_new_figures_then_they_are_no_longer_new(
    home_page, dean, program, learner, mentor
):
    services.relationship_start(program=program, guide=mentor, learner=learner)
    now = timezone.now()
    SummaryRefresh.objects.create(
        started_at=now - datetime.timedelta(minutes=1), finished_at=now, as_of=now.date()
    )
    page = home_page
    sign_in_with_code(page, dean)
    assert kinds(page, "dean") == ["dean-new-figures", "dean-evaluation", "dean-surveys"]
    expect(page.locator("main")).not_to_contain_text(learner.full_name)
    header_fits_one_row(page)
    clean(page)

    page.locator("#todo-dean .todo-item__link").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    clean(page)

    page.goto("/")
    assert kinds(page, "dean") == ["dean-dashboard", "dean-evaluation", "dean-surveys"]
    for index in (1, 2):
        page.goto("/")
        page.locator("#todo-dean .todo-item__link").nth(index).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        clean(page)


def test_privacy_officer_reviews_the_refusals_then_they_leave_the_list(home_page, db, learner):
    officer = UserFactory(email="pat@school.test", full_name="Pat Officer")
    officer.user_permissions.add(
        Permission.objects.get(content_type__app_label="mentoring", codename="view_accesslogentry")
    )
    give_mfa(officer)
    AccessLogEntry.objects.create(
        actor=learner, action="read", outcome="refused", reason="not the author"
    )
    page = home_page
    sign_in_with_code(page, officer)
    expect(page.locator("main")).not_to_contain_text("You are not in a program yet")
    assert kinds(page, "privacy") == ["access-refused", "access-log"]
    header_fits_one_row(page)
    clean(page)

    page.locator("#todo-privacy .todo-item__link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ccess log")
    expect(page.locator("tbody")).to_contain_text("Lucia Garcia")
    clean(page)
    page.get_by_role("button", name="Mark the log as reviewed up to now").click()
    expect(page.locator(".messages")).to_contain_text("Marked as reviewed")
    clean(page)

    page.goto("/")
    assert kinds(page, "privacy") == ["access-log"]
