"""A person's data rights, registered by the app that keeps the data: the sections of their
download (`@section`) and the steps of their erasure (`@erasure_step`, `name_copies`).

Each app says what of its data a person gets, and what erasing them does to it, in a module of
its own, `<app>/privacy.py`. Those modules are imported once at startup (privacy/apps.py, like
the admin's autodiscovery); privacy/export.py writes the sections and privacy/erasure.py runs
the steps, each in `order` (gaps of ten leave room for new ones). The registries are here, in
the lowest layer, so that every app can register without importing privacy/, which sits above
the apps whose data it exports and erases.

Sections: one function per section, returning a list of dicts with exactly its columns,
fetched in a fixed number of queries; only what the person may see in the product goes in.
The access log is last (1000): it includes the entries the download has just written.

Erasure steps: one function per step, taking the `Erasure` under way and returning what it
changed (or, in a dry run, would change) as {label: count}, counts only; the summary lists
the labels in the steps' order. A rerun must change nothing. Rows that copied the person's
name or address as text elsewhere are declared with `name_copies` and scrubbed by the
accounts step that runs just before the account itself is anonymised.
"""

from __future__ import annotations

import bisect
import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

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
        bisect.insort(SECTIONS, entry, key=_order)
        return func

    return register


# --- Erasure ------------------------------------------------------------------------------------
ERASED_NAME = "Erased person"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never resolves, so nothing is ever delivered
ERASED_TEXT = "(erased)"  # for text a row cannot be without (a goal's title, an action item)


def is_erased(user: User) -> bool:
    return user.email.endswith("@" + ERASED_DOMAIN)


@dataclass
class Erasure:
    """One erasure under way, as every step sees it: the person, who erases them (`by`, the
    actor of the notes' access-log entries), whether to write (`apply`; a dry run counts what
    would change and writes nothing), and when."""

    user: User
    by: User | None
    apply: bool
    now: datetime.datetime = field(default_factory=timezone.now)

    def update(self, qs, **changes) -> int:
        return qs.update(**changes) if self.apply else qs.count()

    def delete(self, qs) -> int:
        count = qs.count()
        if self.apply and count:
            qs.delete()
        return count

    def replace_required(self, qs, name: str) -> int:
        """Set the encrypted required text `name` to ERASED_TEXT where it is not already
        (encrypted text cannot be compared in SQL, so the check is in Python; per person, a
        few rows)."""
        pks = [obj.pk for obj in qs.only("pk", name) if getattr(obj, name) != ERASED_TEXT]
        return self.update(qs.model.objects.filter(pk__in=pks), **{name: ERASED_TEXT})


@dataclass(frozen=True)
class ErasureStep:
    name: str  # the function's, for messages
    order: int
    run: Callable[[Erasure], dict[str, int]]


# Every registered step, kept in `order`.
ERASURE_STEPS: list[ErasureStep] = []


def erasure_step(*, order: int):
    """Register a step of the erasure (a decorator). The function takes the `Erasure` and
    returns {label: count} of what it changed (or would change). Two steps may not share an
    order."""

    def register(func):
        for other in ERASURE_STEPS:
            if other.order == order:
                raise ImproperlyConfigured(
                    f"Erasure step {func.__qualname__!r} (order {order}) clashes with "
                    f"{other.name!r}."
                )
        bisect.insort(ERASURE_STEPS, ErasureStep(func.__qualname__, order, func), key=_order)
        return func

    return register


def _order(entry) -> int:
    return entry.order


@dataclass(frozen=True)
class NameCopies:
    """Text fields of `model` that may hold a copy of a person's name or address. `then`, if
    given, changes more of a scrubbed row and returns the names of the fields it changed."""

    model: type
    fields: tuple[str, ...]
    then: Callable[[Any], list[str]] | None = None


NAME_COPIES: list[NameCopies] = []


def name_copies(model, *fields: str, then: Callable[[Any], list[str]] | None = None) -> None:
    """Declare text fields of `model` that may copy a person's name or address (an admin's
    history, a report, an error message): erasure replaces the person's name and address
    there."""
    NAME_COPIES.append(NameCopies(model, fields, then))
