"""Authorization matrix rows of availability and booking; merged into MATRIX.
World objects: world.slot (a free slot of the mentor), world.meeting (the world's pair's booked
meeting, tomorrow), world.past_meeting (the pair's meeting of last week, not yet logged).

Availability pages are a guide's own: the mentor, the other mentor and the assessor (a mentor
in the other program) each reach their own; a slot or weekly time is found only among its
guide's. Booking pages are the pair's: the learner books, moves and asks; her mentor may see
them but not act for her (403); either may cancel. Everyone else gets 404 (R8),
administrators and the operator included. The feed needs no sign-in: its token is the
credential."""

from __future__ import annotations

import datetime

from django.utils import timezone

from sessions_log.models import AvailabilityPattern, CalendarFeed
from tests.authz_matrix_base import Row

GUIDES = ("mentor", "other_mentor", "assessor")
PARTICIPANTS = ("learner", *GUIDES)


def _guides(status: int) -> dict[str, int]:
    return dict.fromkeys(GUIDES, status)


def relationship(world) -> dict:
    return {"code": world.pair.code}


def meeting(world) -> dict:
    return {"code": world.meeting.code}


def slot(world) -> dict:
    return {"code": world.slot.code}


def pattern(world) -> dict:
    """A weekly time of the mentor (the world has none of its own)."""

    weekly, _ = AvailabilityPattern.objects.get_or_create(
        guide=world.cast["mentor"],
        weekday=2,
        start_time=datetime.time(9, 0),
        defaults={"starts_on": timezone.localdate(), "location": "Room 4"},
    )
    return {"code": weekly.code}


def feed_token(world) -> dict:
    feed, _ = CalendarFeed.objects.get_or_create(
        user=world.cast["learner"], revoked_at__isnull=True
    )
    return {"token": feed.token}


def _slot_data(world) -> dict:
    day = timezone.localdate() + datetime.timedelta(days=10)
    return {
        "slot-date": day.isoformat(),
        "slot-start_time": "10:00",
        "slot-duration_minutes": "30",
        "slot-location": "Room 2",
    }


def _pattern_data(world) -> dict:
    return {
        "pattern-weekday": "4",
        "pattern-start_time": "16:00",
        "pattern-duration_minutes": "30",
        "pattern-timezone": "UTC",
        "pattern-location": "Room 3",
        "pattern-starts_on": timezone.localdate().isoformat(),
    }


ROWS: dict = {
    # --- a guide's availability: their own only -------------------------------------------
    "meetings:availability": Row(who=_guides(200)),
    "meetings:slot-add": Row(method="post", who=_guides(302), data=_slot_data),
    "meetings:slot-withdraw": Row(method="post", kwargs=slot, who={"mentor": 302}),
    "meetings:pattern-add": Row(method="post", who=_guides(302), data=_pattern_data),
    "meetings:pattern-edit": Row(kwargs=pattern, who={"mentor": 200}),
    "meetings:pattern-end": Row(method="post", kwargs=pattern, who={"mentor": 302}),
    # --- the pair's booking: the learner acts, her mentor sees but may not (403) -----------
    "meetings:book": Row(kwargs=relationship, who={"learner": 200, "mentor": 403}),
    "meetings:book-slot": Row(
        method="post",
        kwargs=slot,
        who={"learner": 302, "mentor": 403},
        data=lambda w: {"relationship": str(w.pair.code)},
    ),
    "meetings:reschedule": Row(kwargs=meeting, who={"learner": 200, "mentor": 403}),
    "meetings:cancel": Row(kwargs=meeting, who={"learner": 200, "mentor": 200}),
    # The mentor has a free slot, so asking is refused with a message (302 back to booking).
    "meetings:time-request": Row(
        method="post", kwargs=relationship, who={"learner": 302, "mentor": 403}
    ),
    # --- the calendar feed: the token is the credential, for anyone holding it ------------
    "meetings:feed": Row(kwargs=feed_token, rest=200, anonymous=200),
    "meetings:feed-settings": Row(who=dict.fromkeys(PARTICIPANTS, 200)),
}
