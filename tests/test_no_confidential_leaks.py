"""Note bodies never reach emails, log records or error reports (R4).

The autouse guard (tests/confidential_leaks.py) checks every test's emails and log records;
the tests here prove that the guard can fail, and provoke the failures where a body is most
likely to escape: an exception while a body is in a local variable (Django's error report
prints the local variables of every frame), a crash of a notes page on POST (the error email
prints the POST data), and an expired re-authentication on POST (allauth keeps the request to
replay it after the password is asked again).
"""

from __future__ import annotations

import logging
import sys

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter

import mentoring.notes
import mentoring.views.notes
from mentoring.notes import Access, note_create, note_edit, note_read
from mentoring.services import relationship_start
from tests.confidential_leaks import Captured, encodings, find_leaks, leak_guard, mail_captured
from tests.mentoring.test_notes_dual_roles import sign_in_fresh

BODY = "LEAK-PROBE she disclosed a panic disorder to me in confidence"
NEW_BODY = "LEAK-PROBE-EDIT the dean must not hear about the leave of absence"


def assert_clean(text: str, *bodies: str) -> None:
    """Neither a body nor its start is in `text`. (The probes are built from the constants:
    the error reports print the source lines around each frame, these included.)"""
    for body in bodies:
        for probe in (*encodings(body), *encodings(body[:24])):
            assert probe not in text


@pytest.fixture
def relationship(program, mentor, learner):
    return relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def note(relationship, mentor):
    return note_create(Access(user=mentor), relationship=relationship, body=BODY)


# --- The guard itself ------------------------------------------------------------------------


def test_the_guard_finds_a_body_in_every_part_of_an_email():
    message = EmailMultiAlternatives(
        subject="About " + BODY[:30], body="hello", to=["a@school.test"]
    )
    message.attach_alternative(f"<p>{BODY}</p>", "text/html")
    message.attach("notes.csv", f"code,body\n1,{BODY}\n".encode(), "text/csv")
    leaks = find_leaks([BODY], mail_captured([message]))
    assert any("subject" in leak for leak in leaks)
    assert any("alternative text/html" in leak for leak in leaks)
    assert any("attachment notes.csv" in leak for leak in leaks)
    assert not any(" body" in leak.split("found in")[1] for leak in leaks)


def test_the_guard_names_the_leak_without_printing_the_body():
    [leak] = find_leaks([BODY], [Captured("log record x INFO (message)", f"saved {BODY}")])
    assert "log record x INFO" in leak
    assert BODY not in leak
    assert BODY[:10] not in leak
    assert f"({len(BODY)} chars)" in leak


def test_the_guard_finds_an_html_escaped_or_truncated_body():
    body = 'He said "I can\'t go on" & then left the ward early'
    escaped = "<p>He said &quot;I can&#x27;t go on&quot; &amp; then left the ward early</p>"
    assert find_leaks([body], [Captured("email", escaped)])
    assert find_leaks([BODY], [Captured("email", f"Preview: {BODY[:30]}…")])


def test_the_guard_finds_a_url_encoded_body():
    assert find_leaks([BODY], [Captured("log", "POST body=" + BODY.replace(" ", "+"))])


def test_the_guard_ignores_very_short_bodies():
    assert find_leaks(["ok"], [Captured("email", "ok then")]) == []


@pytest.mark.django_db
def test_the_guard_fails_a_test_that_logs_a_body(relationship, mentor, deliberate_note_leaks):
    with pytest.raises(pytest.fail.Exception) as caught, leak_guard():
        note = note_create(Access(user=mentor), relationship=relationship, body=BODY)
        logging.getLogger("mentoring.anything").debug("saved note %s: %s", note.code, BODY)
    assert "log record mentoring.anything DEBUG" in str(caught.value)
    assert BODY not in str(caught.value)


@pytest.mark.django_db
def test_the_guard_fails_a_test_that_mails_a_body(relationship, mentor, deliberate_note_leaks):
    with pytest.raises(pytest.fail.Exception, match="email #1"), leak_guard():
        note_create(Access(user=mentor), relationship=relationship, body=BODY)
        mail.send_mail("A note", f"Your mentor wrote: {BODY}", None, ["x@school.test"])


@pytest.mark.django_db
def test_the_guard_catches_a_body_in_an_exception_logged_with_exc_info(
    relationship, mentor, deliberate_note_leaks
):
    with pytest.raises(pytest.fail.Exception, match=r"\(exception\)"), leak_guard():
        note_create(Access(user=mentor), relationship=relationship, body=BODY)
        try:
            raise ValueError(f"could not save {BODY}")
        except ValueError:
            logging.getLogger("mentoring").exception("failed")


@pytest.mark.django_db
def test_the_guard_passes_when_nothing_leaked(relationship, mentor):
    with leak_guard() as bodies:
        note = note_create(Access(user=mentor), relationship=relationship, body=BODY)
        logging.getLogger("mentoring").warning("note %s saved", note.code)
        mail.send_mail("A note was saved", "Open the notes area to read it.", None, ["x@s.test"])
    assert bodies == [BODY]


# --- Error reports -----------------------------------------------------------------------------


def report_of(exc_info, request=None) -> tuple[str, str]:
    reporter = ExceptionReporter(request, *exc_info)
    return reporter.get_traceback_text(), reporter.get_traceback_html()


