"""The first sign-in: the invitation's link welcomes the person (who invited them, to which
program, in what role), they choose a password, set up two-factor authentication without
being asked for that password again, see their recovery codes with a way on, and land home."""

from __future__ import annotations

import datetime
import re
import time
from urllib.parse import urlsplit

import pytest
import time_machine
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts.models import Role
from accounts.services import membership_grant, user_create
from notify import tasks
from notify.invitations import invitation_queue
from tests.conftest import current_totp

NEW_PASSWORD = "a long and unguessable phrase 42"


def invite(*, role, program, invited_by, email="amara@school.test", full_name="Amara Osei"):
    """A person added by an administrator and sent the invitation as the product sends it;
    returns them and the path of the emailed link."""
    person = user_create(email=email, full_name=full_name)
    membership_grant(user=person, role=role, program=program)
    pk = invitation_queue(user=person, invited_by=invited_by)
    assert tasks.send_outbox.apply(args=[[pk]]).get() == 1
    (message,) = [m for m in mail.outbox if m.to == [email]]
    link = re.search(r"http://\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    return person, urlsplit(link).path


def choose_password(client, link: str):
    """Follow the link (allauth moves the key into the session) and post a password."""
    set_password = client.get(link)
    assert set_password.status_code == 302
    return client.post(
        set_password["Location"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )


def test_the_invitation_page_welcomes_the_person_by_who_invited_them_and_their_role(
    client, program, program_admin
):
    _, link = invite(role=Role.MENTOR, program=program, invited_by=program_admin)
    page = client.get(client.get(link)["Location"])
    html = page.content.decode()
    assert "<title>Welcome: choose your password · Mentoring</title>" in html
    assert "Change Password" not in html
    assert "Welcome, Amara Osei" in html
    assert "<bdi>Rosa Delgado</bdi> invited you" in html
    assert "as a mentor in MS1 faculty mentoring" in html
    # Steps: a mentor must set up two-factor authentication.
    assert 'aria-current="step"' in html
    assert "Set up two-factor authentication" in html
    assert "Save your recovery codes" in html


def test_a_learner_is_told_only_of_the_password_and_their_home(client, program, program_admin):
    _, link = invite(role=Role.LEARNER, program=program, invited_by=program_admin)
    html = client.get(client.get(link)["Location"]).content.decode()
    assert "as a learner in MS1 faculty mentoring" in html
    assert "Set up two-factor authentication" not in html


def test_a_password_reset_for_someone_who_has_signed_in_before_is_not_a_welcome(client, mentor):
    mentor.last_login = mentor.date_joined
    mentor.save(update_fields=["last_login"])
    link = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(mentor),
            "key": default_token_generator.make_token(mentor),
        },
    )
    html = client.get(client.get(link)["Location"]).content.decode()
    assert "<title>Choose a new password · Mentoring</title>" in html
    assert "Welcome" not in html


def test_choosing_the_password_signs_in_and_goes_to_two_factor_without_asking_it_again(
    client, program, program_admin
):
    person, link = invite(role=Role.MENTOR, program=program, invited_by=program_admin)
    response = choose_password(client, link)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")

    setup = client.get(reverse("mfa_activate_totp"))
    # Not allauth's "Confirm Access": the two-factor setup page itself, with the steps.
    assert setup.status_code == 200
    html = setup.content.decode()
    assert "<title>Set up two-factor authentication · Mentoring</title>" in html
    assert "Confirm Access" not in html and "Confirm it is you" not in html
    assert 'aria-current="step"' in html

    secret = setup.context["form"].secret
    done = client.post(reverse("mfa_activate_totp"), {"code": current_totp(secret)})
    assert done.status_code == 302
    assert done["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=person, type=Authenticator.Type.TOTP).exists()

    codes = client.get(reverse("mfa_view_recovery_codes"))
    html = codes.content.decode()
    assert codes.status_code == 200
    assert "<title>Your recovery codes · Mentoring</title>" in html
    assert len(codes.context["unused_codes"]) >= 10
    assert f'href="{reverse("home")}"' in html and "continue" in html
    assert client.get(reverse("home")).status_code == 200


def test_a_person_who_had_an_authenticator_before_signing_in_is_asked_again(client, program_admin):
    # Their authenticator predates this sign-in: changing it needs the password again.
    client.force_login(program_admin)
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": time.time()}]
    session["account_authentication_methods_user"] = str(program_admin.pk)
    session.save()
    response = client.get(reverse("mfa_view_recovery_codes"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_a_sign_in_older_than_the_setup_window_is_asked_again(client, program, program_admin):
    _, link = invite(role=Role.MENTOR, program=program, invited_by=program_admin)
    choose_password(client, link)
    later = datetime.datetime.now(tz=datetime.UTC) + settings.MFA_SETUP_AFTER_SIGN_IN
    with time_machine.travel(later + datetime.timedelta(minutes=1), tick=False):
        # The session's own idle limit is longer than the window; only the window applies.
        response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_a_used_invitation_link_is_refused_with_a_sentence(client, program, program_admin):
    _, link = invite(role=Role.LEARNER, program=program, invited_by=program_admin)
    choose_password(client, link)
    client.logout()
    again = client.get(link)
    html = (client.get(again["Location"]) if again.status_code == 302 else again).content.decode()
    assert "This link no longer works" in html
    assert "has expired or has already been used" in html
    assert reverse("account_login") in html


def test_an_expired_invitation_link_is_refused_with_a_sentence(client, program, program_admin):
    _, link = invite(role=Role.LEARNER, program=program, invited_by=program_admin)
    later = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(
        seconds=settings.PASSWORD_RESET_TIMEOUT + 3600
    )
    with time_machine.travel(later, tick=False):
        response = client.get(link)
        html = (
            client.get(response["Location"]) if response.status_code == 302 else response
        ).content.decode()
    assert "This link no longer works" in html
    assert "ask your program administrator to send you a new invitation" in html


@pytest.mark.parametrize("role", [Role.LEARNER])
def test_a_learner_lands_home_after_choosing_a_password(client, program, program_admin, role):
    _, link = invite(role=role, program=program, invited_by=program_admin)
    response = choose_password(client, link)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
