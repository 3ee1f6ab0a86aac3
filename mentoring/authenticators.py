"""Authenticator secrets encrypted at rest (R4: no database dump or admin page becomes a way
to sign in as someone).

allauth keeps each person's TOTP key and recovery-code seed in `mfa_authenticator.data` (JSON).
`MFAAdapter` (settings.MFA_ADAPTER) encrypts them with the CONFIDENTIAL_KEYS, like notes
(mentoring.crypto), before they reach the database; `authenticators_rewrite` passes every
stored secret through a function, for the migration that encrypted the secrets stored before
and for `manage.py rotate_confidential_keys`.
"""

from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.db import transaction

from mentoring import crypto

# The secret values of each authenticator type's `data`: single values, and lists of values.
SECRETS = {"totp": ("secret",), "recovery_codes": ("seed",)}
SECRET_LISTS = {"recovery_codes": ("migrated_codes",)}


class MFAAdapter(DefaultMFAAdapter):
    """allauth's MFA adapter, with the secrets encrypted under the CONFIDENTIAL_KEYS."""

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)


def secrets_map(kind: str, data: dict, transform: Callable[[str], str]) -> dict:
    """`data` of an authenticator of type `kind` with each secret passed through `transform`
    (anything else as it was)."""
    data = dict(data)
    for name in SECRETS.get(kind, ()):
        if isinstance(data.get(name), str):
            data[name] = transform(data[name])
    for name in SECRET_LISTS.get(kind, ()):
        if isinstance(data.get(name), list):
            data[name] = [transform(v) if isinstance(v, str) else v for v in data[name]]
    return data


def authenticators_rewrite(model, transform: Callable[[str], str], batch_size: int = 500) -> int:
    """Pass every stored secret of `model` (allauth's Authenticator, or its historical model
    in a migration) through `transform`, a batch per transaction, rows locked; returns how
    many rows changed."""
    changed = 0
    last = 0
    while True:
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update()
                .filter(pk__gt=last, type__in=list(SECRETS))
                .order_by("pk")[:batch_size]
            )
            for row in rows:
                data = secrets_map(row.type, row.data, transform)
                if data != row.data:
                    model.objects.filter(pk=row.pk).update(data=data)
                    changed += 1
        if len(rows) < batch_size:
            return changed
        last = rows[-1].pk


def encrypt_if_plain(value: str) -> str:
    """A secret stored before encryption, encrypted; one already encrypted, as it is."""
    return value if value.startswith(crypto.TOKEN_PREFIX) else crypto.encrypt(value)


def authenticators_rotate() -> int:
    """Re-encrypt every authenticator secret under the first key (rotation)."""
    return authenticators_rewrite(Authenticator, crypto.rotate_token)
