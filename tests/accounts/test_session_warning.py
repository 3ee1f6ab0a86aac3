"""Staying signed in (WCAG 2.2.1): signed-in pages carry the warning before the idle limit,
and its "Stay signed in" (a POST with CSRF) starts the idle clock again, so a person who
answers it is not signed out 30 minutes after the page was loaded. The browser half (the
warning appears, the draft survives a sign-out) is tests/browser/test_session_timeout.py."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.urls import reverse

HOME = "/"
KEEP_ALIVE = "/profile/keep-alive/"
T0 = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.UTC)


def _signed_out(client, response) -> bool:
    return (
        response.status_code == 302
        and response["Location"].startswith(reverse("account_login"))
        and "_auth_user_id" not in client.session
    )


def test_the_keep_alive_address_is_the_one_the_pages_use():
    assert reverse("accounts:keep-alive") == KEEP_ALIVE


def test_signed_in_pages_carry_the_warning_with_the_limits(client, learner, settings):
    settings.SESSION_IDLE_TIMEOUT = datetime.timedelta(minutes=30)
    settings.SESSION_IDLE_WARNING = datetime.timedelta(minutes=2)
    client.force_login(learner)
    page = client.get(HOME).content.decode()
    assert '<dialog id="session-warning"' in page
    assert 'data-idle-seconds="1800"' in page and 'data-warn-seconds="120"' in page
    assert f'data-keep-alive-url="{KEEP_ALIVE}"' in page
    assert "Stay signed in" in page and "js/session.js" in page


def test_the_sign_in_page_has_no_warning(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert "session-warning" not in page and "js/session.js" not in page


def test_stay_signed_in_extends_the_session(client, learner):
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(learner)
        assert client.get(HOME).status_code == 200
        clock.shift(datetime.timedelta(minutes=29))
        response = client.post(KEEP_ALIVE)
        assert response.status_code == 200 and response.json() == {"idle_seconds": 1800}
        # 58 minutes after the page was loaded, 29 after "Stay signed in": still signed in.
        clock.shift(datetime.timedelta(minutes=29))
        assert client.get(HOME).status_code == 200


def test_without_it_the_session_ends_after_the_idle_limit(client, learner):
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(learner)
        assert client.get(HOME).status_code == 200
        clock.shift(datetime.timedelta(minutes=31))
        assert _signed_out(client, client.get(HOME))


def test_keep_alive_after_the_limit_signs_out_instead(client, learner):
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(learner)
        client.get(HOME)
        clock.shift(datetime.timedelta(minutes=31))
        assert _signed_out(client, client.post(KEEP_ALIVE))


def test_keep_alive_is_a_post_with_csrf_for_signed_in_people(learner):
    anonymous = Client()
    response = anonymous.post(KEEP_ALIVE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(learner)
    assert strict.get(KEEP_ALIVE).status_code == 405
    assert strict.post(KEEP_ALIVE).status_code == 403  # no CSRF token


# The forms whose text a timeout must never lose keep a draft in the tab (static/js/forms.js).
DRAFTED = {
    "mentoring/notes/note_new.html": "note",
    "mentoring/notes/note_edit.html": "note",
    "mentoring/notes/relationship_notes.html": "note",
    "sessions_log/meeting_log.html": "log",
    "sessions_log/adhoc_new.html": "log",
    "surveys/answer.html": "answers",
}


@pytest.mark.parametrize(("template", "name"), sorted(DRAFTED.items()))
def test_notes_logs_and_survey_answers_keep_a_draft(template, name):
    source = (settings.BASE_DIR / "templates" / template).read_text()
    forms = re.findall(r"<form[^>]*>", source)
    assert any(f'data-keep-draft="{name}"' in form and 'method="post"' in form for form in forms)
