"""The aggregation service (surveys/results.py): small cells and complementary cells are never
shown (R6), means are withheld when they would give a hidden cell away, free text only where
policy allows, results only over closed campaigns, and a bounded number of queries.

The property tests play the attacker: they take what the service shows (n, the shown cells,
the mean) and enumerate every assignment of the hidden cells consistent with it; each hidden
cell must keep at least two possible values."""

from __future__ import annotations

import pathlib
import re
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys import results
from surveys.models import Audience, Campaign, Question, Response
from surveys.results import (
    ResponseFilter,
    hidden_exclusive,
    hidden_multiple,
    mean_shown,
)
from tests.factories import ProgramFactory, UserFactory
from tests.surveys.results_helpers import (
    add_responses,
    invite,
    likert_responses,
    make_campaign,
    make_template,
)

MIN = 5


# --- The attacker ----------------------------------------------------------------------------
def compositions(total: int, parts: int):
    """Every way to put `total` people in `parts` cells (non-negative)."""
    if parts == 0:
        if total == 0:
            yield ()
        return
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def possible_values(n, shown, mean, points):
    """For each hidden cell (None in `shown`), the set of values it can take given n, the
    shown cells and the mean (rounded to two decimals, as shown), over Likert points."""
    hidden_at = [i for i, c in enumerate(shown) if c is None]
    residual = n - sum(c for c in shown if c is not None)
    assert residual >= 0
    values = {i: set() for i in hidden_at}
    known_points = sum(c * p for c, p in zip(shown, points, strict=True) if c is not None)
    for guess in compositions(residual, len(hidden_at)):
        if mean is not None:
            total_points = known_points + sum(
                g * points[i] for g, i in zip(guess, hidden_at, strict=True)
            )
            if round(total_points / n, 2) != mean:
                continue
        for g, i in zip(guess, hidden_at, strict=True):
            values[i].add(g)
    return values


def assert_protected(counts, cells_shown, n_shown, mean):
    """What the service shows for a 5-point question with `counts` keeps every person safe."""
    n = sum(counts)
    assert n_shown == n
    for true, shown in zip(counts, cells_shown, strict=True):
        if shown is not None:
            assert shown == true
            assert not (0 < shown < MIN), f"a small cell is shown: {cells_shown}"
    if n and n < MIN:
        assert all(c is None for c in cells_shown), "a question under the minimum shows cells"
        assert mean is None
    if mean is not None:
        assert None not in cells_shown
    for i, values in possible_values(n, cells_shown, mean, [1, 2, 3, 4, 5]).items():
        assert len(values) >= 2, f"hidden cell {i} of {counts} is recomputable: {cells_shown}"


def cells_for(counts):
    hidden = hidden_exclusive(counts, MIN)
    shown = [None if h else c for c, h in zip(counts, hidden, strict=True)]
    n = sum(counts)
    mean = None
    if mean_shown(hidden, n, MIN):
        mean = round(sum(c * p for c, p in zip(counts, range(1, 6), strict=True)) / n, 2)
    return shown, mean


group_of_responses = st.lists(st.integers(1, 5), min_size=0, max_size=30)


@given(answers=group_of_responses)
@settings(max_examples=400, deadline=None)
def test_property_no_small_cell_shown_and_no_hidden_cell_recomputable(answers):
    per_point = Counter(answers)
    counts = [per_point[p] for p in range(1, 6)]
    shown, mean = cells_for(counts)
    assert_protected(counts, shown, sum(counts), mean)


