"""Dashboards in a real browser: the dean opens the dashboard from the navigation, filters by
program, reads a chart's data table and downloads its CSV; charts are drawn by the vendored
Chart.js with no CSP violation; axe-core finds no serious or critical violation on the
dashboard pages, on a desktop and on a phone-sized screen."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from dashboards.summaries import summaries_refresh
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_console import sign_in_with_code
from tests.conftest import give_mfa
from tests.dashboards import conftest as small_school
from tests.dashboards.conftest import NOW, learner, pair

# The dashboards' small school (tests/dashboards/conftest.py), shared with this directory.
school = small_school.school

pytestmark = pytest.mark.browser


@pytest.fixture
def figures(school):
    """The small school (minimum cell 2) with Beta's one learner (hidden figures), computed."""
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
    summaries_refresh(now=NOW)
    return school


def read(path) -> str:
    with open(path, encoding="utf-8-sig") as f:
        return f.read()


def watch_console(page) -> list[str]:
    """Errors the page logs (a CSP violation is one)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_dean_filters_by_program_reads_a_chart_table_and_downloads_its_csv(page, figures):
    errors = watch_console(page)
    sign_in_with_code(page, figures.dean)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Institution dashboard")
    expect(page.locator("#freshness")).to_contain_text("Figures as of 15 March 2025")

    # Filter: Alpha mentoring, 2024-25.
    page.get_by_label("Program", exact=True).select_option(label="Alpha mentoring")
    page.get_by_label("Academic year", exact=True).select_option(label="2024\u201325 (so far)")
    page.get_by_role("button", name="Show figures").click()
    expect(page.locator(".scope")).to_contain_text("Showing Alpha mentoring")
    assert f"program={figures.alpha.code}" in page.url
    expect(page.get_by_label("Kind", exact=True)).to_have_value("mentoring")

    # The retention chart is drawn (a Chart.js chart on its canvas) and named.
    figure = page.locator("#figure-retention-trend")
    chart = figure.get_by_role("img")
    # (With Beta's one paired learner hidden, Alpha's paired and unpaired are hidden too: a
    # program total minus the others would give Beta's back.)
    expect(chart).to_have_attribute(
        "aria-label",
        "Line chart: Trainee retention by year (Retained, With a relationship: retained, "
        "Without: retained). In 2024\u201325 (so far), 85.7% of 7 learners were retained. "
        "Hidden figures are left out of the chart. The table after the chart gives every figure.",
    )
    drawn = page.wait_for_function(
        "() => { const c = document.querySelector('#figure-retention-trend canvas');"
        " const chart = window.Chart && window.Chart.getChart(c);"
        " return chart ? chart.data.datasets[0].data : null; }"
    ).json_value()
    assert drawn == [None, None, None, None, 100, 85.7]

    # Its data table: the figures behind the chart, one row per year.
    table = figure.get_by_role("table", name="Trainee retention by year: the figures of the chart")
    row = table.get_by_role("row", name="2024\u201325 (so far)")
    expect(row.get_by_role("cell")).to_have_text(["7", "85.7%"] + ["hidden"] * 4)
    expect(figure.get_by_text("85.7% of 7 learners were retained").first).to_be_visible()

    # Its CSV, with the same filters.
    with page.expect_download() as download:
        figure.get_by_role(
            "link", name=re.compile(r"^Download CSV\W+Trainee retention by year$")
        ).click()
    saved = download.value
    assert saved.suggested_filename.startswith("institution-retention_trend-2024-")
    rows = list(csv.reader(io.StringIO(read(saved.path()))))
    assert rows[0][:3] == ["Academic year", "Learners", "Retained"]
    assert rows[-1] == ["2024\u201325 (so far)", "7", "85.7%"] + ["hidden"] * 4

    # Without the filter, Beta's one learner is hidden in the table and in its CSV.
    page.get_by_label("Program", exact=True).select_option(label="All programs")
    page.get_by_role("button", name="Show figures").click()
    by_program = page.locator("#figure-retention-by-program")
    beta = by_program.get_by_role("row", name="Beta mentoring")
    expect(beta.get_by_role("cell").first).to_have_text("hidden")
    with page.expect_download() as download:
        by_program.get_by_role(
            "link", name=re.compile(r"^Download CSV\W+Trainee retention by program")
        ).click()
    text = read(download.value.path())
    beta_row = next(r for r in csv.reader(io.StringIO(text)) if r[0] == "Beta mentoring")
    assert beta_row[1:5] == ["hidden"] * 4
    assert errors == []


@pytest.fixture(params=list(VIEWPORTS))
def axe_page(request, browser, live_server):
    # bypass_csp lets the test inject axe; the site's own pages never need it.
    context = browser.new_context(
        base_url=live_server.url, viewport=VIEWPORTS[request.param], bypass_csp=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def charts_drawn(page) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('canvas.dashboard-chart')]"
        ".every(c => window.Chart && window.Chart.getChart(c))"
    )


def test_dean_dashboard_and_evaluation_are_accessible(axe_page, figures):
    sign_in_with_code(axe_page, figures.dean)
    axe_page.goto(f"/dashboards/institution/?year=2024&program={figures.alpha.code}")
    charts_drawn(axe_page)
    assert axe_page.locator("canvas.dashboard-chart").count() > 0
    assert serious_violations(axe_page) == []
    axe_page.goto("/dashboards/institution/?year=2024")
    charts_drawn(axe_page)
    assert serious_violations(axe_page) == []
    axe_page.goto("/dashboards/evaluation/")
    expect(axe_page.get_by_role("heading", level=1)).to_have_text("Program evaluation")
    assert serious_violations(axe_page) == []


def test_administrator_dashboard_is_accessible(axe_page, figures):
    sign_in_with_code(axe_page, figures.admin)
    axe_page.goto("/dashboards/programs/")
    assert serious_violations(axe_page) == []
    axe_page.get_by_role("link", name="Alpha mentoring dashboard").click()
    expect(axe_page.get_by_role("heading", level=1)).to_have_text("Alpha mentoring: dashboard")
    charts_drawn(axe_page)
    assert serious_violations(axe_page) == []
