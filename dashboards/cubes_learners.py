"""The learner and faculty cubes of the refresh: retention, mentored or not, participation,
the evaluation's groups; faculty guides year over year (definitions: dashboards/summaries.py).
"""

from __future__ import annotations

from dashboards import years as ay
from dashboards.cube import (
    EVALUATION_SPLIT_LINES,
    LEARNER_SPLIT_LINES,
    NO_LINES,
    Context,
    Family,
    ay_sql,
    cohort_dimension,
    local_date,
    node,
    params_of,
    program_dimension,
)
from dashboards.suppression import Dimension

# --- Temporary tables shared by several figures --------------------------------------------
TEMP_TABLES = (
    "dash_years",
    "dash_learner_status",
    "dash_learner",
    "dash_ly",
    "dash_rel",
    "dash_lyp",
    "dash_lvl",
)


def drop_temporary(cursor) -> None:
    # ON COMMIT DROP does not fire when the refresh runs inside an outer transaction (tests).
    cursor.execute(f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")


def prepare(cursor, params) -> None:
    drop_temporary(cursor)
    month = ay.start_month()
    local_started = local_date("m.started_at")
    local_ended = local_date("m.ended_at")
    statements = [
        f"""
        CREATE TEMP TABLE dash_years ON COMMIT DROP AS
        SELECT y, make_date(y, {month:d}, 1) AS starts,
               make_date(y + 1, {month:d}, 1) - 1 AS ends,
               LEAST(make_date(y + 1, {month:d}, 1) - 1, %(today)s::date) AS last_day
        FROM generate_series(%(first)s::int, %(last)s::int) AS y
        """,
        # A learner's status over time: [since, until) per change.
        f"""
        CREATE TEMP TABLE dash_learner_status ON COMMIT DROP AS
        WITH changes AS (
            SELECT user_id, status, effective_on
            FROM accounts_statuschange WHERE population = 'learner'
            UNION ALL
            SELECT m.user_id, 'enrolled', MIN({local_started})
            FROM accounts_membership m
            WHERE m.role = 'learner' AND NOT EXISTS (
                SELECT 1 FROM accounts_statuschange s
                WHERE s.user_id = m.user_id AND s.population = 'learner')
            GROUP BY m.user_id
        )
        SELECT user_id, status, effective_on AS since,
               LEAD(effective_on) OVER (PARTITION BY user_id ORDER BY effective_on) AS until
        FROM changes
        """,
        "CREATE INDEX ON dash_learner_status (user_id)",
        f"""
        CREATE TEMP TABLE dash_learner ON COMMIT DROP AS
        SELECT user_id,
               COALESCE(NULLIF(btrim(cohort), ''),
                        'Entry ' || entry || '\u2013' || lpad(((entry + 1) %% 100)::text, 2, '0'))
                   AS cohort
        FROM (
            SELECT s.user_id, MAX(p.cohort) AS cohort, {ay_sql("MIN(s.since)")} AS entry
            FROM dash_learner_status s
            LEFT JOIN accounts_participantprofile p ON p.user_id = s.user_id
            GROUP BY s.user_id
        ) x
        """,
        "CREATE UNIQUE INDEX ON dash_learner (user_id)",
        # Learners in school (enrolled or on leave) at some point of each year; withdrawn at
        # its last day (or today).
        """
        CREATE TEMP TABLE dash_ly ON COMMIT DROP AS
        SELECT s.user_id, y.y,
               bool_or(s.status = 'withdrawn' AND s.since <= y.last_day
                       AND (s.until IS NULL OR s.until > y.last_day)) AS withdrawn
        FROM dash_learner_status s
        JOIN dash_years y ON s.since <= y.last_day AND (s.until IS NULL OR s.until > y.starts)
        GROUP BY s.user_id, y.y
        HAVING bool_or(s.status IN ('enrolled', 'leave'))
        """,
        "CREATE UNIQUE INDEX ON dash_ly (user_id, y)",
        # Relationships that were held (not proposed, not declined).
        """
        CREATE TEMP TABLE dash_rel ON COMMIT DROP AS
        SELECT r.id, r.program_id, p.kind AS program_kind, r.kind, r.learner_id, r.guide_id,
               r.origin = 'self_initiated' AS informal, r.started_on, r.ends_on, r.status,
               EXISTS (SELECT 1 FROM accounts_membership lm
                       WHERE lm.user_id = r.guide_id AND lm.role = 'learner') AS peer
        FROM mentoring_relationship r
        JOIN mentoring_program p ON p.id = r.program_id
        WHERE r.status IN ('active', 'paused', 'ended') AND r.end_reason <> 'declined'
          AND r.started_on <= %(today)s
        """,
        "CREATE INDEX ON dash_rel (learner_id)",
        "CREATE INDEX ON dash_rel (guide_id)",
        # Learner x year x program: member of the program or held a relationship in it.
        f"""
        CREATE TEMP TABLE dash_lyp ON COMMIT DROP AS
        WITH member AS (
            SELECT DISTINCT ly.user_id, ly.y, m.program_id
            FROM dash_ly ly
            JOIN dash_years y ON y.y = ly.y
            JOIN accounts_membership m ON m.user_id = ly.user_id AND m.role = 'learner'
             AND {local_started} <= y.last_day
             AND (m.ended_at IS NULL OR {local_ended} >= y.starts)
        ),
        held AS (
            SELECT ly.user_id, ly.y, r.program_id,
                   bool_or(NOT r.informal) AS formal, bool_or(r.informal) AS informal,
                   bool_or(r.peer) AS peer, bool_or(NOT r.peer) AS faculty,
                   bool_or(r.kind = 'mentoring') AS k_mentoring,
                   bool_or(r.kind = 'coaching') AS k_coaching,
                   bool_or(r.kind = 'advising') AS k_advising
            FROM dash_ly ly
            JOIN dash_years y ON y.y = ly.y
            JOIN dash_rel r ON r.learner_id = ly.user_id AND r.started_on <= y.last_day
             AND (r.ends_on IS NULL OR r.ends_on >= y.starts)
            GROUP BY ly.user_id, ly.y, r.program_id
        )
        SELECT COALESCE(m.user_id, h.user_id) AS user_id, COALESCE(m.y, h.y) AS y,
               COALESCE(m.program_id, h.program_id) AS program_id,
               h.user_id IS NOT NULL AS guided,
               COALESCE(h.formal, false) AS formal, COALESCE(h.informal, false) AS informal,
               COALESCE(h.peer, false) AS peer, COALESCE(h.faculty, false) AS faculty,
               COALESCE(h.k_mentoring, false) AS k_mentoring,
               COALESCE(h.k_coaching, false) AS k_coaching,
               COALESCE(h.k_advising, false) AS k_advising
        FROM member m
        FULL JOIN held h ON h.user_id = m.user_id AND h.y = m.y AND h.program_id = m.program_id
        """,
        # The same at the three levels of the program node.
        """
        CREATE TEMP TABLE dash_lvl ON COMMIT DROP AS
        SELECT f.user_id, f.y, p.kind, f.program_id, f.guided, f.formal, f.informal, f.peer,
               f.faculty, f.k_mentoring, f.k_coaching, f.k_advising
        FROM dash_lyp f JOIN mentoring_program p ON p.id = f.program_id
        UNION ALL
        SELECT f.user_id, f.y, p.kind, NULL, bool_or(f.guided), bool_or(f.formal),
               bool_or(f.informal), bool_or(f.peer), bool_or(f.faculty),
               bool_or(f.k_mentoring), bool_or(f.k_coaching), bool_or(f.k_advising)
        FROM dash_lyp f JOIN mentoring_program p ON p.id = f.program_id
        GROUP BY f.user_id, f.y, p.kind
        UNION ALL
        SELECT ly.user_id, ly.y, '', NULL, COALESCE(bool_or(f.guided), false),
               COALESCE(bool_or(f.formal), false), COALESCE(bool_or(f.informal), false),
               COALESCE(bool_or(f.peer), false), COALESCE(bool_or(f.faculty), false),
               COALESCE(bool_or(f.k_mentoring), false), COALESCE(bool_or(f.k_coaching), false),
               COALESCE(bool_or(f.k_advising), false)
        FROM dash_ly ly
        LEFT JOIN dash_lyp f ON f.user_id = ly.user_id AND f.y = ly.y
        GROUP BY ly.user_id, ly.y
        """,
    ]
    for sql in statements:
        cursor.execute(sql, params)


# --- Learners: retention, mentored or not, participation, evaluation groups ------------------
_CLASSES = """
    CASE WHEN NOT l.guided THEN NULL WHEN l.formal AND l.informal THEN 'mixed_origin'
         WHEN l.informal THEN 'informal' ELSE 'formal' END,
    CASE WHEN NOT l.guided THEN NULL WHEN l.peer AND l.faculty THEN 'mixed_guide'
         WHEN l.peer THEN 'peer' ELSE 'faculty' END,
    CASE WHEN NOT l.guided OR l.kind <> '' THEN NULL  -- kinds differ across programs only
         WHEN l.k_mentoring::int + l.k_coaching::int + l.k_advising::int > 1 THEN 'several_kinds'
         WHEN l.k_mentoring THEN 'only_mentoring' WHEN l.k_coaching THEN 'only_coaching'
         ELSE 'only_advising' END
"""


def learner_family(cursor, ctx: Context) -> Family:
    programs = program_dimension(ctx.programs)
    cursor.execute(
        """
        SELECT l.y, l.kind, l.program_id, c.cohort, GROUPING(c.cohort), s.split,
               COUNT(*), SUM(CASE WHEN ly.withdrawn THEN 0 ELSE 1 END)
        FROM dash_lvl l
        JOIN dash_ly ly ON ly.user_id = l.user_id AND ly.y = l.y
        JOIN dash_learner c ON c.user_id = l.user_id
        CROSS JOIN LATERAL (VALUES (''),
            (CASE WHEN l.guided THEN 'guided' ELSE 'not_guided' END)) AS s(split)
        GROUP BY l.y, l.kind, l.program_id, s.split, GROUPING SETS ((c.cohort), ())
        """
    )
    by_cohort = {
        ("learners", year, node(kind, pid), "" if all_cohorts else cohort, split): (
            n,
            {"retained": retained},
        )
        for year, kind, pid, cohort, all_cohorts, split, n, retained in cursor.fetchall()
    }
    cursor.execute(
        f"""
        SELECT l.y, l.kind, l.program_id, s.split,
               COUNT(*), SUM(CASE WHEN ly.withdrawn THEN 0 ELSE 1 END)
        FROM dash_lvl l
        JOIN dash_ly ly ON ly.user_id = l.user_id AND ly.y = l.y
        CROSS JOIN LATERAL unnest(ARRAY[
            '', CASE WHEN l.guided THEN 'guided' ELSE 'not_guided' END, {_CLASSES}
        ]) AS s(split)
        WHERE s.split IS NOT NULL
        GROUP BY l.y, l.kind, l.program_id, s.split
        """
    )
    evaluation = {
        ("learners", year, node(kind, pid), "", split): (n, {"retained": retained})
        for year, kind, pid, split, n, retained in cursor.fetchall()
    }
    family = Family()
    cohorts = {key[3] for key in by_cohort if key[3]}
    family.add_cube(
        by_cohort,
        [
            NO_LINES,
            NO_LINES,
            programs,
            cohort_dimension(cohorts),
            Dimension("split", LEARNER_SPLIT_LINES),
        ],
    )
    # The evaluation splits exist for "every cohort" only, as a cube of their own that shares
    # its guided / not guided cells with the one above.
    family.add_cube(
        evaluation,
        [NO_LINES, NO_LINES, programs, NO_LINES, Dimension("split", EVALUATION_SPLIT_LINES)],
    )
    return family


# --- Faculty guides: retention year over year ---------------------------------------------
def faculty_family(cursor, ctx: Context) -> Family:
    started = local_date("m.started_at")
    ended = local_date("m.ended_at")
    cursor.execute(
        f"""
        WITH guide_m AS (
            SELECT m.user_id, m.program_id, {started} AS started,
                   CASE WHEN m.ended_at IS NULL THEN NULL ELSE {ended} END AS ended
            FROM accounts_membership m
            WHERE m.role IN ('mentor', 'coach', 'advisor')
              AND NOT EXISTS (SELECT 1 FROM accounts_membership lm
                              WHERE lm.user_id = m.user_id AND lm.role = 'learner')
        ),
        changes AS (
            SELECT s.user_id, s.status, s.effective_on FROM accounts_statuschange s
            WHERE s.population = 'faculty'
              AND s.user_id IN (SELECT user_id FROM guide_m)
            UNION ALL
            SELECT g.user_id, 'active', MIN(g.started) FROM guide_m g
            WHERE NOT EXISTS (SELECT 1 FROM accounts_statuschange s
                              WHERE s.user_id = g.user_id AND s.population = 'faculty')
            GROUP BY g.user_id
        ),
        intervals AS (
            SELECT user_id, status, effective_on AS since,
                   LEAD(effective_on) OVER (PARTITION BY user_id ORDER BY effective_on) AS until
            FROM changes
        ),
        fy AS (
            SELECT i.user_id, y.y,
                   bool_or(i.status = 'active' AND i.since <= y.last_day
                           AND (i.until IS NULL OR i.until > y.last_day)) AS retained
            FROM intervals i
            JOIN dash_years y ON i.since <= y.last_day
             AND (i.until IS NULL OR i.until > y.starts)
            GROUP BY i.user_id, y.y
            HAVING bool_or(i.status = 'active')
        ),
        fyp AS (
            SELECT fy.user_id, fy.y, g.program_id, fy.retained
            FROM fy JOIN dash_years y ON y.y = fy.y
            JOIN guide_m g ON g.user_id = fy.user_id AND g.started <= y.last_day
             AND (g.ended IS NULL OR g.ended >= y.starts)
            UNION
            SELECT fy.user_id, fy.y, r.program_id, fy.retained
            FROM fy JOIN dash_years y ON y.y = fy.y
            JOIN dash_rel r ON r.guide_id = fy.user_id AND r.started_on <= y.last_day
             AND (r.ends_on IS NULL OR r.ends_on >= y.starts)
        ),
        lvl AS (
            SELECT f.user_id, f.y, p.kind, f.program_id, f.retained
            FROM fyp f JOIN mentoring_program p ON p.id = f.program_id
            UNION ALL
            SELECT DISTINCT f.user_id, f.y, p.kind, NULL::bigint, f.retained
            FROM fyp f JOIN mentoring_program p ON p.id = f.program_id
            UNION ALL
            SELECT DISTINCT f.user_id, f.y, '', NULL::bigint, f.retained FROM fyp f
        )
        SELECT y, kind, program_id, COUNT(*), SUM(retained::int)
        FROM lvl GROUP BY y, kind, program_id
        """,
        params_of(ctx),
    )
    cells = {
        ("faculty", year, node(kind, pid), "", ""): (n, {"retained": retained})
        for year, kind, pid, n, retained in cursor.fetchall()
    }
    family = Family()
    family.add_cube(
        cells, [NO_LINES, NO_LINES, program_dimension(ctx.programs), NO_LINES, NO_LINES]
    )
    return family
