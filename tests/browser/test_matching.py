"""An administrator runs the matcher, locks one pair, rejects another, re-runs, approves; both
people of an approved pair see each other on their home pages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from matching.models import MatchRun, Proposal
from tests.browser.test_console import sign_in_with_code
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_run_lock_reject_rerun_approve(
    page, browser, live_server, program, program_admin, cohort, eager_tasks
):
    sign_in_with_code(page, program_admin)
    page.goto(f"/console/programs/{program.code}/matching/")
    page.get_by_label(re.compile("Optimal")).check()
    page.get_by_role("button", name="Run the matcher").click()
    expect(page.locator("#run-status")).to_contain_text("Ready for review")

    first = MatchRun.objects.get()
    to_lock, to_reject = list(first.proposals.exclude(guide__isnull=True).order_by("pk")[:2])
    page.get_by_role(
        "button", name=f"Lock {to_lock.learner.full_name} with {to_lock.guide.full_name}"
    ).click()
    page.get_by_role(
        "button", name=f"Reject {to_reject.learner.full_name} with {to_reject.guide.full_name}"
    ).click()

    page.get_by_role("button", name="Run again, keeping locks and rejections").click()
    expect(page.locator("#run-status")).to_contain_text("Ready for review")
    second = MatchRun.objects.exclude(pk=first.pk).get()
    kept = second.proposals.get(learner=to_lock.learner)
    assert (kept.guide, kept.state) == (to_lock.guide, Proposal.State.LOCKED)
    assert second.proposals.get(learner=to_reject.learner).guide != to_reject.guide

    page.get_by_role("button", name="Approve and create the relationships").click()
    expect(page.locator(".messages")).to_contain_text("the relationships are being created")
    # The worker (eager here) created them in batches; the status says how many.
    expect(page.locator("#run-status")).to_contain_text("relationships created.")
    approved = second.proposals.get(learner=to_lock.learner)
    assert approved.state == Proposal.State.APPROVED

    # The learner sees her guide on her home page...
    learner_page = browser.new_page(base_url=live_server.url)
    learner_page.goto("/accounts/login/")
    learner_page.get_by_label("Email").fill(approved.learner.email)
    learner_page.get_by_label("Password").fill(TEST_PASSWORD)
    learner_page.get_by_role("button", name="Sign In").click()
    expect(learner_page.get_by_text(f"With {approved.guide.full_name}.")).to_be_visible()
    learner_page.close()
    # ...and the guide sees a current learner on theirs.
    guide_page = browser.new_page(base_url=live_server.url)
    sign_in_with_code(guide_page, approved.guide)
    expect(guide_page.get_by_text(re.compile(r"[1-9] current learners?"))).to_be_visible()
    guide_page.goto("/relationships/")
    expect(guide_page.get_by_text(approved.learner.full_name).first).to_be_visible()
    guide_page.close()
