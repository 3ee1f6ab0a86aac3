"""Academic years: the time unit of every dashboard figure. Pure functions."""

from __future__ import annotations

import datetime

from django.conf import settings

# Figures cover the current academic year and this many before it.
YEARS_BACK = 5


def start_month() -> int:
    """The month an academic year starts in (August unless settings say otherwise)."""
    return int(getattr(settings, "ACADEMIC_YEAR_START_MONTH", 8))


def academic_year(day: datetime.date) -> int:
    """The academic year `day` falls in, named by its first calendar year (2025 = 2025-26)."""
    return day.year if day.month >= start_month() else day.year - 1


def year_bounds(year: int) -> tuple[datetime.date, datetime.date]:
    """First and last day of academic year `year`."""
    first = datetime.date(year, start_month(), 1)
    return first, datetime.date(year + 1, start_month(), 1) - datetime.timedelta(days=1)


def year_label(year: int) -> str:
    """ "2025-26", written with an en dash as schools write it."""
    return f"{year}\u2013{(year + 1) % 100:02d}"
