"""Run the test session on another day: `pytest -p tests.fake_today --today=2028-02-29`.

With `--today` the whole session travels (time-machine) to that day before the first test and
the clock ticks on from there, so `timezone.now()`, `timezone.localdate()`, `date.today()` and
`time.time()` all say that day. A bare date means 12:00 UTC, a time of day at which the
calendar date is the same in UTC, America/New_York and Europe/London; a full ISO datetime with
an offset (`--today=2026-12-31T23:30-05:00`) picks another moment.

`bin/date-matrix` runs the date-sensitive tests once per "today" in its list. What cannot be
faked, and so is left out of that selection or must not matter to a test:
- other processes: the browser tests' Chromium and the worker tests' Celery worker keep the
  real clock;
- PostgreSQL's own clock (`now()`, `CURRENT_DATE`): the product never asks the database for
  the time; every date and time it stores or filters by comes from Python;
- Redis expiry (cache TTLs) runs on the server's clock.

A test whose outcome depends on the day fixes its own: `@pytest.mark.today("2026-11-26")`
(same forms as `--today`) travels there for the test's setup, call and teardown, inside any
`--today` of the session. A test that depends on the hour but not on the day (a daily run
that starts at 09:00) takes `@pytest.mark.today()`: the session's own day, at 12:00 UTC.

Without `--today` or the mark this module does nothing, so loading it in every run (pyproject
addopts) is harmless.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine

_travel: time_machine.travel | None = None


def pytest_addoption(parser):
    parser.addoption(
        "--today",
        metavar="YYYY-MM-DD",
        default=None,
        help="run the session on this day (12:00 UTC, ticking) or at this ISO datetime",
    )


def parse_today(value: str) -> datetime.datetime:
    """The moment `--today` names: a date means that day at 12:00 UTC; a datetime needs an
    offset (a naive one would be read in the machine's zone, which no test should depend on)."""
    try:
        if len(value) == len("YYYY-MM-DD"):
            day = datetime.date.fromisoformat(value)
            return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise pytest.UsageError(f"--today={value}: give a date or a datetime with an offset")
    return moment


def pytest_configure(config):
    global _travel
    config.addinivalue_line(
        "markers",
        "today(when): run this test (fixtures included) on that day, 12:00 UTC, ticking; "
        "or at that ISO datetime with an offset; today() with no day: the session's day at "
        "12:00 UTC, for a test whose outcome depends on the hour but not the day",
    )
    value = config.getoption("--today")
    if not value:
        return
    # Started before Django and the test database are set up, so that everything the session
    # creates, fixtures included, is made "today".
    _travel = time_machine.travel(parse_today(value), tick=True)
    _travel.start()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # Around the whole protocol rather than a fixture, so that every function-scoped fixture,
    # whatever its order, is made on the test's day.
    mark = item.get_closest_marker("today")
    if mark is None:
        return (yield)
    if mark.args:
        moment = parse_today(*mark.args)
    else:  # `today()`: the session's own day (real or --today), at 12:00 UTC
        day = datetime.datetime.now(datetime.UTC).date()
        moment = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
    with time_machine.travel(moment, tick=True):
        return (yield)


def pytest_unconfigure(config):
    global _travel
    if _travel is not None:
        _travel.stop()
        _travel = None


def pytest_report_header(config):
    value = config.getoption("--today")
    if value:
        return f"today: {parse_today(value).isoformat()} (time-machine, ticking)"
    return None
