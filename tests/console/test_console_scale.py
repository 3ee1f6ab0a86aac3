"""The console's lists at size: the quiet page names its people without joining every user,
the people picker renders thousands of options as Django's select would (escaped, selected),
and each list page reads as many queries with more people in the program."""

from __future__ import annotations

import datetime

from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring import services
from mentoring.forms import PersonSelect
from tests.factories import UserFactory


def test_the_people_picker_escapes_labels_and_keeps_the_choice():
    choices = [("", "---------"), (1, 'Ann <b>&"Lee"'), (2, "Ben Kim")]
    attrs = {"id": "id_learner", "required": True}
    html = PersonSelect(choices=choices).render("learner", 2, attrs)
    assert html.startswith('<select name="learner"')
    assert ' id="id_learner"' in html and " required" in html
    assert '<option value="">---------</option>' in html
    assert '<option value="1">Ann &lt;b&gt;&amp;&quot;Lee&quot;</option>' in html
    assert '<option value="2" selected>Ben Kim</option>' in html
    django_select = forms.Select(choices=choices).render("learner", 2, attrs)
    assert html.count("<option") == django_select.count("<option") == 3


def _grow(program, mentor, n: int) -> None:
    for k in range(n):
        person = UserFactory(full_name=f"Grown Learner {n} {k}")
        membership_grant(user=person, role=Role.LEARNER, program=program)
        services.relationship_start(
            program=program,
            guide=mentor,
            learner=person,
            started_on=timezone.localdate() - datetime.timedelta(days=200),
        )


def test_console_lists_read_as_many_queries_with_more_people(
    client, program, program_admin, learner, mentor
):
    mentor_membership = program.memberships.get(user=mentor)
    mentor_membership.capacity = 20
    mentor_membership.save(update_fields=["capacity"])
    _grow(program, mentor, 2)
    client.force_login(program_admin)
    pages = [
        reverse(f"console:{name}", kwargs={"code": program.code})
        for name in ("quiet", "people", "relationships", "relationship-create", "program-detail")
    ]

    def counts() -> list[int]:
        found = []
        for page in pages:
            client.get(page)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page)
            assert response.status_code == 200, page
            found.append(len(queries))
        return found

    small = counts()
    _grow(program, mentor, 6)
    assert counts() == small
    quiet = client.get(pages[0]).content.decode()
    assert "Grown Learner 6 0" in quiet and "Kenji Ito" in quiet
