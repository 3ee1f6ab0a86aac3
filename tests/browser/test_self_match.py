"""Participants match themselves in a real browser: in a self-match program a learner finds a
mentor by an interest and asks her with a note, the mentor reads it and accepts, and both see
the pairing; in an administrator-paired program a learner ranks two mentors and reorders them."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import ParticipantProfile
from matching.models import Choice, MatchRequest
from mentoring.models import Program, Relationship
from tests.browser.test_console import sign_in_with_code
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser

NOTE = "I hope to work on a cardiology research project this spring."


def sign_in_learner(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Welcome"))


def test_learner_asks_a_mentor_who_accepts(
    page, browser, live_server, program, learner, mentor, other_mentor, eager_tasks
):
    program.pairing = Program.Pairing.SELF
    program.save(update_fields=["pairing"])
    ParticipantProfile.objects.create(user=learner, specialty_interests=["Cardiology"])
    ParticipantProfile.objects.create(user=mentor, specialty_interests=["Cardiology"])
    ParticipantProfile.objects.create(user=other_mentor, specialty_interests=["Pediatrics"])

    # The learner follows her home page to the suggestions and searches by an interest.
    sign_in_learner(page, learner)
    page.get_by_role("link", name="Choose your mentor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose your mentor")
    suggestions = page.locator("#suggestions")
    expect(suggestions.get_by_role("heading", level=3)).to_have_count(2)
    page.get_by_label("Search by name or interest").fill("cardio")
    page.get_by_role("button", name="Search").click()
    expect(suggestions.get_by_role("heading", level=3)).to_have_text(["Kenji Ito"])

    # She asks him with a note.
    page.get_by_role("link", name="Ask Kenji").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask Kenji Ito to be your mentor")
    page.get_by_label("A note with your request").fill(NOTE)
    page.get_by_role("button", name="Send request").click()
    expect(page.locator(".messages")).to_contain_text("Your request is on its way to Kenji Ito")
    expect(page.get_by_role("heading", name="Waiting for an answer")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Ask "))).to_have_count(0)
    sent = MatchRequest.objects.get()
    assert (sent.learner, sent.guide, sent.message) == (learner, mentor, NOTE)
    # The mentor is emailed; the note stays in the app.
    (email,) = mail.outbox
    assert email.to == [mentor.email]
    assert NOTE not in email.body

    # The mentor signs in (with his authenticator) and sees one learner asking.
    guide_page = browser.new_page(base_url=live_server.url)
    sign_in_with_code(guide_page, mentor)
    expect(guide_page.get_by_text("1 learner is asking you to be their mentor.")).to_be_visible()
    guide_page.get_by_role("link", name=f"Answer requests in {program.name}").click()
    request_card = (
        guide_page.locator("#requests")
        .get_by_role("listitem")
        .filter(has=guide_page.get_by_role("heading", name="Lucia Garcia"))
    )
    expect(request_card.locator("blockquote")).to_have_text(NOTE)
    request_card.get_by_role("button", name="Accept Lucia").click()

    # He lands on the relationship page.
    relationship = Relationship.objects.get(program=program, learner=learner)
    assert relationship.guide == mentor
    assert relationship.origin == Relationship.Origin.SELF_MATCHED
    expect(guide_page).to_have_url(re.compile(rf"/relationships/{relationship.code}/$"))
    expect(guide_page.locator(".messages")).to_contain_text("You and Lucia Garcia are paired")
    expect(guide_page.get_by_text("Lucia Garcia").first).to_be_visible()
    guide_page.close()
    sent.refresh_from_db()
    assert sent.state == MatchRequest.State.ACCEPTED

    # The learner's home page now names her mentor.
    page.goto("/")
    expect(page.get_by_text("With Kenji Ito.")).to_be_visible()
    expect(page.get_by_role("link", name="Choose your mentor")).to_have_count(0)


def test_learner_ranks_two_mentors_and_moves_the_second_up(
    page, program, learner, mentor, other_mentor
):
    assert program.pairing == Program.Pairing.ADMINISTRATOR and program.choices_allowed >= 2
    sign_in_learner(page, learner)
    page.get_by_role("link", name="rank the mentors you would like").click()
    choices = page.locator("#choices")
    expect(choices.get_by_role("heading", level=2)).to_have_text("Your choices (0 of 5)")

    page.get_by_role("button", name="Add to my choices Kenji Ito").click()
    page.get_by_role("button", name="Add to my choices Funmi Adeyemi").click()
    names = choices.locator(".ranked-name")
    expect(names).to_have_text(["Kenji Ito", "Funmi Adeyemi"])
    expect(choices.get_by_role("heading", level=2)).to_have_text("Your choices (2 of 5)")

    choices.get_by_role("button", name="Move up Funmi Adeyemi").click()
    expect(page.locator(".messages")).to_contain_text("Funmi Adeyemi moved in your list")
    expect(names).to_have_text(["Funmi Adeyemi", "Kenji Ito"])
    ranked = Choice.objects.filter(program=program, chooser=learner).order_by("rank")
    assert [c.chosen for c in ranked] == [other_mentor, mentor]
