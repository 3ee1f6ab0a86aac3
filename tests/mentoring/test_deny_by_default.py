"""Deny by default: an anonymous visitor reaches only the sign-in and recovery pages."""

from __future__ import annotations

from urllib.parse import urlparse

from django.urls import reverse

from accounts.models import User
from tests.url_walk import all_url_cases

# Pages an anonymous visitor may open: signing in, recovering a password, confirming an
# email address, the MFA step of signing in, the closed sign-up notice, the health probe, and
# a private calendar feed and a survey's emailed link (their signed or secret token is the
# credential; a wrong one is 404 or "this link is not valid").
PUBLIC = {
    "healthz",
    "meetings:feed",
    "surveys:answer",
    "account_login",
    "account_signup",
    "account_reset_password",
    "account_reset_password_done",
    "account_reset_password_from_key",
    "account_reset_password_from_key_done",
    "account_confirm_email",
    "account_email_verification_sent",
    "account_inactive",
    "account_logout",
    "mfa_authenticate",
    "mfa_trust",
}


def test_every_other_url_sends_an_anonymous_visitor_to_sign_in(client, db):
    login_path = reverse("account_login")
    checked = []
    for case in all_url_cases():
        if case.name in PUBLIC:
            continue
        response = client.get(case.url, follow=True)
        final = urlparse(response.request["PATH_INFO"]).path
        assert response.redirect_chain, f"{case} answered {response.status_code} without sign-in"
        assert final == login_path, f"{case} ended at {final}"
        checked.append(case.url)
    assert "/" in checked and "/admin/" in checked
    assert len(checked) > 20


def test_public_pages_answer_without_error(client, db):
    for case in all_url_cases():
        if case.name not in PUBLIC:
            continue
        response = client.get(case.url)
        assert response.status_code < 500, case


def test_login_page_has_no_sign_up_link_when_sign_up_is_closed(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert reverse("account_signup") not in response.content.decode()
    closed = client.get(reverse("account_signup"))
    assert b"Sign Up Closed" in closed.content


def test_closed_sign_up_creates_nobody(client, db):
    client.post(
        reverse("account_signup"),
        {"email": "walkin@school.test", "password1": "x" * 20, "password2": "x" * 20},
    )
    assert not User.objects.filter(email="walkin@school.test").exists()
