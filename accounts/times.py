"""Times as a person reads them: in the time zone of their profile (UTC when they have none).

Slots and meetings are stored as aware UTC datetimes; pages, forms and emails show them in the
reader's zone. `in_viewer_timezone` makes a whole view (form parsing and rendering) work in the
signed-in person's zone, so a guide in Chicago types 17:00 and means 17:00 in Chicago.
"""

from __future__ import annotations

import datetime
import functools
import zoneinfo

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

UTC = datetime.UTC


def zone_name_of(user) -> str:
    """The IANA name of `user`'s time zone (their profile's, or "UTC")."""
    try:
        name = user.profile.timezone
    except (ObjectDoesNotExist, AttributeError):
        return "UTC"
    return name or "UTC"


def zone_named(name: str | None) -> zoneinfo.ZoneInfo:
    """The time zone `name` (a profile's); UTC when empty or one this server lacks."""
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def zone_of(user) -> zoneinfo.ZoneInfo:
    """`user`'s time zone; UTC when the profile has none or names one this server lacks."""
    return zone_named(zone_name_of(user))


def wall_time_error(moment: datetime.datetime) -> str:
    """Why the local time `moment` (aware, in the zone it was typed in) cannot be taken as
    typed: the hour the clocks skip when they go forward does not exist. Empty when it exists.
    A time that happens twice when the clocks go back is taken as the first of the two (the
    zone's rule, fold 0), which `describe` shows with the zone's offset."""
    again = moment.astimezone(UTC).astimezone(moment.tzinfo)
    if again.replace(tzinfo=None) == moment.replace(tzinfo=None):
        return ""
    day = f"{moment:%A} {moment.day} {moment:%B %Y}"
    return (
        f"{moment:%H:%M} does not exist on {day} in {moment.tzinfo}: the clocks go forward an "
        "hour that night. Choose another time."
    )


def describe(starts_at: datetime.datetime, ends_at: datetime.datetime, zone) -> str:
    """e.g. "Tuesday 3 March 2026, 17:00-17:30 (Europe/London)"."""
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    day = f"{start:%A} {start.day} {start:%B %Y}"
    return f"{day}, {start:%H:%M}-{end:%H:%M} ({zone.key})"


def in_viewer_timezone(view):
    """Run `view` with the signed-in person's time zone active: forms read typed dates and
    times in it, templates show stored times in it."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        with timezone.override(zone_of(request.user)):
            return view(request, *args, **kwargs)

    return wrapper
