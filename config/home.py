"""The home page's to-do lists: for each role a person holds, what is waiting for them, each
item a link to where it is done, most urgent first.

The items come from the feature apps' `todo.py` modules (each knows its own data and its own
pages); this module only picks the ones a role may act on and puts them in order. Every
function below costs a fixed number of queries whatever the number of meetings, surveys,
requests or conflicts (tests/config/test_home.py counts them).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import GUIDE_ROLES, Role
from accounts.permissions import is_privacy_officer
from accounts.times import zone_of
from accounts.todo import TodoItem, in_order
from dashboards.todo import dean_items
from matching import todo as matching_todo
from mentoring import todo as mentoring_todo
from mentoring.models import Program
from privacy.todo import access_log_items
from sessions_log import todo as meetings_todo
from surveys import todo as surveys_todo

GUIDE_MEETINGS_SHOWN = 3


@dataclass(frozen=True)
class TodoList:
    key: str  # "learner", "guide", "admin", "dean", "privacy"
    heading: str
    items: list[TodoItem]
    empty: str  # the plain sentence shown when nothing is waiting


def when_text(moment: datetime.datetime | None, zone) -> str:
    """The one place a to-do item's time is written: "Tuesday 8 December, 14:30 (Europe/London)",
    in the reader's zone, the year only when it is not this year's."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, zone)
    this_year = timezone.localtime(timezone.now(), zone).year
    day = f"{local:%A} {local.day} {local:%B}"
    if local.year != this_year:
        day += f" {local.year}"
    return f"{day}, {local:%H:%M} ({zone})"


def learner_items(user, now: datetime.datetime) -> list[TodoItem]:
    return in_order(
        meetings_todo.meeting_items(user, now, limit=1)
        + surveys_todo.survey_items(user, now)
        + meetings_todo.action_item_items(user)
        + mentoring_todo.agreement_items(user)
        + matching_todo.requests_sent(user, now)
        + meetings_todo.time_request_items_for_learner(user)
    )


def guide_items(user, now: datetime.datetime) -> list[TodoItem]:
    today = timezone.localdate(now, zone_of(user))
    return in_order(
        meetings_todo.meeting_items(user, now, limit=GUIDE_MEETINGS_SHOWN)
        + mentoring_todo.confirm_items(user)
        + matching_todo.requests_to_answer(user, now)
        + meetings_todo.time_request_items_for_guide(user)
        + mentoring_todo.agreement_items(user)
        + meetings_todo.log_due_items(user, now)
        + surveys_todo.survey_items(user, now)
        + mentoring_todo.new_mentee_items(user, today)
    )


def learner_and_guide_items(user, now: datetime.datetime) -> list[TodoItem]:
    """One list for a person who is both learner and guide: the meetings, surveys and
    agreements of both sides, each once."""
    today = timezone.localdate(now, zone_of(user))
    return in_order(
        meetings_todo.meeting_items(user, now, limit=GUIDE_MEETINGS_SHOWN)
        + surveys_todo.survey_items(user, now)
        + meetings_todo.action_item_items(user)
        + mentoring_todo.agreement_items(user)
        + matching_todo.requests_sent(user, now)
        + meetings_todo.time_request_items_for_learner(user)
        + mentoring_todo.confirm_items(user)
        + matching_todo.requests_to_answer(user, now)
        + meetings_todo.time_request_items_for_guide(user)
        + meetings_todo.log_due_items(user, now)
        + mentoring_todo.new_mentee_items(user, today)
    )


def admin_items(user, programs: list[Program], now: datetime.datetime) -> list[TodoItem]:
    """Counts, per program `user` administers (R9), with a link to the console's list."""
    today = timezone.localdate(now)
    return in_order(
        mentoring_todo.conflict_items(user)
        + mentoring_todo.rematch_items(user)
        + matching_todo.runs_to_review(user)
        + meetings_todo.quiet_items(programs, today)
    )


def todo_lists(
    user, roles: frozenset[str], programs: list[Program], now: datetime.datetime | None = None
) -> list[TodoList]:
    """The to-do lists of every role `user` holds, in the order the home page shows them."""
    now = now or timezone.now()
    lists = []
    learner, guide = Role.LEARNER in roles, bool(roles & GUIDE_ROLES)
    if learner and guide:
        lists.append(
            TodoList(
                "participant",
                "Your next steps",
                learner_and_guide_items(user, now),
                "Nothing is waiting for you in your relationships right now.",
            )
        )
    elif learner:
        lists.append(
            TodoList(
                "learner",
                "Your next steps",
                learner_items(user, now),
                "Nothing is waiting for you right now.",
            )
        )
    elif guide:
        lists.append(
            TodoList(
                "guide",
                "Your next steps",
                guide_items(user, now),
                "Nothing is waiting for you right now: no meeting, request, agreement or log.",
            )
        )
    if Role.PROGRAM_ADMIN in roles:
        lists.append(
            TodoList(
                "admin",
                "Waiting in your programs",
                admin_items(user, programs, now),
                "Nothing is waiting in your programs: no open conflict, quiet relationship, "
                "rematch request or match run to review.",
            )
        )
    if Role.DEAN in roles:
        lists.append(TodoList("dean", "For the institution", dean_items(user), ""))
    if is_privacy_officer(user):
        lists.append(TodoList("privacy", "Privacy", access_log_items(user, now), ""))
    return lists