@pytest.mark.django_db
@given(answers=group_of_responses)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_property_through_the_service_on_real_rows(answers):
    """The same property, end to end: rows in PostgreSQL, GROUP BY in SQL, the service's
    QuestionResult as shown to people."""
    with transaction.atomic():
        program = ProgramFactory(name="Property program")
        campaign = make_campaign(make_template(program))
        per_point = Counter(answers)
        counts = [per_point[p] for p in range(1, 6)]
        likert_responses(campaign, counts)
        got = results.campaign_results(campaign)
        question = next(q for q in got.questions if q.key == "satisfaction")
        shown = [cell.count for cell in question.cells]
        assert [cell.key for cell in question.cells] == ["1", "2", "3", "4", "5"]
        assert_protected(counts, shown, question.n, question.mean)
        transaction.set_rollback(True)


@given(
    n=st.integers(0, 30),
    chosen=st.lists(st.integers(0, 30), min_size=3, max_size=3),
)
@settings(max_examples=300, deadline=None)
def test_property_several_choices_each_option_and_its_complement_safe(n, chosen):
    counts = [min(c, n) for c in chosen]
    hidden = hidden_multiple(counts, n, MIN)
    for c, h in zip(counts, hidden, strict=True):
        if not h:
            # Neither those who chose it nor those who did not are a small group.
            assert not (0 < c < MIN) and not (0 < n - c < MIN)
            if n:
                assert n >= MIN


# --- The rules, one example each (each would fail if its rule broke) ------------------------
def test_a_single_small_cell_takes_the_smallest_other_non_zero_cell_with_it():
    # 3 is small; of the others the smallest non-zero is 6 (never a zero cell).
    assert hidden_exclusive([0, 3, 6, 9, 0], MIN) == [False, True, True, False, False]


def test_ties_for_the_complement_are_all_hidden():
    # Which of the two sixes was picked would otherwise tell the attacker something.
    assert hidden_exclusive([6, 3, 6, 9, 0], MIN) == [True, True, True, False, False]


def test_two_small_cells_need_no_complement():
    assert hidden_exclusive([2, 3, 6, 9, 0], MIN) == [True, True, False, False, False]


def test_under_the_minimum_everything_is_hidden_and_nothing_when_no_one_answered():
    assert hidden_exclusive([0, 4, 0, 0, 0], MIN) == [True] * 5
    assert hidden_exclusive([0, 0, 0, 0, 0], MIN) == [False] * 5


def test_mean_withheld_when_any_cell_is_hidden():
    # With cells 2 and 3 hidden, n and the mean would pin them down (two equations).
    hidden = hidden_exclusive([0, 2, 3, 6, 9], MIN)
    assert any(hidden) and not mean_shown(hidden, 20, MIN)
    assert mean_shown([False] * 5, 20, MIN)


def test_several_choices_hide_an_option_nearly_everyone_chose():
    assert hidden_multiple([9, 5, 0], 10, MIN) == [True, False, False]


# --- The service on real rows ----------------------------------------------------------------
@pytest.fixture
def campaign(program):
    return make_campaign(make_template(program))


def question(result, key):
    return next(q for q in result.questions if q.key == key)


def test_results_of_a_campaign_are_suppressed_and_ordered(campaign):
    likert_responses(campaign, [0, 3, 6, 9, 0])
    got = results.campaign_results(campaign)
    assert got.responses == 18
    satisfaction = question(got, "satisfaction")
    assert satisfaction.n == 18 and satisfaction.section == "Your mentor"
    assert [c.count for c in satisfaction.cells] == [0, None, None, 9, 0]
    assert satisfaction.cells[0].label == "Strongly disagree"
    assert satisfaction.mean is None
    recommend = question(got, "recommend")
    assert [(c.key, c.count, c.share) for c in recommend.cells] == [
        ("yes", 18, 100),
        ("maybe", 0, 0),
        ("no", 0, 0),
    ]


def test_mean_shown_when_no_cell_hidden(campaign):
    likert_responses(campaign, [5, 0, 0, 5, 10])
    satisfaction = question(results.campaign_results(campaign), "satisfaction")
    assert satisfaction.mean == round((5 * 1 + 5 * 4 + 10 * 5) / 20, 2)


