"""Administrators' operational lists: the people who need a nudge, by name (R9: one program the
administrator runs). Deans never get these (dashboards/aggregates/ shows no person).

Each list selects metadata only: names, dates, statuses, counts. SECURITY: never a rematch
reason, a note, a reflection, an agreement's text or a survey answer.

Queries: one per list, five in all, whatever the size of the program: the first rows with
the number of rows in all beside them (`COUNT(*) OVER ()`, counted before the LIMIT), and the
two names of each shown row read by primary key after the LIMIT (correlated subqueries that
PostgreSQL evaluates for the shown rows only, instead of joining every user of the school).
`count_<list>(program, today=)` gives a list's total alone (one COUNT query), for pages that
show only how many.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery, Window
from django.utils import timezone

from accounts.models import User
from mentoring.agreements import agreements_not_done as not_done
from mentoring.models import Conflict, Program, RematchRequest
from mentoring.permissions import can_administer
from sessions_log.logs import quiet_relationships as quiet
from surveys.models import Campaign
from surveys.results import with_rates

LIST_LIMIT = 50


@dataclass(frozen=True)
class OperationalList:
    key: str
    title: str
    description: str
    columns: tuple[tuple[str, str], ...]  # (key, label)
    rows: tuple[dict, ...]  # at most LIST_LIMIT; each also has "code" (the relationship's)
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)

    def csv_header(self) -> list[str]:
        return [label for _key, label in self.columns]

    def csv_rows(self) -> list[list]:
        return [[row[key] for key, _label in self.columns] for row in self.rows]


def _name(field: str) -> Subquery:
    return Subquery(User.objects.filter(pk=OuterRef(field)).order_by().values("full_name")[:1])


def _first(queryset, *fields, **names) -> tuple[list[dict], int]:
    """The first LIST_LIMIT rows of the ordered `queryset` as dicts of `fields` and of the
    person names `names` (name -> user id field), and how many rows there are in all."""
    rows = list(
        queryset.select_related(None)
        .annotate(**{k: _name(field) for k, field in names.items()}, _total=Window(Count("*")))
        .values(*fields, *names, "_total")[:LIST_LIMIT]
    )
    return rows, rows[0]["_total"] if rows else 0


def _days(since: datetime.date, today: datetime.date) -> int:
    return max(0, (today - since).days)


def _quiet(program, today):
    cutoff = today - datetime.timedelta(days=program.expected_meeting_interval_days)
    return quiet(program, cutoff=cutoff)


def count_quiet_relationships(program, *, today) -> int:
    return _quiet(program, today).order_by().count()


def quiet_relationships(program, *, today) -> OperationalList:
    found, total = _first(
        _quiet(program, today),
        "code",
        "started_on",
        "last_met",
        learner_name="learner_id",
        guide_name="guide_id",
    )
    rows = tuple(
        {
            "code": r["code"],
            "learner": r["learner_name"],
            "guide": r["guide_name"],
            "started_on": r["started_on"],
            "last_met": timezone.localdate(r["last_met"]) if r["last_met"] else None,
            "days_quiet": _days(
                timezone.localdate(r["last_met"]) if r["last_met"] else r["started_on"], today
            ),
        }
        for r in found
    )
    return OperationalList(
        "quiet",
        "Quiet relationships",
        f"Active relationships with no completed meeting in the last "
        f"{program.expected_meeting_interval_days} days (the program's expected interval), "
        "longest quiet first.",
        (
            ("learner", "Learner"),
            ("guide", program.guide_role.capitalize()),
            ("started_on", "Started"),
            ("last_met", "Last met"),
            ("days_quiet", "Days without a meeting"),
        ),
        rows,
        total,
    )


def _rematch_requests(program):
    return RematchRequest.objects.open().filter(relationship__program=program)


def count_rematch_requests(program, *, today) -> int:
    return _rematch_requests(program).count()


def rematch_requests(program, *, today) -> OperationalList:
    found, total = _first(
        _rematch_requests(program).order_by("created_at", "pk"),
        "relationship__code",
        "created_at",
        learner_name="relationship__learner_id",
        guide_name="relationship__guide_id",
    )
    rows = tuple(
        {
            "code": r["relationship__code"],
            "learner": r["learner_name"],
            "guide": r["guide_name"],
            "asked_on": timezone.localdate(r["created_at"]),
            "days_waiting": _days(timezone.localdate(r["created_at"]), today),
        }
        for r in found
    )
    return OperationalList(
        "rematch_requests",
        "Unanswered rematch requests",
        "Learners' requests for a no-fault rematch waiting for an answer, oldest first.",
        (
            ("learner", "Learner"),
            ("guide", program.guide_role.capitalize()),
            ("asked_on", "Asked on"),
            ("days_waiting", "Days waiting"),
        ),
        rows,
        total,
    )


def count_open_conflicts(program, *, today) -> int:
    return Conflict.objects.open().filter(program=program).count()


def open_conflicts(program, *, today) -> OperationalList:
    found, total = _first(
        Conflict.objects.open().filter(program=program).order_by("raised_at", "pk"),
        "relationship__code",
        "kind",
        "raised_at",
        learner_name="relationship__learner_id",
        guide_name="relationship__guide_id",
        assessor_name="assessment_role__assessor_id",
    )
    kinds = dict(Conflict.Kind.choices)
    rows = tuple(
        {
            "code": c["relationship__code"],
            "learner": c["learner_name"],
            "guide": c["guide_name"],
            "assessor": c["assessor_name"],
            "kind": kinds.get(c["kind"], c["kind"]),
            "raised_on": timezone.localdate(c["raised_at"]),
            "days_open": _days(timezone.localdate(c["raised_at"]), today),
        }
        for c in found
    )
    return OperationalList(
        "open_conflicts",
        "Open conflicts of interest",
        "R2 collisions waiting for a decision, oldest first.",
        (
            ("learner", "Learner"),
            ("guide", program.guide_role.capitalize()),
            ("assessor", "Assessor"),
            ("kind", "Conflict"),
            ("raised_on", "Raised on"),
            ("days_open", "Days open"),
        ),
        rows,
        total,
    )


def count_agreements_not_done(program, *, today) -> int:
    return not_done().filter(program=program).count()


def agreements_not_done(program, *, today) -> OperationalList:
    found, total = _first(
        not_done().filter(program=program).order_by("started_on", "pk"),
        "code",
        "started_on",
        learner_name="learner_id",
        guide_name="guide_id",
    )
    due = program.agreement_due_days
    rows = tuple(
        {
            "code": r["code"],
            "learner": r["learner_name"],
            "guide": r["guide_name"],
            "started_on": r["started_on"],
            "days_since_start": _days(r["started_on"], today),
            "overdue": "yes" if _days(r["started_on"], today) > due else "no",
        }
        for r in found
    )
    return OperationalList(
        "agreements_not_done",
        "Agreements not done",
        f"Active relationships whose mentoring agreement both people have not agreed to yet; "
        f"overdue after {due} days.",
        (
            ("learner", "Learner"),
            ("guide", program.guide_role.capitalize()),
            ("started_on", "Started"),
            ("days_since_start", "Days since start"),
            ("overdue", "Overdue"),
        ),
        rows,
        total,
    )


def _campaigns(program):
    return Campaign.objects.filter(program=program).exclude(status=Campaign.Status.SCHEDULED)


def count_response_rates(program, *, today) -> int:
    return _campaigns(program).count()


def response_rates(program, *, today) -> OperationalList:
    campaigns = list(
        with_rates(_campaigns(program).order_by("-opens_at", "-pk")).annotate(
            _total=Window(Count("*"))
        )[:LIST_LIMIT]
    )
    rows = []
    for campaign in campaigns:
        rows.append(
            {
                "code": campaign.code,
                "campaign": campaign.title,
                "status": campaign.get_status_display(),
                "opened_on": timezone.localdate(campaign.opens_at),
                "invited": campaign.invited,
                "answered": campaign.answered,
                "rate": f"{round(100 * campaign.answered / campaign.invited)}%"
                if campaign.invited
                else "",
            }
        )
    return OperationalList(
        "response_rates",
        "Survey response rates",
        "Invitations answered, latest campaigns first (counts of invitations, never of "
        "answers: who answered what is not kept).",
        (
            ("campaign", "Campaign"),
            ("status", "Status"),
            ("opened_on", "Opened"),
            ("invited", "Invited"),
            ("answered", "Answered"),
            ("rate", "Response rate"),
        ),
        tuple(rows),
        campaigns[0]._total if campaigns else 0,
    )


def operational_lists(*, user, program) -> tuple[OperationalList, ...]:
    """The five lists for `program`, which `user` must administer (R9; `Program.DoesNotExist`
    otherwise: the view answers 404, R8)."""

    if not can_administer(user, program):
        raise Program.DoesNotExist("Not a program this person administers.")
    today = timezone.localdate()
    return tuple(
        build(program, today=today)
        for build in (
            quiet_relationships,
            rematch_requests,
            open_conflicts,
            agreements_not_done,
            response_rates,
        )
    )
