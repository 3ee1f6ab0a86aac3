"""The dashboard pages: who may open them (R7, R8, R9), filters, freshness, charts with their
tables, CSV downloads that never carry a suppressed number, the evaluation page's intervals
and readings, the research export, and query counts that do not grow with the data.

The small school (tests/dashboards/conftest.py) has a minimum cell of 2; Beta mentoring gets
one learner here, so its figures are hidden."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zipfile

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, Role, User
from accounts.services import membership_grant
from dashboards import aggregates, views
from dashboards.aggregates import Column, Row, Table, Value
from dashboards.charts import chart_for
from dashboards.evaluation import program_evaluation
from dashboards.models import SummaryCell, SummaryRefresh
from dashboards.summaries import summaries_refresh
from mentoring.models import Program
from sessions_log.models import Meeting
from tests.conftest import give_mfa
from tests.dashboards.conftest import NOW, at, learner, pair
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INSTITUTION = reverse("dashboards:institution")
EVALUATION = reverse("dashboards:evaluation")
EXPORT = reverse("dashboards:research-export")
PROGRAMS = reverse("dashboards:programs")


def html_of(response) -> str:
    return response.content.decode()


def csv_of(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def program_url(program) -> str:
    return reverse("dashboards:program", kwargs={"code": program.code})


@pytest.fixture
def board(school):
    """The school with Beta's one learner (hidden figures), MFA for the dean and the
    administrator, a guide and a learner to be turned away, and the figures computed."""
    gus = learner(
        "Gus Hale",
        school.beta,
        cohort="Class of 2027",
        enrolled=school.enrolled,
        joined=school.joined,
    )
    pair(school.beta, school.novak, gus)
    give_mfa(school.dean)
    give_mfa(school.admin)
    give_mfa(school.guides[0])
    school.gus = gus
    school.refresh = summaries_refresh(now=NOW)
    return school


# --- Who may open what (R7, R8, R9) ----------------------------------------------------------
def test_anonymous_visitors_are_sent_to_sign_in(client, board):
    for url in (INSTITUTION, EVALUATION, PROGRAMS, program_url(board.alpha)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_only_deans_open_the_institution_dashboard_and_its_csv(client, board):
    csv_url = reverse("dashboards:institution-csv", kwargs={"table": "retention_trend"})
    superuser = UserFactory(is_staff=True, is_superuser=True)
    give_mfa(superuser)
    for person, expected in (
        (board.alpha_learners[0], 404),
        (board.guides[0], 404),
        (board.admin, 404),
        (UserFactory(), 404),
        (superuser, 404),
        (board.dean, 200),
    ):
        client.force_login(person)
        assert client.get(INSTITUTION).status_code == expected, person
        assert client.get(csv_url).status_code == expected, person


def test_an_administrator_opens_their_programs_only(client, board):
    client.force_login(board.admin)
    assert client.get(PROGRAMS).status_code == 200
    assert client.get(program_url(board.alpha)).status_code == 200
    for other in (board.beta, board.gamma):
        assert client.get(program_url(other)).status_code == 404
        csv_url = reverse(
            "dashboards:program-csv", kwargs={"code": other.code, "table": "wellbeing"}
        )
        assert client.get(csv_url).status_code == 404
        list_csv = reverse(
            "dashboards:program-list-csv", kwargs={"code": other.code, "key": "quiet"}
        )
        assert client.get(list_csv).status_code == 404
    # A program that does not exist answers the same.
    missing = reverse("dashboards:program", kwargs={"code": "00000000-0000-0000-0000-000000000000"})
    assert client.get(missing).status_code == 404


def test_deans_learners_and_guides_have_no_program_dashboard(client, board):
    for person in (board.dean, board.alpha_learners[0], board.guides[0]):
        client.force_login(person)
        assert client.get(PROGRAMS).status_code == 404
        assert client.get(program_url(board.alpha)).status_code == 404


def test_the_evaluation_is_for_deans_and_administrators_of_the_program(client, board):
    client.force_login(board.dean)
    assert client.get(EVALUATION).status_code == 200
    assert client.get(EVALUATION, {"program": board.gamma.code}).status_code == 200
    client.force_login(board.admin)
    response = client.get(EVALUATION)
    assert response.status_code == 200
    assert response.context["evaluation"].scope_label == "Alpha mentoring"  # theirs by default
    assert client.get(EVALUATION, {"program": board.gamma.code}).status_code == 404
    assert client.get(EVALUATION, {"program": "not-a-code"}).status_code == 404
    csv_url = reverse("dashboards:evaluation-csv")
    assert client.get(csv_url, {"program": board.gamma.code}).status_code == 404
    for person in (board.alpha_learners[0], board.guides[0], UserFactory()):
        client.force_login(person)
        assert client.get(EVALUATION).status_code == 404
        assert client.get(csv_url).status_code == 404
        assert client.post(EXPORT).status_code == 404


def test_the_dean_dashboard_names_nobody(client, board):
    client.force_login(board.dean)
    pages = [
        html_of(client.get(INSTITUTION, {"year": "2024"})),
        html_of(client.get(INSTITUTION, {"year": "2024", "program": board.alpha.code})),
        html_of(client.get(EVALUATION)),
    ]

    for user in User.objects.exclude(pk=board.dean.pk):
        for page in pages:
            assert user.full_name not in page
            assert user.email not in page


# --- Filters ----------------------------------------------------------------------------------
def test_filters_pick_the_program_year_and_cohort(client, board):
    client.force_login(board.dean)
    response = client.get(
        INSTITUTION, {"program": str(board.alpha.code), "year": "2024", "cohort": "Class of 2027"}
    )
    dashboard = response.context["board"]
    assert dashboard.filters.program_id == board.alpha.pk
    assert dashboard.filters.kind == "mentoring"  # the program decides the kind
    assert dashboard.filters.year == 2024
    assert dashboard.filters.cohort == "Class of 2027"
    trend = dashboard.table("retention_trend")
    assert trend.value("2024", "learners").value == 7
    html = html_of(response)
    assert f'<option value="{board.alpha.code}" selected>Alpha mentoring</option>' in html
    assert '<option value="2024" selected>' in html
    assert "Showing <strong>Alpha mentoring</strong>" in html
    # The CSV links carry the same filters.
    assert f"retention_trend.csv?year=2024&amp;program={board.alpha.code}" in html


def test_filters_by_kind_and_the_default_year(client, board):
    client.force_login(board.dean)
    dashboard = client.get(INSTITUTION, {"kind": "coaching"}).context["board"]
    assert (dashboard.filters.kind, dashboard.filters.program_id) == ("coaching", None)
    assert dashboard.scope_label == "All coaching programs"
    # The school's relationships are all of this year: the page opens on it, not on an
    # empty 2023-24.
    assert dashboard.filters.year == 2024


@pytest.mark.parametrize(
    "params",
    [
        {"year": "abc", "program": "not-a-uuid", "kind": "x", "cohort": "Class of 1900"},
        {"year": "२०२४"},  # digits, but not ASCII
        {"year": "99999999999999999999"},
        {"program": "00000000-0000-0000-0000-000000000000"},
        {"year": "1999"},
    ],
)
def test_bad_filter_values_fall_back_to_all_and_never_fail(client, board, params):
    client.force_login(board.dean)
    response = client.get(INSTITUTION, params)
    assert response.status_code == 200
    dashboard = response.context["board"]
    assert (dashboard.filters.program_id, dashboard.filters.kind, dashboard.filters.cohort) == (
        None,
        "",
        "",
    )
    assert dashboard.filters.year == 2024  # the year with data
    csv_url = reverse("dashboards:institution-csv", kwargs={"table": "retention_trend"})
    assert client.get(csv_url, params).status_code == 200


def test_an_administrator_filters_by_year_and_cohort(client, board):
    client.force_login(board.admin)
    response = client.get(program_url(board.alpha), {"year": "2024", "cohort": "Class of 2027"})
    dashboard = response.context["board"]
    assert (dashboard.filters.year, dashboard.filters.cohort) == (2024, "Class of 2027")
    assert dashboard.scope_label == "Alpha mentoring"
    html = html_of(response)
    assert 'name="program"' not in html  # the program is the page's
    assert dashboard.table("retention_trend").value("2024", "learners").value == 7


# --- Freshness --------------------------------------------------------------------------------
def test_the_page_says_the_figures_are_not_computed_yet(client, school):
    give_mfa(school.dean)
    client.force_login(school.dean)
    html = html_of(client.get(INSTITUTION))
    assert "The figures have not been computed yet" in html
    assert "<canvas" not in html


def test_the_page_says_how_fresh_the_figures_are(client, board):
    client.force_login(board.dean)
    html = html_of(client.get(INSTITUTION))
    assert 'Figures as of <time datetime="2025-03-15">15 March 2025</time>' in html
    stamp = board.refresh.finished_at
    assert f'<time datetime="{stamp.isoformat()}">' in html
    # A newer refresh is what the page then says.
    SummaryRefresh.objects.filter(pk=board.refresh.pk).update(
        finished_at=stamp - datetime.timedelta(days=3)
    )
    newer = summaries_refresh(now=NOW + datetime.timedelta(days=1))
    html = html_of(client.get(INSTITUTION))
    assert "16 March 2025" in html
    assert f'<time datetime="{newer.finished_at.isoformat()}">' in html


# --- Tables, charts, suppression ------------------------------------------------------------
def test_every_table_is_shown_with_caption_headers_and_a_csv_link(client, board):
    client.force_login(board.dean)
    response = client.get(INSTITUTION, {"year": "2024"})
    html = html_of(response)
    dashboard = response.context["board"]
    assert len(dashboard.tables) >= 13
    for table in dashboard.tables:
        dom = "figure-" + table.key.replace("_", "-")
        assert f'id="{dom}-caption"' in html
        assert f'<h3 id="{dom}-heading">{table.title}</h3>'.replace("'", "&#x27;") in html
        assert reverse("dashboards:institution-csv", kwargs={"table": table.key}) in html
        for column in table.columns:
            assert f'<th scope="col" class="num">{column.label}</th>' in html
    assert html.count('<th scope="row">') >= sum(len(t.rows) for t in dashboard.tables)
    assert 'tabindex="0" role="region"' in html  # tables scroll inside a focusable region


def test_charts_have_a_name_a_summary_and_their_data_in_json(client, board):
    client.force_login(board.dean)
    html = html_of(client.get(INSTITUTION, {"year": "2024", "program": board.alpha.code}))
    canvas = re.search(
        r'<canvas class="dashboard-chart" data-chart="figure-retention-trend-data" '
        r'role="img" aria-label="([^"]+)">',
        html,
    )
    assert canvas, "the retention chart is drawn"
    assert canvas.group(1).startswith("Line chart: Trainee retention by year")
    assert "85.7% of 7 learners were retained" in canvas.group(1)
    data = re.search(
        r'<script id="figure-retention-trend-data" type="application/json">(.*?)</script>', html
    )
    spec = json.loads(data.group(1))
    assert spec["type"] == "line"
    assert spec["labels"][-1] == "2024\u201325 (so far)"
    assert spec["datasets"][0] == {
        "label": "Retained",
        "data": [None, None, None, None, 100.0, 85.7],
    }
    # No inline script to run and no inline style: the CSP allows neither.
    assert "<script>" not in html and " style=" not in html
    assert "js/dashboards" in html and "chart.umd.min" in html


def test_hidden_figures_show_as_hidden_with_an_explanation(client, board):
    client.force_login(board.dean)
    html = html_of(client.get(INSTITUTION, {"year": "2024"}))
    # Retention by program: Beta's one learner, paired: hidden; nobody unpaired: zero.
    row = re.search(r'<th scope="row">Beta mentoring</th>(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r'<td class="num">(.*?)</td>', row)
    assert cells == ['<span class="suppressed">hidden</span>'] * 4 + ["0", "\u2013"]
    assert ": fewer than 2 people, or a figure hidden" in html


def test_a_csv_never_carries_a_suppressed_number(client, board):
    client.force_login(board.dean)
    url = reverse("dashboards:institution-csv", kwargs={"table": "retention_by_program"})
    response = client.get(url, {"year": "2024"})
    assert response["Content-Disposition"].startswith("attachment;")
    rows = csv_of(response)
    assert rows[0][0] == "Program"
    beta = next(r for r in rows if r[0] == "Beta mentoring")
    # Beta has one learner, paired: never "1", and not 100% either.
    assert beta[1:] == ["hidden"] * 4 + ["0", "\u2013"]
    alpha = next(r for r in rows if r[0] == "Alpha mentoring")
    assert alpha[1:3] == ["7", "85.7%"]


def test_every_csv_matches_its_table_with_hidden_cells_as_hidden(client, board):
    client.force_login(board.dean)
    dashboard = aggregates.dean_dashboard(year=2024)
    hidden_seen = 0
    for table in dashboard.tables:
        url = reverse("dashboards:institution-csv", kwargs={"table": table.key})
        rows = csv_of(client.get(url, {"year": "2024"}))
        assert rows[0] == table.csv_header()
        assert len(rows) == len(table.rows) + 1
        for row, line in zip(table.rows, rows[1:], strict=True):
            for value, cell in zip(row.values, line[1:], strict=True):
                if value.hidden:
                    hidden_seen += 1
                    assert cell == "hidden"
                else:
                    assert cell == value.display
    assert hidden_seen > 0


def test_an_unknown_table_has_no_csv(client, board):
    client.force_login(board.dean)
    url = reverse("dashboards:institution-csv", kwargs={"table": "people"})
    assert client.get(url).status_code == 404


def test_chart_data_leaves_hidden_figures_out_and_skips_useless_charts():
    def table(rows, chart="bar"):
        return Table(
            "t",
            "T",
            "d",
            "Row",
            (Column("n", "People"), Column("share", "Share", "percent", chart=True)),
            tuple(rows),
            "summary",
            chart=chart,
        )

    shown = Row("a", "A", (Value(10, "10"), Value(50.0, "50.0%")))
    hidden = Row("b", "B", (Value.hidden_(), Value.hidden_()))
    total = Row("t", "All", (Value(12, "12"), Value(60.0, "60.0%")), total=True)
    spec = chart_for(table([shown, hidden, total]))
    assert spec["datasets"] == [{"label": "Share", "data": [50.0, None, 60.0]}]
    assert spec["axis"]["max"] == 100 and spec["axis"]["suffix"] == "%"
    assert "Hidden figures are left out of the chart." in spec["description"]
    assert "b" not in spec["labels"]  # labels, not row keys
    # A histogram leaves its total out; one figure or only zeros make no chart.
    assert chart_for(table([shown, shown, total], chart="histogram"))["labels"] == ["A", "A"]
    assert chart_for(table([shown, hidden])) is None
    zero = Row("z", "Z", (Value(0, "0"), Value(0.0, "0.0%")))
    assert chart_for(table([zero, zero])) is None


# --- The administrator's page -----------------------------------------------------------------
def test_the_administrator_sees_lists_with_links_to_act_on_them(client, board):
    client.force_login(board.admin)
    html = html_of(client.get(program_url(board.alpha)))
    for name in ("quiet", "rematch-requests", "conflicts", "relationships"):
        assert reverse(f"console:{name}", kwargs={"code": board.alpha.code}) in html
    assert reverse("survey_console:rates", kwargs={"code": board.alpha.code}) in html
    ann = board.pairs[0]
    assert reverse("console:relationship-detail", kwargs={"code": ann.code}) in html
    assert "Ann Lee" in html  # their own program's people, by name
    assert "Gamma Learner" not in html and "Gus Hale" not in html
    # Figures are theirs only: no other program in the "by program" tables.
    dashboard = client.get(program_url(board.alpha)).context["board"]
    rows = dashboard.table("retention_by_program").rows
    assert [r.label for r in rows] == ["Alpha mentoring"]


def test_the_administrators_list_csv_is_their_programs(client, board):
    client.force_login(board.admin)
    url = reverse("dashboards:program-list-csv", kwargs={"code": board.alpha.code, "key": "quiet"})
    rows = csv_of(client.get(url))
    assert rows[0][0] == "Learner"
    assert {r[0] for r in rows[1:]} == {"Ann Lee", "Ben Kim", "Cal Poe", "Dee Roy", "Eli Day"}
    bad = reverse("dashboards:program-list-csv", kwargs={"code": board.alpha.code, "key": "x"})
    assert client.get(bad).status_code == 404


def test_the_administrators_table_csv(client, board):
    client.force_login(board.admin)
    url = reverse(
        "dashboards:program-csv", kwargs={"code": board.alpha.code, "table": "retention_trend"}
    )
    rows = csv_of(client.get(url, {"year": "2024"}))
    assert rows[-1][:3] == ["2024\u201325 (so far)", "7", "85.7%"]


def test_the_program_list_links_each_dashboard(client, board):
    membership_grant(user=board.admin, role=Role.PROGRAM_ADMIN, program=board.gamma)
    client.force_login(board.admin)
    html = html_of(client.get(PROGRAMS))
    assert program_url(board.alpha) in html and program_url(board.gamma) in html
    assert program_url(board.delta) not in html


# --- Navigation ----------------------------------------------------------------------------
def test_deans_get_a_dashboard_link_and_administrators_one_per_program(client, board):
    client.force_login(board.dean)
    home = html_of(client.get(reverse("home")))
    assert f'<a href="{INSTITUTION}">Dashboard</a>' in home
    assert "#institution" not in home.split("<main")[0]  # the old anchor is gone from the nav
    assert f'href="{INSTITUTION}"' in home.split("<main")[1]  # and the dean's home links it
    client.force_login(board.admin)
    console = html_of(
        client.get(reverse("console:program-detail", kwargs={"code": board.alpha.code}))
    )
    assert f'href="{program_url(board.alpha)}"' in console
    assert f'href="{INSTITUTION}"' not in html_of(client.get(reverse("home")))


# --- Program evaluation -------------------------------------------------------------------
@pytest.fixture
def evaluated(board, settings):
    """Every program's comparison cells, set by hand (as tests/dashboards/test_evaluation.py):
    45 of 50 formal and 20 of 40 informal retained in 2023 (a clear difference), 18 of 20
    faculty and 17 of 20 peer (none detectable)."""
    settings.SURVEY_MIN_CELL = 5
    SummaryCell.objects.filter(figure="learners", kind="", program=None).exclude(split="").delete()

    def cell(split, n, retained):
        return SummaryCell(
            figure="learners", year=2023, split=split, n=n, measures={"retained": retained}
        )

    SummaryCell.objects.bulk_create(
        [
            cell("formal", 50, 45),
            cell("informal", 40, 20),
            cell("faculty", 20, 18),
            cell("peer", 20, 17),
        ]
    )
    return board


def test_the_evaluation_shows_groups_differences_intervals_and_readings(client, evaluated):
    client.force_login(evaluated.dean)
    response = client.get(EVALUATION, {"year": "2023"})
    html = html_of(response)
    expected = program_evaluation(year=2023)
    formal = next(
        c
        for c in expected.comparisons
        if (c.outcome, c.comparison) == ("retention", "formal_informal")
    )
    _a, _b, d, reading = formal.differences[0]
    assert d.detectable
    assert f"{d.ci_low:+.1f} to {d.ci_high:+.1f}" in html
    assert f"{d.estimate:+.1f} percentage points" in html
    assert "95% confidence interval" in html
    assert reading in html
    assert reading.startswith("Retention was 40.0 percentage points higher")
    faculty = next(
        c
        for c in expected.comparisons
        if (c.outcome, c.comparison) == ("retention", "faculty_peer")
    )
    assert faculty.differences[0][3].startswith("No difference detectable with these numbers")
    assert faculty.differences[0][3] in html
    # Group sizes and figures.
    assert re.search(r"Formal relationships</th>\s*<td class=\"num\">50</td>", html)
    assert "90.0%" in html and "50.0%" in html
    assert expected.caveat in html
    # Groups too small to compare say so.
    assert "Not compared" in html


def test_the_evaluation_csv_has_the_intervals(client, evaluated):
    client.force_login(evaluated.dean)
    rows = csv_of(client.get(reverse("dashboards:evaluation-csv"), {"year": "2023"}))
    header, body = rows[0], rows[1:]
    assert header[9:11] == ["95% CI low", "95% CI high"]
    formal = next(r for r in body if r[2] == "formal relationships")
    assert formal[3] == "50" and formal[6] == "40"
    assert formal[8] == "40.00"


def test_the_research_export_is_a_post_and_a_zip_without_names(client, board):
    client.force_login(board.dean)
    assert client.get(EXPORT).status_code == 405
    response = client.post(EXPORT)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="research-export-')
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert set(archive.namelist()) == {"README.txt", "relationships.csv", "survey_answers.csv"}
    text = "".join(archive.read(name).decode() for name in archive.namelist())

    for user in User.objects.all():
        assert user.full_name not in text and user.email not in text


def test_the_research_export_needs_csrf(board):
    client = Client(enforce_csrf_checks=True)
    client.force_login(board.dean)
    assert client.post(EXPORT).status_code == 403


def test_an_administrator_exports_their_program_only(client, board, monkeypatch):
    seen = []

    real = views.research_export

    def spy(*, programs=None):
        seen.append(None if programs is None else sorted(programs.values_list("pk", flat=True)))
        return real(programs=programs)

    monkeypatch.setattr(views, "research_export", spy)
    client.force_login(board.admin)
    assert client.post(EXPORT).status_code == 200
    assert client.post(EXPORT, {"program": board.gamma.code}).status_code == 404
    client.force_login(board.dean)
    assert client.post(EXPORT, {"kind": "coaching"}).status_code == 200
    assert client.post(EXPORT).status_code == 200
    assert seen == [[board.alpha.pk], [board.gamma.pk], None]


# --- Query counts -----------------------------------------------------------------------------
def _grow(school, n: int) -> None:
    """`n` more learners in Alpha, each paired with a new mentor and met twice, and another
    program: more of everything the pages read."""

    extra = Program.objects.create(name=f"Extra advising {n}", kind="advising")
    membership_grant(user=school.admin, role=Role.PROGRAM_ADMIN, program=extra)
    for i in range(n):
        person = learner(
            f"Grown Learner {n} {i}",
            school.alpha,
            cohort=f"Class of {2026 + i % 3}",
            enrolled=school.enrolled,
            joined=school.joined,
        )
        guide = UserFactory(email=f"grown.guide.{n}.{i}@school.test")
        Membership.objects.create(
            user=guide, program=school.alpha, role="mentor", capacity=3, started_at=at(2020, 1, 6)
        )
        relationship = pair(school.alpha, guide, person)
        for when in (at(2024, 10, 1), at(2024, 12, 1)):
            Meeting.objects.create(
                relationship=relationship,
                starts_at=when,
                ends_at=when + datetime.timedelta(minutes=30),
                status="completed",
            )
        Membership.objects.create(
            user=person, program=extra, role=Role.LEARNER, started_at=school.joined
        )
    summaries_refresh(now=NOW)


def _pages(school):
    """(who, url, parameters, most queries): the request's own (session, user, roles, MFA,
    the navigation, the session's save) and the page's, measured."""
    csv_url = reverse("dashboards:institution-csv", kwargs={"table": "retention_by_program"})
    # The institution page also records the dean's visit (one upsert: the home page's "new
    # figures" are seen).
    return [
        (school.dean, INSTITUTION, {"year": "2024"}, 15),
        (school.dean, INSTITUTION, {"year": "2024", "program": school.alpha.code}, 15),
        (school.dean, EVALUATION, {}, 11),
        (school.dean, csv_url, {}, 10),
        # Five operational lists of one query each, on top of the figures.
        (school.admin, program_url(school.alpha), {"year": "2024"}, 20),
        (school.admin, PROGRAMS, {}, 9),
        (school.admin, EVALUATION, {}, 12),
    ]


def test_query_counts_do_not_grow_with_the_data(client, board, django_assert_max_num_queries):
    def counts():
        found = []
        for person, url, params, _most in _pages(board):
            client.force_login(person)
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, params)
                if hasattr(response, "streaming_content"):
                    b"".join(response.streaming_content)
            assert response.status_code == 200, url
            found.append(len(queries))
        return found

    small = counts()
    _grow(board, 5)
    medium = counts()
    _grow(board, 25)
    large = counts()
    assert small == medium == large, (small, medium, large)
    # And each stays within its bound, at the larger size.
    for person, url, params, most in _pages(board):
        client.force_login(person)
        with django_assert_max_num_queries(most):
            response = client.get(url, params)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)


def test_every_dashboard_page_says_the_day_its_figures_describe(client, board):
    """The evaluation page once read "Figures as of , computed ..." with the day missing."""
    client.force_login(board.dean)
    for url in (INSTITUTION, EVALUATION):
        html = client.get(url).content.decode()
        assert 'Figures as of <time datetime="2025-03-15">15 March 2025</time>, computed' in html
