"""Every form of every page, as the person who sees it, with hostile text in each field it
lets a person type (R12: no request answers 500 to bad input).

The crawl takes each page of the authorization matrix as a member of the cast who may open
it, finds its forms (POST forms and GET filters and search boxes alike), and submits each
form once per typed field and hostile value: the field holds the value, the others what a
person who typed plain words would send. A 500 (or an exception) anywhere fails the test,
naming the page, the form's target, the field and the value.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

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


PAGES = sorted(name for name, row in MATRIX.items() if _who(row))


@pytest.mark.parametrize("url_name", PAGES)
def test_no_form_answers_500_to_hostile_text(client, matrix_world, url_name):  # noqa: F811
    world = matrix_world
    row = MATRIX[url_name]
    member = _who(row)
    page_url = reverse(url_name, kwargs=row.kwargs(world))
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
