"""The refresh: every dashboard figure, for every combination of filters, computed in one
transaction, suppressed over the whole cube, stored in `SummaryCell`.

Run by the periodic task `dashboards.tasks.refresh_summaries`; pages read the result through
dashboards/aggregates/ and say when it was computed (`SummaryRefresh`).

Coordinates of a cell: (figure, academic year, program node, cohort, split). The program node
is ("", None) for every program, (kind, None) for every program of a kind, (kind, id) for one
program. Cohort "" is every cohort. Figures, their units (`n`) and measures:

- learners: n = learners in school during the year (enrolled or on leave at some point);
  measure `retained` (not withdrawn at the year's end, or today). Splits: guided / not_guided
  (a relationship in the node's programs during the year); at cohort "" also formal /
  informal / mixed_origin, faculty / peer / mixed_guide, and for every program together
  only_mentoring / only_coaching / only_advising / several_kinds (of the guided; within one
  kind or program it would repeat "guided").
- faculty: n = faculty guides (not learners anywhere) active during the year; `retained`
  (still active at its end).
- engagement: n = relationships held during the program's terms of the year;
  `relationship_terms` (relationship x term pairs) and `meetings` (completed, in those terms).
- active_recently (year empty: today): n = active relationships; `met` (a completed meeting
  in the last 60 days).
- guide_load (today): n = guides with a current guide role; splits "0" ... "5", "6+" current
  relationships; `relationships`, `capacity`.
- intake: n = learners' entries into a program during the year; `matched`, and when at least
  the minimum matched, `median_days`, `p25_days`, `p75_days` from entry to first relationship.
- conflicts: n = R2 conflicts raised during the year; `resolved`, `median_days` to resolve.
- satisfaction_learners, satisfaction_guides, wellbeing_learners, wellbeing_guides: n =
  answers in closed campaigns that opened during the year; splits formal / informal /
  formal_unknown, peer / faculty / guide_unknown, mentoring / coaching / advising /
  kind_unknown; `hist`: counts of the answers 1 to 5 (for statistics only, never shown).

Definitions that are choices, not facts:
- A learner's cohort is their profile's cohort ("Class of 2029") or, without one, their entry
  year ("Entry 2024-25": the academic year of their first status, else first membership).
- A learner with no status history counts as enrolled from their first learner membership
  (and so as retained): schools that import statuses get true retention.
- A relationship "held" is active, paused or ended (not proposed, not declined).
- A peer guide is a guide who holds a learner role somewhere.
- The current academic year is counted up to today (pages mark it "so far").
"""

from __future__ import annotations

import datetime
import logging
import time

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from dashboards import years as ay
from dashboards.cube import Context, Family, params_of
from dashboards.cubes_activity import (
    active_recently_family,
    conflict_family,
    engagement_family,
    guide_load_family,
    intake_family,
)
from dashboards.cubes_learners import drop_temporary, faculty_family, learner_family, prepare
from dashboards.cubes_surveys import survey_family
from dashboards.models import SummaryCell, SummaryRefresh
from dashboards.suppression import additive_lines, suppress
from mentoring.models import Program

logger = logging.getLogger(__name__)

REFRESH_LOCK = 0x6DA5B0A2  # pg advisory lock: one refresh at a time (a duplicated beat waits)
KEEP_REFRESHES = 50

FAMILIES = (
    learner_family,
    faculty_family,
    engagement_family,
    active_recently_family,
    guide_load_family,
    intake_family,
    conflict_family,
    survey_family,
)


def _cells(family: Family, min_cell: int) -> tuple[list[SummaryCell], int]:
    lines = additive_lines(family.counts, family.lines)
    hidden = suppress(
        family.counts,
        lines,
        min_cell=min_cell,
        also_hidden=family.also_hidden,
        fixed_shown=family.fixed_shown,
        unknown=family.unknown,
    )
    out = []
    for key, n in family.counts.items():
        if key in family.external:
            continue
        figure, year, (kind, program_id), cohort, split = key
        is_hidden = key in hidden
        out.append(
            SummaryCell(
                figure=figure,
                year=year,
                kind=kind,
                program_id=program_id,
                cohort=cohort,
                split=split,
                # SECURITY (R6, R7): a hidden cell keeps no figure at all.
                n=None if is_hidden else n,
                measures={} if is_hidden else family.measures[key],
                hidden=is_hidden,
            )
        )
    return out, len(hidden - family.external)


def summaries_refresh(*, now: datetime.datetime | None = None) -> SummaryRefresh | None:
    """Recompute every dashboard figure and replace the stored ones, in one transaction
    (pages read the old figures until it commits). Returns the new `SummaryRefresh`, or None
    when another refresh holds the lock."""

    started = time.perf_counter()
    now = now or timezone.now()
    today = timezone.localdate(now)
    min_cell = int(settings.SURVEY_MIN_CELL)
    last_year = ay.academic_year(today)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REFRESH_LOCK])
        if not cursor.fetchone()[0]:
            logger.info("dashboard refresh already running; skipped")
            return None
        ctx = Context(
            today=today,
            now=now,
            first_year=last_year - ay.YEARS_BACK,
            last_year=last_year,
            tz=settings.TIME_ZONE,
            min_cell=min_cell,
            programs=tuple(Program.objects.order_by("pk").values_list("pk", "kind")),
        )
        prepare(cursor, params_of(ctx))
        cells: list[SummaryCell] = []
        hidden = 0
        timings = []
        for build in FAMILIES:
            step = time.perf_counter()
            family = build(cursor, ctx)
            built, hidden_here = _cells(family, min_cell)
            cells.extend(built)
            hidden += hidden_here
            timings.append(f"{build.__name__.strip('_')} {time.perf_counter() - step:.2f}s")
        drop_temporary(cursor)
        SummaryCell.objects.all().delete()
        SummaryCell.objects.bulk_create(cells, batch_size=5000)
        refresh = SummaryRefresh.objects.create(
            started_at=now,
            finished_at=timezone.now(),
            as_of=today,
            cells=len(cells),
            hidden=hidden,
            duration_ms=int((time.perf_counter() - started) * 1000),
        )
        stale = SummaryRefresh.objects.order_by("-finished_at").values_list("pk", flat=True)[
            KEEP_REFRESHES:
        ]
        SummaryRefresh.objects.filter(pk__in=list(stale)).delete()
    logger.info(
        "dashboard summaries refreshed: %s cells (%s hidden) in %s ms [%s]",
        refresh.cells,
        refresh.hidden,
        refresh.duration_ms,
        ", ".join(timings),
    )
    return refresh
