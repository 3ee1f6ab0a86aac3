"""Program evaluation: statistics checked against values worked out independently (by hand,
or with formulas written out here), the plain-language reading, and the comparisons built
from the suppressed summary cells."""

from __future__ import annotations

import datetime
import math

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from scipy import stats

from dashboards.comparisons import (
    Answers,
    Proportion,
    cohens_d,
    compare_means,
    compare_proportions,
    pairs,
)
from dashboards.evaluation import program_evaluation
from dashboards.models import SummaryCell, SummaryRefresh
from mentoring.models import Program

Z = 1.959963984540054  # the 97.5th percentile of the standard normal


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval, written out (Newcombe 1998, method 3)."""
    p = k / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return centre - half, centre + half


def newcombe(k1, n1, k2, n2) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 - p2 (1998, method 10), written out."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1)
    l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt(
        (u1 - p1) ** 2 + (p2 - l2) ** 2
    )


def test_risk_difference_and_its_interval_match_newcombe_by_hand():
    # 45 of 50 retained against 30 of 40: 90% - 75% = 15 points.
    d = compare_proportions(
        Proportion("formal relationships", 50, 45),
        Proportion("informal relationships", 40, 30),
        outcome="retention",
    )
    low, high = newcombe(45, 50, 30, 40)
    assert d.estimate == pytest.approx(15.0)
    assert d.effect_size == pytest.approx(15.0)
    assert d.ci_low == pytest.approx(100 * low, abs=1e-6)
    assert d.ci_high == pytest.approx(100 * high, abs=1e-6)
    # Worked through: about -0.7 to +31.2 points, so zero is inside.
    assert d.ci_low == pytest.approx(-0.68, abs=0.01)
    assert d.ci_high == pytest.approx(31.21, abs=0.01)
    assert not d.detectable
    assert d.reading.startswith("No difference detectable with these numbers")
    assert "includes zero" in d.reading


def test_a_clear_difference_is_read_as_one():
    d = compare_proportions(
        Proportion("mentoring", 200, 180), Proportion("advising", 200, 140), outcome="retention"
    )
    low, high = newcombe(180, 200, 140, 200)
    assert d.estimate == pytest.approx(20.0)
    assert (d.ci_low, d.ci_high) == pytest.approx((100 * low, 100 * high), abs=1e-6)
    assert d.detectable and d.ci_low > 0
    assert d.reading.startswith("Retention was 20.0 percentage points higher with mentoring")
    assert d.p_value < 0.001


def test_difference_of_means_welch_interval_and_cohens_d_by_hand():
    # Learners' answers: A = 4, 5, 5, 3, 4 (mean 4.2); B = 2, 3, 3, 4, 2 (mean 2.8).
    first = Answers("formal relationships", (0, 0, 1, 2, 2))
    second = Answers("informal relationships", (0, 2, 2, 1, 0))
    d = compare_means(first, second, outcome="satisfaction")
    # Each sample variance is 2.8 / 4 = 0.7; the standard error sqrt(0.7/5 + 0.7/5) =
    # sqrt(0.28); Welch's degrees of freedom (0.28)^2 / (2 x 0.14^2 / 4) = 8; t(0.975, 8) =
    # 2.306004135; so 1.4 +- 2.306004135 x 0.529150262 = 0.17977 to 2.62023.
    assert d.estimate == pytest.approx(1.4)
    assert d.ci_low == pytest.approx(1.4 - 2.306004135033371 * math.sqrt(0.28), abs=1e-9)
    assert d.ci_high == pytest.approx(1.4 + 2.306004135033371 * math.sqrt(0.28), abs=1e-9)
    assert d.ci_low == pytest.approx(0.17977, abs=1e-5)
    # Cohen's d: 1.4 / sqrt(0.7) = 1.6733.
    assert d.effect_size == pytest.approx(1.4 / math.sqrt(0.7))
    assert d.effect_size == pytest.approx(1.6733, abs=1e-4)
    assert d.effect_words == "a large effect"
    assert "higher with formal relationships" in d.reading


def test_welch_interval_agrees_with_the_textbook_formula_on_unequal_groups():
    rng = np.random.default_rng(7)
    a = rng.integers(1, 6, 120)
    b = rng.integers(2, 6, 45)
    first = Answers("a", tuple(int((a == v).sum()) for v in range(1, 6)))
    second = Answers("b", tuple(int((b == v).sum()) for v in range(1, 6)))
    d = compare_means(first, second, outcome="satisfaction")
    v1, v2 = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (v1 + v2) ** 2 / (v1**2 / (len(a) - 1) + v2**2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(v1 + v2)
    diff = a.mean() - b.mean()
    assert (d.ci_low, d.ci_high) == pytest.approx((diff - half, diff + half), abs=1e-9)
    pooled = math.sqrt(
        ((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2)
    )
    assert d.effect_size == pytest.approx(diff / pooled)


def test_an_interval_spanning_zero_reads_no_difference_detectable():
    d = compare_means(
        Answers("faculty guides", (1, 2, 6, 8, 3)),
        Answers("peer guides", (1, 3, 5, 8, 3)),
        outcome="satisfaction",
    )
    assert d.ci_low < 0 < d.ci_high
    assert d.reading.startswith("No difference detectable with these numbers")


def test_no_spread_gives_no_cohens_d():
    assert cohens_d(np.array([4.0, 4.0]), np.array([4.0, 4.0])) is None
    d = compare_means(Answers("a", (0, 0, 0, 3, 0)), Answers("b", (0, 0, 0, 3, 0)), outcome="x")
    assert d.estimate == 0 and d.effect_size is None and not d.detectable


def test_everyone_retained_in_both_groups_is_no_difference():
    d = compare_proportions(Proportion("a", 30, 30), Proportion("b", 20, 20), outcome="retention")
    assert d.estimate == 0 and d.p_value == 1.0 and not d.detectable


def test_pairs_of_three_groups():
    assert pairs(["m", "c", "a"]) == [("m", "c"), ("m", "a"), ("c", "a")]


# --- From the summary cells -----------------------------------------------------------------


def _cell(split, year, n, retained=None, hist=None, hidden=False, figure="learners"):
    measures = {"retained": retained} if figure == "learners" else {"hist": hist}
    return SummaryCell(
        figure=figure,
        year=year,
        split=split,
        n=None if hidden else n,
        measures={} if hidden else measures,
        hidden=hidden,
    )


@pytest.fixture
def cells(db, settings):
    settings.SURVEY_MIN_CELL = 5
    SummaryRefresh.objects.create(
        started_at=datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC),
        finished_at=datetime.datetime(2025, 3, 1, tzinfo=datetime.UTC),
        as_of=datetime.date(2025, 3, 1),
    )
    SummaryCell.objects.bulk_create(
        [
            _cell("formal", 2023, 30, 27),
            _cell("informal", 2023, 20, 18),
            _cell("formal", 2024, 20, 18),
            _cell("informal", 2024, None, hidden=True),
            _cell("faculty", 2024, 40, 36),
            _cell("formal", 2024, 50, hist=[5, 5, 10, 15, 15], figure="satisfaction_learners"),
            _cell("informal", 2024, 25, hist=[0, 5, 5, 5, 10], figure="satisfaction_learners"),
            _cell("faculty", 2024, 21, hist=[1, 5, 5, 5, 5], figure="satisfaction_learners"),
        ]
    )


def _comparison(evaluation, outcome, comparison):
    return next(
        c for c in evaluation.comparisons if c.outcome == outcome and c.comparison == comparison
    )


def test_pooled_years_add_up_shown_cells_and_say_what_was_left_out(cells):
    with CaptureQueriesContext(connection) as queries:
        evaluation = program_evaluation()
    assert len(queries) <= 3
    retention = _comparison(evaluation, "retention", "formal_informal")
    formal, informal = retention.groups
    assert (formal.n, formal.display) == (50, "90.0%")  # 27 + 18 of 30 + 20
    assert (informal.n, informal.display) == (20, "90.0%")  # 2024 hidden: left out
    assert any("1 year(s)" in note for note in retention.notes)
    _first, _second, difference, text = retention.differences[0]
    low, high = newcombe(45, 50, 18, 20)
    assert (difference.ci_low, difference.ci_high) == pytest.approx(
        (100 * low, 100 * high), abs=1e-6
    )
    assert text.startswith("No difference detectable")


def test_one_year_and_hidden_groups_are_not_compared(cells):
    evaluation = program_evaluation(year=2024)
    retention = _comparison(evaluation, "retention", "formal_informal")
    assert retention.groups[1].hidden
    assert retention.differences[0][2] is None
    assert retention.differences[0][3].startswith("Not compared")


def test_a_survey_group_with_a_small_answer_count_is_not_compared(cells):
    evaluation = program_evaluation(year=2024)
    satisfaction = _comparison(evaluation, "satisfaction", "formal_informal")
    assert [g.display for g in satisfaction.groups] == ["mean 3.60", "mean 3.80"]
    assert satisfaction.differences[0][2] is not None
    # One faculty answer of 1: its spread would be published with the comparison.
    faculty = _comparison(evaluation, "satisfaction", "faculty_peer").groups[0]
    assert faculty.hidden


def test_evaluation_csv_rows(cells):
    evaluation = program_evaluation()
    rows = evaluation.csv_rows()
    assert all(len(row) == len(evaluation.CSV_HEADER) for row in rows)
    assert any(row[-1].startswith("No difference detectable") for row in rows)


def test_an_administrator_evaluates_their_own_program_only(cells, school):
    mine = Program.objects.filter(pk=school.alpha.pk)
    assert program_evaluation(program=school.alpha, programs=mine).scope_label == "Alpha mentoring"
    with pytest.raises(LookupError):
        program_evaluation(program=school.gamma, programs=mine)