def test_number_question_shows_a_mean_only_from_the_minimum(campaign):
    add_responses(campaign, [{"hours": h} for h in (2, 4, 6, 8)])
    assert question(results.campaign_results(campaign), "hours").mean is None
    add_responses(campaign, [{"hours": 10}])
    hours = question(results.campaign_results(campaign), "hours")
    assert (hours.n, hours.mean) == (5, 6.0)


def test_several_choices_count_people_not_ticks(campaign):
    add_responses(
        campaign,
        [{"support": ["training", "time"]}] * 6 + [{"support": ["training"]}] * 6,
    )
    support = question(results.campaign_results(campaign), "support")
    assert support.n == 12
    assert [(c.key, c.count) for c in support.cells] == [
        ("training", 12),
        ("time", 6),
        ("community", 0),
    ]


def test_results_only_over_closed_campaigns(program):
    """While a campaign is open, a change after one person answers would show their answers."""
    open_campaign = make_campaign(make_template(program), status=Campaign.Status.OPEN)
    likert_responses(open_campaign, [5, 5, 5, 5, 5])
    got = results.campaign_results(open_campaign)
    assert got.responses == 0 and all(q.n == 0 for q in got.questions)


def test_free_text_only_when_asked_for_and_from_the_minimum_and_shuffled(campaign):
    add_responses(campaign, [{"improve": f"idea {i}"} for i in range(4)])
    assert question(results.campaign_results(campaign), "improve").texts is None
    assert question(results.campaign_results(campaign, free_text=True), "improve").texts == []
    add_responses(campaign, [{"improve": f"idea {i}"} for i in range(4, 12)] + [{"improve": " "}])
    orders = set()
    for _ in range(8):
        texts = question(results.campaign_results(campaign, free_text=True), "improve").texts
        assert sorted(texts) == sorted(f"idea {i}" for i in range(12))
        orders.add(tuple(texts))
    assert len(orders) > 1, "free text must not come back in one fixed order"


def test_guide_results_count_only_responses_about_them(campaign, mentor, other_mentor):
    likert_responses(campaign, [0, 0, 0, 5, 1], about_guide=mentor)
    likert_responses(campaign, [0, 0, 0, 0, 7], about_guide=other_mentor)
    got = results.guide_results(campaign, mentor)
    assert got.responses == 6
    assert [c.count for c in question(got, "satisfaction").cells] == [0, 0, 0, None, None]


def test_guide_results_leave_out_guides_own_answers(program, mentor):
    check_in = make_campaign(make_template(program, kind="check_in", audience=Audience.BOTH))
    likert_responses(check_in, [0, 0, 0, 5, 0], about_guide=mentor)
    likert_responses(check_in, [5, 0, 0, 0, 0], about_guide=mentor, audience=Audience.GUIDES)
    got = results.guide_results(check_in, mentor)
    assert got.responses == 5


def test_filters_split_by_the_response_attributes(campaign):
    likert_responses(campaign, [0, 0, 0, 5, 0], formal=True, peer=False)
    likert_responses(campaign, [0, 0, 0, 0, 6], formal=False, peer=True)
    got = results.results(ResponseFilter(campaigns=(campaign,), formal=False))
    assert got.responses == 6
    got = results.results(ResponseFilter(programs=(campaign.program,), peer=False))
    assert [c.count for c in question(got, "satisfaction").cells] == [0, 0, 0, 5, 0]


def test_pooled_across_programs_by_question_key(campaign, other_program):
    other = make_campaign(make_template(other_program))
    likert_responses(campaign, [0, 0, 0, 3, 0])
    likert_responses(other, [0, 0, 0, 3, 0])
    got = results.results(ResponseFilter(campaigns=(campaign, other)))
    assert [c.count for c in question(got, "satisfaction").cells] == [0, 0, 0, 6, 0]


