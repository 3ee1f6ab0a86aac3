"""The confidential notes pages (R4, R8, R12): the author writes, edits, shares and deletes;
the learner sees only what was shared; everyone else gets 404 and leaves a refused entry in
the access log; read-only after the relationship ends and erased after retention; the
author's own CSV; re-authentication before any notes page; nothing for the operator."""

from __future__ import annotations

import csv
import datetime
import io
import re
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from django.contrib import admin
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from config.celery import app as celery_app
from mentoring import notes
from mentoring.models import AccessLogEntry, ConfidentialNote
from mentoring.models.confidential import NOTE_MAX_CHARS
from mentoring.services import relationship_end, relationship_start
from mentoring.tasks import erase_expired_notes
from mentoring.views.notes import FORM_TOKEN_SALT
from tests.authz_matrix_notes import mark_recently_authenticated
from tests.conftest import current_totp, totp_secret_for
from tests.factories import TEST_PASSWORD, UserFactory

BODY = "PAGES-BODY she mentioned her father is ill"
OTHER_BODY = "PAGES-OTHER the exam went badly, plan a catch-up"

NOBODY_ELSE = ["program_admin", "dean", "superuser", "other_mentor", "assessor", "outsider"]


@pytest.fixture
def pair(program, mentor, learner):
    return relationship_start(program=program, guide=mentor, learner=learner)


def write(author, relationship, body=BODY) -> ConfidentialNote:
    return notes.note_create(notes.Access(user=author), relationship=relationship, body=body)


def sign_in(client, user) -> None:
    client.force_login(user)
    mark_recently_authenticated(client, user)


def url(name, **kwargs) -> str:
    return reverse(f"notes:{name}", kwargs=kwargs)


def entries(**filters):
    return list(AccessLogEntry.objects.filter(**filters).order_by("id"))


# --- The author -------------------------------------------------------------------------------


def test_author_writes_a_note_then_reads_it(client, pair, mentor):
    sign_in(client, mentor)
    response = client.post(url("note-new", code=pair.code), {"body": BODY})
    assert response.status_code == 302
    assert response["Location"] == url("relationship", code=pair.code)
    note = ConfidentialNote.objects.get()
    assert (note.author, note.relationship, note.body, note.shared_at) == (
        mentor,
        pair,
        BODY,
        None,
    )

    page = client.get(url("note", code=note.code))
    assert page.status_code == 200
    assert BODY in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert [(e.action, e.outcome, e.actor) for e in entries(object_code=note.code)] == [
        ("create", "allowed", mentor),
        ("read", "allowed", mentor),
    ]


def test_list_pages_show_dates_never_a_body(client, pair, mentor, learner):
    private = write(mentor, pair)
    shared = write(mentor, pair, OTHER_BODY)
    notes.note_share(notes.Access(user=mentor), shared.code)
    for person in (mentor, learner):
        sign_in(client, person)
        for path in (
            url("relationship", code=pair.code),
            url("my-notes"),
            reverse("mentoring:relationship-detail", kwargs={"code": pair.code}),
        ):
            page = client.get(path)
            assert page.status_code == 200, (person, path)
            text = page.content.decode()
            assert BODY not in text and OTHER_BODY not in text, (person, path)
    # The lists read no note: no READ entry at all.
    assert not entries(action="read")
    # The guide's list links both notes; the learner's only the shared one.
    sign_in(client, mentor)
    text = client.get(url("relationship", code=pair.code)).content.decode()
    assert url("note", code=private.code) in text and url("note", code=shared.code) in text
    sign_in(client, learner)
    text = client.get(url("relationship", code=pair.code)).content.decode()
    assert url("note", code=shared.code) in text
    assert url("note", code=private.code) not in text


def test_every_note_read_writes_exactly_one_log_row(client, pair, mentor):
    note = write(mentor, pair)
    sign_in(client, mentor)
    for expected in (1, 2, 3):
        assert client.get(url("note", code=note.code)).status_code == 200
        assert len(entries(object_code=note.code, action="read")) == expected


