"""Re-encrypt every confidential column under the first key in CONFIDENTIAL_KEYS."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mentoring.authenticators import authenticators_rotate
from mentoring.crypto import UndecryptableText, rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt confidential text (notes, reflections, survey free text) and authenticator "
        "secrets under the newest key. Put the new key first in CONFIDENTIAL_KEYS, run this, "
        "then remove the old key."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        if not settings.CONFIDENTIAL_KEYS:
            raise CommandError("CONFIDENTIAL_KEYS is empty: there is no key to rotate to.")
        try:
            counts = rotate_all(batch_size=batch_size)
            counts["mfa.Authenticator"] = authenticators_rotate()
        except UndecryptableText as exc:
            raise CommandError(
                f"{exc} Keep every old key in CONFIDENTIAL_KEYS until this command succeeds."
            ) from exc
        for label, count in counts.items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"Done: {sum(counts.values())} rows."))
