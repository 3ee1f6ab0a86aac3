"""`manage.py demo` builds a realistic small school, idempotently."""

from __future__ import annotations

import pyotp
from allauth.mfa.models import Authenticator
from django.core.management import call_command

from accounts.management.commands.demo import DEMO_PASSWORD, DOMAIN, demo_totp_secret
from accounts.models import Membership, Role, User
from accounts.permissions import requires_mfa
from mentoring.models import Program


def _counts():
    from accounts.models import ParticipantProfile, StatusChange
    from mentoring.models import AssessmentRole, Conflict, Relationship, RematchRequest, Term

    models = (
        User,
        Program,
        Membership,
        Authenticator,
        ParticipantProfile,
        StatusChange,
        Term,
        Relationship,
        AssessmentRole,
        Conflict,
        RematchRequest,
    )
    return {model.__name__: model.objects.count() for model in models}


def test_demo_is_idempotent_and_covers_every_role(db, capsys):
    call_command("demo")
    first = _counts()
    call_command("demo")
    assert _counts() == first

    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {r.value for r in Role}
    assert Program.objects.count() >= 3
    assert set(Program.objects.values_list("kind", flat=True)) == {
        "mentoring",
        "coaching",
        "advising",
    }
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out


def test_demo_staff_accounts_have_a_printed_totp_secret_and_learners_do_not(db, capsys):
    call_command("demo")
    out = capsys.readouterr().out
    for user in User.objects.all():
        has_totp = Authenticator.objects.filter(user=user, type="totp").exists()
        assert has_totp is requires_mfa(user), user.email
        if has_totp:
            assert demo_totp_secret(user.email) in out


def test_demo_password_and_totp_secret_work(db, client):
    call_command("demo")
    email = f"coordinator@{DOMAIN}"
    user = User.objects.get(email=email)
    assert user.check_password(DEMO_PASSWORD)
    response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    code = pyotp.TOTP(demo_totp_secret(email)).now()
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_demo_includes_a_person_with_two_roles(db):
    call_command("demo")
    chen = User.objects.get(email=f"pgy3.chen@{DOMAIN}")
    assert set(chen.memberships.values_list("role", flat=True)) == {"learner", "mentor"}


def test_demo_has_a_conflict_waiting_a_rematch_request_and_an_informal_proposal(db):
    from mentoring.models import Conflict, Relationship, RematchRequest

    call_command("demo")
    waiting = Conflict.objects.open().filter(kind=Conflict.Kind.PENDING_ASSESSMENT).get()
    assert waiting.assessment_role.status == "pending"
    assert waiting.program.name == "MS1 faculty mentoring"
    assert Conflict.objects.open().filter(kind=Conflict.Kind.FLAGGED_OVERLAP).count() == 1
    assert RematchRequest.objects.open().count() == 1
    assert Relationship.objects.filter(status="proposed", origin="self_initiated").count() == 1
    assert Relationship.objects.current().count() >= 8
