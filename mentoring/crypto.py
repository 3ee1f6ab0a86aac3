"""Encryption at rest for confidential free text (R4): notes, reflections, survey free text.

The application encrypts before the database sees the text, with Fernet keys from the
environment (`settings.CONFIDENTIAL_KEYS`, newest first). `MultiFernet` encrypts with the first
key and decrypts with any, so a new key is added in front, `manage.py rotate_confidential_keys`
re-encrypts every row under it, and only then is the old key removed.

`EncryptedTextField` is the only way confidential text is stored. Its column holds a Fernet
token (or the empty string for no text); the text cannot be searched, filtered or ordered in
SQL, which is the point. SECURITY: no error raised here carries plaintext or ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.db.models.lookups import Exact
from django.views.decorators.debug import sensitive_variables

# Every Fernet token starts with this (version byte 0x80, base64url).
TOKEN_PREFIX = "gAAAAA"  # noqa: S105 (a format marker, not a secret)


class UndecryptableText(Exception):
    """A stored token no configured key opens (a key was dropped too early)."""


def _development_key() -> bytes:
    """DEBUG only (settings refuse production without keys): a key derived from SECRET_KEY."""
    digest = hashlib.sha256(b"mentoring-confidential-text:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CONFIDENTIAL_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes)."
        ) from exc


def fernet() -> MultiFernet:
    """The current key ring (re-read from settings, so tests and rotation can change it)."""
    keys = tuple(settings.CONFIDENTIAL_KEYS) or (_development_key().decode(),)
    return _fernet_for(keys)


# SECURITY: an error report must not print the text being encrypted (its local variables),
# nor the cipher's (every frame below this one is hidden too).
@sensitive_variables()
def encrypt(text: str) -> str:
    if text == "":
        return ""
    return fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if token == "":
        return ""
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise UndecryptableText(
            "A confidential value cannot be decrypted with the configured CONFIDENTIAL_KEYS."
        ) from exc


def rotate_token(token: str) -> str:
    """The same text under the first key (MultiFernet.rotate)."""
    if token == "":
        return ""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise UndecryptableText(
            "A confidential value cannot be decrypted with the configured CONFIDENTIAL_KEYS."
        ) from exc


class _EmptyOnlyExact(Exact):
    """`field=""` works (no text); comparing against text cannot (tokens differ each write)."""

    def __init__(self, lhs, rhs):
        if rhs not in ("", None):
            raise TypeError(
                "Encrypted text cannot be compared in SQL; filter on another field and "
                "compare in Python."
            )
        super().__init__(lhs, rhs)


class EncryptedTextField(models.TextField):
    """Text encrypted in the application; the column holds a Fernet token.

    Only `isnull` and equality with "" make sense in queries (tokens differ on every write).
    """

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None:
            return value
        return encrypt(str(value))

    def get_lookup(self, lookup_name):
        if lookup_name == "exact":
            return _EmptyOnlyExact
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        return None


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every (model, [field names]) that stores encrypted text, across installed apps."""
    found = []
    for model in apps.get_models():
        names = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if names:
            found.append((model, names))
    return found


def rotate_all(batch_size: int = 500) -> dict[str, int]:
    """Re-encrypt every encrypted column under the first key; returns rows rewritten per model.

    Reads the raw tokens (no decryption round trip through the field) and writes them back with
    `QuerySet.update`, so `auto_now` fields and signals are untouched. Each batch is its own
    transaction; a rerun after an interruption simply rotates again (idempotent).
    """
    counts: dict[str, int] = {}
    for model, names in encrypted_fields():
        label = model._meta.label
        counts[label] = 0
        table = model._meta.db_table
        pk = model._meta.pk.column
        columns = ", ".join(model._meta.get_field(n).column for n in names)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        last = None
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                where = f"WHERE {pk} > %s " if last is not None else ""
                params = [last] if last is not None else []
                cursor.execute(
                    f"SELECT {pk}, {columns} FROM {table} {where}"  # noqa: S608 (names from _meta)
                    f"ORDER BY {pk} LIMIT %s{lock}",
                    [*params, batch_size],
                )
                rows = cursor.fetchall()
                for row in rows:
                    sets = {
                        model._meta.get_field(n).column: rotate_token(row[i + 1] or "")
                        for i, n in enumerate(names)
                        if row[i + 1] is not None
                    }
                    if not sets:
                        continue
                    assignments = ", ".join(f"{c} = %s" for c in sets)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {pk} = %s",  # noqa: S608
                        [*sets.values(), row[0]],
                    )
                    counts[label] += 1
            if len(rows) < batch_size:
                break
            last = rows[-1][0]
    return counts