def test_author_edits_a_note(client, pair, mentor):
    note = write(mentor, pair)
    sign_in(client, mentor)
    form = client.get(url("note-edit", code=note.code))
    assert form.status_code == 200
    assert BODY in form.content.decode()  # the text to edit, in the textarea
    assert "no-store" in form["Cache-Control"]

    response = client.post(url("note-edit", code=note.code), {"body": OTHER_BODY})
    assert response.status_code == 302
    assert response["Location"] == url("note", code=note.code)
    note.refresh_from_db()
    assert note.body == OTHER_BODY
    assert entries(object_code=note.code, action="edit")[0].outcome == "allowed"


@pytest.mark.parametrize(
    ("typed", "message"),
    [("   ", "Write something"), ("x" * (NOTE_MAX_CHARS + 1), "at most")],
    ids=["empty", "too-long"],
)
def test_a_form_error_keeps_what_was_typed(client, pair, mentor, typed, message):
    note = write(mentor, pair)
    sign_in(client, mentor)
    # A new note.
    response = client.post(url("note-new", code=pair.code), {"body": typed})
    assert response.status_code == 200
    text = response.content.decode()
    assert message in text
    assert f">\n{typed}</textarea>" in text
    assert ConfidentialNote.objects.count() == 1
    # An edit: the stored note is untouched, the typed text is on the form.
    response = client.post(url("note-edit", code=note.code), {"body": typed})
    assert response.status_code == 200
    text = response.content.decode()
    assert message in text and f">\n{typed}</textarea>" in text
    note.refresh_from_db()
    assert note.body == BODY


def test_author_shares_one_note_after_a_confirmation(client, pair, mentor, learner):
    note = write(mentor, pair)
    sign_in(client, mentor)
    confirm = client.get(url("note-share", code=note.code))
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "cannot be undone" in text and "Lucia Garcia" in text
    note.refresh_from_db()
    assert note.shared_at is None  # the GET changes nothing

    response = client.post(url("note-share", code=note.code))
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.shared_at is not None
    assert entries(object_code=note.code, action="share")[0].outcome == "allowed"

    # Shared once: the page no longer offers it, and a second POST is refused (403).
    assert (
        url("note-share", code=note.code)
        not in client.get(url("note", code=note.code)).content.decode()
    )
    assert client.post(url("note-share", code=note.code)).status_code == 403


def test_author_deletes_a_note_after_a_confirmation(client, pair, mentor):
    note = write(mentor, pair)
    sign_in(client, mentor)
    assert client.get(url("note-delete", code=note.code)).status_code == 200
    assert ConfidentialNote.objects.filter(pk=note.pk).exists()
    response = client.post(url("note-delete", code=note.code), {"relationship": str(pair.code)})
    assert response.status_code == 302
    assert response["Location"] == url("relationship", code=pair.code)
    assert not ConfidentialNote.objects.filter(pk=note.pk).exists()
    assert entries(object_code=note.code, action="delete")[0].outcome == "allowed"
    assert client.get(url("note", code=note.code)).status_code == 404


# --- The learner ------------------------------------------------------------------------------


def test_learner_reads_only_the_shared_note(client, pair, mentor, learner):
    private = write(mentor, pair)
    shared = write(mentor, pair, OTHER_BODY)
    notes.note_share(notes.Access(user=mentor), shared.code)
    sign_in(client, learner)

    page = client.get(url("note", code=shared.code))
    assert page.status_code == 200
    assert OTHER_BODY in page.content.decode()
    assert client.get(url("note", code=private.code)).status_code == 404
    refused = entries(object_code=private.code, outcome="refused")
    assert [(e.actor, e.action) for e in refused] == [(learner, "read")]


def test_learner_may_read_a_shared_note_but_not_change_it(client, pair, mentor, learner):
    note = write(mentor, pair)
    notes.note_share(notes.Access(user=mentor), note.code)
    sign_in(client, learner)
    for name in ("note-edit", "note-share", "note-delete"):
        assert client.get(url(name, code=note.code)).status_code == 403, name
    assert client.post(url("note-edit", code=note.code), {"body": "mine now"}).status_code == 403
    assert client.post(url("note-delete", code=note.code)).status_code == 403
    note.refresh_from_db()
    assert note.body == BODY
    refused = entries(object_code=note.code, actor=learner, outcome="refused")
    assert [e.action for e in refused] == ["edit", "delete"]
    # Nor write one on the relationship: refused like an outsider, and logged.
    assert client.post(url("note-new", code=pair.code), {"body": "x"}).status_code == 404
    assert entries(relationship_code=pair.code, action="create", outcome="refused")
    assert client.get(url("note-new", code=pair.code)).status_code == 404
    assert ConfidentialNote.objects.count() == 1


