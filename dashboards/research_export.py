"""The de-identified research export: the evaluation's data, row by row, for researchers.

What it holds (two CSV files and a README in a ZIP):
- relationships.csv: one row per relationship held (active, paused or ended; not proposed or
  declined) that started in the years the dashboards cover: its program and kind, formal or
  informal, faculty or peer guide, the learner's cohort, the academic year it started and
  ended in, its length in whole months, status and end reason, counts of meetings by outcome,
  whether the agreement was done, and whether the learner was retained through the academic
  year it started in.
- survey_answers.csv: one row per answer to the dashboards' questions (satisfaction, burnout)
  with the response's coarse attributes (program, academic year, side, kind, formal, peer).

How it is de-identified:
- No name, email, id or code: people, relationships and responses get random keys made for
  this export only (two exports cannot be linked through them); rows are shuffled.
- No exact date: academic years and whole months of length only.
- Groups under the minimum are left out: rows are grouped by what could single a person out
  (program, kind, formal or not, guide type, cohort, start year; for answers: program, year,
  side, kind, formal, peer) and a group of fewer than `settings.SURVEY_MIN_CELL` distinct
  people (or responses) is left out whole; the README says how many rows were.
- Free text, reflections, notes and agreement text are never read. Survey answers of a question
  in a campaign are exported only where surveys/results.py shows that question's results in
  full (otherwise the export would give back what it hides).
"""

from __future__ import annotations

import csv
import io
import random
import secrets
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, StatusChange
from dashboards import years as ay
from dashboards.cube import SURVEY_FIGURES, SURVEY_POINTS
from mentoring.csv_export import spreadsheet_safe
from mentoring.models import MentoringAgreement, Program, Relationship
from sessions_log.models import Meeting
from surveys.results import hidden_exclusive, mean_shown, research_answer_rows

RELATIONSHIP_COLUMNS = (
    "relationship_key",
    "learner_key",
    "guide_key",
    "program",
    "kind",
    "formal",
    "guide_type",
    "learner_cohort",
    "start_year",
    "end_year",
    "length_months",
    "status",
    "end_reason",
    "meetings_completed",
    "meetings_no_show",
    "meetings_cancelled",
    "agreement_done",
    "learner_retained_start_year",
)
RELATIONSHIP_GROUP = ("program", "kind", "formal", "guide_type", "learner_cohort", "start_year")
ANSWER_COLUMNS = (
    "response_key",
    "program",
    "academic_year",
    "side",
    "relationship_kind",
    "formal",
    "guide_type",
    "question",
    "answer",
)
ANSWER_GROUP = ("program", "academic_year", "side", "relationship_kind", "formal", "guide_type")


README = """De-identified research export, made in {made_in}.

relationships.csv: one row per mentoring, coaching or advising relationship held (not
proposed or declined) that started in the academic years covered. formal: made by the program
(yes) or self-initiated (no). guide_type: peer (the guide is a learner too) or faculty.
start_year, end_year: academic years. length_months: whole months to its end (or to the day
of the export). learner_retained_start_year: the learner had not withdrawn by the end of the
academic year the relationship started in ("in progress" for the current year).

survey_answers.csv: one row per answer to relationship_satisfaction (learners, 1-5),
guide_satisfaction (guides, 1-5) and burnout (single item, 1 no burnout to 5; 3 or more is
burnout), from closed campaigns, with the response's coarse attributes.

De-identification: no names, emails, ids or exact dates. Keys (relationship_key, learner_key,
guide_key, response_key) are random and made for this export only. Rows are grouped by what
could single a person out (relationships: program, kind, formal, guide_type, learner_cohort,
start_year; answers: program, academic_year, side, relationship_kind, formal, guide_type);
groups of fewer than {minimum} distinct people (or responses) were left out whole. Rows left
out: {left_out}. Answers to a question in a campaign whose results are not shown in full (a
count under the minimum) are not exported.
"""


