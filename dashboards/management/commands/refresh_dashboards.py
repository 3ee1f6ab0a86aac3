"""Recompute the dashboards' figures now, as the periodic task does every 30 minutes.

    manage.py refresh_dashboards

For operators: after an import, a restore or a change of SURVEY_MIN_CELL, rather than waiting
for the next scheduled refresh. Safe beside the worker: a refresh already running is not
repeated (advisory lock) and this command says so.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dashboards.summaries import summaries_refresh


class Command(BaseCommand):
    help = "Recompute every dashboard figure now (the periodic refresh, on demand)."

    def handle(self, *args, **options):
        done = summaries_refresh()
        if done is None:
            raise CommandError(
                "Another refresh of the dashboards is running; its figures will be the latest."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Dashboard figures refreshed in {done.duration_ms / 1000:.1f} s "
                f"({done.cells:,} figures, {done.hidden:,} hidden), as of {done.as_of}."
            )
        )
