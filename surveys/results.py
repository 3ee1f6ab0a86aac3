"""Survey results: the one reader of raw responses (R6, R7).

Nothing else in the project reads `Response` or `Answer` rows. Every figure leaves this module
already protected:

- Small cells. A count of 1 to minimum-1 people (settings.SURVEY_MIN_CELL, default 5) is never
  shown. A question answered by fewer than the minimum shows no distribution and no mean.
- Complementary cells. The cells of a Likert or single-choice question add up to its `n`, which
  is shown, so one hidden cell alone could be recomputed as n minus the shown cells. When exactly
  one cell is hidden, every other cell holding the smallest non-zero count is hidden with it
  (all of them on a tie, so that which one was picked gives nothing away). Zero cells are never
  used: a zero complement would pin the hidden pair to "x and 0".
- Means. With two or more hidden cells, n and the sum of the points are two equations that can
  pin them down, so a Likert mean is withheld whenever any of its cells is hidden.
- Several choices. Each option is a yes/no count out of n: it is hidden when the people who
  chose it, or the people who did not, number 1 to minimum-1.
- Free text is shown only to administrators of the program (never to guides or deans), only for
  closed campaigns, only when at least the minimum number wrote something, shuffled.
- Time. Results are computed only over closed campaigns (`ResponseFilter.closed_only`): while a
  campaign is open, watching the figures move after one person answers would show that person's
  answers, and with named follow-up the administrator would even know who it was.

SECURITY, for callers that combine results (dashboards): showing a group and a sub-group of it
(a campaign and its formal-only part, or two overlapping sets of campaigns) lets a hidden cell be
recomputed by subtraction. Show one partition of the responses at a time, made of closed
campaigns, or suppress the linked tables together.

The pure suppression functions at the top use no ORM and are tested on their own
(tests/surveys/test_results.py, with a hypothesis property test). Response rates (who was
invited, who answered; surveys/rates.py) are counts read from `Invitation`, never from
responses, and are not suppressed; names of people who have not answered are given only for
check-ins whose template chose named follow-up (stated on the survey form).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from surveys.answering import ABOUT_THE_RELATIONSHIP
from surveys.models import (
    LIKERT_LABELS,
    Answer,
    Audience,
    Campaign,
    Invitation,
    Question,
    Response,
    SurveyTemplate,
)

# Response rates are in surveys/rates.py; callers read them through this module.
from surveys.rates import (  # noqa: F401
    Rate,
    count_per,
    named_follow_up_allowed,
    non_responders,
    program_rates,
    rate_of,
    with_rates,
)

CELL_KINDS = (Question.Kind.LIKERT, Question.Kind.SINGLE, Question.Kind.MULTIPLE)
EXCLUSIVE_KINDS = (Question.Kind.LIKERT, Question.Kind.SINGLE)


def minimum_cell() -> int:
    return int(settings.SURVEY_MIN_CELL)


# --- Pure suppression (no ORM) ---------------------------------------------------------------
def hidden_exclusive(counts: Sequence[int], minimum: int) -> list[bool]:
    """Which cells of a question whose cells partition its respondents (Likert, one choice) to
    hide. The total n = sum(counts) is shown by the caller.

    - n == 0: nothing to hide (no one answered);
    - 0 < n < minimum: every cell hidden;
    - else every cell with 0 < count < minimum (primary), and, when that leaves exactly one
      hidden cell, every other cell holding the smallest non-zero count (complementary)."""
    n = sum(counts)
    if n == 0:
        return [False] * len(counts)
    if n < minimum:
        return [True] * len(counts)
    hidden = [0 < c < minimum for c in counts]
    if sum(hidden) == 1:
        others = [c for c, h in zip(counts, hidden, strict=True) if not h and c > 0]
        # n >= minimum and only one cell below it, so some other cell holds at least minimum.
        smallest = min(others)
        hidden = [h or c == smallest for c, h in zip(counts, hidden, strict=True)]
    return hidden


def hidden_multiple(counts: Sequence[int], n: int, minimum: int) -> list[bool]:
    """Which options of a several-choices question to hide: each is "c of n chose it", so it
    is hidden when c or n - c is between 1 and minimum - 1, and all are hidden when
    0 < n < minimum."""
    if n == 0:
        return [False] * len(counts)
    if n < minimum:
        return [True] * len(counts)
    return [0 < c < minimum or 0 < n - c < minimum for c in counts]


def mean_shown(hidden: Sequence[bool], n: int, minimum: int) -> bool:
    """A mean is shown only over at least the minimum and when no cell is hidden (with two or
    more hidden cells, n and the sum of points would be two equations for them)."""
    return n >= minimum and not any(hidden)


# --- What a caller gets ----------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    key: str
    label: str
    count: int | None  # None: hidden
    share: int | None  # whole percent of n; None when hidden

    @property
    def hidden(self) -> bool:
        return self.count is None


@dataclass
class QuestionResult:
    key: str
    kind: str
    prompt: str
    section: str
    n: int
    minimum: int
    cells: list[Cell] = field(default_factory=list)
    mean: float | None = None
    texts: list[str] | None = None  # free text, when the caller may see it (else None)

    @property
    def too_few(self) -> bool:
        """Fewer than the minimum answered: nothing but this fact is shown."""
        return self.n < self.minimum

    @property
    def any_hidden(self) -> bool:
        return any(cell.hidden for cell in self.cells)

    @property
    def kind_label(self) -> str:
        return Question.Kind(self.kind).label

    @property
    def is_text(self) -> bool:
        return self.kind == Question.Kind.TEXT


@dataclass
class SurveyResults:
    responses: int  # how many responses the filter matched
    minimum: int
    questions: list[QuestionResult]

    @property
    def too_few(self) -> bool:
        return self.responses < self.minimum

    def sections(self) -> list[tuple[str, list[QuestionResult]]]:
        """The questions grouped by section title, in question order."""
        groups: list[tuple[str, list[QuestionResult]]] = []
        for result in self.questions:
            if not groups or groups[-1][0] != result.section:
                groups.append((result.section, []))
            groups[-1][1].append(result)
        return groups


# --- Which responses -------------------------------------------------------------------------
def _ids(values: Iterable) -> list:
    return [getattr(v, "pk", v) for v in values]


@dataclass(frozen=True)
class ResponseFilter:
    """Which responses to aggregate. Empty or None means "any". Dashboards build one of these
    per group they show (see the module's SECURITY note on overlapping groups)."""

    campaigns: tuple = ()  # Campaign instances or ids
    programs: tuple = ()  # Program instances or ids
    template_kinds: tuple = ()  # SurveyTemplate.Kind values
    audience: str | None = None
    relationship_kind: str | None = None
    formal: bool | None = None
    peer: bool | None = None
    about_guide: object = None  # a user or user id
    closed_only: bool = True

    def campaign_queryset(self) -> QuerySet[Campaign]:
        campaigns = Campaign.objects.all()
        if self.campaigns:
            campaigns = campaigns.filter(pk__in=_ids(self.campaigns))
        if self.programs:
            campaigns = campaigns.filter(program__in=_ids(self.programs))
        if self.template_kinds:
            campaigns = campaigns.filter(template__kind__in=list(self.template_kinds))
        if self.closed_only:
            campaigns = campaigns.filter(status=Campaign.Status.CLOSED)
        return campaigns

    def response_queryset(self) -> QuerySet[Response]:
        responses = Response.objects.filter(campaign__in=self.campaign_queryset().values("pk"))
        for name in ("audience", "relationship_kind", "formal", "peer"):
            value = getattr(self, name)
            if value is not None:
                responses = responses.filter(**{name: value})
        if self.about_guide is not None:
            responses = responses.filter(
                about_guide=getattr(self.about_guide, "pk", self.about_guide)
            )
        return responses


# --- Aggregation (a fixed number of queries whatever the number of responses) ---------------
def _cell_key(kind: str, number, choice: str) -> str:
    if kind == Question.Kind.LIKERT and number is not None:
        return str(number)
    return choice or ("" if number is None else str(number))


def question_labels(question: Question) -> list[tuple[str, str]]:
    """The (key, label) cells of a question, in order. Likert keys are the points "1".."5";
    its `choices` hold the labels, as [key, label] pairs or as plain labels."""
    if question.kind == Question.Kind.LIKERT:
        if not question.choices:
            return list(LIKERT_LABELS)
        labels = []
        for i, entry in enumerate(question.choices, start=1):
            if isinstance(entry, list | tuple):
                labels.append((str(entry[0]), str(entry[1])))
            else:
                labels.append((str(i), str(entry)))
        return labels
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        return [(str(key), str(label)) for key, label in question.choices]
    return []


def _share(count: int, n: int) -> int:
    return round(100 * count / n) if n else 0


def results(
    spec: ResponseFilter, *, free_text: bool = False, minimum: int | None = None
) -> SurveyResults:
    """Per-question results of the responses `spec` matches, suppressed.

    Questions are those of the matched campaigns' templates, pooled by (key, kind) so that the
    same question in several programs' copies adds up. `free_text=True` adds the text answers
    of text questions with at least the minimum answers, shuffled; only the console passes it,
    for administrators of the campaign's program, and only over closed campaigns.

    Queries: four (five with free text), whatever the number of responses."""
    minimum = minimum or minimum_cell()
    responses = spec.response_queryset()
    total = responses.count()
    questions = list(
        Question.objects.filter(template__in=spec.campaign_queryset().values("template"))
        .select_related("section")
        .order_by("template_id", "position", "id")
    )
    # One group per (key, kind); the first template's wording and order win.
    groups: dict[tuple[str, str], list[Question]] = {}
    for question in questions:
        groups.setdefault((question.key, question.kind), []).append(question)
    group_of = {q.pk: (q.key, q.kind) for q in questions}

    answers = Answer.objects.filter(response__in=responses, question__in=list(group_of))
    cell_counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for row in (
        answers.filter(question__kind__in=CELL_KINDS)
        .values("question_id", "number", "choice")
        .annotate(people=Count("response_id", distinct=True))
        .order_by()
    ):
        group = group_of[row["question_id"]]
        key = _cell_key(group[1], row["number"], row["choice"])
        cell_counts[group][key] = cell_counts[group].get(key, 0) + row["people"]
    totals: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for row in (
        answers.values("question_id")
        .annotate(people=Count("response_id", distinct=True), points=Sum("number"))
        .order_by()
    ):
        group = group_of[row["question_id"]]
        people, points = totals[group]
        totals[group] = (people + row["people"], points + (row["points"] or 0))

    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    if free_text:
        text_ids = [q.pk for q in questions if q.kind == Question.Kind.TEXT]
        if text_ids:
            for question_id, text in answers.filter(question__in=text_ids).values_list(
                "question_id", "text"
            ):
                if text.strip():
                    texts[group_of[question_id]].append(text)

    out = []
    for group, members in groups.items():
        first = members[0]
        n, points = totals[group]
        if n == 0 and all(q.retired for q in members):
            continue  # retired before these campaigns asked anyone: nothing to show
        result = QuestionResult(
            key=first.key,
            kind=first.kind,
            prompt=first.prompt,
            section=first.section.title if first.section else "",
            n=n,
            minimum=minimum,
        )
        if first.kind in CELL_KINDS:
            labels = dict(question_labels(first))
            for other in members[1:]:
                for key, label in question_labels(other):
                    labels.setdefault(key, label)
            counts = cell_counts.get(group, {})
            # Cells answered under a choice since removed still count (and are shown as such).
            for key in counts:
                labels.setdefault(key, f"{key} (no longer offered)")
            keys = list(labels)
            values = [counts.get(key, 0) for key in keys]
            if first.kind == Question.Kind.MULTIPLE:
                hidden = hidden_multiple(values, n, minimum)
            else:
                hidden = hidden_exclusive(values, minimum)
            result.cells = [
                Cell(key, labels[key], None, None) if h else Cell(key, labels[key], v, _share(v, n))
                for key, v, h in zip(keys, values, hidden, strict=True)
            ]
            if first.kind == Question.Kind.LIKERT and mean_shown(hidden, n, minimum):
                result.mean = round(points / n, 2)
        elif first.kind == Question.Kind.NUMBER and n >= minimum:
            result.mean = round(points / n, 2)
        elif first.kind == Question.Kind.TEXT and free_text:
            written = texts.get(group, [])
            if len(written) >= minimum:
                # SECURITY (R6): no order that could follow the order of answering.
                random.SystemRandom().shuffle(written)
                result.texts = written
            else:
                result.texts = []
        out.append(result)
    return SurveyResults(responses=total, minimum=minimum, questions=out)


def campaign_results(campaign: Campaign, *, free_text: bool = False) -> SurveyResults:
    """Results of one closed campaign (an open one gives no responses: see the module note)."""
    return results(ResponseFilter(campaigns=(campaign,)), free_text=free_text)


def guide_results(campaign: Campaign, guide) -> SurveyResults:
    """Results of one closed campaign about `guide` only: learners' answers about them (a
    guide's own check-in answers about the relationship are not "about" them)."""
    return results(
        ResponseFilter(campaigns=(campaign,), about_guide=guide, audience=Audience.LEARNERS)
    )


# --- The template editor: which questions and choices past answers use -----------------------
def answer_counts(template: SurveyTemplate) -> dict[int, int]:
    """{question id: answers} for the template's questions that have any (one query). The
    editor refuses changes that would corrupt past results of these questions."""
    return dict(
        Answer.objects.filter(question__template=template)
        .values("question_id")
        .annotate(c=Count("pk"))
        .order_by()
        .values_list("question_id", "c")
    )


def answered_choices(question: Question) -> set[str]:
    """The cell keys past answers of `question` use ("1".."5" for Likert points)."""
    rows = (
        Answer.objects.filter(question=question)
        .values_list("number", "choice")
        .distinct()
        .order_by()
    )
    return {_cell_key(question.kind, number, choice) for number, choice in rows} - {""}


def results_csv_rows(results_: SurveyResults) -> Iterable[list]:
    """Aggregates as CSV rows (header: RESULTS_CSV_HEADER). Hidden cells say "hidden"."""
    for q in results_.questions:
        mean = "" if q.mean is None else f"{q.mean:.2f}"
        if q.too_few:
            yield [
                q.section,
                q.key,
                q.prompt,
                q.kind,
                f"fewer than {q.minimum}",
                "",
                "",
                "",
                "",
                "",
            ]
            continue
        if not q.cells:
            yield [q.section, q.key, q.prompt, q.kind, q.n, "", "", "", "", mean]
            continue
        for cell in q.cells:
            count = "hidden" if cell.hidden else cell.count
            share = "" if cell.hidden else cell.share
            yield [
                q.section,
                q.key,
                q.prompt,
                q.kind,
                q.n,
                cell.key,
                cell.label,
                count,
                share,
                mean,
            ]


RESULTS_CSV_HEADER = [
    "section",
    "question_key",
    "question",
    "kind",
    "answered",
    "answer_key",
    "answer",
    "people",
    "percent",
    "mean",
]


# --- Guides: which campaigns have results about them -----------------------------------------
def guide_campaigns(guide) -> QuerySet[Campaign]:
    """Closed campaigns that asked learners about `guide` (surveys whose learner answers are
    about their guide: the learner end-of-term survey and the check-in, never the wellbeing
    item): a response about them, or an invitation about one of their relationships.
    Annotated with `about_me` (learners' responses about them)."""
    about_me = Response.objects.filter(about_guide=guide, audience=Audience.LEARNERS)
    asked = Invitation.objects.filter(relationship__guide=guide).values("campaign")
    return (
        Campaign.objects.filter(
            status=Campaign.Status.CLOSED, template__kind__in=sorted(ABOUT_THE_RELATIONSHIP)
        )
        .filter(Q(pk__in=about_me.values("campaign")) | Q(pk__in=asked))
        .annotate(about_me=count_per(about_me, "campaign"))
        .select_related("program", "template")
        .order_by("-closes_at", "pk")
    )


# --- Raw counts for the dashboards (they suppress their own cube; see each docstring) -----
# The dashboards (above this app) say what they need in plain values; nothing here knows their
# cube, their academic years or their figures.
def scale_answer_counts(cursor, *, keys, points, first_day, today, tz: str) -> list[tuple]:
    """Rows (campaign id, opening day in `tz`, program kind, program id, audience, question
    key, formal, peer, relationship kind, answer, responses) of closed campaigns that opened
    from `first_day` to `today`, for the question `keys` and the answers in `points` (texts,
    "1" to "5"). No text, no guide, no person.

    For the dashboards' refresh only (dashboards/cubes_surveys.py, on its cursor, in its
    transaction), which suppresses its whole cube at once and applies this module's
    per-campaign rule (`hidden_exclusive`, `mean_shown`) so that a year's figure never gives
    back what a campaign's results hide."""
    cursor.execute(
        """
        SELECT c.id, (c.opens_at AT TIME ZONE %(tz)s)::date, p.kind, c.program_id, r.audience,
               q.key, r.formal, r.peer, r.relationship_kind,
               COALESCE(a.number::text, a.choice) AS value, COUNT(DISTINCT r.id)
        FROM surveys_answer a
        JOIN surveys_question q ON q.id = a.question_id
        JOIN surveys_response r ON r.id = a.response_id
        JOIN surveys_campaign c ON c.id = r.campaign_id
        JOIN mentoring_program p ON p.id = c.program_id
        WHERE c.status = 'closed' AND q.key = ANY(%(keys)s)
          AND (c.opens_at AT TIME ZONE %(tz)s)::date BETWEEN %(first_day)s AND %(today)s
          AND COALESCE(a.number::text, a.choice) = ANY(%(points)s)
        GROUP BY c.id, 2, p.kind, c.program_id, r.audience, q.key, r.formal, r.peer,
                 r.relationship_kind, 10
        """,
        {
            "keys": list(keys),
            "points": list(points),
            "first_day": first_day,
            "today": today,
            "tz": tz,
        },
    )
    return cursor.fetchall()


def research_answer_rows(*, program_ids, keys, points, first_day, today) -> list[tuple]:
    """Rows (response id, campaign id, program id, opened at, audience, relationship kind,
    formal, peer, question key, number, choice) of closed campaigns' scale answers, for the
    de-identified research export only (dashboards/research_export.py), which replaces every
    id by a random key, coarsens dates and keeps only campaigns shown in full here. No text,
    no guide, no person."""
    return list(
        Answer.objects.filter(
            question__key__in=keys,
            response__campaign__program_id__in=program_ids,
            response__campaign__status="closed",
            response__campaign__opens_at__date__gte=first_day,
            response__campaign__opens_at__date__lte=today,
        )
        .filter(Q(number__in=[int(p) for p in points]) | Q(choice__in=points))
        .values_list(
            "response_id",
            "response__campaign_id",
            "response__campaign__program_id",
            "response__campaign__opens_at",
            "response__audience",
            "response__relationship_kind",
            "response__formal",
            "response__peer",
            "question__key",
            "number",
            "choice",
        )
    )