@pytest.fixture
def encryption_fails(monkeypatch):
    """Encrypting fails deep inside the save: every frame from the service down to the
    cipher (the model's save, the field's get_prep_value, mentoring.crypto.encrypt) is on the
    traceback, each with its local variables."""

    def broken(self, msg):
        raise RuntimeError("the cipher failed")

    monkeypatch.setattr(MultiFernet, "encrypt", broken)


@override_settings(DEBUG=False)
def test_an_error_while_editing_does_not_put_the_body_in_the_error_report(
    note, mentor, encryption_fails
):
    try:
        note_edit(Access(user=mentor), note.code, body=NEW_BODY)
    except RuntimeError:
        text, html = report_of(sys.exc_info())
    else:  # pragma: no cover
        pytest.fail("the broken cipher did not fail the save")
    assert "the cipher failed" in text  # the report is about this error
    # With the service's frame and those below it (the field, the cipher) on it...
    assert "note_edit" in html
    assert "get_prep_value" in html
    # ...none of which shows the text it was given.
    assert_clean(text, NEW_BODY)
    assert_clean(html, NEW_BODY)


@override_settings(DEBUG=False)
def test_an_error_while_creating_does_not_put_the_body_in_the_error_report(
    relationship, mentor, encryption_fails
):
    try:
        note_create(Access(user=mentor), relationship=relationship, body=NEW_BODY)
    except RuntimeError:
        text, html = report_of(sys.exc_info())
    else:  # pragma: no cover
        pytest.fail("the broken cipher did not fail the save")
    assert "note_create" in html
    assert "get_prep_value" in html
    assert_clean(text, NEW_BODY)
    assert_clean(html, NEW_BODY)


@override_settings(DEBUG=False)
def test_an_error_after_reading_a_note_does_not_put_its_body_in_the_error_report(note, mentor):
    def page(note_code):
        note = note_read(Access(user=mentor), note_code)
        raise RuntimeError(f"the page failed on {note}")

    try:
        page(note.code)
    except RuntimeError:
        text, html = report_of(sys.exc_info())
    # The note is in the frame's locals, printed by its repr: its code, never its body.
    assert f"Note {note.code}" in html
    assert_clean(text, BODY)
    assert_clean(html, BODY)


def _crash_report() -> tuple[str, str]:
    """The report of an error raised here, with only this frame on the traceback."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return report_of(sys.exc_info())


@override_settings(DEBUG=False)
def test_the_confidential_keys_are_hidden_in_an_error_report(db):
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    with override_settings(CONFIDENTIAL_KEYS=keys):
        text, html = _crash_report()
    assert "CONFIDENTIAL_KEYS" in text
    for report in (text, html):
        for key in keys:
            assert key not in report
            assert key[:16] not in report


# --- Notes pages that crash --------------------------------------------------------------------


def _notes_client(client, user):
    sign_in_fresh(client, user)
    client.raise_request_exception = False
    return client


@override_settings(DEBUG=False, ADMINS=[("Operator", "operator@school.test")])
def test_a_crash_saving_an_edited_note_mails_the_operator_without_the_body(
    client, note, mentor, monkeypatch
):
    def crash(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(mentoring.notes, "note_edit", crash)
    client = _notes_client(client, mentor)
    response = client.post(reverse("notes:note-edit", args=[note.code]), {"body": NEW_BODY})
    assert response.status_code == 500
    [report] = [m for m in mail.outbox if "operator@school.test" in m.to]
    assert "the database went away" in report.body
    assert_clean(report.subject + report.body, NEW_BODY)
    for content, _ in getattr(report, "alternatives", []):
        assert_clean(content, NEW_BODY)


@override_settings(DEBUG=False, ADMINS=[("Operator", "operator@school.test")])
def test_a_crash_saving_a_new_note_mails_the_operator_without_the_body(
    client, relationship, mentor, monkeypatch
):
    def crash(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(mentoring.notes, "note_create", crash)
    client = _notes_client(client, mentor)
    response = client.post(reverse("notes:note-new", args=[relationship.code]), {"body": NEW_BODY})
    assert response.status_code == 500
    [report] = [m for m in mail.outbox if "operator@school.test" in m.to]
    assert_clean(report.subject + report.body, NEW_BODY)


@override_settings(DEBUG=False, ADMINS=[("Operator", "operator@school.test")])
def test_a_crash_showing_a_note_mails_the_operator_without_the_body(
    client, note, mentor, monkeypatch
):
    def crash(*args, **kwargs):
        raise RuntimeError("the template failed")

    monkeypatch.setattr(mentoring.views.notes, "render", crash)
    client = _notes_client(client, mentor)
    response = client.get(reverse("notes:note", args=[note.code]))
    assert response.status_code == 500
    [report] = [m for m in mail.outbox if "operator@school.test" in m.to]
    assert "the template failed" in report.body
    assert_clean(report.subject + report.body, BODY)


def test_a_note_typed_when_re_authentication_is_due_is_not_kept_in_plain_text(
    client, relationship, mentor
):
    """allauth keeps a POST that needs a re-authentication in the session, to replay it after
    the password: the session store (a database table) must not hold the typed note."""

    client.force_login(mentor)  # signed in, but not recently re-authenticated
    response = client.post(reverse("notes:note-new", args=[relationship.code]), {"body": NEW_BODY})
    # Not handed to allauth's replay: the page asks to confirm and shows the text back (R12).
    assert response.status_code == 200
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert reverse("account_reauthenticate") in page
    assert NEW_BODY in page
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    for session in Session.objects.all():
        decoded = str(session.get_decoded())
        assert_clean(decoded, NEW_BODY)
        assert_clean(session.session_data, NEW_BODY)
