"""Authenticator secrets are encrypted at rest and no admin page shows them (R4): a database
dump or the operator's admin must not let anyone compute a person's codes and sign in as them.

The raw `mfa_authenticator.data` is read with SQL, below allauth, so a secret stored in the
clear beside the token fails."""

from __future__ import annotations

import json

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.core import mail
from django.db import connection
from django.urls import reverse

from accounts.models import User
from mentoring import crypto
from mentoring.authenticators import authenticators_rewrite, encrypt_if_plain
from mentoring.models import AccessLogEntry
from tests.conftest import give_mfa, totp_secret_for
from tests.factories import UserFactory


def _raw(user) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT type, data FROM mfa_authenticator WHERE user_id = %s", [user.pk])
        return {kind: data if isinstance(data, str) else json.dumps(data) for kind, data in cursor}


def test_the_totp_key_and_the_recovery_seed_are_stored_encrypted(mentor):
    secret = totp_secret_for(mentor.email)
    raw = _raw(mentor)
    assert set(raw) == {"totp", "recovery_codes"}
    assert secret not in raw["totp"]
    assert json.loads(raw["totp"])["secret"].startswith(crypto.TOKEN_PREFIX)
    seed = json.loads(raw["recovery_codes"])["seed"]
    assert seed.startswith(crypto.TOKEN_PREFIX)
    assert crypto.decrypt(json.loads(raw["totp"])["secret"]) == secret
    # And sign-in still reads them: a code and a recovery code are accepted.
    totp = Authenticator.objects.get(user=mentor, type=Authenticator.Type.TOTP)
    assert TOTP(totp).validate_code(pyotp.TOTP(secret).now())
    codes = Authenticator.objects.get(user=mentor, type=Authenticator.Type.RECOVERY_CODES)
    recovery = RecoveryCodes(codes)
    assert recovery.validate_code(recovery.get_unused_codes()[0])
    assert crypto.decrypt(seed) not in raw["recovery_codes"]


def test_secrets_stored_in_the_clear_before_are_encrypted_by_the_migration_step(mentor):
    secret = totp_secret_for(mentor.email)
    totp = Authenticator.objects.get(user=mentor, type=Authenticator.Type.TOTP)
    codes = Authenticator.objects.get(user=mentor, type=Authenticator.Type.RECOVERY_CODES)
    seed = crypto.decrypt(codes.data["seed"])
    Authenticator.objects.filter(pk=totp.pk).update(data={"secret": secret})
    Authenticator.objects.filter(pk=codes.pk).update(
        data={"seed": seed, "used_mask": 0, "migrated_codes": ["12345678"]}
    )
    assert authenticators_rewrite(Authenticator, encrypt_if_plain, batch_size=1) == 2
    assert secret not in _raw(mentor)["totp"] and seed not in _raw(mentor)["recovery_codes"]
    assert "12345678" not in _raw(mentor)["recovery_codes"]
    totp.refresh_from_db()
    assert TOTP(totp).validate_code(pyotp.TOTP(secret).now())
    # Run again (a migration re-run): what is encrypted stays as it is.
    assert authenticators_rewrite(Authenticator, encrypt_if_plain) == 0


@pytest.mark.parametrize(
    "path",
    ["/admin/mfa/authenticator/", "/admin/mfa/authenticator/{pk}/change/", "/admin/mfa/"],
)
def test_no_admin_page_shows_or_edits_an_authenticator(client, superuser, mentor, path):
    client.force_login(superuser)
    pk = Authenticator.objects.filter(user=mentor).values_list("pk", flat=True).first()
    assert client.get(path.format(pk=pk)).status_code == 404
    index = client.get("/admin/").content.decode()
    assert "/admin/mfa/" not in index and "Authenticator" not in index


def test_an_operator_sends_a_password_link_and_never_sets_a_password(
    client, superuser, mentor, learner
):
    client.force_login(superuser)
    for person in (mentor, learner):
        url = f"/admin/accounts/user/{person.pk}/password/"
        page = client.get(url)
        assert page.status_code == 200
        assert b'name="password1"' not in page.content
        before = person.password
        client.post(
            url,
            {
                "password1": "Chosen by the operator 1",
                "password2": "Chosen by the operator 1",
                "usable_password": "true",
            },
        )
        person.refresh_from_db()
        assert person.password == before  # what the operator typed is ignored
        assert not client.login(email=person.email, password="Chosen by the operator 1")
        client.force_login(superuser)
    assert sorted(m.to[0] for m in mail.outbox) == sorted([mentor.email, learner.email])
    assert all("/accounts/password/reset/key/" in m.body for m in mail.outbox)


