"""Local times at clock changes, over zones and dates (hypothesis): a typed time is refused
exactly when the clocks skip it, and one that is taken names an instant whose local time is
the typed one (the first of two when the clocks go back); lengths are exact in UTC."""

from __future__ import annotations

import datetime
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.times import wall_time_error

UTC = datetime.UTC
ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # a 30-minute change
    "Asia/Kolkata",  # no change at all
    "UTC",
]
FIRST, LAST = datetime.date(2027, 1, 1), datetime.date(2028, 12, 31)


def _change_days(zone_name: str) -> list[datetime.date]:
    """The days of FIRST..LAST on which `zone_name`'s clocks change."""
    zone, found, day = zoneinfo.ZoneInfo(zone_name), [], FIRST
    while day <= LAST:
        morning = datetime.datetime.combine(day, datetime.time(0), tzinfo=zone)
        evening = datetime.datetime.combine(day, datetime.time(23, 59), tzinfo=zone)
        if morning.utcoffset() != evening.utcoffset():
            found.append(day)
        day += datetime.timedelta(days=1)
    return found


CHANGES = {name: _change_days(name) for name in ZONES}


@st.composite
def typed_times(draw):
    """A zone, and a day and minute typed in it: half the time on a day its clocks change,
    in the small hours when they do."""
    zone_name = draw(st.sampled_from(ZONES))
    changes = CHANGES[zone_name]
    if changes and draw(st.booleans()):
        day = draw(st.sampled_from(changes))
        time = draw(st.times(datetime.time(0, 0), datetime.time(3, 59)))
    else:
        day, time = draw(st.dates(FIRST, LAST)), draw(st.times())
    return zone_name, day, time.replace(second=0, microsecond=0, fold=0)  # as a form reads it


def _instants(naive: datetime.datetime, zone) -> set[datetime.datetime]:
    """Every UTC instant whose wall time in `zone` is `naive` (none, one or two)."""
    found = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            found.add(instant)
    return found


@settings(max_examples=400, deadline=None)
@given(typed=typed_times(), minutes=st.integers(5, 240))
def test_a_typed_time_is_refused_only_when_it_does_not_exist(typed, minutes):
    zone_name, day, time = typed
    zone = zoneinfo.ZoneInfo(zone_name)
    naive = datetime.datetime.combine(day, time)
    moment = naive.replace(tzinfo=zone)  # as the slot form reads it
    instants = _instants(naive, zone)
    error = wall_time_error(moment)
    assert bool(error) == (not instants), (zone_name, naive)
    if instants:
        start = moment.astimezone(UTC)
        assert start == min(instants)  # the first of two when the clocks go back
        end = start + datetime.timedelta(minutes=minutes)
        assert (end - start).total_seconds() == minutes * 60
    else:
        assert f"{time:%H:%M} does not exist" in error and zone_name in error


def test_every_minute_of_every_change_night_is_refused_or_taken_exactly():
    """Exhaustively, the nights the clocks change (00:00-03:59, each zone, 2027-2028): the
    same rule as above, and the skipped minutes are there to be refused."""
    refused = set()
    for zone_name, days in CHANGES.items():
        zone = zoneinfo.ZoneInfo(zone_name)
        for day in days:
            for minute in range(4 * 60):
                naive = datetime.datetime.combine(day, datetime.time(minute // 60, minute % 60))
                moment = naive.replace(tzinfo=zone)
                instants = _instants(naive, zone)
                assert bool(wall_time_error(moment)) == (not instants), (zone_name, naive)
                if instants:
                    assert moment.astimezone(UTC) == min(instants), (zone_name, naive)
                else:
                    refused.add(zone_name)
    assert refused >= {"America/New_York", "Europe/London", "Australia/Lord_Howe"}
