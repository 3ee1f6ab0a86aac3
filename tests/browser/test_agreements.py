"""The mentoring agreement and goals in a real browser: a mentee writes the agreement, forgets
the confidentiality box (one error, nothing she typed lost), then agrees; her mentor agrees;
the relationship page says "Done"; she adds a goal."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from mentoring import agreements, services
from mentoring.models import Goal, MentoringAgreement
from tests.browser.test_accessibility import axe_page as axe_page  # a fixture
from tests.browser.test_accessibility import serious_violations
from tests.browser.test_console import sign_in_with_code
from tests.browser.test_self_match import sign_in_learner

pytestmark = pytest.mark.browser

GOALS = "Choose between surgery and internal medicine by the spring"


def test_both_agree_and_the_mentee_adds_a_goal(
    page, browser, live_server, program, learner, mentor
):
    pair = services.relationship_start(program=program, guide=mentor, learner=learner)

    # The mentee opens the agreement from her relationship page.
    sign_in_learner(page, learner)
    page.goto(f"/relationships/{pair.code}/")
    panel = page.locator("#agreement")
    expect(panel).to_contain_text("Not done")
    panel.get_by_role("link", name="Open the agreement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your mentoring agreement")
    expect(page.locator("#confidentiality")).to_contain_text("safety is at risk")

    # She fills it in but forgets the confidentiality box: one error, what she typed is kept.
    page.get_by_label("Our goals for this term").fill(GOALS)
    page.get_by_role("group", name="How often we will meet").get_by_label("Every two weeks").check()
    page.get_by_role("group", name="How we prefer to be contacted").get_by_label(
        "Video call"
    ).check()
    page.get_by_label("Boundaries").fill("No calls after 9 pm")
    page.get_by_role("button", name="Save and agree").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("listitem")).to_have_count(1)
    expect(summary).to_contain_text("you cannot agree without it")
    expect(page.get_by_label("Our goals for this term")).to_have_value(GOALS)
    expect(page.get_by_label("Every two weeks")).to_be_checked()
    assert not MentoringAgreement.objects.exists()

    # She ticks it and agrees.
    page.get_by_label(re.compile("^I have read what stays confidential")).check()
    page.get_by_role("button", name="Save and agree").click()
    expect(page.locator(".messages")).to_contain_text("Saved, and you agreed")
    expect(page.locator("#agreement-status")).to_contain_text("Waiting for Kenji Ito")

    # Her mentor reads it and agrees.
    context = browser.new_context(base_url=live_server.url)
    guide = context.new_page()
    sign_in_with_code(guide, mentor)
    guide.goto(f"/relationships/{pair.code}/")
    expect(guide.locator("#agreement")).to_contain_text("Waiting for you")
    guide.locator("#agreement").get_by_role("link", name="Open the agreement").click()
    expect(guide.get_by_role("definition").filter(has_text=GOALS)).to_be_visible()
    agree = guide.locator("#agree")
    agree.get_by_label(re.compile("^I have read what stays confidential")).check()
    agree.get_by_role("button", name="I agree").click()
    expect(guide.locator(".messages")).to_contain_text("You have both agreed")
    guide.goto(f"/relationships/{pair.code}/")
    expect(guide.locator("#agreement-state")).to_contain_text("Done")
    context.close()
    assert MentoringAgreement.objects.get(relationship=pair).is_done

    # Her relationship page says done too; she adds a goal from it.
    page.goto(f"/relationships/{pair.code}/")
    expect(page.locator("#agreement-state")).to_contain_text("Done")
    page.locator("#goals").get_by_role("link", name="Add a goal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a goal")
    target = timezone.localdate() + datetime.timedelta(days=60)
    page.get_by_label("Goal:", exact=True).fill("Submit an abstract to the regional meeting")
    page.get_by_role("group", name="Area").get_by_label("Research").check()
    page.get_by_label("Target date").fill(target.isoformat())
    page.get_by_role("button", name="Add the goal").click()
    expect(page.locator(".messages")).to_contain_text("Goal added")
    not_started = page.locator("#status-not_started")
    expect(not_started).to_contain_text("Submit an abstract to the regional meeting")
    expect(not_started).to_contain_text("Research")
    goal = Goal.objects.get(relationship=pair)
    assert (goal.domain, goal.target_on, goal.created_by) == ("research", target, learner)


def test_agreement_and_goal_pages_are_accessible(axe_page, program, learner, mentor):
    pair = services.relationship_start(program=program, guide=mentor, learner=learner)
    agreements.agreement_save(
        by=mentor,
        relationship=pair,
        goals=GOALS,
        meeting_frequency="monthly",
        preferred_contact="email",
        agree=True,
        acknowledged=True,
    )
    goal = agreements.goal_create(
        by=learner,
        relationship=pair,
        title="Submit an abstract",
        domain="research",
        target_on=timezone.localdate() + datetime.timedelta(days=30),
    )
    agreements.goal_progress_add(by=mentor, goal=goal, note="Outline agreed", status="in_progress")
    sign_in_learner(axe_page, learner)
    for url in (
        f"/relationships/{pair.code}/",
        f"/relationships/{pair.code}/agreement/",
        f"/relationships/{pair.code}/goals/",
        f"/relationships/{pair.code}/goals/new/",
        f"/relationships/goals/{goal.code}/",
        f"/relationships/goals/{goal.code}/edit/",
    ):
        axe_page.goto(url)
        assert serious_violations(axe_page) == [], url
    # A form with errors (the summary, the messages next to the fields).
    axe_page.goto(f"/relationships/{pair.code}/goals/new/")
    axe_page.get_by_role("button", name="Add the goal").click()
    expect(axe_page.locator(".error-summary")).to_be_visible()
    assert serious_violations(axe_page) == []
