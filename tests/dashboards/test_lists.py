"""The administrators' operational lists (dashboards/lists.py): each list is one query that
returns its first rows with the total beside them, and its `count_...` twin gives the same
total alone. The rows and totals are checked against the plain ORM reading of each list's
definition, with the first-rows limit lowered so every list is truncated."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards import lists
from mentoring.agreements import agreements_not_done
from mentoring.models import AssessmentRole, Conflict, MentoringAgreement, RematchRequest
from sessions_log.logs import quiet_relationships
from surveys.defaults import templates_install
from surveys.models import Campaign, SurveyTemplate
from tests.dashboards.conftest import at, learner, pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2025, 3, 15)
LIMIT = 2


@pytest.fixture
def busy(school, monkeypatch):
    """Alpha with more of every list than LIMIT shows: Ann, Ben and Cal asked for a rematch,
    Dee's and Eli's relationships have open conflicts (and Ann's a resolved one), Ann and Ben
    agreed their agreements (the three others did not), three campaigns ran (one is only
    scheduled). Delta has one of each too, which Alpha's lists never show."""
    monkeypatch.setattr(lists, "LIST_LIMIT", LIMIT)
    alpha, pairs = school.alpha, school.pairs
    for relationship in pairs[:3]:
        RematchRequest.objects.create(relationship=relationship, reason="private words")
    assessor = UserFactory(full_name="Dr Assessor")
    for relationship, status in (
        (pairs[3], Conflict.Status.OPEN),
        (pairs[4], Conflict.Status.OPEN),
        (pairs[0], Conflict.Status.RESOLVED),
    ):
        role = AssessmentRole.objects.create(
            assessor=assessor,
            learner=relationship.learner,
            kind="assessor",
            context="OSCE",
            starts_on=datetime.date(2025, 1, 1),
        )
        Conflict.objects.create(
            program=alpha,
            relationship=relationship,
            assessment_role=role,
            kind=Conflict.Kind.PENDING_ASSESSMENT,
            status=status,
            resolution="" if status == Conflict.Status.OPEN else "rejected_assessment",
        )
    for relationship in pairs[:2]:
        MentoringAgreement.objects.create(
            relationship=relationship,
            learner_agreed_at=timezone.now(),
            guide_agreed_at=timezone.now(),
        )
    MentoringAgreement.objects.create(relationship=pairs[2], learner_agreed_at=timezone.now())
    templates_install(program=alpha)
    template = SurveyTemplate.objects.get(program=alpha, kind="learner_end")
    for k, status in enumerate(("closed", "closed", "open", "scheduled")):
        opens_at = at(2024, 9 + k, 1)
        Campaign.objects.create(
            program=alpha,
            template=template,
            kind="end_of_term",
            period_key=f"p{k}",
            title=f"Campaign {k}",
            status=status,
            opens_at=opens_at,
            closes_at=opens_at + datetime.timedelta(days=14),
        )
    other = pair(
        school.delta,
        school.guides[2],
        learner(
            "Delta Extra",
            school.delta,
            cohort="Class of 2027",
            enrolled=school.enrolled,
            joined=school.joined,
        ),
    )
    RematchRequest.objects.create(relationship=other)
    return school


def _built(program):
    return {
        build.__name__: build(program, today=TODAY)
        for build in (
            lists.quiet_relationships,
            lists.rematch_requests,
            lists.open_conflicts,
            lists.agreements_not_done,
            lists.response_rates,
        )
    }


def test_each_list_shows_its_first_rows_and_counts_them_all(busy):
    alpha, pairs = busy.alpha, busy.pairs
    built = _built(alpha)
    cutoff = TODAY - datetime.timedelta(days=alpha.expected_meeting_interval_days)
    quiet = list(quiet_relationships(alpha, cutoff=cutoff))
    expected = {
        "quiet_relationships": ([r.code for r in quiet], [r.learner.full_name for r in quiet]),
        "rematch_requests": (
            [r.code for r in pairs[:3]],
            [r.learner.full_name for r in pairs[:3]],
        ),
        "open_conflicts": ([r.code for r in pairs[3:5]], [r.learner.full_name for r in pairs[3:5]]),
        "agreements_not_done": (
            [r.code for r in pairs[2:5]],
            [r.learner.full_name for r in pairs[2:5]],
        ),
    }
    assert len(quiet) > LIMIT
    for name, (codes, names) in expected.items():
        found = built[name]
        assert found.total == len(codes), name
        assert [row["code"] for row in found.rows] == codes[:LIMIT], name
        assert [row["learner"] for row in found.rows] == names[:LIMIT], name
        assert all(row["guide"] == "Dr Ito" for row in found.rows), name
        assert found.truncated == (len(codes) > LIMIT), name
    assert [row["assessor"] for row in built["open_conflicts"].rows] == ["Dr Assessor"] * 2
    assert [row["kind"] for row in built["open_conflicts"].rows] == [
        "New assessment role collides"
    ] * 2
    rates = built["response_rates"]
    assert rates.total == 3  # the scheduled campaign is not counted
    assert [row["campaign"] for row in rates.rows] == ["Campaign 2", "Campaign 1"]


def test_the_counts_equal_the_lists_totals(busy):
    built = _built(busy.alpha)
    for name, found in built.items():
        count = getattr(lists, f"count_{name}")(busy.alpha, today=TODAY)
        assert count == found.total, name
    assert lists.count_agreements_not_done(busy.alpha, today=TODAY) == (
        agreements_not_done().filter(program=busy.alpha).count()
    )


def test_an_empty_list_totals_zero(school):
    built = _built(school.beta)
    assert all(found.rows == () and found.total == 0 for found in built.values())
    assert all(getattr(lists, f"count_{name}")(school.beta, today=TODAY) == 0 for name in built)


def test_one_query_per_list_whatever_the_size(busy):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            lists.operational_lists(user=busy.admin, program=busy.alpha)
        return len(captured)

    queries()  # the first call also reads the content types, cached for the process
    small = queries()
    for k in range(6):
        person = learner(
            f"More Learner {k}",
            busy.alpha,
            cohort="Class of 2027",
            enrolled=busy.enrolled,
            joined=busy.joined,
        )
        relationship = pair(busy.alpha, busy.guides[0], person)
        RematchRequest.objects.create(relationship=relationship)
    assert queries() == small == 1 + 5  # the administrator's grant, then one per list
