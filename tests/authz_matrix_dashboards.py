"""Authorization matrix rows of the dashboards (namespace `dashboards`); merged into MATRIX.

- The institution dashboard and its CSVs: deans only (R7). Administrators, guides, learners,
  outsiders and the operator get 404 (R8).
- The program evaluation, its CSV and the research export: deans (any program) and
  administrators (their own programs; with no program named, their first): everyone else 404.
- Program dashboards, their CSVs and lists: the program's administrators only (R9); the other
  program's administrator, the dean and the operator get 404.

The CSV rows need computed figures (before the first refresh a dashboard has no table): a
refresh record is enough, the cells being empty."""

from __future__ import annotations

import datetime

from django.utils import timezone

from dashboards.models import SummaryRefresh
from tests.authz_matrix_base import Row, admin_only

DEAN_AND_ADMINS = {"dean": 200, "program_admin": 200, "other_admin": 200}


def _computed(world) -> None:
    if getattr(world, "_figures", False):
        return

    now = timezone.now()
    SummaryRefresh.objects.create(
        started_at=now - datetime.timedelta(seconds=1), finished_at=now, as_of=now.date()
    )
    world._figures = True


def institution_table(world) -> dict:
    _computed(world)
    return {"table": "retention_trend"}


def program(world) -> dict:
    return {"code": world.program.code}


def program_table(world) -> dict:
    _computed(world)
    return {"code": world.program.code, "table": "retention_trend"}


def program_list(world) -> dict:
    return {"code": world.program.code, "key": "quiet"}


ROWS: dict = {
    "dashboards:institution": Row(who={"dean": 200}),
    "dashboards:institution-csv": Row(kwargs=institution_table, who={"dean": 200}),
    "dashboards:evaluation": Row(who=DEAN_AND_ADMINS),
    "dashboards:evaluation-csv": Row(who=DEAN_AND_ADMINS),
    "dashboards:research-export": Row(method="post", who=DEAN_AND_ADMINS),
    "dashboards:programs": Row(who={"program_admin": 200, "other_admin": 200}),
    "dashboards:program": admin_only(kwargs=program),
    "dashboards:program-csv": admin_only(kwargs=program_table),
    "dashboards:program-list-csv": admin_only(kwargs=program_list),
}