def test_learner_panel_links_to_shared_notes_only_when_there_are_some(
    client, pair, mentor, learner
):
    note = write(mentor, pair)
    sign_in(client, learner)
    detail = reverse("mentoring:relationship-detail", kwargs={"code": pair.code})
    assert url("relationship", code=pair.code) not in client.get(detail).content.decode()
    notes.note_share(notes.Access(user=mentor), note.code)
    text = client.get(detail).content.decode()
    assert url("relationship", code=pair.code) in text
    assert "shared 1 note" in text


def test_guide_panel_counts_notes_and_links_to_them(client, pair, mentor):
    write(mentor, pair)
    write(mentor, pair, OTHER_BODY)
    sign_in(client, mentor)
    text = client.get(
        reverse("mentoring:relationship-detail", kwargs={"code": pair.code})
    ).content.decode()
    assert "You have 2 notes" in text
    assert url("relationship", code=pair.code) in text
    assert BODY not in text


# --- Everybody else: 404, and a refused entry for each attempt --------------------------------


@pytest.mark.parametrize("member", NOBODY_ELSE)
def test_nobody_else_reaches_a_note_and_each_attempt_is_logged(client, cast, pair, member):
    note = write(cast["mentor"], pair)
    person = cast[member]
    sign_in(client, person)
    attempts = [
        ("get", "note"),
        ("get", "note-edit"),
        ("get", "note-share"),
        ("get", "note-delete"),
        ("post", "note-edit"),
        ("post", "note-share"),
        ("post", "note-delete"),
    ]
    for method, name in attempts:
        before = AccessLogEntry.objects.count()
        target = url(name, code=note.code)
        # POSTs carry an empty body: a form error must not answer for a note not theirs.
        response = client.get(target) if method == "get" else client.post(target, {"body": ""})
        assert response.status_code == 404, (member, method, name)
        assert BODY not in response.content.decode()
        new = list(AccessLogEntry.objects.order_by("id")[before:])
        assert len(new) == 1, (member, method, name)
        assert (new[0].actor, new[0].object_code, new[0].outcome) == (
            person,
            note.code,
            "refused",
        )
    # The relationship's notes page and the new-note form: not theirs either.
    assert client.get(url("relationship", code=pair.code)).status_code == 404
    assert client.get(url("note-new", code=pair.code)).status_code == 404
    assert client.post(url("note-new", code=pair.code), {"body": "x"}).status_code == 404
    note.refresh_from_db()
    assert (note.body, note.shared_at) == (BODY, None)


def test_a_note_that_does_not_exist_answers_the_same_and_is_logged(client, mentor):
    sign_in(client, mentor)
    missing = uuid.uuid4()
    assert client.get(url("note", code=missing)).status_code == 404
    (entry,) = entries(object_code=missing)
    assert (entry.actor, entry.outcome, entry.reason) == (mentor, "refused", "no such note")


def test_superuser_gets_404_on_every_notes_url_and_the_admin_has_no_note_page(
    client, pair, mentor, superuser
):
    note = write(mentor, pair)
    sign_in(client, superuser)
    gets = [
        url("my-notes"),
        url("relationship", code=pair.code),
        url("note-new", code=pair.code),
        url("note", code=note.code),
        url("note-edit", code=note.code),
        url("note-share", code=note.code),
        url("note-delete", code=note.code),
    ]
    for path in gets:
        assert client.get(path).status_code == 404, path
    assert client.post(url("export")).status_code == 404
    # R4: the Django admin has no page for notes, not even their metadata.
    assert not admin.site.is_registered(ConfidentialNote)
    for path in (
        "/admin/mentoring/confidentialnote/",
        f"/admin/mentoring/confidentialnote/{note.pk}/change/",
    ):
        assert client.get(path).status_code == 404, path
    index = client.get("/admin/").content.decode()
    assert "confidentialnote" not in index.lower() and "Confidential note" not in index


