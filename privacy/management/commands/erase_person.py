"""Erase a person by anonymisation: `manage.py erase_person EMAIL --yes`.

Without --yes it prints what would change and changes nothing. Operators (staff or
superusers) are refused unless --include-operator. A rerun changes nothing (an erased person
is found by the placeholder address or their code; their old address no longer exists).
"""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from privacy.erasure import ErasureRefused, erase_person


def _find(identifier: str) -> User | None:
    """A person by email address (any case) or by their code."""
    try:
        return User.objects.filter(code=uuid.UUID(identifier)).first()
    except ValueError:
        return User.objects.filter(email__iexact=identifier.strip()).first()


class Command(BaseCommand):
    help = (
        "Erase a person: anonymise their account and blank what they wrote, keeping the "
        "access log and every count. Without --yes, only show what would change."
    )

    def add_arguments(self, parser):
        parser.add_argument("email", help="The person's email address (or their code).")
        parser.add_argument(
            "--yes", action="store_true", help="Erase. Without it nothing is changed."
        )
        parser.add_argument(
            "--include-operator",
            action="store_true",
            help="Also erase a person who is staff or a superuser (an operator).",
        )
        parser.add_argument(
            "--by",
            metavar="EMAIL",
            help="The person performing the erasure, recorded in the access log as the actor "
            "of each erased note (default: the system).",
        )

    def handle(self, *args, email: str, yes: bool, include_operator: bool, by, **options):
        person = _find(email)
        if person is None:
            raise CommandError(
                "Nobody has that address. (An erased person's address is replaced: if they "
                "were erased already there is nothing left to do.)"
            )
        actor = None
        if by:
            actor = _find(by)
            if actor is None:
                raise CommandError("--by: nobody has that address.")
        try:
            summary = erase_person(
                person, by=actor, include_operator=include_operator, dry_run=not yes
            )
        except ErasureRefused as exc:
            raise CommandError(str(exc)) from exc
        for line in summary.lines():
            self.stdout.write(line)
        if not yes:
            self.stdout.write("Nothing was changed. Run again with --yes to erase.")
        elif summary.changed == 0:
            self.stdout.write("Nothing left to erase.")
        else:
            self.stdout.write(self.style.SUCCESS("Erased."))
