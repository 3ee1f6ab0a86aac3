"""The dean and administrator figures: definitions worked out by hand on a small school
(tests/dashboards/conftest.py), suppression as the pages show it, scope, query counts."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership, Role, StatusChange, User
from dashboards import aggregates, lists
from dashboards.models import SummaryCell, SummaryRefresh
from dashboards.summaries import summaries_refresh
from dashboards.tasks import refresh_summaries
from mentoring.models import Program
from surveys.defaults import templates_install
from surveys.models import Answer, Campaign, Question, Response, SurveyTemplate
from tests.dashboards.conftest import NOW, at, learner, pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _refresh():
    refresh = summaries_refresh(now=NOW)
    assert refresh is not None
    return refresh


def _figure(table, row, column):
    return table.value(row, column).value


def test_retention_mentored_or_not_by_program_worked_by_hand(school):
    _refresh()
    board = aggregates.dean_dashboard(program=school.alpha, year=2024)
    trend = board.table("retention_trend")
    assert _figure(trend, "2024", "learners") == 7
    assert _figure(trend, "2024", "retained") == 85.7
    assert _figure(trend, "2024", "guided_learners") == 5
    assert _figure(trend, "2024", "guided_retained") == 100.0
    assert _figure(trend, "2024", "unguided_learners") == 2
    assert _figure(trend, "2024", "unguided_retained") == 50.0
    # 2023-24: the seven were in school all year, nobody paired yet.
    assert _figure(trend, "2023", "learners") == 7
    assert _figure(trend, "2023", "guided_learners") == 0
    assert "so far" in next(r.label for r in trend.rows if r.key == "2024")
    cohorts = board.table("retention_by_cohort")
    assert _figure(cohorts, "Class of 2027", "retained") == 85.7
    assert [r.key for r in cohorts.rows] == ["Class of 2027", ""]  # no empty cohort rows


def test_participation_engagement_and_intake_worked_by_hand(school):
    _refresh()
    alpha = aggregates.dean_dashboard(program=school.alpha, year=2024)
    participation = alpha.table("participation")
    assert _figure(participation, str(school.alpha.pk), "learners") == 7
    assert _figure(participation, str(school.alpha.pk), "paired") == 5
    assert _figure(participation, str(school.alpha.pk), "share") == 71.4
    engagement = alpha.table("engagement_trend")
    assert _figure(engagement, "2024", "relationships") == 5
    assert _figure(engagement, "2024", "per_term") == 1.9  # 19 meetings / 10 relationship-terms
    recent = alpha.table("active_recently")
    assert _figure(recent, str(school.alpha.pk), "relationships") == 5
    assert _figure(recent, str(school.alpha.pk), "met") == 80.0
    gamma = aggregates.dean_dashboard(program=school.gamma, year=2024)
    intake = gamma.table("intake_to_match")
    assert _figure(intake, "2024", "entries") == 5
    assert _figure(intake, "2024", "matched") == 60.0
    assert _figure(intake, "2024", "median") == 17


def test_faculty_retention_and_guide_load(school):
    _refresh()
    board = aggregates.dean_dashboard(year=2024)
    faculty = board.table("faculty_retention")
    assert _figure(faculty, "2024", "guides") == 8
    assert _figure(faculty, "2024", "retained") == 87.5  # Dr. Novak left on 2025-01-31
    load = board.table("guide_load")
    # Dr. Ito holds 5, Dr. Ruiz 4, Dr. Sato 3: one guide each, hidden; the four guides with
    # nobody are then the only part of "all guides" left: hidden with them, as is the total
    # (each bucket is known to hold at least one guide: 8 = 4 + 1 + 1 + 1 + 1 would pin them).
    for bucket in ("3", "4", "5"):
        assert load.value(bucket, "guides").hidden
    assert load.value("0", "guides").hidden
    assert _figure(load, "6+", "guides") == 0


def test_a_small_program_is_hidden_and_cannot_be_recovered_from_the_kind_total(school):
    gus = learner(
        "Gus Hale",
        school.beta,
        cohort="Class of 2027",
        enrolled=school.enrolled,
        joined=school.joined,
    )
    pair(school.beta, school.novak, gus)
    _refresh()
    board = aggregates.dean_dashboard(year=2024)
    table = board.table("retention_by_program")
    beta = str(school.beta.pk)
    assert table.value(beta, "learners").hidden
    assert table.value(beta, "retained").hidden
    assert table.value(beta, "learners").value is None
    # Under the mentoring total, or all programs', the hidden programs are never just one.
    for column in ("learners", "guided_learners", "unguided_learners"):
        for total, programs in (
            ("mentoring", [school.alpha, school.beta, school.delta]),
            ("all", [school.alpha, school.beta, school.delta, school.gamma]),
        ):
            hidden = [p for p in programs if table.value(str(p.pk), column).hidden]
            assert table.value(total, column).hidden or len(hidden) != 1, (total, column)
    assert _figure(table, "all", "learners") == 19


def test_hidden_cells_keep_no_figures(school):
    _refresh()
    hidden = SummaryCell.objects.filter(hidden=True)
    assert hidden.exists()
    assert not hidden.exclude(n__isnull=True).exists()
    assert not hidden.exclude(measures={}).exists()


def test_the_dean_dashboard_names_nobody(school):
    _refresh()
    board = aggregates.dean_dashboard(year=2024)
    text = " ".join(
        " ".join(str(cell) for row in [t.csv_header(), *t.csv_rows()] for cell in row)
        + t.summary
        + " ".join(t.notes)
        for t in board.tables
    )

    for user in User.objects.all():
        assert user.full_name not in text
        assert user.email not in text


def test_query_count_does_not_grow_with_the_data(school):
    _refresh()
    with CaptureQueriesContext(connection) as before:
        aggregates.dean_dashboard(year=2024)
    # Twice the learners, another program.
    extra = Program.objects.create(name="Epsilon advising", kind="advising")
    for i in range(12):
        user = UserFactory(email=f"extra{i}@school.test")
        Membership.objects.create(
            user=user, program=extra, role=Role.LEARNER, started_at=at(2024, 8, 20)
        )
    _refresh()
    with CaptureQueriesContext(connection) as after:
        board = aggregates.dean_dashboard(year=2024)
    assert len(before) == len(after) <= 4
    assert _figure(board.table("retention_trend"), "2024", "learners") == 18 + 12


def test_filters_fall_back_and_the_program_decides_the_kind(school):
    _refresh()
    board = aggregates.dean_dashboard(year="1999", program=school.gamma.pk, kind="mentoring")
    assert board.filters.year == 2024  # the only year with a relationship (the current one)
    assert board.filters.kind == "coaching"
    assert board.scope_label == "Gamma coaching"
    assert aggregates.dean_dashboard(cohort="Class of 1900").filters.cohort == ""
    assert {c.value for c in board.cohorts} == {"Class of 2027", "Class of 2028"}


def test_the_page_says_how_fresh_the_figures_are(school):
    assert not aggregates.dean_dashboard().available
    refresh = _refresh()
    board = aggregates.dean_dashboard()
    assert board.available and board.refreshed_at == refresh.finished_at
    assert board.as_of == datetime.date(2025, 3, 15)
    assert aggregates.freshness().refreshed_at == refresh.finished_at


def test_the_periodic_task_refreshes_and_keeps_one_set_of_figures(school):
    refresh_summaries()
    first = SummaryCell.objects.count()
    refresh_summaries()
    assert SummaryRefresh.objects.count() == 2
    assert SummaryCell.objects.count() == first


def test_administrator_sees_their_programs_only(school):
    _refresh()
    board = aggregates.admin_dashboard(user=school.admin, year=2024)
    assert board.scope_label == "Alpha mentoring"
    assert [r.key for r in board.table("retention_by_program").rows] == [str(school.alpha.pk)]
    assert _figure(board.table("retention_trend"), "2024", "learners") == 7
    with pytest.raises(Program.DoesNotExist):
        aggregates.admin_dashboard(user=school.admin, program=school.gamma)
    with pytest.raises(Program.DoesNotExist):
        aggregates.admin_dashboard(user=school.dean)


def test_administrator_lists_name_people_and_the_dean_gets_none(school):
    lists_ = {
        item.key: item for item in lists.operational_lists(user=school.admin, program=school.alpha)
    }
    assert set(lists_) == {
        "quiet",
        "rematch_requests",
        "open_conflicts",
        "agreements_not_done",
        "response_rates",
    }
    quiet_names = {row["learner"] for row in lists_["quiet"].rows}
    assert "Ann Lee" in quiet_names  # no meeting since February
    assert lists_["agreements_not_done"].total == 5  # nobody made an agreement
    with pytest.raises(Program.DoesNotExist):
        lists.operational_lists(user=school.dean, program=school.alpha)
    with pytest.raises(Program.DoesNotExist):
        lists.operational_lists(user=school.admin, program=school.gamma)


def _survey(program, *, status, answers, opens_at):
    templates_install(program=program)
    template = SurveyTemplate.objects.get(program=program, kind="learner_end")
    campaign = Campaign.objects.create(
        program=program,
        template=template,
        kind="end_of_term",
        period_key=f"{status}-{opens_at:%Y%m%d}",
        title="End of term",
        status=status,
        opens_at=opens_at,
        closes_at=opens_at + datetime.timedelta(days=14),
    )
    question = Question.objects.get(template=template, key="relationship_satisfaction")
    for point in answers:
        response = Response.objects.create(
            campaign=campaign, audience="learners", relationship_kind="mentoring", formal=True
        )
        Answer.objects.create(response=response, question=question, number=point)
    return campaign


def test_satisfaction_from_closed_campaigns_only(school):
    _survey(school.alpha, status="closed", answers=[5, 4, 4, 5], opens_at=at(2024, 12, 31))
    _survey(school.alpha, status="open", answers=[1, 1, 1], opens_at=at(2025, 3, 1))
    _refresh()
    table = aggregates.dean_dashboard(program=school.alpha, year=2024).table("satisfaction")
    assert _figure(table, "2024", "learner_answers") == 4
    assert _figure(table, "2024", "learner_mean") == 4.5
    assert _figure(table, "2024", "learner_agree") == 100.0


def test_a_year_figure_never_gives_back_what_survey_results_hide_for_a_campaign(school):
    # Two closed campaigns in one year: results.py shows the first in full, and hides a cell
    # of the second (one answer of 1). The year's figure minus the first would give it back.
    _survey(school.alpha, status="closed", answers=[5, 5, 4, 4], opens_at=at(2024, 12, 31))
    _survey(school.alpha, status="closed", answers=[1, 5, 5, 4, 4], opens_at=at(2025, 1, 20))
    _refresh()
    table = aggregates.dean_dashboard(program=school.alpha, year=2024).table("satisfaction")
    assert table.value("2024", "learner_mean").hidden


def test_status_history_missing_counts_a_learner_as_enrolled(school):
    StatusChange.objects.filter(user=school.alpha_learners[0]).delete()
    _refresh()
    cell = SummaryCell.objects.get(
        figure="learners", year=2024, kind="", program=None, cohort="", split=""
    )
    assert cell.n == 18  # Ann still counted, from her membership


def test_a_dashboard_opens_on_the_latest_complete_year_with_a_relationship(school):
    """A school with a history opens on its latest complete year that held a relationship
    (the current one is only "so far"); a program whose relationships are all of this year
    opens on this year rather than on an empty one."""
    past = learner(
        "Beta Learner",
        school.beta,
        cohort="Class of 2024",
        enrolled=datetime.date(2021, 8, 1),
        joined=at(2021, 8, 15),
    )
    ended = pair(school.beta, school.novak, past, started=datetime.date(2022, 9, 1))
    ended.status, ended.ends_on, ended.end_reason = "ended", datetime.date(2023, 5, 1), "completed"
    ended.save(update_fields=["status", "ends_on", "end_reason"])
    _refresh()
    assert aggregates.dean_dashboard().filters.year == 2022
    assert aggregates.dean_dashboard(program=school.beta).filters.year == 2022
    assert aggregates.dean_dashboard(program=school.gamma).filters.year == 2024
    # A year asked for is kept, data or not.
    assert aggregates.dean_dashboard(year=2020).filters.year == 2020