@dataclass
class ResearchExport:
    made_in: str  # "2026-11": the month only
    relationships: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)
    min_group: int = 5

    def readme(self) -> str:
        left = ", ".join(f"{name}: {count}" for name, count in self.left_out.items())
        return README.format(made_in=self.made_in, minimum=self.min_group, left_out=left)

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("README.txt", self.readme())
            archive.writestr("relationships.csv", _csv(RELATIONSHIP_COLUMNS, self.relationships))
            archive.writestr("survey_answers.csv", _csv(ANSWER_COLUMNS, self.answers))
        return buffer.getvalue()


def _csv(columns, rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([spreadsheet_safe(row[c]) for c in columns])
    return out.getvalue()


class _Keys:
    """Random keys for one export: the same thing gets the same key, nothing else does."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.keys: dict = {}
        self.used: set = set()

    def __call__(self, thing) -> str:
        if thing not in self.keys:
            key = f"{self.prefix}{secrets.token_hex(5)}"
            while key in self.used:
                key = f"{self.prefix}{secrets.token_hex(5)}"
            self.used.add(key)
            self.keys[thing] = key
        return self.keys[thing]


def _keep_groups(rows: list[dict], group: tuple, person: str, minimum: int):
    """Rows whose group holds at least `minimum` distinct `person` values; and how many
    rows were left out."""
    people = defaultdict(set)
    for row in rows:
        people[tuple(row[c] for c in group)].add(row[person])
    kept = [row for row in rows if len(people[tuple(row[c] for c in group)]) >= minimum]
    return kept, len(rows) - len(kept)


def _status_on(changes: list, day) -> str | None:
    status = None
    for effective_on, value in changes:
        if effective_on <= day:
            status = value
        else:
            break
    return status


def research_export(*, programs=None) -> ResearchExport:
    """The export over `programs` (default every program). Reads metadata only."""
    minimum = int(settings.SURVEY_MIN_CELL)
    today = timezone.localdate()
    last = ay.academic_year(today)
    first_day, _ = ay.year_bounds(last - ay.YEARS_BACK)
    scope = Program.objects.all() if programs is None else programs
    names = dict(scope.values_list("pk", "name"))
    relationships = list(
        Relationship.objects.filter(
            program_id__in=list(names),
            status__in=("active", "paused", "ended"),
            started_on__gte=first_day,
            started_on__lte=today,
        )
        .exclude(end_reason="declined")
        .values_list(
            "pk",
            "program_id",
            "kind",
            "origin",
            "guide_id",
            "learner_id",
            "started_on",
            "ends_on",
            "status",
            "end_reason",
        )
    )
    ids = [r[0] for r in relationships]
    meetings: dict = defaultdict(Counter)
    for rel_id, status, count in (
        Meeting.objects.filter(relationship_id__in=ids)
        .values("relationship_id", "status")
        .annotate(c=Count("pk"))
        .values_list("relationship_id", "status", "c")
        .order_by()
    ):
        meetings[rel_id][status] += count
    done = set(
        MentoringAgreement.objects.filter(
            relationship_id__in=ids,
            learner_agreed_at__isnull=False,
            guide_agreed_at__isnull=False,
        ).values_list("relationship_id", flat=True)
    )
    learners = {r[5] for r in relationships}
    peers = set(
        Membership.objects.filter(role="learner", user_id__in={r[4] for r in relationships})
        .values_list("user_id", flat=True)
        .distinct()
    )
    changes: dict = defaultdict(list)
    for user_id, effective_on, status in (
        StatusChange.objects.filter(population="learner", user_id__in=learners)
        .order_by("user_id", "effective_on")
        .values_list("user_id", "effective_on", "status")
    ):
        changes[user_id].append((effective_on, status))
    first_member = {}
    for user_id, started_at in (
        Membership.objects.filter(role="learner", user_id__in=learners)
        .order_by("user_id", "started_at")
        .values_list("user_id", "started_at")
    ):
        first_member.setdefault(user_id, timezone.localdate(started_at))
    cohorts = dict(
        ParticipantProfile.objects.filter(user_id__in=learners)
        .exclude(cohort="")
        .values_list("user_id", "cohort")
    )

    def cohort_of(user_id) -> str:
        if cohort_text := cohorts.get(user_id, "").strip():
            return cohort_text
        entered = changes[user_id][0][0] if changes[user_id] else first_member.get(user_id)
        return f"Entry {ay.year_label(ay.academic_year(entered))}" if entered else "Not recorded"

    relationship_key, person_key = _Keys("R"), _Keys("P")
    rows = []
    for (
        pk,
        program_id,
        kind,
        origin,
        guide,
        learner,
        started,
        ends,
        status,
        reason,
    ) in relationships:
        start_year = ay.academic_year(started)
        _, year_end = ay.year_bounds(start_year)
        history = changes[learner]
        if year_end > today:
            retained = "in progress"
        elif history:
            retained = "no" if _status_on(history, year_end) == "withdrawn" else "yes"
        else:
            retained = "yes"  # no status history: counted as enrolled (as the dashboards do)
        last_day = min(ends or today, today)
        counted = meetings[pk]
        rows.append(
            {
                "relationship_key": relationship_key(pk),
                "learner_key": person_key(learner),
                "guide_key": person_key(guide),
                "program": names[program_id],
                "kind": kind,
                "formal": "no" if origin == "self_initiated" else "yes",
                "guide_type": "peer" if guide in peers else "faculty",
                "learner_cohort": cohort_of(learner),
                "start_year": ay.year_label(start_year),
                "end_year": ay.year_label(ay.academic_year(ends)) if ends else "ongoing",
                "length_months": round((last_day - started).days / 30.4),
                "status": status,
                "end_reason": reason,
                "meetings_completed": counted["completed"],
                "meetings_no_show": counted["no_show"],
                "meetings_cancelled": counted["cancelled"] + counted["late_cancel"],
                "agreement_done": "yes" if pk in done else "no",
                "learner_retained_start_year": retained,
            }
        )
    kept, left_relationships = _keep_groups(rows, RELATIONSHIP_GROUP, "learner_key", minimum)
    answers, left_answers = _keep_groups(
        _answer_rows(names, first_day, today, minimum), ANSWER_GROUP, "response_key", minimum
    )
    shuffle = random.SystemRandom().shuffle  # no order left from ids or dates
    shuffle(kept)
    shuffle(answers)
    return ResearchExport(
        made_in=f"{today:%Y-%m}",
        relationships=kept,
        answers=answers,
        left_out={"relationships.csv": left_relationships, "survey_answers.csv": left_answers},
        min_group=minimum,
    )


# The answers come from surveys/results.py (`research_answer_rows`), the one reader of survey
# responses; no text, no guide, no person.
def _answer_rows(names: dict, first_day, today, minimum: int) -> list[dict]:
    keys = sorted({key for key, _ in SURVEY_FIGURES})
    answers = research_answer_rows(
        program_ids=list(names),
        keys=keys,
        points=list(SURVEY_POINTS),
        first_day=first_day,
        today=today,
    )
    per_campaign: dict = defaultdict(lambda: [0] * len(SURVEY_POINTS))
    for row in answers:
        value = str(row[9]) if row[9] is not None else row[10]
        per_campaign[(row[1], row[8])][SURVEY_POINTS.index(value)] += 1
    shown_in_full = {
        key
        for key, hist in per_campaign.items()
        if mean_shown(hidden_exclusive(hist, minimum), sum(hist), minimum)
    }
    response_key = _Keys("S")
    rows = []
    for response, campaign, program, opens_at, side, kind, formal, peer, key, n, c in answers:
        if (campaign, key) not in shown_in_full:
            continue
        rows.append(
            {
                "response_key": response_key(response),
                "program": names[program],
                "academic_year": ay.year_label(ay.academic_year(timezone.localdate(opens_at))),
                "side": side,
                "relationship_kind": kind or "none",
                "formal": {True: "yes", False: "no"}.get(formal, "unknown"),
                "guide_type": {True: "peer", False: "faculty"}.get(peer, "unknown"),
                "question": key,
                "answer": str(n) if n is not None else c,
            }
        )
    return rows