def test_operator_sees_the_access_log_in_the_admin_read_only(client, pair, mentor, superuser):
    note = write(mentor, pair)
    sign_in(client, superuser)
    entry = AccessLogEntry.objects.get(object_code=note.code)
    changelist = client.get("/admin/mentoring/accesslogentry/")
    assert changelist.status_code == 200
    assert BODY not in changelist.content.decode()
    assert client.get("/admin/mentoring/accesslogentry/add/").status_code == 403
    assert client.get(f"/admin/mentoring/accesslogentry/{entry.pk}/delete/").status_code == 403
    change = client.post(
        f"/admin/mentoring/accesslogentry/{entry.pk}/change/", {"reason": "tampered"}
    )
    assert change.status_code == 403
    entry.refresh_from_db()
    assert entry.reason == ""


# --- After the relationship ends ------------------------------------------------------------


def test_after_the_end_the_author_reads_until_the_retention_date_and_changes_nothing(
    client, program, pair, mentor
):
    note = write(mentor, pair)
    relationship_end(relationship=pair, reason="completed")
    pair.refresh_from_db()
    until = notes.retention_ends_on(pair)
    assert until == timezone.localdate() + datetime.timedelta(days=program.note_retention_days)
    sign_in(client, mentor)
    listing = client.get(url("relationship", code=pair.code)).content.decode()
    assert f"You can read your notes until {until:%-d %B %Y}" in listing
    assert url("note-new", code=pair.code) not in listing  # no new-note form
    page = client.get(url("note", code=note.code))
    assert page.status_code == 200 and BODY in page.content.decode()
    assert url("note-edit", code=note.code) not in page.content.decode()

    for name in ("note-edit", "note-share", "note-delete"):
        assert client.get(url(name, code=note.code)).status_code == 403, name
        assert client.post(url(name, code=note.code), {"body": "late"}).status_code == 403, name
    assert client.post(url("note-new", code=pair.code), {"body": "late"}).status_code == 403
    note.refresh_from_db()
    assert (note.body, note.shared_at) == (BODY, None)
    refused = entries(actor=mentor, outcome="refused")
    assert [e.action for e in refused] == ["edit", "share", "delete", "create"]


def test_after_retention_the_note_is_gone_and_the_task_erases_it(client, program, mentor, learner):
    today = timezone.localdate()
    days = program.note_retention_days
    pair = relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=today - datetime.timedelta(days=days + 30),
    )
    note = write(mentor, pair)
    relationship_end(
        relationship=pair, reason="completed", ends_on=today - datetime.timedelta(days=days + 1)
    )
    sign_in(client, mentor)
    assert client.get(url("note", code=note.code)).status_code == 404
    listing = client.get(url("relationship", code=pair.code)).content.decode()
    assert url("note", code=note.code) not in listing
    assert "have been erased" in listing
    panel = client.get(
        reverse("mentoring:relationship-detail", kwargs={"code": pair.code})
    ).content.decode()
    assert "have been erased" in panel
    assert url("relationship", code=pair.code) not in panel

    assert erase_expired_notes.apply().get() == 1
    assert not ConfidentialNote.objects.filter(pk=note.pk).exists()
    (erase,) = entries(object_code=note.code, action="erase")
    assert (erase.actor, erase.outcome) == (None, "allowed")


def test_the_erase_task_is_registered_under_its_beat_name(settings):
    name = "mentoring.tasks.erase_expired_notes"
    assert name in celery_app.tasks
    assert settings.CELERY_BEAT_SCHEDULE["erase-expired-notes"]["task"] == name


