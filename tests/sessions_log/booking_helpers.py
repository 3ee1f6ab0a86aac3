"""Small builders shared by the availability, booking and calendar tests (plain functions, so
the other test modules of this package keep their own fixtures)."""

from __future__ import annotations

import datetime
from email.mime.base import MIMEBase

from django.utils import timezone
from icalendar import Calendar

from accounts.models import ParticipantProfile
from mentoring import services
from sessions_log.models import Slot

HOUR = datetime.timedelta(hours=1)
DAY = datetime.timedelta(days=1)


def now() -> datetime.datetime:
    return timezone.now().replace(second=0, microsecond=0)


def start_pair(program, guide, learner):
    return services.relationship_start(
        program=program,
        guide=guide,
        learner=learner,
        started_on=timezone.localdate() - datetime.timedelta(days=30),
    )


def slot_of(guide, *, at: datetime.datetime, minutes: int = 60, **fields) -> Slot:
    """A slot written directly (the service's checks are tested on their own)."""
    fields.setdefault("location", "Room 4.12")
    return Slot.objects.create(
        guide=guide, starts_at=at, ends_at=at + datetime.timedelta(minutes=minutes), **fields
    )


def set_zone(user, name: str) -> None:
    ParticipantProfile.objects.update_or_create(user=user, defaults={"timezone": name})
    # the profile is cached on the user object
    if hasattr(user, "_state") and "profile" in user._state.fields_cache:
        del user._state.fields_cache["profile"]


def invitations(outbox) -> list[tuple[str, Calendar, MIMEBase]]:
    """(recipient, parsed calendar, MIME part) of each email's text/calendar attachment."""
    found = []
    for message in outbox:
        for part in message.attachments:
            if isinstance(part, MIMEBase) and part.get_content_type() == "text/calendar":
                found.append(
                    (message.to[0], Calendar.from_ical(part.get_payload(decode=True)), part)
                )
    return found


def event_of(calendar: Calendar):
    (event,) = calendar.walk("VEVENT")
    return event