def test_answers_to_a_removed_choice_still_count(campaign):
    add_responses(campaign, [{"recommend": "yes"}] * 5 + [{"recommend": "gone"}] * 5)
    cells = question(results.campaign_results(campaign), "recommend").cells
    assert ("gone", 5) in [(c.key, c.count) for c in cells]
    assert cells[-1].label == "gone (no longer offered)"


def test_csv_rows_say_hidden_and_never_the_hidden_count(campaign):
    likert_responses(campaign, [0, 3, 6, 9, 0])
    rows = list(results.results_csv_rows(results.campaign_results(campaign)))
    satisfaction = [r for r in rows if r[1] == "satisfaction"]
    assert [r[7] for r in satisfaction] == [0, "hidden", "hidden", 9, 0]
    assert all(len(r) == len(results.RESULTS_CSV_HEADER) for r in rows)


@pytest.mark.parametrize("size", [6, 60])
def test_results_queries_do_not_grow_with_responses(campaign, size, django_assert_max_num_queries):
    likert_responses(campaign, [size, size, size, size, size])
    add_responses(campaign, [{"improve": "x", "support": ["time"], "hours": 3}] * size)
    with django_assert_max_num_queries(5):
        got = results.campaign_results(campaign, free_text=True)
    assert got.responses == 6 * size


# --- Response rates: counts from invitations --------------------------------------------------
def test_rates_per_campaign_and_program(program, campaign):
    people = [UserFactory() for _ in range(4)]
    invite(campaign, people, answered=3)
    annotated = results.with_rates(Campaign.objects.filter(pk=campaign.pk)).get()
    rate = results.rate_of(annotated)
    assert (rate.invited, rate.answered, rate.percent) == (4, 3, 75)
    assert results.rate_of(campaign).percent == 75
    overall = results.program_rates(program)["overall"]
    assert (overall.invited, overall.answered) == (4, 3)
    assert results.Rate(0, 0).percent is None


def test_non_responders_only_for_named_follow_up_check_ins(program):
    people = [UserFactory(full_name=f"Person {i}") for i in range(3)]
    end = make_campaign(make_template(program), named_follow_up=False)
    invite(end, people, answered=1)
    assert list(results.non_responders(end)) == []
    template = make_template(program, kind="check_in", audience=Audience.BOTH)
    quiet = make_campaign(template, named_follow_up=False)
    invite(quiet, people, answered=1)
    assert list(results.non_responders(quiet)) == []
    named = make_campaign(template, named_follow_up=True)
    invite(named, people, answered=1)
    assert [i.person.full_name for i in results.non_responders(named)] == ["Person 1", "Person 2"]


def test_answer_counts_for_the_editor(campaign):
    add_responses(campaign, [{"recommend": "yes"}] * 2 + [{"recommend": "no"}])
    counts = results.answer_counts(campaign.template)
    recommend = campaign.template.questions.get(key="recommend")
    assert counts[recommend.pk] == 3
    assert results.answered_choices(recommend) == {"yes", "no"}


# --- One reader: nothing else in the project reads responses ----------------------------------
READERS = re.compile(
    r"\b(Response|Answer)\.objects\b|\.(responses|answers)\.(all|filter|count)"
    r"|\bsurveys_(response|answer)\b"  # raw SQL
)
WRITERS = {"surveys/answering.py"}  # writes a response; reads none


def test_nothing_but_the_results_service_reads_responses():
    root = pathlib.Path(django_settings.BASE_DIR)
    offenders = []
    for path in root.glob("*/**/*.py"):
        rel = path.relative_to(root).as_posix()
        if rel.startswith((".venv/", "tests/", "var/", "build/")) or "/migrations/" in rel:
            continue
        if rel in WRITERS | {"surveys/results.py"}:
            continue
        if READERS.search(path.read_text()):
            offenders.append(rel)
    assert not offenders, f"only surveys/results.py reads survey responses: {offenders}"


def test_response_rows_never_reach_the_admin():
    assert Response not in admin.site._registry
    assert Question  # the editor is in the console, not the admin
