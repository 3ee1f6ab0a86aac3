"""Administrators' operational lists: the people who need a nudge, by name (R9: one program the
administrator runs). Deans never get these (dashboards/aggregates/ shows no person).

Each list selects metadata only: names, dates, statuses, counts. SECURITY: never a rematch
reason, a note, a reflection, an agreement's text or a survey answer.

Queries: two per list (the first rows, and how many there are), ten in all, whatever the size
of the program.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

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


def _days(since: datetime.date, today: datetime.date) -> int:
    return max(0, (today - since).days)


def quiet_relationships(program, *, today) -> OperationalList:
    cutoff = today - datetime.timedelta(days=program.expected_meeting_interval_days)
    found = quiet(program, cutoff=cutoff)
    rows = tuple(
        {
            "code": r.code,
            "learner": r.learner.full_name,
            "guide": r.guide.full_name,
            "started_on": r.started_on,
            "last_met": timezone.localdate(r.last_met) if r.last_met else None,
            "days_quiet": _days(
                timezone.localdate(r.last_met) if r.last_met else r.started_on, today
            ),
        }
        for r in found[:LIST_LIMIT]
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
        found.count(),
    )


def rematch_requests(program, *, today) -> OperationalList:
    found = (
        RematchRequest.objects.open()
        .filter(relationship__program=program)
        .select_related("relationship__learner", "relationship__guide")
        .only(
            "created_at",
            "relationship__code",
            "relationship__learner__full_name",
            "relationship__guide__full_name",
        )
        .order_by("created_at", "pk")
    )
    rows = tuple(
        {
            "code": r.relationship.code,
            "learner": r.relationship.learner.full_name,
            "guide": r.relationship.guide.full_name,
            "asked_on": timezone.localdate(r.created_at),
            "days_waiting": _days(timezone.localdate(r.created_at), today),
        }
        for r in found[:LIST_LIMIT]
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
        found.count(),
    )


def open_conflicts(program, *, today) -> OperationalList:
    found = (
        Conflict.objects.open()
        .filter(program=program)
        .select_related("relationship__learner", "relationship__guide", "assessment_role__assessor")
        .order_by("raised_at", "pk")
    )
    rows = tuple(
        {
            "code": c.relationship.code,
            "learner": c.relationship.learner.full_name,
            "guide": c.relationship.guide.full_name,
            "assessor": c.assessment_role.assessor.full_name,
            "kind": c.get_kind_display(),
            "raised_on": timezone.localdate(c.raised_at),
            "days_open": _days(timezone.localdate(c.raised_at), today),
        }
        for c in found[:LIST_LIMIT]
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
        found.count(),
    )


def agreements_not_done(program, *, today) -> OperationalList:
    found = (
        not_done()
        .filter(program=program)
        .select_related("learner", "guide")
        .only("code", "started_on", "learner__full_name", "guide__full_name")
        .order_by("started_on", "pk")
    )
    due = program.agreement_due_days
    rows = tuple(
        {
            "code": r.code,
            "learner": r.learner.full_name,
            "guide": r.guide.full_name,
            "started_on": r.started_on,
            "days_since_start": _days(r.started_on, today),
            "overdue": "yes" if _days(r.started_on, today) > due else "no",
        }
        for r in found[:LIST_LIMIT]
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
        found.count(),
    )


def response_rates(program, *, today) -> OperationalList:
    found = Campaign.objects.filter(program=program).exclude(status=Campaign.Status.SCHEDULED)
    rows = []
    for campaign in with_rates(found.order_by("-opens_at", "-pk"))[:LIST_LIMIT]:
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
        found.count(),
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
