"""Authorization matrix rows of the meeting pages and logs; merged into MATRIX.
World objects: world.slot (a free slot of the mentor), world.meeting (the world's pair's booked
meeting, tomorrow), world.past_meeting (the pair's meeting of last week, not yet logged).

Only the pair (learner and mentor) reach a meeting; everyone else, administrators and the
operator included, gets 404 (R8): administrators read meeting metadata in the console."""

from __future__ import annotations

from sessions_log.models import ActionItem
from tests.authz_matrix_base import Row, everyone


def meeting(world) -> dict:
    return {"code": world.meeting.code}


def past_meeting(world) -> dict:
    return {"code": world.past_meeting.code}


def relationship(world) -> dict:
    return {"code": world.pair.code}


def action_item(world) -> dict:
    """An open action item of last week's meeting (the world has none of its own)."""

    item = ActionItem.objects.create(
        meeting=world.past_meeting,
        text="Draft the personal statement",
        created_by=world.cast["learner"],
    )
    return {"code": item.code}


ROWS: dict = {
    # Each person's own meetings across their relationships (maybe none).
    "meetings:meetings": everyone(),
    "meetings:meeting": Row(kwargs=meeting, who={"learner": 200, "mentor": 200}),
    # The log form posted with a reflection: the learner's to write (saved: 302); her mentor
    # sees the log but may not write her reflection (403).
    "meetings:meeting-log": Row(
        method="post",
        kwargs=past_meeting,
        who={"learner": 302, "mentor": 403},
        data=lambda w: {
            "status": "completed",
            "duration_minutes": "45",
            "topics": ["career"],
            "reflection": "I will ask two residents how they chose.",
        },
    ),
    "meetings:action-item-add": Row(
        method="post",
        kwargs=past_meeting,
        who={"learner": 302, "mentor": 302},
        data=lambda w: {"text": "Read the residency guide"},
    ),
    "meetings:action-item-done": Row(
        method="post", kwargs=action_item, who={"learner": 302, "mentor": 302}
    ),
    "meetings:adhoc-new": Row(kwargs=relationship, who={"learner": 200, "mentor": 200}),
}
