"""Small-cell and complementary suppression (R6, R7), including across filters: properties over
random additive tables, checked by an independent attacker (an integer program that tries to
pin each hidden figure from everything shown)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from dashboards.suppression import (
    Dimension,
    additive_lines,
    cube_lines,
    recoverable,
    suppress,
)

ALL = ""


def _table(leaves: dict, dims: list[tuple[str, ...]]) -> dict:
    """Counts of every cell of an additive table (totals included) from its leaf counts."""
    counts: dict = {}
    for key, value in leaves.items():
        for corner in itertools.product(*[(coordinate, ALL) for coordinate in key]):
            counts[corner] = counts.get(corner, 0) + value
    return {key: value for key, value in counts.items() if value}


def _dimensions(dims) -> list[Dimension]:
    return [Dimension(f"d{i}", ((ALL, values),)) for i, values in enumerate(dims)]


def attacker_range(counts, hidden, lines, cell) -> tuple[float, float]:
    """The least and greatest value `cell` can take given every shown cell and every line
    (hidden cells are whole numbers, at least 1: a reader knows a hidden cell is not zero)."""
    variables = sorted(hidden, key=repr)
    index = {key: i for i, key in enumerate(variables)}
    rows, rhs = [], []
    for total, parts in lines:
        row = np.zeros(len(variables))
        known = 0.0
        for key, sign in [(total, 1.0), *[(p, -1.0) for p in parts]]:
            if key in index:
                row[index[key]] += sign
            else:
                known += sign * counts.get(key, 0)
        if row.any():
            rows.append(row)
            rhs.append(-known)
    constraints = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    out = []
    for sign in (1.0, -1.0):
        objective = np.zeros(len(variables))
        objective[index[cell]] = sign
        result = milp(
            objective,
            constraints=constraints,
            integrality=np.ones(len(variables)),
            bounds=Bounds(1, 10**6),
        )
        assert result.success, result.message
        out.append(sign * result.fun)
    return out[0], out[1]


@st.composite
def tables(draw):
    sizes = draw(st.lists(st.integers(2, 4), min_size=2, max_size=3))
    dims = [tuple(f"v{j}" for j in range(size)) for size in sizes]
    leaves = {key: draw(st.integers(0, 14) | st.integers(0, 3)) for key in itertools.product(*dims)}
    return dims, leaves


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.sampled_from([3, 5]))
def test_no_hidden_figure_can_be_recovered(table, minimum):
    dims, leaves = table
    counts = _table(leaves, dims)
    lines = cube_lines(counts, _dimensions(dims))
    hidden = suppress(counts, lines, min_cell=minimum)

    # Primary: every small cell is hidden; a zero never is.
    for key, value in counts.items():
        if 0 < value < minimum:
            assert key in hidden
    assert all(counts.get(key, 0) > 0 for key in hidden)
    for total, parts in lines:
        members = [m for m in (total, *parts) if counts.get(m, 0) > 0]
        hidden_here = [m for m in members if m in hidden]
        # Across filters: a total and its parts are each shown under some filter; one hidden
        # cell alone on a line would be the total minus the others.
        assert len(hidden_here) != 1, (total, parts)
        if hidden_here and total not in hidden:
            people = sum(counts[p] for p in hidden_here)
            assert people >= minimum
            assert people > len(hidden_here)
    # The independent attacker cannot pin a small cell to one value. (A complement holds at
    # least the minimum: narrowing it down tells no more than showing it.)
    small = {cell for cell in hidden if counts[cell] < minimum}
    for cell in small:
        low, high = attacker_range(counts, hidden, lines, cell)
        assert high - low >= 1, (cell, low, high)
    assert recoverable(counts, hidden, lines) & small == set()


def test_one_small_program_next_to_the_all_programs_total_hides_a_second_program():
    # Learners by program, shown with the all-programs total: hiding only the small one
    # would leave it as "all programs minus the others".
    counts = {("",): 60, ("a",): 30, ("b",): 3, ("c",): 12, ("d",): 15}
    lines = [(("",), (("a",), ("b",), ("c",), ("d",)))]
    hidden = suppress(counts, lines, min_cell=5)
    assert ("b",) in hidden
    assert ("c",) in hidden  # the smallest shown part is its complement
    assert ("a",) not in hidden and ("d",) not in hidden and ("",) not in hidden


def test_a_figure_hidden_under_one_filter_is_not_recovered_from_two_others():
    # Program x cohort, with totals both ways: the hidden cell (b, 2020) must be neither
    # "cohort 2020 of all programs" minus "cohort 2020 of program a", nor "program b, all
    # cohorts" minus "program b, cohort 2021".
    leaves = {("a", "2020"): 20, ("a", "2021"): 25, ("b", "2020"): 2, ("b", "2021"): 30}
    dims = [("a", "b"), ("2020", "2021")]
    counts = _table(leaves, dims)
    lines = cube_lines(counts, _dimensions(dims))
    hidden = suppress(counts, lines, min_cell=5)
    target = ("b", "2020")
    assert target in hidden
    for total, parts in lines:
        members = {total, *parts}
        if target in members:
            assert len(members & hidden) >= 2, (total, parts)
    low, high = attacker_range(counts, hidden, lines, target)
    assert high > low


def test_the_hidden_parts_of_a_line_together_hold_at_least_the_minimum():
    # Two cells of 1 hidden together would still say "these two hold 2 people": 1 each.
    counts = {("",): 42, ("a",): 1, ("b",): 1, ("c",): 20, ("d",): 20}
    lines = [(("",), (("a",), ("b",), ("c",), ("d",)))]
    hidden = suppress(counts, lines, min_cell=5)
    assert {("a",), ("b",), ("c",)} <= hidden
    assert ("d",) not in hidden


def test_a_cell_equal_to_its_total_shares_its_fate():
    # One program of the kind: the kind's total is the program's figure.
    counts = {("k",): 3, ("k", "p"): 3}
    lines = [(("k",), (("k", "p"),))]
    assert suppress(counts, lines, min_cell=5) == {("k",), ("k", "p")}


def test_lines_that_do_not_add_up_are_not_equations():
    # A learner in two programs counts once in the total: subtraction gives a bound only.
    counts = {("",): 10, ("a",): 8, ("b",): 4}
    lines = [(("",), (("a",), ("b",)))]
    assert additive_lines(counts, lines) == []
    assert additive_lines({("",): 12, ("a",): 8, ("b",): 4}, lines) == lines


def test_a_cell_another_service_hides_is_protected_and_its_shown_ones_are_never_complements():
    # A program's year = campaign 1 (shown by surveys/results.py) + campaign 2 (hidden there).
    year, first, second = ("year",), ("c1",), ("c2",)
    counts = {year: 40, first: 30, second: 10}
    lines = [(year, (first, second))]
    hidden = suppress(counts, lines, min_cell=5, also_hidden=[second], fixed_shown=[first])
    assert first not in hidden  # not ours to hide
    assert year in hidden  # otherwise year - campaign 1 = campaign 2


def test_figures_nobody_publishes_need_no_protection():
    # The learners' and guides' parts of a campaign published pooled: unknown, not protected.
    pooled, learners, guides = ("c",), ("c", "l"), ("c", "g")
    counts = {pooled: 30, learners: 20, guides: 10}
    lines = [(pooled, (learners, guides))]
    hidden = suppress(counts, lines, min_cell=5, unknown=[learners, guides])
    assert pooled not in hidden


def test_minimum_below_two_is_refused():
    with pytest.raises(ValueError):
        suppress({("a",): 1}, [], min_cell=1)


def test_same_input_same_pattern():
    leaves = {
        (a, b): (i * 7 + j * 3) % 9 for i, a in enumerate("abcd") for j, b in enumerate("xyz")
    }
    dims = [tuple("abcd"), tuple("xyz")]
    counts = _table(leaves, dims)
    lines = cube_lines(counts, _dimensions(dims))
    assert suppress(counts, lines, min_cell=5) == suppress(
        dict(reversed(list(counts.items()))), lines, min_cell=5
    )
