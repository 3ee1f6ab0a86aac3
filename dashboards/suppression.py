"""Small-cell and complementary suppression (R6, R7). Pure computation: no ORM.

A *cell* is one figure for one combination of filters (a key: a tuple of coordinates) with the
number of people it speaks for, `n`. A *line* is a total and its parts, `(total, parts)`: the
parts split the total (every learner of a year is in one cohort; the year's total is the
"all cohorts" cell). Anyone who sees the total and all parts but one can subtract; that is
how a hidden figure leaks "across filters": the page shows "all programs" under one filter and
each program under another.

The rule, applied to the whole cube of every filter combination at once, so that every page
shows a slice of one consistent pattern:

1. Primary: a cell of 1 to `min_cell - 1` people is hidden. A zero is shown as zero (nobody
   to protect) and is never used as a complement (hiding it protects nobody).
2. Complementary, in every line:
   a. never exactly one hidden cell (the total minus the shown parts would give it back);
   b. when the total is shown, the hidden parts hold at least `min_cell` people together
      (what subtraction reveals is then a group no smaller than one we would show), and
   c. more people than hidden cells (a reader knows a hidden cell is not zero; if the hidden
      parts added up to their number, each would be 1).
   When a line breaks one of these, its smallest shown part is hidden too (the total only if
   no part is left): the smallest, because it costs the fewest people.
3. Audit: hidden cells are unknowns of the linear system of every line; a hidden cell that the
   system determines (whatever the other hidden cells are) would be recoverable by combining
   several lines. Each such cell gets one more complement on a line through it, then rules 2
   and 3 run again until nothing changes.

Only lines that add up exactly in the data are equations (`additive_lines`): a learner in two
programs counts once in "all programs", so there subtraction gives a lower bound on the hidden
parts, not their value; the same line becomes an equation at the next refresh if the data
makes it add up. What is not covered: a shown rate of 0% or 100%
tells something about everyone in a group of at least `min_cell` (that is what a figure is);
the research export deals with such attributes separately (dashboards/research_export.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

Key = tuple
Line = tuple[Key, tuple[Key, ...]]


@dataclass(frozen=True)
class Dimension:
    """One coordinate of a cube and how its values add up.

    `lines`: (total value, part values) pairs, e.g. ("", ("2024", "2025")) for cohorts with
    "" meaning all. A dimension with no lines (the academic year) never adds up: each value is
    a table of its own.
    """

    name: str
    lines: tuple[tuple[Hashable, tuple[Hashable, ...]], ...] = ()


def _order(key) -> str:
    return repr(key)


def cube_lines(keys: Iterable[Key], dimensions: Sequence[Dimension]) -> list[Line]:
    """Every line of a cube whose cells are `keys`: for each dimension's (total, parts) and
    each combination of the other coordinates that has at least one of those cells."""
    keys = list(keys)
    lines: list[Line] = []
    for d, dimension in enumerate(dimensions):
        by_value: dict[Hashable, list[Key]] = defaultdict(list)
        for key in keys:
            by_value[key[d]].append(key)
        for total, parts in dimension.lines:
            rests = set()
            for value in (total, *parts):
                rests.update(key[:d] + key[d + 1 :] for key in by_value.get(value, ()))
            for rest in sorted(rests, key=_order):
                lines.append(
                    (
                        (*rest[:d], total, *rest[d:]),
                        tuple((*rest[:d], part, *rest[d:]) for part in parts),
                    )
                )
    return lines


def additive_lines(counts: Mapping[Key, int], lines: Iterable[Line]) -> list[Line]:
    """The lines whose parts add up exactly to their total in these counts (absent = 0).

    Only those let a reader subtract: a learner in two programs counts once in "all programs",
    so there the parts add up to more than the total, and subtracting the shown parts from the
    total gives a lower bound on the hidden ones, never their value."""
    return [
        (total, parts)
        for total, parts in lines
        if counts.get(total, 0) == sum(counts.get(part, 0) for part in parts)
    ]


def suppress(
    counts: Mapping[Key, int],
    lines: Sequence[Line],
    *,
    min_cell: int,
    also_hidden: Iterable[Key] = (),
    fixed_shown: Iterable[Key] = (),
    unknown: Iterable[Key] = (),
    trace: list | None = None,
) -> frozenset:
    """The cells to hide (see the module docstring). `counts` maps cells to their number of
    people; a cell absent from it is zero. Deterministic for the same input.

    Cells published by another service can take part, so that what it hides stays hidden:
    `also_hidden` are hidden whatever their size (and protected like a small cell);
    `fixed_shown` are shown by the other service whatever we decide (never a complement);
    `unknown` are figures nobody publishes (hidden, but nothing to protect: e.g. one side's
    share of a campaign that is published pooled). `trace`, if given, receives (cell, why) for
    every cell hidden as a complement."""
    if min_cell < 2:
        raise ValueError("min_cell must be at least 2")

    def n(key) -> int:
        return counts.get(key, 0)

    fixed = set(fixed_shown)
    unprotected = {key for key in unknown if counts.get(key, 0) > 0}
    hidden = {key for key, value in counts.items() if 0 < value < min_cell and key not in fixed}
    forced = {key for key in also_hidden if counts.get(key, 0) > 0}
    hidden |= forced
    hidden |= unprotected
    by_cell: dict[Key, list[int]] = defaultdict(list)
    for index, (total, parts) in enumerate(lines):
        for key in (total, *parts):
            by_cell[key].append(index)

    def complement(line: Line):
        """The cell to hide next on this line: its smallest shown part, else its total."""
        total, parts = line
        shown = [p for p in parts if n(p) > 0 and p not in hidden and p not in fixed]
        if shown:
            return min(shown, key=lambda p: (n(p), _order(p)))
        if n(total) > 0 and total not in hidden and total not in fixed:
            return total
        return None

    def line_breaks_rule(line: Line) -> bool:
        total, parts = line
        hidden_parts = [p for p in parts if p in hidden and n(p) > 0]
        count = len(hidden_parts) + (1 if total in hidden and n(total) > 0 else 0)
        if count == 0:
            return False
        if all(p in unprotected for p in hidden_parts) and (
            total not in hidden or total in unprotected
        ):
            return False  # nothing on this line to protect
        if count == 1:
            return True
        if total in hidden:
            return False
        people = sum(n(p) for p in hidden_parts)
        return people < min_cell or people <= len(hidden_parts)

    pending = sorted(range(len(lines)))
    audits: dict = {}
    bound_audits: dict = {}
    while True:
        # Rule 2 until every line holds; a newly hidden cell re-checks the lines through it.
        queue = list(pending)
        queued = set(queue)
        while queue:
            index = queue.pop()
            queued.discard(index)
            line = lines[index]
            while line_breaks_rule(line):
                extra = complement(line)
                if extra is None:
                    break
                hidden.add(extra)
                if trace is not None:
                    trace.append((extra, ("line", line)))
                for other in by_cell[extra]:
                    if other not in queued:
                        queued.add(other)
                        queue.append(other)
        # Rule 3: the audits, of the cells that need protecting (a complement holds at least
        # the minimum: pinning it tells no more than showing it would): exact linear
        # combinations, then the bounds a reader gets from knowing that a hidden cell holds
        # at least one person (propagated, then by linear programming).
        protected = {key for key in hidden if key in forced or 0 < n(key) < min_cell}
        determined = recoverable(counts, hidden, lines, cache=audits) & protected
        if not determined:
            determined = pinned(counts, hidden, lines) & protected
        if not determined:
            determined = bounded(counts, hidden, lines, protected, cache=bound_audits)
        if not determined:
            return frozenset(hidden)
        pending = []
        added = False
        for cell in sorted(determined, key=_order):
            extra = _nearest_complement(cell, lines, by_cell, hidden, n, fixed)
            if extra is not None:
                hidden.add(extra)
                pending.extend(by_cell[extra])
                if trace is not None:
                    trace.append((extra, ("audit", cell)))
                added = True
        if not added:  # nothing left to hide around them (cannot happen with real totals)
            return frozenset(hidden)


def _nearest_complement(cell, lines, by_cell, hidden, n, fixed):
    """The smallest shown cell on a line through `cell`; failing that, on a line through a
    hidden cell that shares a line with it, and so on outwards. Never a `fixed` cell."""
    seen_cells = {cell}
    frontier = [cell]
    seen_lines: set[int] = set()
    while frontier:
        candidates = []
        next_frontier = []
        for key in frontier:
            for index in by_cell[key]:
                if index in seen_lines:
                    continue
                seen_lines.add(index)
                total, parts = lines[index]
                for member in (total, *parts):
                    if n(member) <= 0:
                        continue
                    if member in hidden:
                        if member not in seen_cells:
                            seen_cells.add(member)
                            next_frontier.append(member)
                    elif member not in fixed:
                        candidates.append(member)
        if candidates:
            return min(candidates, key=lambda k: (n(k), _order(k)))
        frontier = next_frontier
    return None


def pinned(counts: Mapping[Key, int], hidden: Iterable[Key], lines: Sequence[Line]) -> set:
    """Hidden cells a reader can pin to one value with bounds: every hidden cell holds at
    least 1 (zeros are shown), a total at least what its parts hold, a part at most its total
    minus what the others hold at least, and so on until nothing moves (interval propagation
    over the lines, in whole numbers). Catches what linear algebra cannot: two hidden cells of
    1 under a shown total of 3 next to a hidden cell of 1 pin each other."""
    hidden = {key for key in hidden if counts.get(key, 0) > 0}
    if not hidden:
        return set()
    infinity = float("inf")
    low = {key: 1 for key in hidden}
    high = {key: infinity for key in hidden}

    def lo(key):
        return low[key] if key in hidden else counts.get(key, 0)

    def hi(key):
        return high[key] if key in hidden else counts.get(key, 0)

    relevant = [
        (total, parts)
        for total, parts in lines
        if total in hidden or any(part in hidden for part in parts)
    ]
    for _ in range(50):  # bounds only tighten; a few rounds settle them
        changed = False
        for total, parts in relevant:
            parts_low = sum(lo(p) for p in parts)
            parts_high = sum(hi(p) for p in parts)
            if total in hidden:
                if parts_low > low[total]:
                    low[total], changed = parts_low, True
                if parts_high < high[total]:
                    high[total], changed = parts_high, True
            for part in parts:
                if part not in hidden:
                    continue
                others_low = parts_low - lo(part)
                others_high = parts_high - hi(part)
                if hi(total) - others_low < high[part]:
                    high[part], changed = hi(total) - others_low, True
                if lo(total) - others_high > low[part]:
                    low[part], changed = lo(total) - others_high, True
        if not changed:
            break
    return {key for key in hidden if low[key] >= high[key]}


def bounded(
    counts: Mapping[Key, int],
    hidden: Iterable[Key],
    lines: Sequence[Line],
    protected: Iterable[Key],
    *,
    cache: dict | None = None,
) -> set:
    """Protected hidden cells whose range, given the lines, the shown cells and "every hidden
    cell holds at least 1", holds fewer than two whole numbers: the least and greatest value
    by linear programming (HiGHS, scipy), per connected group of hidden cells. The integer
    range can only be narrower than this one, so a cell passing here may in rare 3-D tables of
    ones and twos still be pinned by an integer program; the property tests look for that."""
    from scipy.optimize import linprog

    hidden = {key for key in hidden if counts.get(key, 0) > 0}
    protected = set(protected) & hidden
    if not protected:
        return set()
    found: set = set()
    for members, rows in _components(hidden, lines):
        targets = [key for key in members if key in protected]
        if not targets:
            continue
        signature = (frozenset(members), frozenset(targets))
        if cache is not None and signature in cache:
            found.update(cache[signature])
            continue
        column = {key: j for j, key in enumerate(members)}
        matrix = np.zeros((len(rows), len(members)))
        rhs = np.zeros(len(rows))
        for i, (total, parts) in enumerate(rows):
            for key, sign in [(total, 1.0), *[(p, -1.0) for p in parts]]:
                if key in column:
                    matrix[i, column[key]] += sign
                else:
                    rhs[i] -= sign * counts.get(key, 0)
        # The true counts are one solution: a cell that can move by a whole person along a
        # direction that keeps every line and every cell at least 1 is not pinned (no linear
        # program needed); the others get the two linear programs.
        now = np.array([counts[key] for key in members], dtype=float)
        movable = np.zeros(len(members), dtype=bool)
        for direction in _null_space(matrix):
            for step in (direction, -direction):
                falling = step < -1e-12
                reach = np.min((now[falling] - 1) / -step[falling]) if falling.any() else np.inf
                moving = np.abs(step) > 1e-12
                movable[moving] |= np.abs(step[moving]) * reach >= 1 - 1e-9
        here = []
        for key in targets:
            if movable[column[key]]:
                continue
            objective = np.zeros(len(members))
            ends = []
            for sign in (1.0, -1.0):
                objective[column[key]] = sign
                result = linprog(objective, A_eq=matrix, b_eq=rhs, bounds=(1, None), method="highs")
                ends.append(sign * result.fun if result.status == 0 else sign * -np.inf)
            low, high = ends
            if np.floor(high + 1e-9) - np.ceil(low - 1e-9) < 1:
                here.append(key)
        if cache is not None:
            cache[signature] = here
        found.update(here)
    return found


def _components(hidden: set, lines: Sequence[Line]) -> list[tuple[list, list]]:
    """Connected groups of hidden cells (linked by lines), each with its lines."""
    parent = {key: key for key in hidden}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    touching = []
    for line in lines:
        total, parts = line
        members = [key for key in (total, *parts) if key in hidden]
        if not members:
            continue
        touching.append((line, members[0]))
        root = find(members[0])
        for key in members[1:]:
            other = find(key)
            if other != root:
                parent[other] = root
    groups: dict = defaultdict(list)
    for key in hidden:
        groups[find(key)].append(key)
    rows: dict = defaultdict(list)
    for line, member in touching:
        rows[find(member)].append(line)
    return [
        (sorted(members, key=_order), rows[root])
        for root, members in sorted(groups.items(), key=lambda item: _order(item[0]))
    ]


def recoverable(
    counts: Mapping[Key, int],
    hidden: Iterable[Key],
    lines: Sequence[Line],
    *,
    cache: dict | None = None,
) -> set:
    """Hidden cells whose value follows from the shown cells through the lines (a linear
    combination of lines gives it exactly), whatever the other hidden cells hold.

    Each connected group of hidden cells (linked by shared lines) is one linear system
    A x = b; x_i is determined exactly when every solution of A x = 0 has x_i = 0, i.e. row i
    of a basis of A's null space is zero, i.e. e_i lies in A's row space.

    `cache` (one per set of lines) keeps each component's answer: a round of `suppress`
    usually changes one component, and the others need no new elimination."""
    hidden = {key for key in hidden if counts.get(key, 0) > 0}
    if not hidden:
        return set()
    equations: list[list[tuple[Key, float]]] = []
    for total, parts in lines:
        terms = []
        if total in hidden:
            terms.append((total, 1.0))
        terms.extend((p, -1.0) for p in parts if p in hidden)
        if terms:
            equations.append(terms)
    # Connected components of hidden cells (union-find over equations).
    parent = {key: key for key in hidden}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for terms in equations:
        first = find(terms[0][0])
        for key, _ in terms[1:]:
            root = find(key)
            if root != first:
                parent[root] = first
    components: dict[Key, list[int]] = defaultdict(list)
    for index, terms in enumerate(equations):
        components[find(terms[0][0])].append(index)
    groups: dict[Key, list[Key]] = defaultdict(list)
    for key in hidden:
        groups[find(key)].append(key)
    determined: set = set()
    for root, group in groups.items():
        members = sorted(group, key=_order)
        signature = frozenset(group)
        if cache is not None and signature in cache:
            determined.update(cache[signature])
            continue
        rows = components.get(root, [])
        if not rows:
            continue  # on no line at all: nothing relates it to shown figures
        column = {key: j for j, key in enumerate(members)}
        matrix = np.zeros((len(rows), len(members)))
        for i, index in enumerate(rows):
            for key, coefficient in equations[index]:
                matrix[i, column[key]] += coefficient
        found = [members[j] for j in _determined_columns(matrix)]
        if cache is not None:
            cache[signature] = found
        determined.update(found)
    return determined


def _reduced_row_echelon(matrix: np.ndarray, tolerance: float) -> tuple[np.ndarray, list[int]]:
    """The reduced row echelon form of `matrix` and its pivot columns.

    Gauss-Jordan elimination with partial pivoting in plain numpy array operations: the
    matrices are small (hundreds of rows) with entries 0 and +-1, and elementwise updates
    avoid the BLAS thread pool, which on a busy two-core machine made an SVD of this size
    take half a second."""
    a = matrix.astype(float, copy=True)
    rows, columns = a.shape
    pivots: list[int] = []
    row = 0
    for column in range(columns):
        if row == rows:
            break
        candidate = row + int(np.argmax(np.abs(a[row:, column])))
        if abs(a[candidate, column]) < tolerance:
            continue
        if candidate != row:
            a[[row, candidate]] = a[[candidate, row]]
        a[row] /= a[row, column]
        factors = a[:, column].copy()
        factors[row] = 0.0
        others = np.flatnonzero(np.abs(factors) > tolerance)
        if others.size:
            a[others] -= np.outer(factors[others], a[row])
        pivots.append(column)
        row += 1
    return a, pivots


def _determined_columns(matrix: np.ndarray, tolerance: float = 1e-9) -> list[int]:
    """Columns j with e_j in the row space of `matrix`: in its reduced row echelon form, a
    pivot column whose row has nothing in any non-pivot column."""
    a, pivots = _reduced_row_echelon(matrix, tolerance)
    columns = a.shape[1]
    free = np.ones(columns, dtype=bool)
    free[pivots] = False
    return [
        column
        for index, column in enumerate(pivots)
        if not (np.abs(a[index, free]) > tolerance).any()
    ]


def _null_space(matrix: np.ndarray, tolerance: float = 1e-9) -> list[np.ndarray]:
    """A basis of the solutions of matrix @ x = 0 (from the reduced row echelon form: one
    vector per free column)."""
    a, pivots = _reduced_row_echelon(matrix, tolerance)
    columns = a.shape[1]
    basis = []
    for free in sorted(set(range(columns)) - set(pivots)):
        vector = np.zeros(columns)
        vector[free] = 1.0
        for index, pivot in enumerate(pivots):
            vector[pivot] = -a[index, free]
        basis.append(vector)
    return basis
