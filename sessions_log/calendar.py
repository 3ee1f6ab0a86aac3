"""iCalendar (RFC 5545, the `icalendar` library): meeting invitations and private feeds.

- Every booking, move and cancellation emails both people an invitation: METHOD:REQUEST, or
  METHOD:CANCEL with STATUS:CANCELLED. The UID is the meeting's (`Meeting.ical_uid`, stable
  across moves) and SEQUENCE is `Meeting.sequence`, raised by every change, so calendar apps
  update the one event instead of adding another. Times are UTC instants (DTSTART:...Z), which
  every calendar app shows in its own zone.
- A person's feed (`CalendarFeed`) lists their meetings from the last 90 days on, at a secret
  URL that needs no sign-in. Revoking issues a new token; the old URL answers 404 at once.

SECURITY: invitations and feeds carry time, place, names and program only; never a meeting
log, reflection, action item or cancellation message (those stay in the app).
"""

from __future__ import annotations

import datetime
from email.mime.text import MIMEText

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from accounts.times import UTC, describe, zone_of
from notify.outbox import email_queue
from notify.registry import OutboxKind, Prepared, register_kind
from sessions_log.models import CalendarFeed, Meeting

PRODID = "-//Mentoring//Meetings//EN"
FEED_DAYS_BACK = 90
# Statuses a calendar shows: the meeting is (or was) on. Cancelled ones drop out of a feed.
FEED_STATUSES = (Meeting.Status.BOOKED, Meeting.Status.COMPLETED, Meeting.Status.NO_SHOW)


