"""Fill the database with a school-scale data set for measuring the dashboards.

    manage.py seed_scale                 # 20,000 learners, 500,000 meetings... (a few minutes)
    manage.py seed_scale --scale 0.1     # ten times smaller
    manage.py seed_scale --seed 7        # another draw of the same size

Refuses a database that already has people unless --force (it never deletes anything; with
--force it adds the data set to the school there: programs of the same name and kind take the
history in, the others are added). Then refresh the dashboards' figures with
`manage.py refresh_dashboards`, or --refresh here.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from dashboards.summaries import summaries_refresh
from devtools.scale import TARGETS, ScaleSeed


class Command(BaseCommand):
    help = "Generate a school-scale data set (bulk inserts) for the dashboards' benchmarks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", type=float, default=1.0, help="1 = 20,000 learners (0 < scale <= 2)."
        )
        parser.add_argument("--seed", type=int, default=20261126, help="Random seed.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though the database already has people in it.",
        )
        parser.add_argument(
            "--refresh", action="store_true", help="Refresh the dashboards' figures afterwards."
        )

    def handle(self, *args, scale, seed, force, refresh, **options):
        if not 0 < scale <= 2:
            raise CommandError("--scale must be more than 0 and at most 2.")
        people = User.objects.count()
        if people and not force:
            raise CommandError(
                f"This database already has {people:,} people. seed_scale is for an empty "
                "database of its own (e.g. createdb mentoring_scale); --force adds the data "
                "set beside what is there."
            )
        self.stdout.write(
            f"Seeding scale {scale:g} (about {round(TARGETS['learners'] * scale):,} learners, "
            f"{round(TARGETS['meetings'] * scale):,} meetings), seed {seed}..."
        )
        started = time.perf_counter()
        counts = ScaleSeed(scale=scale, seed=seed, log=self.stdout.write).run()
        seconds = time.perf_counter() - started
        for name, count in counts.items():
            self.stdout.write(f"  {name:<18}{count:>10,}")
        self.stdout.write(self.style.SUCCESS(f"Seeded in {seconds:.1f} s."))
        if refresh:
            done = summaries_refresh()
            if done is not None:
                self.stdout.write(
                    f"Dashboard figures refreshed in {done.duration_ms / 1000:.1f} s "
                    f"({done.cells:,} cells, {done.hidden:,} hidden)."
                )
