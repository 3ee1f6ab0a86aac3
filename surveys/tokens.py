"""One-time survey links (R6, R11 emails): the emailed link's token is the credential.

A token is the invitation's code signed with the site's key and a salt of its own
(django.core.signing), so it cannot be made or altered without the key, and a token of another
signed thing (a password reset, a calendar feed) is not one of these. It carries no expiry of
its own: it is valid while its campaign is open (`closes_at`, or closed early) and until its
invitation is answered (`has_responded`), both read from the database on every use, so a
used link is refused at once and a reminder's link is the same as the invitation's.
SECURITY: nothing about the respondent's answers is in the token or reachable from it once
they have answered.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

from surveys.models import Invitation

SALT = "surveys.invitation-link"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, algorithm="sha256")


def token_for(invitation: Invitation) -> str:
    """The token of `invitation`'s link (the same every time)."""
    return _signer().sign(invitation.code.hex)


def code_for_token(token: str) -> uuid.UUID | None:
    """The invitation code a token carries, or None when it is not a valid token (tampered
    with, cut short, or signed with another salt or key)."""
    try:
        return uuid.UUID(hex=_signer().unsign(token))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def invitation_for_token(token: str, *, related: tuple[str, ...] = ("campaign",)):
    """The invitation a valid token names (with `related` loaded), or None. Whether it may
    still be answered is the caller's question (`answering.invitation_state`)."""
    code = code_for_token(token)
    if code is None:
        return None
    return Invitation.objects.select_related(*related).filter(code=code).first()


def link_for(invitation: Invitation) -> str:
    """The absolute one-time link emailed for `invitation`."""
    return settings.SITE_URL + reverse("surveys:answer", kwargs={"token": token_for(invitation)})