# --- The author's CSV -------------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_has_only_the_authors_notes_and_writes_export_rows(
    client, program, pair, mentor, other_mentor, cast
):
    mine = [write(mentor, pair), write(mentor, pair, OTHER_BODY)]
    second = cast["outsider"]
    membership_grant(user=second, role=Role.LEARNER, program=program)
    theirs = write(
        other_mentor,
        relationship_start(program=program, guide=other_mentor, learner=second),
        "THEIRS not for Kenji",
    )
    sign_in(client, mentor)
    assert client.get(url("export")).status_code == 405  # a POST from the notes area only
    response = client.post(url("export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "no-store" in response["Cache-Control"]
    rows = read_csv(response)
    assert sorted(r["note"] for r in rows) == sorted([BODY, OTHER_BODY])
    assert {r["note code"] for r in rows} == {str(n.code) for n in mine}
    assert {r["learner"] for r in rows} == {"Lucia Garcia"}
    exported = entries(action="export")
    assert sorted(e.object_code for e in exported) == sorted(n.code for n in mine)
    assert all(e.actor == mentor and e.outcome == "allowed" for e in exported)
    assert not entries(object_code=theirs.code, action="export")


def test_export_is_refused_to_people_without_notes_of_their_own(client, pair, mentor, learner):
    write(mentor, pair)
    sign_in(client, learner)
    assert client.post(url("export")).status_code == 404
    assert not entries(action="export")


def test_export_needs_csrf(pair, mentor):
    client = Client(enforce_csrf_checks=True)
    sign_in(client, mentor)
    assert client.post(url("export")).status_code == 403


# --- Re-authentication ----------------------------------------------------------------------


def _age_authentication(client, user, seconds: int) -> None:
    mark_recently_authenticated(client, user)
    session = client.session
    records = session[AUTHENTICATION_METHODS_SESSION_KEY]
    records[0]["at"] = time.time() - seconds
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session.save()


def test_an_old_authentication_is_sent_to_reauthenticate_then_back_to_the_note(
    client, pair, mentor
):
    note = write(mentor, pair)
    client.force_login(mentor)
    _age_authentication(client, mentor, 301)
    target = url("note", code=note.code)
    response = client.get(target)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_reauthenticate")
    assert parse_qs(location.query) == {"next": [target]}
    assert not entries(action="read")  # nothing read before re-authenticating

    done = client.post(response["Location"], {"password": TEST_PASSWORD})
    assert done.status_code == 302 and done["Location"] == target
    page = client.get(target)
    assert page.status_code == 200 and BODY in page.content.decode()


def test_a_fresh_authentication_is_not_asked_again(client, pair, mentor):
    note = write(mentor, pair)
    client.force_login(mentor)
    _age_authentication(client, mentor, 60)
    assert client.get(url("note", code=note.code)).status_code == 200


def test_reauthentication_by_authenticator_code_works_too(client, pair, mentor):
    note = write(mentor, pair)
    client.force_login(mentor)  # no authentication recorded at all
    target = url("note", code=note.code)
    assert client.get(target)["Location"].startswith(reverse("account_reauthenticate"))
    # The password page offers the authenticator instead, keeping where to go next.
    offered = client.get(f"{reverse('mfa_reauthenticate')}?next={target}")
    assert offered.status_code == 200
    code = current_totp(totp_secret_for(mentor.email))
    done = client.post(f"{reverse('mfa_reauthenticate')}?next={target}", {"code": code})
    assert done.status_code == 302 and done["Location"] == target
    assert BODY in client.get(target).content.decode()


def test_a_form_served_while_confirmed_is_accepted_after_the_reauthentication_window(
    client, pair, mentor
):
    """The form carries a signed "served" token from when the person was confirmed; posting
    it later (within the session idle limit) needs no second password."""
    note = write(mentor, pair)
    client.force_login(mentor)
    _age_authentication(client, mentor, 60)
    form = client.get(url("note-share", code=note.code)).content.decode()
    served = re.search(r'name="served" value="([^"]+)"', form).group(1)
    _age_authentication(client, mentor, 3600)
    response = client.post(url("note-share", code=note.code), {"served": served})
    assert response.status_code == 302
    assert response["Location"] == url("relationship", code=pair.code)
    note.refresh_from_db()
    assert note.shared_at is not None


def test_a_form_served_in_an_earlier_session_is_not_taken_as_a_confirmation(client, pair, mentor):
    """Served while confirmed, then signed out; in a new session past the re-authentication
    window, the old form's token is refused: the person confirms it is them first."""
    note = write(mentor, pair)
    client.force_login(mentor)
    _age_authentication(client, mentor, 60)
    form = client.get(url("note-share", code=note.code)).content.decode()
    served = re.search(r'name="served" value="([^"]+)"', form).group(1)
    client.logout()
    client.force_login(mentor)
    _age_authentication(client, mentor, 3600)
    response = client.post(url("note-share", code=note.code), {"served": served})
    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    note.refresh_from_db()
    assert note.shared_at is None


def test_a_post_without_a_valid_served_token_is_not_stashed_and_asks_to_confirm(
    client, pair, mentor, other_mentor
):
    note = write(mentor, pair)
    client.force_login(mentor)
    _age_authentication(client, mentor, 3600)

    forged = signing.dumps(other_mentor.pk, salt=FORM_TOKEN_SALT)  # someone else's token
    old_form = signing.dumps(mentor.pk, salt=FORM_TOKEN_SALT)  # the unbound form of before
    for served in ("", "tampered", forged, old_form):
        response = client.post(
            url("note-edit", code=note.code), {"body": "Second thoughts", "served": served}
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "Nothing was saved" in page and "Second thoughts" in page  # kept (R12)
        assert reverse("account_reauthenticate") in page
    note.refresh_from_db()
    assert note.body == BODY
    assert not entries(action="edit")


def test_outsiders_are_asked_to_reauthenticate_first_and_then_get_404(client, pair, mentor, dean):
    note = write(mentor, pair)
    client.force_login(dean)
    response = client.get(url("note", code=note.code))
    assert response.status_code == 302  # reveals nothing: the same for any code
    assert (
        client.get(url("note", code=uuid.uuid4()))["Location"].split("?")[0]
        == (response["Location"].split("?")[0])
    )
    client.post(response["Location"], {"password": TEST_PASSWORD})
    assert client.get(url("note", code=note.code)).status_code == 404
    assert entries(object_code=note.code, actor=dean, outcome="refused")


def test_notes_lists_run_a_bounded_number_of_queries(
    client, program, pair, mentor, django_assert_max_num_queries
):
    for _ in range(2):  # capacity 3, with the pair
        other = UserFactory()
        membership_grant(user=other, role=Role.LEARNER, program=program)
        extra = relationship_start(program=program, guide=mentor, learner=other)
        for _ in range(5):
            write(mentor, extra)
    for _ in range(30):
        write(mentor, pair)
    sign_in(client, mentor)
    client.get(url("my-notes"))  # warm the session
    # Session, user, roles, MFA, the relationship, the notes, the nav: constant in the notes.
    with django_assert_max_num_queries(10):  # 8 measured
        assert client.get(url("relationship", code=pair.code)).status_code == 200
    with django_assert_max_num_queries(10):  # 8 measured, whatever the relationships
        assert client.get(url("my-notes")).status_code == 200


# --- Text that cannot be stored (R12) ------------------------------------------------------------

NUL_TEXT = "Met on the ward.\x00 Follow up next week."


def test_a_nul_byte_in_a_note_is_an_error_with_the_text_kept(client, pair, mentor):
    sign_in(client, mentor)
    response = client.post(url("note-new", code=pair.code), {"body": NUL_TEXT})
    assert response.status_code == 200
    page = response.content.decode()
    assert "invisible NUL character" in page and "Follow up next week." in page
    assert not ConfidentialNote.objects.exists()
    note = write(mentor, pair)
    edited = client.post(url("note-edit", code=note.code), {"body": NUL_TEXT})
    assert edited.status_code == 200 and "invisible NUL character" in edited.content.decode()
    note.refresh_from_db()
    assert note.body == BODY


def test_an_outsiders_nul_byte_gets_the_same_404_and_a_logged_refusal(client, pair, other_mentor):
    """The decision comes before the text is looked at: a code that exists answers as one that
    does not, and the refusal is logged."""
    sign_in(client, other_mentor)
    before = len(entries(outcome="refused"))
    assert client.post(url("note-new", code=pair.code), {"body": NUL_TEXT}).status_code == 404
    assert len(entries(outcome="refused")) == before + 1
    missing = url("note-new", code=uuid.uuid4())
    assert client.post(missing, {"body": NUL_TEXT}).status_code == 404
    assert not ConfidentialNote.objects.exists()
