"""A school-scale data set for measuring the dashboards (`manage.py seed_scale`).

At scale 1: 20,000 learners, 6,000 guides (600 of them senior learners who are peer mentors),
60,000 relationships, 500,000 meetings, 100,000 survey responses, and the status history of
the last five academic years and the current one; ten programs (four mentoring, three coaching,
three advising, one of them small so that suppression has work to do), two terms a year.

Rows are written with PostgreSQL COPY (no model save(), no signals) with ids taken from the
tables' sequences, which are moved past them afterwards; every constraint and trigger stays on.
The few rows a product service must write (programs, terms, survey templates, administrators
and their object grants, the dean) go through the ORM and the services. People's addresses are
at `scale.invalid`, a domain that cannot receive mail.

The data has patterns for the dashboards to find: learners with a relationship withdraw about
half as often; informal relationships are slightly more satisfying; peer and faculty guides
differ in nothing. Everything is drawn from `random.Random(seed)`: the same seed and scale give
the same figures (people's addresses carry a random tag so that two seeds can share a database).
"""

from __future__ import annotations

import datetime
import random
import secrets
import time
from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant, user_create
from dashboards import years as ay
from devtools.scale.copy import Copier
from devtools.scale.data import DAY, EMAIL_DOMAIN, PROGRAMS, TARGETS
from devtools.scale.pairs import Pairs
from devtools.scale.people import People
from devtools.scale.surveys import Surveys
from mentoring.models import Program, Term

__all__ = ["EMAIL_DOMAIN", "TARGETS", "ScaleSeed"]


class ScaleSeed(People, Pairs, Surveys):
    """Generates and writes the data set; `run()` returns the counts written."""

    def __init__(self, *, scale: float = 1.0, seed: int = 20261126, now=None, log=None):
        if not 0 < scale <= 2:
            raise ValueError("scale must be in (0, 2]")
        self.scale = scale
        self.rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self.tz = timezone.get_current_timezone()
        self.current_year = ay.academic_year(self.today)
        self.first_year = self.current_year - ay.YEARS_BACK
        self.tag = secrets.token_hex(3)
        self.log = log or (lambda message: None)
        self.counts: dict[str, int] = {}
        self.target = {name: max(1, round(count * scale)) for name, count in TARGETS.items()}

    # --- helpers -------------------------------------------------------------------------
    def _at(self, day: datetime.date, hour: int = 9, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    def _day_between(self, first: datetime.date, last: datetime.date) -> datetime.date:
        if last <= first:
            return first
        return first + datetime.timedelta(days=self.rng.randint(0, (last - first).days))

    def _step(self, name: str, started: float) -> None:
        self.log(f"  {name}: {time.perf_counter() - started:.1f} s")

    # --- the run -------------------------------------------------------------------------
    def run(self) -> dict[str, int]:
        with transaction.atomic(), connection.cursor() as cursor:
            self.copier = Copier(cursor)
            for step in (
                self._programs,
                self._people,
                self._staff,
                self._relationships,
                self._meetings,
                self._agreements_and_requests,
                self._conflicts,
                self._surveys,
            ):
                started = time.perf_counter()
                step()
                self._step(step.__name__.strip("_"), started)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return self.counts

    def _programs(self) -> None:
        """The data set's programs: one the school has already (same name and kind, e.g. the
        demo's "Residency application advising", or an earlier draw's) takes the history in;
        the others are created. Terms: two a year, except where the program has a term
        already (kept, and used for the surveys of its dates)."""

        existing = {p.name: p for p in Program.objects.filter(name__in=[n for n, *_ in PROGRAMS])}
        self.programs = []
        created = 0
        for name, kind, _share, _track in PROGRAMS:
            program = existing.get(name)
            if program is None or program.kind != kind:
                program = Program.objects.create(
                    name=name if program is None else f"{name} ({self.tag})",
                    kind=kind,
                    description="Scale data set (seed_scale).",
                )
                created += 1
            self.programs.append(program)
        window_first, _ = ay.year_bounds(self.first_year)
        had = defaultdict(list)
        for term in Term.objects.filter(program__in=self.programs, ends_on__gte=window_first):
            had[term.program_id].append(term)
        terms = []
        for program in self.programs:
            for year in range(self.first_year, self.current_year + 1):
                first, last = ay.year_bounds(year)
                middle = datetime.date(year + 1, 1, 1)
                for name, starts_on, ends_on in (
                    (f"{ay.year_label(year)} fall", first, middle - DAY),
                    (f"{ay.year_label(year)} spring", middle, last),
                ):
                    if not any(
                        t.starts_on <= ends_on and starts_on <= t.ends_on for t in had[program.pk]
                    ):
                        terms.append(
                            Term(program=program, name=name, starts_on=starts_on, ends_on=ends_on)
                        )
        new_terms = Term.objects.bulk_create(terms)
        self.terms = [*new_terms, *(t for ts in had.values() for t in ts)]
        self.terms_of = defaultdict(list)
        for term in sorted(self.terms, key=lambda t: t.starts_on):
            self.terms_of[term.program_id].append(term)
        self.counts["programs"] = created
        self.counts["terms"] = len(new_terms)

    def _staff(self) -> None:
        """One administrator per program (the first also runs a second one) and a dean, made by
        the services (object grants, verified addresses)."""
        self.admins = []
        for k, program in enumerate(self.programs):
            admin = user_create(
                email=f"admin{k}.{self.tag}@{EMAIL_DOMAIN}", full_name=f"Administrator {k}"
            )
            membership_grant(user=admin, role=Role.PROGRAM_ADMIN, program=program)
            self.admins.append(admin)
        membership_grant(user=self.admins[0], role=Role.PROGRAM_ADMIN, program=self.programs[1])
        self.dean = user_create(email=f"dean.{self.tag}@{EMAIL_DOMAIN}", full_name="Dean Scale")
        membership_grant(user=self.dean, role=Role.DEAN)
