"""The shape of one thing waiting for a person, shown on their home page.

Each feature app offers a small `todo.py` whose functions return `TodoItem`s for one person
(and one role); `config.home` gathers them and puts them in order. An item is a link that
goes straight to where the thing is done. Apps give times as aware datetimes in `when` and
never format them: the home page renders every time in one place, in the reader's zone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from accounts.models import Reviewed

# How urgent an item is: lower comes first. Within one urgency, the earlier `when` first.
NOW = 0  # a meeting starting within the hour, or under way
SOON = 10  # something to do for someone else, who is waiting (a request, a signature)
TODO = 20  # one's own work (a survey, an action item, a log to write)
LATER = 30  # worth knowing, nothing to do yet (the next meeting)
WAITING = 40  # waiting for someone else's answer (a request one made)


@dataclass(frozen=True)
class TodoItem:
    title: str  # the link's words: what to do ("Answer the end-of-term survey")
    url: str  # where it is done
    detail: str = ""  # one plain sentence more, no time in it
    when: datetime.datetime | None = None  # the moment it is about (a meeting's start, a deadline)
    when_label: str = ""  # what `when` is, e.g. "Starts", "Closes", "Asked"
    priority: int = TODO
    kind: str = ""  # a stable name for tests and styling ("meeting-soon", "survey"...)

    def sort_key(self) -> tuple:
        far = datetime.datetime.max.replace(tzinfo=datetime.UTC)
        return (self.priority, self.when or far, self.title)


def in_order(items) -> list[TodoItem]:
    """The items, most urgent first, then by time (those without a time last), then by title."""
    return sorted(items, key=TodoItem.sort_key)


def reviewed_at(user, subject: str) -> datetime.datetime | None:
    """When `user` last marked `subject` as gone through (None: never)."""
    return Reviewed.objects.filter(user=user, subject=subject).values_list("at", flat=True).first()


def review_mark(user, subject: str, at: datetime.datetime) -> None:
    """`user` has gone through `subject` up to `at`: one upsert, the same cost on the first
    visit as on every later one."""
    Reviewed.objects.bulk_create(
        [Reviewed(user=user, subject=subject, at=at)],
        update_conflicts=True,
        unique_fields=["user", "subject"],
        update_fields=["at"],
    )
