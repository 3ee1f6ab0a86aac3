"""The activity cubes of the refresh: meetings per relationship per term, relationships
active lately, guide load, time from intake to match, conflicts (definitions:
dashboards/summaries.py)."""

from __future__ import annotations

from dashboards.cube import (
    LOAD_BUCKETS,
    NO_LINES,
    Context,
    Family,
    ay_sql,
    local_date,
    node,
    params_of,
    program_cohort_family,
    program_dimension,
    rolled_up,
    rolled_up_program,
)
from dashboards.suppression import Dimension


# --- Engagement: meetings per relationship per term; active in the last 60 days ------------
def engagement_family(cursor, ctx: Context) -> Family:
    term_year = ay_sql("t.starts_on")
    cursor.execute(
        f"""
        WITH periods AS (
            SELECT t.program_id, t.starts_on AS starts, t.ends_on AS ends, {term_year} AS y
            FROM mentoring_term t
            UNION ALL
            SELECT p.id, y.starts, y.ends, y.y
            FROM mentoring_program p CROSS JOIN dash_years y
            WHERE NOT EXISTS (SELECT 1 FROM mentoring_term t WHERE t.program_id = p.id)
        ),
        rp AS (
            SELECT r.id, r.program_kind, r.program_id, r.learner_id, pe.y,
                   pe.starts, LEAST(pe.ends, %(today)s::date) AS ends
            FROM dash_rel r
            JOIN periods pe ON pe.program_id = r.program_id AND r.started_on <= pe.ends
             AND (r.ends_on IS NULL OR r.ends_on >= pe.starts)
            WHERE pe.starts <= %(today)s AND pe.y BETWEEN %(first)s AND %(last)s
        ),
        counted AS (
            SELECT rp.id, rp.program_kind, rp.program_id, rp.learner_id, rp.y,
                   COUNT(*) AS terms, SUM(COALESCE(mc.meetings, 0)) AS meetings
            FROM rp
            LEFT JOIN LATERAL (
                SELECT COUNT(*) AS meetings FROM sessions_log_meeting m
                WHERE m.relationship_id = rp.id AND m.status = 'completed'
                  AND m.starts_at >= (rp.starts::timestamp AT TIME ZONE %(tz)s)
                  AND m.starts_at < ((rp.ends + 1)::timestamp AT TIME ZONE %(tz)s)
            ) mc ON true
            GROUP BY rp.id, rp.program_kind, rp.program_id, rp.learner_id, rp.y
        )
        SELECT c.y, c.program_kind, c.program_id, COALESCE(l.cohort, ''),
               GROUPING(c.program_kind), GROUPING(c.program_id), GROUPING(l.cohort),
               COUNT(*), SUM(c.terms), SUM(c.meetings)
        FROM counted c LEFT JOIN dash_learner l ON l.user_id = c.learner_id
        GROUP BY c.y, ROLLUP(c.program_kind, c.program_id), GROUPING SETS ((l.cohort), ())
        """,
        params_of(ctx),
    )
    cells = {}
    for year, kind, pid, cohort, g_kind, g_pid, g_cohort, n, terms, meetings in cursor.fetchall():
        program, cohort = rolled_up(kind, pid, cohort, g_kind, g_pid, g_cohort)
        cells[("engagement", year, program, cohort, "")] = (
            n,
            {"relationship_terms": int(terms), "meetings": int(meetings)},
        )
    return program_cohort_family(cells, ctx.programs)


def active_recently_family(cursor, ctx: Context) -> Family:
    cursor.execute(
        """
        SELECT p.kind, r.program_id, COALESCE(l.cohort, ''),
               GROUPING(p.kind), GROUPING(r.program_id), GROUPING(l.cohort),
               COUNT(*),
               SUM(CASE WHEN EXISTS (
                   SELECT 1 FROM sessions_log_meeting m
                   WHERE m.relationship_id = r.id AND m.status = 'completed'
                     AND m.starts_at >= %(recent)s AND m.starts_at <= %(now)s) THEN 1 ELSE 0 END)
        FROM mentoring_relationship r
        JOIN mentoring_program p ON p.id = r.program_id
        LEFT JOIN dash_learner l ON l.user_id = r.learner_id
        WHERE r.status = 'active' AND r.started_on <= %(today)s
        GROUP BY ROLLUP(p.kind, r.program_id), GROUPING SETS ((l.cohort), ())
        """,
        params_of(ctx),
    )
    cells = {}
    for kind, pid, cohort, g_kind, g_pid, g_cohort, n, met in cursor.fetchall():
        program, cohort = rolled_up(kind, pid, cohort, g_kind, g_pid, g_cohort)
        cells[("active_recently", None, program, cohort, "")] = (n, {"met": met})
    return program_cohort_family(cells, ctx.programs)


