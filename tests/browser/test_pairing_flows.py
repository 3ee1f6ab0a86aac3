"""The administrator's pairing flows in a real browser, at desktop and phone widths, axe clean:
granting a rematch through its confirmation (choosing the new mentor there), a refused transfer
that keeps its choices with the error at the top, and a match run replaced by a newer one."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership, Role
from matching import services as matching_services
from mentoring import services
from mentoring.models import AssessmentRole, Relationship
from tests.browser.test_accessibility import axe_page, serious_violations  # noqa: F401
from tests.browser.test_console import sign_in_with_code

pytestmark = pytest.mark.browser


def shot(page, name: str) -> None:
    """A full-page screenshot when SCREENSHOT_DIR is set (to look at the pages by eye)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        width = page.viewport_size["width"]
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_granting_a_rematch_with_a_new_mentor(
    axe_page,  # noqa: F811
    program,
    program_admin,
    learner,
    mentor,
    other_mentor,
):
    page = axe_page
    relationship = services.relationship_start(program=program, guide=mentor, learner=learner)
    services.rematch_request_create(relationship=relationship, reason="Our schedules clash.")
    Membership.objects.filter(user=other_mentor, role=Role.MENTOR).update(capacity=2)
    sign_in_with_code(page, program_admin)

    page.goto(f"/console/programs/{program.code}/rematch-requests/")
    page.get_by_role("link", name=re.compile("Grant this rematch")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Grant Lucia Garcia\u2019s rematch request"
    )
    expect(page.get_by_text("Funmi Adeyemi: 2 places left")).to_be_visible()
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    shot(page, "rematch-grant")
    page.get_by_label("New mentor").select_option(value=str(other_mentor.pk))
    page.get_by_role("button", name="Grant the rematch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lucia Garcia and Funmi Adeyemi")
    expect(page.get_by_role("status")).to_contain_text("is now paired with Funmi Adeyemi")
    assert Relationship.objects.current().get(learner=learner).guide == other_mentor


def test_a_refused_transfer_keeps_the_choices(
    axe_page,  # noqa: F811
    program,
    program_admin,
    learner,
    mentor,
    other_mentor,
):
    page = axe_page
    services.relationship_start(program=program, guide=mentor, learner=learner)
    services.assessment_role_add(
        assessor=mentor,
        learner=learner,
        kind=AssessmentRole.Kind.SUPERVISOR,
        context="Internal medicine rotation",
        starts_on=timezone.localdate(),
    )
    sign_in_with_code(page, program_admin)
    page.goto(f"/console/programs/{program.code}/conflicts/")
    page.get_by_label("Transfer the learner to another guide").check()
    page.get_by_label("New guide (for a transfer)").select_option(value=str(other_mentor.pk))
    # Funmi's last place goes while the page is open.
    Membership.objects.filter(user=other_mentor, role=Role.MENTOR).update(capacity=0)
    page.get_by_role("button", name="Resolve").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("was not resolved")
    expect(summary).to_contain_text("Funmi Adeyemi already has 0 current relationships")
    expect(page.get_by_label("Transfer the learner to another guide")).to_be_checked()
    expect(page.get_by_label("New guide (for a transfer)")).to_have_value(str(other_mentor.pk))
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    shot(page, "conflict-refused")
    # Now the form itself shows Funmi as full.
    page.goto(f"/console/programs/{program.code}/relationships/new/")
    assert serious_violations(page) == []
    shot(page, "pairing-form")


def test_a_replaced_run_points_to_the_newer_one(
    axe_page,  # noqa: F811
    program,
    program_admin,
    cohort,
):
    page = axe_page
    first = matching_services.match_run_create(program=program, by=program_admin)
    matching_services.match_run_execute(run=first)
    second = matching_services.match_run_create(program=program, by=program_admin)
    matching_services.match_run_execute(run=second)
    sign_in_with_code(page, program_admin)
    page.goto(f"/console/programs/{program.code}/matching/")
    expect(page.get_by_role("link", name="Run 1")).to_be_visible()
    assert serious_violations(page) == []
    shot(page, "runs")
    page.get_by_role("link", name="Run 1").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Match run 1 of")
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    assert serious_violations(page) == []
    no_sideways_scroll(page)
    shot(page, "run-replaced")
    page.get_by_role("link", name="run 2").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Match run 2 of")
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(1)
    shot(page, "run-current")
