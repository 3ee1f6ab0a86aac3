"""The one test of whether two date ranges share a day (R2), for every dated row."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class DatedQuerySet(models.QuerySet):
    """Rows with an inclusive start date (`start_field`) and an optional end date (`ends_on`,
    empty while open-ended)."""

    start_field = "starts_on"

    def overlapping(self, starts_on, ends_on):
        """Rows whose dates share at least one day with [starts_on, ends_on] (whole days,
        inclusive at both ends; an empty end is open-ended on either side). This is R2's one
        overlap test: the rules, the matcher and the import preview all ask it here."""
        qs = self.filter(Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
        if ends_on is not None:
            qs = qs.filter(**{f"{self.start_field}__lte": ends_on})
        return qs
