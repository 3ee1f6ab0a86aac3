"""Authorization matrix rows of the mentoring agreement and goals; merged into MATRIX.
World objects: world.pair (the learner and her mentor, active, a mentoring relationship).

Only the pair (learner and mentor) reach an agreement or a goal; everyone else, administrators
and the operator included, gets 404 (R8): administrators see counts in the console."""

from __future__ import annotations

import datetime

from django.utils import timezone

from mentoring import agreements
from tests.authz_matrix_base import Row


def relationship(world) -> dict:
    return {"code": world.pair.code}


def written_agreement(world) -> dict:
    """The pair's agreement, written by the learner (who also agreed)."""

    agreements.agreement_save(
        by=world.cast["learner"],
        relationship=world.pair,
        goals="Choose a research project",
        meeting_frequency="monthly",
        preferred_contact="email",
        agree=True,
        acknowledged=True,
    )
    return {"code": world.pair.code}


def agree_data(world) -> dict:
    return {
        "acknowledged": "on",
        "version": agreements.agreement_version(agreements.agreement_of(world.pair)),
    }


def goal(world) -> dict:
    """A goal of the pair (the world has none of its own)."""

    made = agreements.goal_create(
        by=world.cast["learner"],
        relationship=world.pair,
        title="Submit an abstract to the regional meeting",
        domain="research",
        target_on=timezone.localdate() + datetime.timedelta(days=60),
    )
    return {"code": made.code}


PAIR = {"learner": 200, "mentor": 200}
PAIR_SAVED = {"learner": 302, "mentor": 302}

ROWS: dict = {
    "agreements:agreement": Row(kwargs=relationship, who=PAIR),
    # The learner wrote and agreed; agreeing again is harmless (302 back to the page), and her
    # mentor's agreement completes it (302).
    "agreements:agreement-agree": Row(
        method="post", kwargs=written_agreement, who=PAIR_SAVED, data=agree_data
    ),
    "agreements:goals": Row(kwargs=relationship, who=PAIR),
    "agreements:goal-new": Row(kwargs=relationship, who=PAIR),
    "agreements:goal": Row(kwargs=goal, who=PAIR),
    "agreements:goal-edit": Row(kwargs=goal, who=PAIR),
    "agreements:goal-progress": Row(
        method="post",
        kwargs=goal,
        who=PAIR_SAVED,
        data=lambda w: {"note": "Drafted the methods section", "status": "in_progress"},
    ),
}