def _address(user, *, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{user.email}")
    address.params["cn"] = vText(user.full_name or user.email)
    if role:
        address.params["role"] = vText(role)
        address.params["partstat"] = vText("ACCEPTED")
    return address


def _summary(meeting: Meeting) -> str:
    relationship = meeting.relationship
    return (
        f"{relationship.get_kind_display()} meeting: "
        f"{relationship.guide.full_name} and {relationship.learner.full_name}"
    )


def meeting_event(meeting: Meeting, *, stamp: datetime.datetime | None = None) -> Event:
    """The meeting as a VEVENT (cancelled: STATUS:CANCELLED)."""
    relationship = meeting.relationship
    stamp = stamp or timezone.now()
    event = Event()
    event.add("uid", meeting.ical_uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", meeting.ends_at.astimezone(UTC))
    event.add("summary", _summary(meeting))
    event.add("last-modified", meeting.updated_at.astimezone(UTC))
    cancelled = meeting.status in (Meeting.Status.CANCELLED, Meeting.Status.LATE_CANCEL)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("organizer", _address(relationship.guide))
    event.add("attendee", _address(relationship.guide, role="CHAIR"))
    event.add("attendee", _address(relationship.learner, role="REQ-PARTICIPANT"))
    if meeting.location:
        event.add("location", meeting.location)
    elif meeting.video_link:
        event.add("location", meeting.video_link)
    if meeting.video_link:
        event.add("url", meeting.video_link)
    lines = [f"{relationship.program.name}."]
    if meeting.video_link:
        lines.append(f"Video link: {meeting.video_link}")
    event.add("description", "\n".join(lines))
    return event


def _calendar(method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    return calendar


def invitation_method(meeting: Meeting) -> str:
    cancelled = meeting.status in (Meeting.Status.CANCELLED, Meeting.Status.LATE_CANCEL)
    return "CANCEL" if cancelled else "REQUEST"


def invitation_ics(meeting: Meeting) -> bytes:
    """The invitation for the meeting as it stands: REQUEST while booked, CANCEL once
    cancelled."""
    calendar = _calendar(invitation_method(meeting))
    calendar.add_component(meeting_event(meeting))
    return calendar.to_ical()


INVITATION_KIND = "meeting-invitation"


def invitations_queue(*, meeting: Meeting, event: str, publish: bool = True) -> list[int]:
    """Queue the invitation (event: "booked", "rescheduled" or "cancelled") to both people,
    through the outbox, in the caller's transaction: one email per person and version of the
    meeting (`sequence`). Returns the ids of the rows this call queued."""
    relationship = meeting.relationship
    queued = []
    for recipient_id in (relationship.learner_id, relationship.guide_id):
        pk = email_queue(
            kind=INVITATION_KIND,
            key=f"{meeting.pk}:{meeting.sequence}:{recipient_id}",
            recipient=recipient_id,
            params={"meeting": meeting.pk, "sequence": meeting.sequence, "event": event},
            publish=publish,
        )
        if pk is not None:
            queued.append(pk)
    return queued


def _invitation_prepare(row, now: datetime.datetime):
    """The invitation as the meeting stands, in the recipient's zone, with the .ics attached.
    Sent only while the meeting is still at the queued `sequence`: after a later change, that
    change's own row sends the newer version (calendar apps would ignore the older one)."""
    params = row.params
    meeting = (
        Meeting.objects.filter(pk=params["meeting"])
        .select_related(
            "relationship__program",
            "relationship__guide__profile",
            "relationship__learner__profile",
        )
        .first()
    )
    if meeting is None:
        return "the meeting is gone"
    if meeting.sequence != params["sequence"]:
        return "the meeting changed since (the newer invitation is sent)"
    relationship = meeting.relationship
    recipient = row.recipient
    is_learner = recipient.pk == relationship.learner_id
    if not is_learner and recipient.pk != relationship.guide_id:
        return "the recipient is not one of the pair"
    other = relationship.guide if is_learner else relationship.learner
    page = (
        reverse("meetings:book", kwargs={"code": relationship.code})
        if is_learner
        else reverse("meetings:availability")
    )
    context = {
        "event": params["event"],
        "meeting": meeting,
        "is_learner": is_learner,
        "other": other,
        "program": relationship.program,
        "when": describe(meeting.starts_at, meeting.ends_at, zone_of(recipient)),
        "cancelled_by_other": meeting.cancelled_by_id == other.pk,
        "late": meeting.status == Meeting.Status.LATE_CANCEL,
        "has_message": bool(meeting.cancel_message) and meeting.cancelled_by_id == other.pk,
        "url": settings.SITE_URL + page,
    }
    method = invitation_method(meeting)
    attachment = MIMEText(invitation_ics(meeting).decode("utf-8"), "calendar", "utf-8")
    attachment.set_param("method", method)
    attachment.add_header("Content-Disposition", "attachment", filename="meeting.ics")
    return Prepared("meeting_invitation", context, attachments=(attachment,))


register_kind(OutboxKind(INVITATION_KIND, _invitation_prepare))


# --- Private feeds ------------------------------------------------------------------------


def feed_meetings(user, *, now: datetime.datetime | None = None):
    """`user`'s meetings a feed lists: not cancelled, from FEED_DAYS_BACK days ago on."""
    now = now or timezone.now()
    return (
        Meeting.objects.filter(Q(relationship__guide=user) | Q(relationship__learner=user))
        .filter(
            status__in=FEED_STATUSES, ends_at__gte=now - datetime.timedelta(days=FEED_DAYS_BACK)
        )
        .select_related("relationship__program", "relationship__guide", "relationship__learner")
        .order_by("starts_at")
    )


def feed_ics(user, *, now: datetime.datetime | None = None) -> bytes:
    """A VCALENDAR of `user`'s meetings (no METHOD: a subscription, not an invitation)."""
    now = now or timezone.now()
    calendar = _calendar()
    calendar.add("x-wr-calname", "Mentoring meetings")
    calendar.add("refresh-interval", datetime.timedelta(hours=1), parameters={"value": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    for meeting in feed_meetings(user, now=now):
        calendar.add_component(meeting_event(meeting, stamp=now))
    return calendar.to_ical()


def live_feed(user) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


def feed_owner(token: str):
    """The person whose live feed has this token, or None (unknown or revoked)."""
    feed = (
        CalendarFeed.objects.filter(token=token, revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if feed is None or not feed.user.is_active:
        return None
    return feed.user


def feed_create(*, user) -> CalendarFeed:
    """`user`'s live feed, created if they have none (one live feed per person)."""
    feed = live_feed(user)
    if feed is not None:
        return feed
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(user=user)
    except IntegrityError:  # a second request made it a moment ago
        return live_feed(user)


def feed_revoke(*, user) -> CalendarFeed:
    """Stop the current feed URL at once and issue a new one (calendar apps subscribed to the
    old URL stop receiving updates; the person subscribes again with the new one)."""
    try:
        with transaction.atomic():
            CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
            return CalendarFeed.objects.create(user=user)
    except IntegrityError:  # a second revoke issued the new one a moment ago
        return live_feed(user)