# --- Guide load today -------------------------------------------------------------------------
def guide_load_family(cursor, ctx: Context) -> Family:
    cursor.execute(
        """
        WITH guides AS (
            SELECT m.user_id, m.program_id, SUM(COALESCE(m.capacity, 0)) AS capacity
            FROM accounts_membership m
            WHERE m.role IN ('mentor', 'coach', 'advisor')
              AND (m.ended_at IS NULL OR m.ended_at > %(now)s)
            GROUP BY m.user_id, m.program_id
        ),
        current AS (
            SELECT guide_id AS user_id, program_id, COUNT(*) AS load
            FROM mentoring_relationship WHERE status IN ('active', 'paused')
            GROUP BY guide_id, program_id
        ),
        per_program AS (
            SELECT COALESCE(g.user_id, c.user_id) AS user_id,
                   COALESCE(g.program_id, c.program_id) AS program_id,
                   COALESCE(c.load, 0) AS load, COALESCE(g.capacity, 0) AS capacity
            FROM guides g FULL JOIN current c
              ON c.user_id = g.user_id AND c.program_id = g.program_id
        ),
        lvl AS (
            SELECT pp.user_id, p.kind, pp.program_id, pp.load, pp.capacity
            FROM per_program pp JOIN mentoring_program p ON p.id = pp.program_id
            UNION ALL
            SELECT pp.user_id, p.kind, NULL::bigint, SUM(pp.load), SUM(pp.capacity)
            FROM per_program pp JOIN mentoring_program p ON p.id = pp.program_id
            GROUP BY pp.user_id, p.kind
            UNION ALL
            SELECT pp.user_id, '', NULL::bigint, SUM(pp.load), SUM(pp.capacity)
            FROM per_program pp GROUP BY pp.user_id
        )
        SELECT kind, program_id,
               CASE WHEN load >= 6 THEN '6+' ELSE load::text END AS bucket, GROUPING(
               CASE WHEN load >= 6 THEN '6+' ELSE load::text END),
               COUNT(*), SUM(load), SUM(capacity)
        FROM lvl
        GROUP BY kind, program_id,
                 GROUPING SETS ((CASE WHEN load >= 6 THEN '6+' ELSE load::text END), ())
        """,
        params_of(ctx),
    )
    cells = {}
    for kind, pid, bucket, g_bucket, n, load, capacity in cursor.fetchall():
        split = "" if g_bucket else bucket
        cells[("guide_load", None, node(kind, pid), "", split)] = (
            n,
            {"relationships": int(load), "capacity": int(capacity)},
        )
    family = Family()
    family.add_cube(
        cells,
        [
            NO_LINES,
            NO_LINES,
            program_dimension(ctx.programs),
            NO_LINES,
            Dimension("split", (("", LOAD_BUCKETS),)),
        ],
    )
    return family


# --- Time from intake to match ---------------------------------------------------------------
def intake_family(cursor, ctx: Context) -> Family:
    intake = local_date("m.started_at")
    cursor.execute(
        f"""
        WITH intakes AS (
            SELECT m.user_id, m.program_id, p.kind, {intake} AS intake
            FROM accounts_membership m JOIN mentoring_program p ON p.id = m.program_id
            WHERE m.role = 'learner'
        ),
        firsts AS (
            SELECT learner_id, program_id, MIN(started_on) AS first
            FROM dash_rel GROUP BY learner_id, program_id
        ),
        days AS (
            SELECT i.user_id, i.kind, i.program_id, {ay_sql("i.intake")} AS y,
                   -- GREATEST ignores NULL: an unmatched entry must stay NULL.
                   CASE WHEN f.first IS NULL THEN NULL
                        ELSE GREATEST(0, f.first - i.intake) END AS days
            FROM intakes i
            LEFT JOIN firsts f ON f.learner_id = i.user_id AND f.program_id = i.program_id
            WHERE i.intake <= %(today)s
        )
        SELECT d.y, d.kind, d.program_id, COALESCE(l.cohort, ''),
               GROUPING(d.kind), GROUPING(d.program_id), GROUPING(l.cohort),
               COUNT(*), COUNT(d.days),
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d.days),
               percentile_cont(0.25) WITHIN GROUP (ORDER BY d.days),
               percentile_cont(0.75) WITHIN GROUP (ORDER BY d.days)
        FROM days d LEFT JOIN dash_learner l ON l.user_id = d.user_id
        WHERE d.y BETWEEN %(first)s AND %(last)s
        GROUP BY d.y, ROLLUP(d.kind, d.program_id), GROUPING SETS ((l.cohort), ())
        """,
        params_of(ctx),
    )
    cells = {}
    for row in cursor.fetchall():
        year, kind, pid, cohort, g_kind, g_pid, g_cohort, n, matched, median, p25, p75 = row
        program, cohort = rolled_up(kind, pid, cohort, g_kind, g_pid, g_cohort)
        measures = {"matched": matched}
        # Quartiles speak for the matched learners only: shown when they are enough.
        if matched >= ctx.min_cell:
            measures.update(median_days=median, p25_days=p25, p75_days=p75)
        cells[("intake", year, program, cohort, "")] = (n, measures)
    return program_cohort_family(cells, ctx.programs)


# --- Conflicts raised and resolved -----------------------------------------------------------
def conflict_family(cursor, ctx: Context) -> Family:
    raised = local_date("c.raised_at")
    cursor.execute(
        f"""
        SELECT {ay_sql(raised)} AS y, p.kind, c.program_id,
               GROUPING(p.kind), GROUPING(c.program_id),
               COUNT(*), COUNT(*) FILTER (WHERE c.status = 'resolved'),
               percentile_cont(0.5) WITHIN GROUP (
                   ORDER BY EXTRACT(EPOCH FROM c.resolved_at - c.raised_at) / 86400.0)
                   FILTER (WHERE c.status = 'resolved' AND c.resolved_at IS NOT NULL)
        FROM mentoring_conflict c JOIN mentoring_program p ON p.id = c.program_id
        WHERE {raised} BETWEEN %(first_day)s AND %(today)s
        GROUP BY y, ROLLUP(p.kind, c.program_id)
        """,
        params_of(ctx),
    )
    cells = {}
    for year, kind, pid, g_kind, g_pid, n, resolved, median in cursor.fetchall():
        program = rolled_up_program(kind, pid, g_kind, g_pid)
        measures = {"resolved": resolved}
        if resolved >= ctx.min_cell and median is not None:
            measures["median_days"] = round(float(median), 1)
        cells[("conflicts", year, program, "", "")] = (n, measures)
    family = Family()
    family.add_cube(
        cells, [NO_LINES, NO_LINES, program_dimension(ctx.programs), NO_LINES, NO_LINES]
    )
    return family
