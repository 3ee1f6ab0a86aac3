"""tests/fake_today.py, which bin/date-matrix relies on: `--today` moves the whole session to
that day and every clock the product reads agrees; `@pytest.mark.today` moves one test (its
fixtures included) and the session's day comes back after it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

INNER = '''
import datetime
import time

import pytest
from django.utils import timezone

UTC = datetime.UTC


def clocks():
    """The day by each clock the product or its libraries read."""
    return {
        datetime.date.today(),
        datetime.datetime.now(UTC).date(),
        datetime.datetime.fromtimestamp(time.time(), UTC).date(),
        datetime.date(*time.gmtime()[:3]),
        timezone.now().date(),
    }


@pytest.fixture
def fixture_day():
    return datetime.date.today()


def test_the_session_is_on_the_given_day():
    assert clocks() == {datetime.date(2028, 2, 29)}
    assert datetime.datetime.now(UTC).hour == 12


def test_the_clock_ticks():
    before = time.time()
    time.sleep(0.01)
    assert time.time() > before


@pytest.mark.today("2026-11-26")
def test_a_marked_test_and_its_fixtures_are_on_its_day(fixture_day):
    assert fixture_day == datetime.date(2026, 11, 26)
    assert clocks() == {datetime.date(2026, 11, 26)}


@pytest.mark.today("2026-12-31T23:30:00-05:00")
def test_a_mark_may_name_a_moment():
    assert timezone.now() - datetime.datetime(2027, 1, 1, 4, 30, tzinfo=UTC) < (
        datetime.timedelta(minutes=1)
    )


def test_after_a_marked_test_the_session_day_comes_back():
    assert clocks() == {datetime.date(2028, 2, 29)}
'''


def _inner_pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """pytest in another process (the clock of this one must not be moved), on
    tmp_path/test_inner.py with the plugin. Django's settings are not needed (timezone.now()
    reads only USE_TZ), so pytest-django stays out."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:django",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.fake_today",
            *args,
            str(tmp_path / "test_inner.py"),
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_today_moves_the_session_and_the_mark_moves_one_test(tmp_path):
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    result = _inner_pytest(tmp_path, "--strict-markers", "--today=2028-02-29", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_a_datetime_without_an_offset_is_refused(tmp_path):
    (tmp_path / "test_inner.py").write_text("def test_nothing():\n    pass\n")
    result = _inner_pytest(tmp_path, "--today=2028-02-29T12:00")
    assert result.returncode != 0
    assert "datetime with an offset" in result.stderr
