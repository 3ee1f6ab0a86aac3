"""Summary tables behind the dashboards, refreshed by a periodic task (dashboards/summaries.py).

A dashboard never aggregates raw rows at request time: at school scale (500,000 meetings) that
takes seconds. The refresh computes every figure for every combination of the filters at once
(a "cube": academic year x program, kind or all x cohort or all x split), decides small-cell
and complementary suppression over the whole cube (dashboards/suppression.py), and stores one
`SummaryCell` per combination. A page reads a slice of it in one or two queries.

R6/R7: a hidden cell is stored without its figures (`n` empty, `measures` empty), so nothing
that reads this table can show what the suppression decided to hide.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class SummaryCell(models.Model):
    """One figure for one combination of filters.

    Coordinates: `year` is the academic year by its first calendar year (2025 = 2025-26), empty
    for figures taken as of the refresh (e.g. guide load now). `kind` and `program`: both empty
    = every program; `kind` alone = every program of that kind; `program` = that program (its
    kind in `kind`). `cohort`: empty = every cohort. `split`: empty = everyone in the cell; else
    a part of it (e.g. "guided", "not_guided", "formal", a load bucket "3"); see
    dashboards/summaries.py for each figure's splits and measures.
    """

    figure = models.CharField(max_length=30)
    year = models.SmallIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=20, blank=True)
    program = models.ForeignKey(
        "mentoring.Program", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    cohort = models.CharField(max_length=60, blank=True)
    split = models.CharField(max_length=30, blank=True)
    # The number of people (or relationships, responses, conflicts) the cell speaks for.
    # Empty when hidden.
    n = models.PositiveIntegerField(null=True, blank=True)
    measures = models.JSONField(default=dict, blank=True)
    hidden = models.BooleanField(
        default=False, help_text="Suppressed: too small, or its complement (R6, R7)."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="summary_cell_hidden_has_no_figures",
                condition=Q(hidden=False, n__isnull=False) | Q(hidden=True, n__isnull=True),
            ),
            models.CheckConstraint(
                name="summary_cell_program_has_kind",
                condition=Q(program__isnull=True) | ~Q(kind=""),
            ),
        ]
        indexes = [
            # Pages read a slice: one figure family, one program node, one cohort, every year.
            models.Index(fields=["figure", "kind", "program", "cohort"], name="summary_cell_slice"),
            models.Index(fields=["figure", "year"], name="summary_cell_year"),
        ]

    def __str__(self) -> str:
        return f"{self.figure} {self.year or 'now'} {self.kind or 'all'} {self.split or ''}"


class SummaryRefresh(models.Model):
    """One run of the refresh: when the figures were computed (the pages say how fresh they
    are) and what it cost."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    as_of = models.DateField(help_text="The day the figures describe (point-in-time ones).")
    cells = models.PositiveIntegerField(default=0)
    hidden = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"Dashboard refresh at {self.finished_at:%Y-%m-%d %H:%M}"