def test_an_operator_cannot_change_a_persons_email_address(client, superuser, learner):
    client.force_login(superuser)
    url = f"/admin/accounts/user/{learner.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="email"' not in page
    client.post(url, {"email": "operator@evil.test", "full_name": "Renamed"})
    learner.refresh_from_db()
    assert learner.email != "operator@evil.test"


def test_every_operator_action_on_an_account_is_in_the_access_log_the_officer_reads(
    client, superuser, learner
):
    client.force_login(superuser)
    client.post(f"/admin/accounts/user/{learner.pk}/password/")
    change = client.get(f"/admin/accounts/user/{learner.pk}/change/")
    assert change.status_code == 200
    form = change.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"full_name": "Lucia G.", "memberships-TOTAL_FORMS": "0"})
    data.update({"memberships-INITIAL_FORMS": "0", "memberships-MIN_NUM_FORMS": "0"})
    data["memberships-MAX_NUM_FORMS"] = "1000"
    assert client.post(f"/admin/accounts/user/{learner.pk}/change/", data).status_code == 302
    learner.refresh_from_db()
    assert learner.full_name == "Lucia G."
    entries = AccessLogEntry.objects.filter(object_kind="account", object_code=learner.code)
    assert sorted(entries.values_list("actor", "action", "reason")) == sorted(
        [
            (superuser.pk, "operator", "Sent a link to choose a new password."),
            (superuser.pk, "operator", "changed: Full name"),
        ]
    )
    assert "Lucia G." not in " ".join(entries.values_list("reason", flat=True))

    officer = UserFactory()
    officer.groups.add(Group.objects.get(name="Privacy officer"))
    give_mfa(officer)
    client.force_login(officer)
    page = client.get(reverse("privacy:access-log")).content.decode()
    assert page.count("Account changed by an operator") >= 2


def test_an_authenticator_reset_gives_the_operator_no_way_in(client, superuser, mentor):
    """The mentor lost their phone. The operator resets the authenticator: it is gone, the
    password no longer works (the operator never knew it, and now nobody does), every session
    of the mentor ends, and the mentor is emailed a link to choose a new password; after it,
    allauth makes them set up a new authenticator before anything else."""

    mentor.set_password("Mentor's own passphrase 1")
    mentor.save()
    own = client.__class__()
    own.force_login(mentor)
    assert own.get("/").status_code == 200  # signed in, until the reset
    client.force_login(superuser)
    change = client.get(f"/admin/accounts/user/{mentor.pk}/change/").content.decode()
    url = f"/admin/accounts/user/{mentor.pk}/reset-authenticator/"
    assert url in change
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert not Authenticator.objects.filter(user=mentor).exists()
    mentor.refresh_from_db()
    assert not mentor.has_usable_password()
    assert own.get("/").status_code == 302  # signed out: the session's hash changed
    (message,) = mail.outbox
    assert message.to == [mentor.email] and "/accounts/password/reset/key/" in message.body
    assert AccessLogEntry.objects.filter(
        object_kind="account", object_code=mentor.code, actor=superuser, action="operator"
    ).exists()
    assert not client.login(email=mentor.email, password="Mentor's own passphrase 1")


def test_an_operator_adds_a_person_without_a_password_and_they_are_invited(
    client, superuser, eager_tasks, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    page = client.get("/admin/accounts/user/add/")
    assert page.status_code == 200 and b'name="password1"' not in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/accounts/user/add/",
            {
                "email": "newcomer@school.test",
                "full_name": "New Comer",
                "password1": "Chosen by the operator 1",
                "password2": "Chosen by the operator 1",
                "memberships-TOTAL_FORMS": "0",
                "memberships-INITIAL_FORMS": "0",
            },
        )
    assert response.status_code == 302
    person = User.objects.get(email="newcomer@school.test")
    assert not person.has_usable_password()
    assert not client.login(email=person.email, password="Chosen by the operator 1")
    assert [m.to for m in mail.outbox] == [[person.email]]
