"""What every section of a person's data download reads (the sections are each app's
`privacy.py`; the download is privacy/export.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from accounts.models import User
from mentoring.models import Relationship
from mentoring.notes import Access


@dataclass
class ExportContext:
    """What every section reads: the person, how their note reads are logged, and their
    relationships (loaded once for all sections)."""

    user: User
    access: Access

    @cached_property
    def relationships(self) -> list[Relationship]:
        return list(
            Relationship.objects.for_participant(self.user)
            .select_related("program", "term", "guide", "learner")
            .order_by("started_on", "pk")
        )

    @cached_property
    def by_id(self) -> dict[int, Relationship]:
        return {r.pk: r for r in self.relationships}

    def other(self, relationship: Relationship) -> User:
        is_guide = relationship.guide_id == self.user.pk
        return relationship.learner if is_guide else relationship.guide

    def name_of(self, user_id: int | None, relationship: Relationship) -> str:
        """Who did something in a relationship, as the person reads it (no one else named)."""
        if user_id is None:
            return ""
        if user_id == self.user.pk:
            return "you"
        if user_id in (relationship.guide_id, relationship.learner_id):
            return self.other(relationship).full_name
        return "someone else"
