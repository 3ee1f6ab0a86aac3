"""Erasure by anonymisation (`manage.py erase_person`).

The person is anonymised, never deleted: the User row stays (the access log, relationships and
meetings point to it, PROTECT) with a placeholder name and an undeliverable address, no
password, inactive; everything they wrote is blanked or deleted; the rows that carry counts
(relationships, meetings and their metadata, memberships, status history, goals, survey
invitations, the access log) stay, so dashboards count the same. See `erase_person` for the
list. SECURITY: the summary and the log line carry counts and the user id only.

What each app does to its own data is registered in its `privacy.py` (`@erasure_step`,
`name_copies`; accounts/privacy_registry.py); this module runs the steps in their order in one
transaction and reports what they did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import User
from accounts.privacy_registry import (
    ERASED_NAME,
    ERASED_TEXT,
    ERASURE_STEPS,
    Erasure,
    is_erased,
)
from mentoring.models import Relationship

# ERASED_NAME and ERASED_TEXT are what an erased person's rows show (tests compare with them).
__all__ = ["ERASED_NAME", "ERASED_TEXT", "ErasureRefused", "ErasureSummary", "erase_person"]

logger = logging.getLogger(__name__)


class ErasureRefused(Exception):
    """The person is an operator and the caller did not say to include operators."""


@dataclass
class ErasureSummary:
    """What an erasure did (or, for a dry run, would do): counts only, never content."""

    user_id: int
    dry_run: bool
    already_erased: bool
    counts: dict[str, int] = field(default_factory=dict)
    current_relationships: int = 0

    @property
    def changed(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        verb = "Would change" if self.dry_run else "Changed"
        head = f"{verb} for person #{self.user_id}:"
        if self.already_erased:
            head += " (this person was erased before)"
        out = [head, *(f"  {label}: {n}" for label, n in self.counts.items())]
        if self.current_relationships:
            out.append(
                f"Note: {self.current_relationships} relationship(s) with this person are still "
                "active or paused; an administrator should end them (a participant left)."
            )
        return out


def _erasure_steps(user: User, by: User | None, apply: bool) -> dict[str, int]:
    """Every app's steps, in their order: {label: count}, in that order."""
    erasure = Erasure(user=user, by=by, apply=apply)
    counts: dict[str, int] = {}
    for step in ERASURE_STEPS:
        counts.update(step.run(erasure))
    return counts


def erase_person(
    user: User, by: User | None = None, *, include_operator: bool = False, dry_run: bool = False
) -> ErasureSummary:
    """Anonymise `user`, keeping the access log and every row that aggregates count.

    Done (all in one transaction): their confidential notes erased through the notes service
    (an ERASE entry each, actor `by`); reflections, action items, goals (a learner's, or those
    a guide wrote), progress notes, agreement texts, rematch reasons, time-request and
    cancellation messages, match-request notes and video links blanked; pending match requests
    closed, ranked choices deleted, current roles ended (rows kept); availability patterns,
    free times, calendar feeds, survey drafts deleted; profile free text, interests, languages,
    shared background and availability cleared (level and cohort kept); email addresses,
    authenticators, linked accounts, sessions and permissions removed; their name and address
    replaced where other records copied them as text; then the account: name ERASED_NAME, an
    undeliverable unique address, no usable password, inactive, no operator flags.

    Kept: the User row (its id stays in the access log), relationships, meetings and their
    metadata, memberships and status history, goals (as rows), survey invitations, the access
    log. Refuses operators (staff or superusers) unless `include_operator`. A rerun changes
    nothing. `dry_run` counts what would change and writes nothing. The erasure works on a
    fresh, locked copy of the user: refresh `user` to see the result.
    """
    if (user.is_staff or user.is_superuser) and not include_operator:
        raise ErasureRefused(
            "This person is an operator (staff or superuser). Erasing them removes their access "
            "to the operations site; say so explicitly to go on (--include-operator)."
        )
    summary = ErasureSummary(user_id=user.pk, dry_run=dry_run, already_erased=is_erased(user))
    current = Relationship.objects.for_participant(user).current()
    if dry_run:
        summary.counts = _erasure_steps(user, by, apply=False)
        summary.current_relationships = current.count()
        return summary
    with transaction.atomic():
        # Two erasures of one person at once run one after the other.
        user = User.objects.select_for_update().get(pk=user.pk)
        summary.already_erased = is_erased(user)
        summary.counts = _erasure_steps(user, by, apply=True)
        summary.current_relationships = current.count()
        transaction.on_commit(
            lambda: logger.info(
                "person erased: user_id=%s changed=%s", summary.user_id, summary.changed
            )
        )
    return summary
