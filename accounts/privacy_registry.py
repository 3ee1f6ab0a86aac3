"""The sections of a person's data download, registered by the app that keeps the data.

Each app says what the person gets of its data in a module of its own, `<app>/privacy.py`: one
function per section, decorated with `@section(name, order=..., title=..., description=...,
columns=...)`, returning a list of dicts with exactly those columns, fetched in a fixed number
of queries. Only what the person may see in the product goes in.

Those modules are imported once at startup (privacy/apps.py, like the admin's autodiscovery),
and privacy/export.py writes the sections in `order` (gaps of ten leave room for new ones; the
access log is last, at 1000). The registry is here, in the lowest layer, so that every app can
register without importing privacy/, which sits above the apps whose data it exports.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from accounts.models import User


class PersonContext(Protocol):
    """What every section may rely on: the person. The context the download passes
    (mentoring/export_context.py) also holds their relationships and logs their note reads."""

    user: User


@dataclass(frozen=True)
class Section:
    name: str  # the JSON key and the CSV's file name
    title: str
    description: str
    columns: tuple[str, ...]
    rows: Callable[[Any], list[dict]]
    single: bool = False  # one record (a JSON object), not a list
    order: int = 0  # the place in the download, smallest first


# Every registered section, kept in `order`.
SECTIONS: list[Section] = []


def section(name: str, *, order: int, title: str, description: str, columns, single: bool = False):
    """Register a section of the download (a decorator). The function takes the export's
    context and returns the rows as dicts whose keys are exactly `columns` (names, or one
    string of names separated by spaces), in that order. Two sections may not share a name or
    an order."""
    if isinstance(columns, str):
        columns = columns.split()

    def register(func):
        for other in SECTIONS:
            if other.name == name or other.order == order:
                raise ImproperlyConfigured(
                    f"Data export section {name!r} (order {order}) clashes with {other.name!r} "
                    f"(order {other.order})."
                )
        entry = Section(name, title, description, tuple(columns), func, single, order)
        bisect.insort(SECTIONS, entry, key=lambda s: s.order)
        return func

    return register
