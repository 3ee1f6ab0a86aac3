"""Every form of every page, as the person who sees it, with hostile text in each field it
lets a person type (R12: no request answers 500 to bad input).

The crawl takes each page of the authorization matrix as a member of the cast who may open
it, finds its forms (POST forms and GET filters and search boxes alike), and submits each
form once per typed field and hostile value: the field holds the value, the others what a
person who typed plain words would send. A 500 (or an exception) anywhere fails the test,
naming the page, the form's target, the field and the value. HOSTILE_TRACE=<file> lists the
forms and fields the crawl reached (URL name and field, one a line).
"""

from __future__ import annotations

import datetime
import os

import pytest
from django.urls import resolve, reverse

from tests.authz_matrix import MATRIX
from tests.authz_matrix_notes import mark_recently_authenticated
from tests.hostile_forms import HOSTILE, forms_of, send
from tests.test_authorization_matrix import matrix_world, shared_world  # noqa: F401

# Forms whose submission ends the session or leaves the product.
SKIP_ACTIONS = ("/accounts/logout/",)


def _who(row) -> str | None:
    """A member of the cast who gets the page (200), preferring a participant."""
    if row.method != "get":
        return None
    members = [m for m, status in row.who.items() if status == 200]
    if row.rest == 200:
        members += ["learner", "mentor", "program_admin"]
    return members[0] if members else None


def _no_free_slot(world) -> None:
    world.slot.delete()  # the booking page then offers to ask for a time


def _pair_began_last_month(world) -> None:
    # The world's pair began today; its past meeting can be logged once the pair is older.
    type(world.pair).objects.filter(pk=world.pair.pk).update(
        started_on=world.past_meeting.starts_at.date() - datetime.timedelta(days=30)
    )


def _no_rematch_asked(world) -> None:
    world.rematch.delete()  # the learner may ask for one


# Pages the matrix reaches only by POST, or in a state that hides their form:
# id -> (url name, kwargs, member, setup).
EXTRA = {
    "meeting-log-past": (
        "meetings:meeting-log",
        lambda w: {"code": w.past_meeting.code},
        "learner",
        _pair_began_last_month,
    ),
    "meeting-past": (
        "meetings:meeting",
        lambda w: {"code": w.past_meeting.code},
        "learner",
        _pair_began_last_month,
    ),
    "book-no-slot": ("meetings:book", lambda w: {"code": w.pair.code}, "learner", _no_free_slot),
    "note-new": ("notes:note-new", lambda w: {"code": w.pair.code}, "mentor", None),
    "rematch-request": (
        "mentoring:rematch-request",
        lambda w: {"code": w.pair.code},
        "learner",
        _no_rematch_asked,
    ),
    "offer-other-mentor": (
        "choosing:offer",
        lambda w: {"code": w.program.code},
        "other_mentor",
        None,
    ),
}

CASES = {
    name: (name, MATRIX[name].kwargs, _who(MATRIX[name]), None)
    for name in MATRIX
    if _who(MATRIX[name])
}
CASES.update(EXTRA)


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_form_answers_500_to_hostile_text(client, matrix_world, case):  # noqa: F811
    world = matrix_world
    url_name, kwargs, member, setup = CASES[case]
    if setup:
        setup(world)
    page_url = reverse(url_name, kwargs=kwargs(world))
    client.force_login(world.cast[member])
    mark_recently_authenticated(client, world.cast[member])
    client.raise_request_exception = False
    page = client.get(page_url)
    if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
        pytest.skip(f"{url_name} is not an HTML page for {member}")
    failures = []
    tried = 0
    for form in forms_of(page.content.decode()):
        action = form.action or page_url
        if not action.startswith("/") or action.startswith(SKIP_ACTIONS):
            continue
        for name in form.text_fields():
            for label, value in HOSTILE.items():
                pairs = [(k, value if k == name else v) for k, v in form.baseline()]
                tried += 1
                if os.environ.get("HOSTILE_TRACE") and label == "nul":
                    with open(os.environ["HOSTILE_TRACE"], "a") as trace:
                        match = resolve(action.split("?")[0])
                        trace.write(f"{match.view_name} {name}\n")
                response = send(client, form.method, action, pairs)
                if response.status_code >= 500:
                    failures.append(
                        f"{form.method.upper()} {action} field {name!r} {label}: "
                        f"{response.status_code}"
                    )
                # A form that signed the person out or changed the session's person ends
                # the crawl of this page.
                if "_auth_user_id" not in client.session:
                    client.force_login(world.cast[member])
                    mark_recently_authenticated(client, world.cast[member])
    assert not failures, "\n".join(failures)
    if not tried:
        pytest.skip(f"{url_name} has no field a person types into")
