"""Encrypt the authenticator secrets stored in the clear before MFA_ADAPTER encrypted them
(R4). Reversible: going back decrypts them, for the adapter that no longer would."""

from django.db import migrations

from mentoring import crypto
from mentoring.authenticators import authenticators_rewrite, encrypt_if_plain


def encrypt_secrets(apps, schema_editor):
    authenticators_rewrite(apps.get_model("mfa", "Authenticator"), encrypt_if_plain)


def decrypt_secrets(apps, schema_editor):
    def plain(value: str) -> str:
        return crypto.decrypt(value) if value.startswith(crypto.TOKEN_PREFIX) else value

    authenticators_rewrite(apps.get_model("mfa", "Authenticator"), plain)


class Migration(migrations.Migration):
    dependencies = [
        ("mentoring", "0007_access_log_no_truncate"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_secrets, decrypt_secrets)]
