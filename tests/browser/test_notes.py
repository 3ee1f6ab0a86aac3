"""Confidential notes in a real browser (R4, R8): a mentor writes notes, is asked to
re-authenticate once his authentication is old, shares a different note than the one he keeps
private; his mentee sees only the shared one; the program administrator gets "not found" at
the private note's address."""

from __future__ import annotations

import re
import time

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from mentoring import notes
from mentoring.models import AccessLogEntry, ConfidentialNote
from mentoring.services import relationship_start
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_console import sign_in_with_code
from tests.browser.test_self_match import sign_in_learner
from tests.conftest import give_mfa
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.browser

PRIVATE = "BROWSER-PRIVATE she is considering leaving the program"
SHARED = "BROWSER-SHARED next step: ask two residents about their match year"


def age_authentication(page, seconds: int) -> None:
    """Make the browser session's last authentication `seconds` old (as if time passed)."""

    (cookie,) = [c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME]
    session = SessionStore(session_key=cookie["value"])
    records = session[AUTHENTICATION_METHODS_SESSION_KEY]
    for record in records:
        record["at"] = time.time() - seconds
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session.save()


def test_mentor_shares_one_note_and_only_that_one_reaches_the_learner(
    page, browser, live_server, program, learner, mentor, program_admin
):
    pair = relationship_start(program=program, guide=mentor, learner=learner)

    # The mentor opens his notes from the relationship page and writes two notes.
    sign_in_with_code(page, mentor)
    page.goto(f"/relationships/{pair.code}/")
    page.get_by_role("link", name="Open or write your notes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your notes about Lucia Garcia")
    for body in (PRIVATE, SHARED):
        page.get_by_label("Your note", exact=True).fill(body)
        page.get_by_role("button", name="Save the note").click()
        expect(page.locator(".messages")).to_contain_text("Note saved")
    expect(page.locator("#notes-caption")).to_have_text("2 notes, newest first")
    # The list shows dates, never what a note says.
    expect(page.get_by_text(PRIVATE)).to_have_count(0)
    private, to_share = ConfidentialNote.objects.order_by("created_at")
    assert (private.body, to_share.body) == (PRIVATE, SHARED)

    # Time passes: his authentication is old, so opening a note asks for the password again,
    # then goes on to the note he asked for.
    age_authentication(page, 10 * 60)
    page.goto(f"/notes/{to_share.code}/")
    expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/\?next="))
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(rf"/notes/{to_share.code}/$"))
    expect(page.locator(".quote")).to_contain_text(SHARED)

    # He shares this one (not the other), after reading what sharing means.
    page.get_by_role("link", name="Share with Lucia Garcia").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Share this note with Lucia Garcia?")
    expect(page.get_by_text("this cannot be undone")).to_be_visible()
    page.get_by_role("button", name="Share with Lucia Garcia").click()
    expect(page.locator(".messages")).to_contain_text("Shared with Lucia Garcia")
    to_share.refresh_from_db()
    private.refresh_from_db()
    assert to_share.shared_at is not None and private.shared_at is None

    # His mentee sees exactly the shared note.
    mentee = browser.new_context(base_url=live_server.url).new_page()
    sign_in_learner(mentee, learner)
    mentee.goto(f"/relationships/{pair.code}/")
    mentee.get_by_role("link", name="Read the notes Kenji Ito shared with you").click()
    expect(mentee.get_by_role("heading", level=1)).to_have_text("Notes Kenji Ito shared with you")
    rows = mentee.locator("#notes-caption").locator("xpath=..").locator("tbody tr")
    expect(rows).to_have_count(1)
    rows.first.get_by_role("link").click()
    expect(mentee.locator(".quote")).to_contain_text(SHARED)
    expect(mentee.get_by_text(PRIVATE)).to_have_count(0)
    mentee.goto(f"/notes/{private.code}/")
    expect(mentee.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(mentee.get_by_text(PRIVATE)).to_have_count(0)
    mentee.context.close()

    # The program administrator gets "not found" at the private note's address, and the
    # attempt is in the access log.
    admin = browser.new_context(base_url=live_server.url).new_page()
    sign_in_with_code(admin, program_admin)
    admin.goto(f"/notes/{private.code}/")
    expect(admin.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(admin.get_by_text(PRIVATE)).to_have_count(0)
    admin.context.close()
    refused = AccessLogEntry.objects.filter(object_code=private.code, outcome="refused")
    assert sorted(e.actor_id for e in refused) == sorted([learner.pk, program_admin.pk])


@pytest.fixture(params=["desktop", "phone"])
def axe_page(request, browser, live_server):
    # bypass_csp lets the test inject axe; the site's own pages never need it.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[request.param], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_notes_and_access_log_pages_are_accessible(axe_page, program, learner, mentor):
    pair = relationship_start(program=program, guide=mentor, learner=learner)
    note = notes.note_create(notes.Access(user=mentor), relationship=pair, body=SHARED)
    sign_in_with_code(axe_page, mentor)
    for path in (
        "/notes/",
        f"/notes/relationship/{pair.code}/",
        f"/notes/{note.code}/",
        f"/notes/{note.code}/edit/",
        f"/notes/{note.code}/share/",
        f"/notes/{note.code}/delete/",
    ):
        axe_page.goto(path)
        expect(axe_page.get_by_role("heading", level=1)).to_be_visible()
        assert serious_violations(axe_page) == [], path
    # A form error, announced and tied to the field.
    axe_page.goto(f"/notes/{note.code}/edit/")
    axe_page.get_by_label("Your note", exact=True).fill(" ")
    axe_page.get_by_role("button", name="Save the note").click()
    expect(axe_page.get_by_role("alert")).to_contain_text("Write something")
    assert serious_violations(axe_page) == []

    officer = UserFactory(email="pat@school.test", full_name="Pat Officer")
    # The group comes from a data migration, which a live-server test's flush empties.
    group, _ = Group.objects.get_or_create(name="Privacy officer")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="mentoring", codename="view_accesslogentry")
    )
    officer.groups.add(group)
    give_mfa(officer)  # a privacy officer needs a second factor
    axe_page.context.clear_cookies()
    sign_in_with_code(axe_page, officer)
    axe_page.get_by_role("link", name="Privacy").click()
    expect(axe_page.get_by_role("heading", level=1)).to_have_text(
        "Access log of confidential notes"
    )
    assert serious_violations(axe_page) == []
