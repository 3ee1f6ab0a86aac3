"""Comparing two groups: differences, effect sizes, 95% confidence intervals and a reading in
plain words. Pure computation (no ORM); the statistics come from statsmodels and scipy.

- A share (retained, burned out): the risk difference p1 - p2 with Newcombe's hybrid score
  interval (statsmodels `confint_proportions_2indep`, method "newcomb"), and the p-value of
  the score test (`test_proportions_2indep`, method "score"). The effect size is the risk
  difference itself, in percentage points.
- A mean of a 1-5 answer (satisfaction): the difference of means with Welch's interval
  (scipy `ttest_ind(equal_var=False).confidence_interval`), computed on the answers themselves
  (rebuilt from the counts of each point), and Cohen's d with the pooled standard deviation.

The reading says "No difference detectable with these numbers" whenever the interval includes
zero; otherwise which group is higher and by how much, with the interval. Always observational:
people were not assigned to the groups at random (`CAVEAT`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

CONFIDENCE = 0.95
CAVEAT = (
    "These comparisons describe your own data; they do not show that one form of support "
    "causes better outcomes, because people were not assigned to the groups at random (who "
    "chooses informal mentoring, or is offered a peer, differs in other ways too)."
)


@dataclass(frozen=True)
class Proportion:
    label: str
    n: int
    count: int  # how many have the outcome

    @property
    def share(self) -> float:
        return self.count / self.n


@dataclass(frozen=True)
class Answers:
    label: str
    counts: tuple[int, ...]  # how many answered 1, 2, ... (scale_min up)
    scale_min: int = 1

    @property
    def n(self) -> int:
        return sum(self.counts)

    def values(self) -> np.ndarray:
        points = np.arange(self.scale_min, self.scale_min + len(self.counts))
        return np.repeat(points, self.counts).astype(float)

    @property
    def mean(self) -> float:
        return float(self.values().mean())


@dataclass(frozen=True)
class Difference:
    first: str
    second: str
    estimate: float  # first minus second: percentage points, or points of the scale
    ci_low: float
    ci_high: float
    p_value: float
    effect_size: float | None
    effect_size_name: str  # "risk difference (points)" or "Cohen's d"
    effect_words: str
    unit: str  # "percentage points" or "points"
    reading: str

    @property
    def detectable(self) -> bool:
        """False when the 95% interval includes zero."""
        return not (self.ci_low <= 0 <= self.ci_high)


def _d_words(d: float | None) -> str:
    if d is None:
        return "no spread to compare"
    size = abs(d)
    if size < 0.2:
        return "a negligible effect"
    if size < 0.5:
        return "a small effect"
    if size < 0.8:
        return "a medium effect"
    return "a large effect"


def _rd_words(points: float) -> str:
    size = abs(points)
    if size < 2:
        return "a very small difference"
    if size < 5:
        return "a small difference"
    if size < 10:
        return "a moderate difference"
    return "a large difference"


def _with_reading(
    d: Difference, *, outcome: str, shown_first: str, shown_second: str, words: str, digits: int
) -> Difference:
    """`d` with its plain reading: what each group showed, the interval, and the words."""
    interval = f"95% interval {d.ci_low:+.{digits}f} to {d.ci_high:+.{digits}f} {d.unit}"
    if not d.detectable:
        reading = (
            f"No difference detectable with these numbers: {outcome} {shown_first} with "
            f"{d.first} and {shown_second} with {d.second} ({interval}, which includes zero)."
        )
    else:
        direction = "higher" if d.estimate > 0 else "lower"
        size = f"{abs(d.estimate):.{digits}f} {d.unit}"
        reading = (
            f"{outcome[:1].upper()}{outcome[1:]} was {size} {direction} with "
            f"{d.first} than with {d.second} ({shown_first} and {shown_second}; {interval}): "
            f"{words}."
        )
    return replace(d, reading=reading)


def compare_proportions(first: Proportion, second: Proportion, *, outcome: str) -> Difference:
    """Risk difference first - second, in percentage points, with Newcombe's 95% interval."""
    from statsmodels.stats.proportion import (
        confint_proportions_2indep,
        test_proportions_2indep,
    )

    if min(first.n, second.n) < 1:
        raise ValueError("each group needs at least one person")
    low, high = confint_proportions_2indep(
        first.count,
        first.n,
        second.count,
        second.n,
        method="newcomb",
        compare="diff",
        alpha=1 - CONFIDENCE,
    )
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # Everyone (or no one) in both groups: statsmodels divides by zero on its way to NaN.
        warnings.simplefilter("ignore", RuntimeWarning)
        test = test_proportions_2indep(
            first.count, first.n, second.count, second.n, method="score", compare="diff"
        )
    p_value = float(test.pvalue)
    if math.isnan(p_value):  # no variation at all (everyone, or no one, in both groups)
        p_value = 1.0
    estimate = 100 * (first.share - second.share)
    low, high = 100 * float(low), 100 * float(high)
    difference = Difference(
        first=first.label,
        second=second.label,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        effect_size=estimate,
        effect_size_name="risk difference (percentage points)",
        effect_words=_rd_words(estimate),
        unit="percentage points",
        reading="",
    )
    return _with_reading(
        difference,
        outcome=outcome,
        shown_first=f"{100 * first.share:.1f}% of {first.n:,}",
        shown_second=f"{100 * second.share:.1f}% of {second.n:,}",
        words=difference.effect_words,
        digits=1,
    )


def cohens_d(first: np.ndarray, second: np.ndarray) -> float | None:
    """(mean1 - mean2) / pooled standard deviation; None when neither group varies."""
    n1, n2 = len(first), len(second)
    pooled = ((n1 - 1) * first.var(ddof=1) + (n2 - 1) * second.var(ddof=1)) / (n1 + n2 - 2)
    if pooled <= 0:
        return None
    return float((first.mean() - second.mean()) / math.sqrt(pooled))


def compare_means(first: Answers, second: Answers, *, outcome: str) -> Difference:
    """Difference of means first - second with Welch's 95% interval, and Cohen's d."""
    from scipy import stats

    if min(first.n, second.n) < 2:
        raise ValueError("each group needs at least two answers")
    a, b = first.values(), second.values()
    estimate = float(a.mean() - b.mean())
    if a.var() == 0 and b.var() == 0:
        # Nobody varies: the interval is the difference itself.
        low = high = estimate
        p_value = 1.0 if estimate == 0 else 0.0
    else:
        result = stats.ttest_ind(a, b, equal_var=False)
        interval = result.confidence_interval(CONFIDENCE)
        low, high = float(interval.low), float(interval.high)
        p_value = float(result.pvalue)
    d = cohens_d(a, b)
    words = _d_words(d)
    difference = Difference(
        first=first.label,
        second=second.label,
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        effect_size=d,
        effect_size_name="Cohen's d",
        effect_words=words,
        unit="points",
        reading="",
    )
    return _with_reading(
        difference,
        outcome=outcome,
        shown_first=f"mean {a.mean():.2f} of {first.n:,} answers",
        shown_second=f"mean {b.mean():.2f} of {second.n:,} answers",
        words=f"{words} (Cohen's d {d:+.2f})" if d is not None else words,
        digits=2,
    )


def pairs(groups: Sequence) -> list[tuple]:
    """Every pair of groups, in order: (a, b), (a, c), (b, c)."""
    return [(groups[i], groups[j]) for i in range(len(groups)) for j in range(i + 1, len(groups))]
