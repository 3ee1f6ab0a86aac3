"""Operators appoint program administrators and deans in the Django admin, and every route
there goes through accounts.services: the administer_program grant is given with the role
and taken away when it ends or is deleted (R9)."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import membership_grant
from mentoring.models import Program
from tests.conftest import give_mfa
from tests.factories import UserFactory

ADD = "/admin/accounts/membership/add/"


def _when(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _membership_form(*, user, role, program=None, started_at=None, ended_at=None) -> dict:
    return {
        "user": user.pk,
        "role": role,
        "program": program.pk if program else "",
        "capacity": "",
        "started_at": _when(started_at or timezone.now() - datetime.timedelta(minutes=2)),
        "ended_at": _when(ended_at) if ended_at is not None else "",
    }


def _console(program) -> str:
    return reverse("console:program-detail", kwargs={"code": program.code})


@pytest.fixture
def appointee(db):
    person = UserFactory(email="nadia@school.test", full_name="Nadia Admin")
    give_mfa(person)
    return person


def test_administrator_appointed_in_the_admin_can_administer_the_program(
    client, superuser, program, appointee
):
    client.force_login(appointee)
    assert client.get(_console(program)).status_code == 404

    client.force_login(superuser)
    response = client.post(
        ADD, _membership_form(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    client.force_login(appointee)
    assert client.get(_console(program)).status_code == 200
    assert program in Program.objects.administered_by(appointee)


def test_ending_an_administrator_in_the_admin_takes_the_program_away(
    client, superuser, program, appointee
):
    membership = membership_grant(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    client.force_login(appointee)
    assert client.get(_console(program)).status_code == 200

    client.force_login(superuser)
    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        _membership_form(
            user=appointee,
            role=Role.PROGRAM_ADMIN,
            program=program,
            started_at=membership.started_at - datetime.timedelta(minutes=5),
            ended_at=timezone.now() - datetime.timedelta(minutes=1),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    membership.refresh_from_db()
    assert membership.ended_at is not None

    client.force_login(appointee)
    assert client.get(_console(program)).status_code == 404
    assert program not in Program.objects.administered_by(appointee)


def test_deleting_an_administrator_in_the_admin_takes_the_program_away(
    client, superuser, program, appointee
):
    membership = membership_grant(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    client.force_login(superuser)
    response = client.post(f"/admin/accounts/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    client.force_login(appointee)
    assert client.get(_console(program)).status_code == 404


def test_deleting_administrators_in_bulk_takes_their_programs_away(
    client, superuser, program, appointee
):
    membership = membership_grant(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    client.force_login(superuser)
    response = client.post(
        "/admin/accounts/membership/",
        {"action": "delete_selected", "_selected_action": [membership.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert program not in Program.objects.administered_by(appointee)


def test_moving_an_administrator_to_another_program_moves_the_grant(
    client, superuser, program, other_program, appointee
):
    membership = membership_grant(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    client.force_login(superuser)
    response = client.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        _membership_form(
            user=appointee,
            role=Role.PROGRAM_ADMIN,
            program=other_program,
            started_at=membership.started_at,
        ),
    )
    assert response.status_code == 302
    assert list(Program.objects.administered_by(appointee)) == [other_program]


def test_a_dean_in_a_program_is_refused_with_a_sentence_and_nothing_is_saved(
    client, superuser, program, appointee
):
    client.force_login(superuser)
    response = client.post(ADD, _membership_form(user=appointee, role=Role.DEAN, program=program))
    assert response.status_code == 200
    assert not Membership.objects.filter(user=appointee).exists()
    assert "errornote" in response.content.decode()


def test_operator_appoints_a_dean(client, superuser, appointee):
    client.force_login(superuser)
    response = client.post(ADD, _membership_form(user=appointee, role=Role.DEAN))
    assert response.status_code == 302
    client.force_login(appointee)
    assert client.get(reverse("dashboards:institution")).status_code == 200


def test_operator_creates_a_program_and_appoints_its_administrator_from_its_page(
    client, superuser, appointee
):
    client.force_login(superuser)
    add = client.get("/admin/mentoring/program/add/")
    assert add.status_code == 200
    form = add.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, False):
            data[name] = "on" if value is True else value
    data |= {"name": "Surgery career advising", "kind": Program.Kind.ADVISING}
    for inline in add.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    response = client.post("/admin/mentoring/program/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    program = Program.objects.get(name="Surgery career advising")

    page = client.get(f"/admin/mentoring/program/{program.pk}/change/").content.decode()
    appoint = f"{ADD}?program={program.pk}&amp;role=program_admin"
    assert "No administrator yet." in page
    assert appoint in page
    prefilled = client.get(ADD, {"program": program.pk, "role": Role.PROGRAM_ADMIN})
    assert prefilled.context["adminform"].form.initial["role"] == Role.PROGRAM_ADMIN

    response = client.post(
        ADD, _membership_form(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    )
    assert response.status_code == 302
    page = client.get(f"/admin/mentoring/program/{program.pk}/change/").content.decode()
    assert "Nadia Admin" in page

    client.force_login(appointee)
    assert client.get(_console(program)).status_code == 200
    edit = reverse("console:program-edit", kwargs={"code": program.code})
    assert client.get(edit).status_code == 200


def test_operator_adds_an_administrator_role_on_a_persons_page(
    client, superuser, program, appointee
):
    client.force_login(superuser)
    change = f"/admin/accounts/user/{appointee.pk}/change/"
    page = client.get(change)
    form = page.context["adminform"].form
    data = {"full_name": form["full_name"].value()}
    data["is_active"] = "on"
    (inline,) = page.context["inline_admin_formsets"]
    prefix = inline.formset.prefix
    started = timezone.localtime(timezone.now() - datetime.timedelta(minutes=1))
    data |= {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-role": Role.PROGRAM_ADMIN,
        f"{prefix}-0-program": program.pk,
        f"{prefix}-0-started_at_0": started.strftime("%Y-%m-%d"),
        f"{prefix}-0-started_at_1": started.strftime("%H:%M:%S"),
        f"{prefix}-0-user": appointee.pk,
    }
    response = client.post(change, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert program in Program.objects.administered_by(appointee)


@pytest.mark.parametrize(
    "path",
    [
        ADD,
        "/admin/accounts/membership/",
        "/admin/mentoring/program/add/",
        "/admin/mentoring/program/",
    ],
)
def test_staff_who_are_not_operators_get_404(client, db, program, path):
    staff = UserFactory(email="staff@school.test", is_staff=True)
    give_mfa(staff)
    client.force_login(staff)
    assert client.get(path).status_code == 404


def test_a_program_administrator_cannot_appoint_anyone(client, program_admin, program, appointee):
    client.force_login(program_admin)
    response = client.post(
        ADD, _membership_form(user=appointee, role=Role.PROGRAM_ADMIN, program=program)
    )
    # Not an operator: the admin sends them away (to sign in as staff), and nothing is granted.
    assert response.status_code in (302, 404)
    assert not Membership.objects.filter(user=appointee).exists()
    assert program not in Program.objects.administered_by(appointee)
