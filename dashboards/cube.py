"""What every figure of the refresh is built from (dashboards/summaries.py): coordinates,
the cube of cells that add up together (`Family`), and SQL helpers. Pure constants and small
functions; the cubes themselves are in cubes_learners.py, cubes_activity.py, cubes_surveys.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from dashboards import years as ay
from dashboards.suppression import Dimension, cube_lines

ALL_NODE = ("", None)
KINDS = ("mentoring", "coaching", "advising")
LOAD_BUCKETS = ("0", "1", "2", "3", "4", "5", "6+")
RECENT_DAYS = 60

LEARNER_SPLIT_LINES = (("", ("guided", "not_guided")),)
EVALUATION_SPLIT_LINES = (
    ("", ("guided", "not_guided")),
    ("guided", ("formal", "informal", "mixed_origin")),
    ("guided", ("faculty", "peer", "mixed_guide")),
    ("guided", ("only_mentoring", "only_coaching", "only_advising", "several_kinds")),
)
SURVEY_SPLIT_LINES = (
    ("", ("formal", "informal", "formal_unknown")),
    ("", ("faculty", "peer", "guide_unknown")),
    ("", ("mentoring", "coaching", "advising", "kind_unknown")),
)
# Survey questions the dashboards read (surveys/defaults.py keys) -> figure per audience.
SURVEY_FIGURES = {
    ("relationship_satisfaction", "learners"): "satisfaction_learners",
    ("guide_satisfaction", "guides"): "satisfaction_guides",
    ("burnout", "learners"): "wellbeing_learners",
    ("burnout", "guides"): "wellbeing_guides",
}
SURVEY_POINTS = ("1", "2", "3", "4", "5")


@dataclass
class Family:
    """Cells that add up together (one figure, or linked figures), and the lines they add up
    along. Suppression runs over a family at once."""

    counts: dict[tuple, int] = field(default_factory=dict)
    measures: dict[tuple, dict] = field(default_factory=dict)
    lines: list = field(default_factory=list)
    also_hidden: set = field(default_factory=set)
    # Cells another service publishes (or nobody does): in the suppression, never stored.
    external: set = field(default_factory=set)
    fixed_shown: set = field(default_factory=set)
    unknown: set = field(default_factory=set)

    def add_cube(self, cells: dict[tuple, tuple[int, dict]], dimensions: list[Dimension]):
        """Cells of one cube (every combination of its coordinates was computed: a missing
        one is zero) and the lines of its dimensions. Cubes of a family may share cells."""
        for key, (n, measures) in cells.items():
            self.counts[key] = n
            self.measures[key] = measures
        self.lines.extend(cube_lines(cells, dimensions))


@dataclass(frozen=True)
class Context:
    today: datetime.date
    now: datetime.datetime
    first_year: int
    last_year: int
    tz: str
    min_cell: int
    programs: tuple  # (id, kind)


NO_LINES = Dimension("independent")


def ay_sql(expr: str) -> str:
    """SQL for the academic year of a date expression."""
    month = ay.start_month()
    return (
        f"(EXTRACT(YEAR FROM {expr})::int - CASE WHEN EXTRACT(MONTH FROM {expr}) < {month:d} "
        f"THEN 1 ELSE 0 END)"
    )


def local_date(column: str) -> str:
    return f"({column} AT TIME ZONE %(tz)s)::date"


def program_dimension(programs) -> Dimension:
    """Every program adds up to its kind, every kind (and every program) to all programs."""
    lines = [(ALL_NODE, tuple((kind, None) for kind in KINDS))]
    for kind in KINDS:
        lines.append(((kind, None), tuple((kind, pid) for pid, k in programs if k == kind)))
    lines.append((ALL_NODE, tuple((kind, pid) for pid, kind in programs)))
    return Dimension("program", tuple(lines))


def cohort_dimension(cohorts) -> Dimension:
    return Dimension("cohort", (("", tuple(sorted(cohorts))),))


def node(kind, program_id) -> tuple:
    return (kind or "", program_id)


NOT_RECORDED = "Not recorded"


def rolled_up_program(kind, program_id, g_kind, g_program) -> tuple:
    """The program node of a row of GROUP BY ROLLUP(kind, program): all programs (kind rolled
    up), one kind (program rolled up) or one program."""
    return ALL_NODE if g_kind else (kind, None if g_program else program_id)


def rolled_up(kind, program_id, cohort, g_kind, g_program, g_cohort) -> tuple[tuple, str]:
    """The (program node, cohort) of a row of GROUP BY ROLLUP(kind, program), GROUPING SETS
    ((cohort), ()): every cohort ("") or one (blank ones "Not recorded")."""
    cohort = "" if g_cohort else (cohort or NOT_RECORDED)
    return rolled_up_program(kind, program_id, g_kind, g_program), cohort


def program_cohort_family(cells: dict, programs) -> Family:
    """One cube of `cells` over program and cohort (year, split and the rest independent)."""
    family = Family()
    cohorts = {key[3] for key in cells if key[3]}
    family.add_cube(
        cells,
        [NO_LINES, NO_LINES, program_dimension(programs), cohort_dimension(cohorts), NO_LINES],
    )
    return family


def params_of(ctx: Context) -> dict:
    first_day, _ = ay.year_bounds(ctx.first_year)
    return {
        "today": ctx.today,
        "now": ctx.now,
        "recent": ctx.now - datetime.timedelta(days=RECENT_DAYS),
        "first": ctx.first_year,
        "last": ctx.last_year,
        "first_day": first_day,
        "tz": ctx.tz,
    }
