"""axe-core (vendored, pinned) finds no serious or critical WCAG 2.2 AA violation on the
pages that exist, on a desktop and on a phone-sized screen."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from matching import preferences
from matching import services as matching_services
from matching.models import Choice
from mentoring import services
from mentoring.models import Program, Term
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(VIEWPORTS))
def axe_page(request, browser, live_server):
    # bypass_csp lets the test inject axe; the site's own pages never need it.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[request.param], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def serious_violations(page) -> list[str]:
    page.evaluate(AXE)
    # resultTypes: axe still reports every violation in full; passes and inapplicable rules
    # are summarised instead of listing every node, which the test never reads.
    result = page.evaluate(
        "tags => axe.run(document,"
        " {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()


def test_sign_in_page_is_accessible(axe_page, db):
    axe_page.goto("/accounts/login/")
    assert serious_violations(axe_page) == []


def test_learner_home_is_accessible(axe_page, learner):
    sign_in(axe_page, learner.email)
    axe_page.wait_for_url("**/")
    assert serious_violations(axe_page) == []


def test_admin_mfa_step_and_home_are_accessible(axe_page, program_admin):
    sign_in(axe_page, program_admin.email)
    axe_page.wait_for_url("**/accounts/2fa/authenticate/")
    assert serious_violations(axe_page) == []
    axe_page.get_by_label("Code").fill(current_totp(totp_secret_for(program_admin.email)))
    axe_page.get_by_role("button", name="Sign In").click()
    axe_page.wait_for_url("**/")
    assert axe_page.get_by_role("heading", name="Programs you administer").is_visible()
    assert serious_violations(axe_page) == []


def test_password_reset_page_is_accessible(axe_page, db):
    axe_page.goto("/accounts/password/reset/")
    assert serious_violations(axe_page) == []


def test_the_check_itself_catches_a_violation(axe_page, db):
    # Guards against a harness that silently reports nothing (wrong tags, axe not loaded).
    axe_page.goto("/accounts/login/")
    axe_page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<input type=text id=unlabelled><img src=x.png>')"
    )
    found = serious_violations(axe_page)
    assert any(v.startswith("label ") for v in found), found
    assert any(v.startswith("image-alt ") for v in found), found


@pytest.fixture
def busy_program(program, learner, mentor, other_mentor, assessor):
    """A program with a relationship, a queued conflict and a rematch request to look at."""

    pair = services.relationship_start(program=program, guide=mentor, learner=learner)
    services.rematch_request_create(relationship=pair, reason="Schedules")
    services.assessment_role_add(
        assessor=mentor,
        learner=learner,
        kind="assessor",
        context="OSCE",
        starts_on=timezone.localdate() + datetime.timedelta(days=7),
    )
    membership_grant(user=assessor, role=Role.MENTOR, program=program)
    return pair


def test_console_pages_are_accessible(axe_page, program_admin, busy_program):
    program = busy_program.program
    sign_in(axe_page, program_admin.email)
    axe_page.get_by_label("Code").fill(current_totp(totp_secret_for(program_admin.email)))
    axe_page.get_by_role("button", name="Sign In").click()
    axe_page.wait_for_url("**/")
    base = f"/console/programs/{program.code}"
    for path in (
        "/console/",
        f"{base}/",
        f"{base}/people/",
        f"{base}/relationships/",
        f"{base}/relationships/new/",
        f"{base}/conflicts/",
        f"{base}/rematch-requests/",
        f"{base}/people/import/",
        f"/console/relationships/{busy_program.code}/",
    ):
        axe_page.goto(path)
        assert serious_violations(axe_page) == [], path
    # A form showing a refusal.
    axe_page.goto(f"{base}/relationships/new/")
    axe_page.get_by_role("button", name="Pair them").click()
    assert serious_violations(axe_page) == []


def test_participant_pages_are_accessible(axe_page, learner, busy_program):
    sign_in(axe_page, learner.email)
    axe_page.wait_for_url("**/")
    for path in (
        "/relationships/",
        f"/relationships/{busy_program.code}/",
        "/relationships/informal/new/",
        "/profile/",
    ):
        axe_page.goto(path)
        assert serious_violations(axe_page) == [], path


def test_match_review_page_is_accessible(axe_page, program_admin, cohort):
    program = cohort["guides"][0].memberships.first().program
    run = matching_services.match_run_execute(
        run=matching_services.match_run_create(program=program, by=program_admin)
    )
    sign_in(axe_page, program_admin.email)
    axe_page.get_by_label("Code").fill(current_totp(totp_secret_for(program_admin.email)))
    axe_page.get_by_role("button", name="Sign In").click()
    axe_page.wait_for_url("**/")
    for path in (
        f"/console/programs/{program.code}/matching/",
        f"/console/matching/runs/{run.code}/",
    ):
        axe_page.goto(path)
        assert serious_violations(axe_page) == [], path


# --- Participants' matching pages -------------------------------------------------------------


@pytest.fixture
def choosing(program, other_program, learner, mentor, other_mentor, assessor, eager_tasks):
    """The MS1 program is self-match, with a request from another learner waiting for Kenji;
    the PGY program is administrator-paired and Lucia, a learner there too, has ranked one
    mentor. Everyone has a profile, with a weekly availability, and an open term."""

    program.pairing = Program.Pairing.SELF
    program.save(update_fields=["pairing"])
    membership_grant(user=learner, role=Role.LEARNER, program=other_program)
    membership_grant(user=mentor, role=Role.MENTOR, program=other_program)
    amara = UserFactory(email="amara@school.test", full_name="Amara Obi")
    membership_grant(user=amara, role=Role.LEARNER, program=program)
    today = timezone.localdate()
    for prog in (program, other_program):
        Term.objects.create(
            program=prog,
            name="This year",
            starts_on=today - datetime.timedelta(days=30),
            ends_on=today + datetime.timedelta(days=300),
        )
    evenings = sum(1 << (3 * day + 2) for day in range(5))
    for user, level, interests in (
        (learner, "MS1", ["cardiology"]),
        (amara, "MS1", ["cardiology", "surgery"]),
        (mentor, "faculty", ["cardiology"]),
        (other_mentor, "faculty", ["pediatrics"]),
        (assessor, "faculty", ["surgery"]),
    ):
        ParticipantProfile.objects.create(
            user=user,
            level=level,
            specialty_interests=interests,
            languages=["English"],
            availability=evenings | 1,  # Monday morning and weekday evenings
        )
    preferences.request_send(
        program=program, learner=amara, guide=mentor, message="Could we meet monthly?\nThanks."
    )
    preferences.choices_set(
        program=other_program, side=Choice.Side.LEARNER, chooser=learner, chosen_ids=[mentor.pk]
    )
    return {"self": program, "ranked": other_program, "amara": amara}


def test_learner_matching_pages_are_accessible(axe_page, learner, mentor, other_mentor, choosing):
    sign_in(axe_page, learner.email)
    axe_page.wait_for_url("**/")
    assert serious_violations(axe_page) == []  # home, with both "choose" links
    self_match, ranked = choosing["self"], choosing["ranked"]
    # Self-match: suggestions with "Ask" links, then a search, then the request form.
    axe_page.goto(f"/matching/programs/{self_match.code}/choose/")
    assert axe_page.get_by_role("link", name=re.compile("^Ask ")).count() >= 2
    assert serious_violations(axe_page) == [], "choose (self)"
    axe_page.goto(f"/matching/programs/{self_match.code}/choose/?q=cardio&overlap=on")
    assert axe_page.get_by_role("link", name="Ask Kenji").count() == 1
    assert serious_violations(axe_page) == [], "choose (self, searched)"
    axe_page.goto(f"/matching/programs/{self_match.code}/choose/ask/{mentor.code}/")
    assert serious_violations(axe_page) == [], "request form"
    # The page with a request waiting, then a second request refused on the form.
    axe_page.get_by_label("A note with your request").fill("Hello")
    axe_page.get_by_role("button", name="Send request").click()
    axe_page.get_by_role("heading", name="Waiting for an answer").wait_for()
    assert serious_violations(axe_page) == [], "choose (self, request waiting)"
    axe_page.goto(f"/matching/programs/{self_match.code}/choose/ask/{other_mentor.code}/")
    axe_page.get_by_role("button", name="Send request").click()
    axe_page.get_by_text("you have a request waiting for an answer").first.wait_for()
    assert serious_violations(axe_page) == [], "request form with a refusal"
    # Administrator-paired: a ranked list and suggestions with "Add" buttons.
    axe_page.goto(f"/matching/programs/{ranked.code}/choose/")
    assert axe_page.locator("#choices .ranked-name").count() == 1
    assert axe_page.get_by_role("button", name=re.compile("^Add to my choices")).count() >= 1
    assert serious_violations(axe_page) == [], "choose (ranked)"
    # The profile page with its weekly availability grid, some times ticked.
    axe_page.goto("/profile/")
    assert axe_page.locator(".week-grid input[type=checkbox]:checked").count() == 6
    assert serious_violations(axe_page) == [], "profile"


def test_guide_matching_pages_are_accessible(axe_page, mentor, choosing):
    sign_in(axe_page, mentor.email)
    axe_page.get_by_label("Code").fill(current_totp(totp_secret_for(mentor.email)))
    axe_page.get_by_role("button", name="Sign In").click()
    axe_page.wait_for_url("**/")
    assert serious_violations(axe_page) == []  # home, with "1 learner is asking you"
    # Self-match: a request waiting, with its note and the decline form opened.
    axe_page.goto(f"/matching/programs/{choosing['self'].code}/offer/")
    assert axe_page.locator("blockquote.request-message").count() == 1
    assert serious_violations(axe_page) == [], "offer (self)"
    axe_page.get_by_text("Decline", exact=True).click()
    axe_page.get_by_label("A note to the learner").wait_for()
    assert serious_violations(axe_page) == [], "offer (self, decline open)"
    # Administrator-paired: capacity, term opt-outs, preferred learners and suggestions.
    axe_page.goto(f"/matching/programs/{choosing['ranked'].code}/offer/")
    assert axe_page.get_by_role("button", name="Add to my list Lucia Garcia").count() == 1
    assert axe_page.get_by_role("checkbox", name=re.compile("^This year")).count() == 1
    assert serious_violations(axe_page) == [], "offer (ranked)"
    # The capacity form refusing a value.
    axe_page.get_by_label("Learners you can take at once").fill("99")
    axe_page.get_by_role("button", name="Save").click()
    axe_page.locator("#id_capacity_error").wait_for()
    assert serious_violations(axe_page) == [], "offer (ranked, capacity refused)"
