"""Erasure by anonymisation (`manage.py erase_person`).

The person is anonymised, never deleted: the User row stays (the access log, relationships and
meetings point to it, PROTECT) with a placeholder name and an undeliverable address, no
password, inactive; everything they wrote is blanked or deleted; the rows that carry counts
(relationships, meetings and their metadata, memberships, status history, goals, survey
invitations, the access log) stay, so dashboards count the same. See `erase_person` for the
list. SECURITY: the summary and the log line carry counts and the user id only.
"""

from __future__ import annotations

import datetime
import logging
import re
import secrets
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, User
from mentoring.models import (
    ConfidentialNote,
    Goal,
    GoalProgress,
    MentoringAgreement,
    Relationship,
    RematchRequest,
)
from mentoring.notes import Access

logger = logging.getLogger(__name__)

ERASED_NAME = "Erased person"
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never resolves, so nothing is ever delivered
ERASED_TEXT = "(erased)"  # for text a row cannot be without (a goal's title, an action item)


class ErasureRefused(Exception):
    """The person is an operator and the caller did not say to include operators."""


@dataclass
class ErasureSummary:
    """What an erasure did (or, for a dry run, would do): counts only, never content."""

    user_id: int
    dry_run: bool
    already_erased: bool
    counts: dict[str, int] = field(default_factory=dict)
    current_relationships: int = 0

    @property
    def changed(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        verb = "Would change" if self.dry_run else "Changed"
        head = f"{verb} for person #{self.user_id}:"
        if self.already_erased:
            head += " (this person was erased before)"
        out = [head, *(f"  {label}: {n}" for label, n in self.counts.items())]
        if self.current_relationships:
            out.append(
                f"Note: {self.current_relationships} relationship(s) with this person are still "
                "active or paused; an administrator should end them (a participant left)."
            )
        return out


def is_erased(user: User) -> bool:
    return user.email.endswith("@" + ERASED_DOMAIN)


def _update(qs, apply: bool, **changes) -> int:
    return qs.update(**changes) if apply else qs.count()


def _delete(qs, apply: bool) -> int:
    count = qs.count()
    if apply and count:
        qs.delete()
    return count


def _replace_required(qs, name: str, apply: bool) -> int:
    """Set the encrypted required text `name` to ERASED_TEXT where it is not already (encrypted
    text cannot be compared in SQL, so the check is in Python; per person, a few rows)."""
    pks = [obj.pk for obj in qs.only("pk", name) if getattr(obj, name) != ERASED_TEXT]
    return _update(qs.model.objects.filter(pk__in=pks), apply, **{name: ERASED_TEXT})


def _sessions_of(user: User) -> list[str]:
    from django.contrib.sessions.models import Session

    # SESSION_ENGINE is the database: find the person's sessions by decoding them (a rare,
    # operator-run command; the table holds only unexpired sessions after clearsessions).
    return [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]


def _scrub_text(value, patterns):
    """`value` with the person's name and address replaced, in strings, lists and dicts."""
    if isinstance(value, str):
        for pattern, replacement in patterns:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [_scrub_text(v, patterns) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_text(v, patterns) for k, v in value.items()}
    return value


def _scrub_records(user: User, apply: bool) -> int:
    """Rows outside the person's own that copied their name or address as text: the Django
    admin's history, match runs' approval reports, import files, failed-send errors. Import
    batches that name them lose their rows (a pending one is discarded, so committing it
    later cannot bring the person back)."""
    from django.contrib.admin.models import LogEntry

    from accounts.models import ImportBatch
    from matching.models import MatchRun
    from mentoring.models import AgreementReminder

    needles = [n for n in (user.email.strip(), user.full_name.strip()) if len(n) >= 3]
    if not needles:
        return 0
    patterns = [
        (re.compile(r"(?<!\w)" + re.escape(n) + r"(?!\w)", re.IGNORECASE), replacement)
        for n, replacement in zip(needles, ("erased address", ERASED_NAME), strict=False)
    ]

    def naming(*fields) -> Q:
        q = Q()
        for f in fields:
            for n in needles:
                q |= Q(**{f"{f}__icontains": n})
        return q

    targets = [
        (LogEntry, ("object_repr", "change_message")),
        (MatchRun, ("approval_report", "error")),
        (ImportBatch, ("rows", "errors", "summary")),
        (AgreementReminder, ("last_error",)),
    ]
    changed = 0
    for model, fields in targets:
        for obj in model.objects.filter(naming(*fields)):
            changed += 1
            if not apply:
                continue
            for f in fields:
                setattr(obj, f, _scrub_text(getattr(obj, f), patterns))
            updated = list(fields)
            if model is ImportBatch:
                obj.rows, obj.errors = [], []
                if obj.status == ImportBatch.Status.PENDING:
                    obj.status = ImportBatch.Status.DISCARDED
                    updated.append("status")
            obj.save(update_fields=updated)
    return changed


def _clear_profile(user: User, apply: bool) -> int:
    """Free text, interests, languages, shared-background answers and availability go; level
    and cohort stay (dashboards count retention by cohort)."""
    profile = ParticipantProfile.objects.filter(user=user).first()
    cleared = {
        "track": "",
        "campus": "",
        "specialty_interests": [],
        "research_interests": [],
        "languages": [],
        "shared_background": [],
        "timezone": "UTC",
        "availability": 0,
        "contact_preference": "",
    }
    if profile is None or all(getattr(profile, k) == v for k, v in cleared.items()):
        return 0
    if apply:
        ParticipantProfile.objects.filter(pk=profile.pk).update(**cleared)
    return 1


def _end_memberships(user: User, apply: bool) -> int:
    from accounts.services import membership_end

    current = list(Membership.objects.current().for_user(user))
    if apply:
        now = timezone.now()
        for membership in current:
            if membership.started_at >= now:
                # Not started yet: it never will (a membership ends after it starts).
                membership.started_at = now - datetime.timedelta(microseconds=1)
                membership.save(update_fields=["started_at"])
            membership_end(membership=membership, when=now)
    return len(current)


def _anonymise_account(user: User, apply: bool) -> int:
    if is_erased(user):
        return 0
    if apply:
        user.full_name = ERASED_NAME
        user.email = f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"
        user.set_unusable_password()
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.invited_at = None
        user.nudge_emails = "off"
        user.save(
            update_fields=[
                "full_name",
                "email",
                "password",
                "is_active",
                "is_staff",
                "is_superuser",
                "invited_at",
                "nudge_emails",
            ]
        )
    return 1


def _erasure_steps(user: User, by: User | None, apply: bool) -> dict[str, int]:
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.apps import apps
    from django.contrib.sessions.models import Session
    from guardian.models import UserObjectPermission

    from matching.models import Choice, MatchRequest
    from mentoring.notes import notes_erase_of_author
    from sessions_log.models import (
        ActionItem,
        AvailabilityPattern,
        CalendarFeed,
        Meeting,
        MeetingLog,
        Slot,
        TimeRequest,
    )
    from surveys.models import InvitationDraft

    mine = Relationship.objects.for_participant(user)
    counts: dict[str, int] = {}
    # Confidential notes: through the notes service (one ERASE entry per note, actor `by`).
    notes = ConfidentialNote.objects.filter(author=user)
    counts["confidential notes erased"] = (
        notes_erase_of_author(Access(user=by), author=user) if apply else notes.count()
    )
    # What they wrote in their relationships. Rows and metadata stay (counts unchanged).
    counts["meeting reflections blanked"] = _update(
        MeetingLog.objects.filter(meeting__relationship__learner=user).exclude(reflection=""),
        apply,
        reflection="",
    )
    counts["action items blanked"] = _replace_required(
        ActionItem.objects.filter(created_by=user), "text", apply
    )
    # A learner's goals are theirs whoever typed them; a guide's, those they wrote.
    goals = Goal.objects.filter(Q(created_by=user) | Q(relationship__learner=user))
    counts["goal titles blanked"] = _replace_required(goals, "title", apply)
    _update(goals.exclude(description=""), apply, description="")
    counts["goal progress notes blanked"] = _replace_required(
        GoalProgress.objects.filter(author=user), "note", apply
    )
    counts["agreement texts blanked"] = _update(
        MentoringAgreement.objects.filter(relationship__in=mine).filter(
            ~Q(goals="") | ~Q(boundaries="")
        ),
        apply,
        goals="",
        boundaries="",
    )
    counts["rematch reasons blanked"] = _update(
        RematchRequest.objects.filter(relationship__learner=user).exclude(reason=""),
        apply,
        reason="",
    )
    counts["time request messages blanked"] = _update(
        TimeRequest.objects.filter(relationship__learner=user).exclude(message=""),
        apply,
        message="",
    )
    counts["cancellation messages blanked"] = _update(
        Meeting.objects.filter(cancelled_by=user).exclude(cancel_message=""),
        apply,
        cancel_message="",
    )
    counts["video links removed"] = _update(
        Meeting.objects.filter(relationship__guide=user).exclude(video_link=""),
        apply,
        video_link="",
    )
    requests = MatchRequest.objects.filter(Q(learner=user) | Q(guide=user))
    counts["match request notes blanked"] = _update(
        requests.filter(~Q(message="") | ~Q(reply="")), apply, message="", reply=""
    )
    now = timezone.now()
    pending = requests.filter(state=MatchRequest.State.PENDING)
    counts["pending match requests closed"] = _update(
        pending.filter(learner=user), apply, state=MatchRequest.State.WITHDRAWN, answered_at=now
    ) + _update(
        pending.filter(guide=user), apply, state=MatchRequest.State.DECLINED, answered_at=now
    )
    counts["ranked choices deleted"] = _delete(Choice.objects.filter(chooser=user), apply)
    # Out of matching, people lists and capacity: memberships end (the rows stay).
    counts["roles ended"] = _end_memberships(user, apply)
    # Availability: patterns and unbooked times go; times that held a meeting stay, withdrawn.
    counts["weekly availability deleted"] = _delete(
        AvailabilityPattern.objects.filter(guide=user), apply
    )
    slots = Slot.objects.filter(guide=user)
    held = Exists(Meeting.objects.filter(slot=OuterRef("pk")))
    booked = Exists(Meeting.objects.filter(slot=OuterRef("pk"), status=Meeting.Status.BOOKED))
    counts["free times deleted"] = _delete(slots.filter(~held), apply)
    counts["times withdrawn"] = _update(
        slots.filter(held, ~booked, withdrawn_at__isnull=True), apply, withdrawn_at=now
    )
    _update(slots.filter(held).exclude(video_link=""), apply, video_link="")
    counts["calendar addresses deleted"] = _delete(CalendarFeed.objects.filter(user=user), apply)
    counts["profile cleared"] = _clear_profile(user, apply)
    counts["survey drafts deleted"] = _delete(
        InvitationDraft.objects.filter(invitation__person=user), apply
    )
    # Signing in: addresses, second factors, linked accounts, open sessions, permissions.
    counts["email addresses deleted"] = _delete(EmailAddress.objects.filter(user=user), apply)
    counts["authenticators deleted"] = _delete(Authenticator.objects.filter(user=user), apply)
    if apps.is_installed("allauth.socialaccount"):
        from allauth.socialaccount.models import SocialAccount

        counts["linked accounts deleted"] = _delete(SocialAccount.objects.filter(user=user), apply)
    keys = _sessions_of(user)
    counts["sessions ended"] = _delete(Session.objects.filter(session_key__in=keys), apply)
    counts["permissions removed"] = (
        _delete(User.groups.through.objects.filter(user=user), apply)
        + _delete(User.user_permissions.through.objects.filter(user=user), apply)
        + _delete(UserObjectPermission.objects.filter(user=user), apply)
    )
    counts["records naming the person scrubbed"] = (
        0 if is_erased(user) else _scrub_records(user, apply)
    )
    counts["account anonymised"] = _anonymise_account(user, apply)
    return counts


def erase_person(
    user: User, by: User | None = None, *, include_operator: bool = False, dry_run: bool = False
) -> ErasureSummary:
    """Anonymise `user`, keeping the access log and every row that aggregates count.

    Done (all in one transaction): their confidential notes erased through the notes service
    (an ERASE entry each, actor `by`); reflections, action items, goals (a learner's, or those
    a guide wrote), progress notes, agreement texts, rematch reasons, time-request and
    cancellation messages, match-request notes and video links blanked; pending match requests
    closed, ranked choices deleted, current roles ended (rows kept); availability patterns,
    free times, calendar feeds, survey drafts deleted; profile free text, interests, languages,
    shared background and availability cleared (level and cohort kept); email addresses,
    authenticators, linked accounts, sessions and permissions removed; their name and address
    replaced where other records copied them as text; then the account: name ERASED_NAME, an
    undeliverable unique address, no usable password, inactive, no operator flags.

    Kept: the User row (its id stays in the access log), relationships, meetings and their
    metadata, memberships and status history, goals (as rows), survey invitations, the access
    log. Refuses operators (staff or superusers) unless `include_operator`. A rerun changes
    nothing. `dry_run` counts what would change and writes nothing. The erasure works on a
    fresh, locked copy of the user: refresh `user` to see the result.
    """
    if (user.is_staff or user.is_superuser) and not include_operator:
        raise ErasureRefused(
            "This person is an operator (staff or superuser). Erasing them removes their access "
            "to the operations site; say so explicitly to go on (--include-operator)."
        )
    summary = ErasureSummary(user_id=user.pk, dry_run=dry_run, already_erased=is_erased(user))
    current = Relationship.objects.for_participant(user).current()
    if dry_run:
        summary.counts = _erasure_steps(user, by, apply=False)
        summary.current_relationships = current.count()
        return summary
    with transaction.atomic():
        # Two erasures of one person at once run one after the other.
        user = User.objects.select_for_update().get(pk=user.pk)
        summary.already_erased = is_erased(user)
        summary.counts = _erasure_steps(user, by, apply=True)
        summary.current_relationships = current.count()
        transaction.on_commit(
            lambda: logger.info(
                "person erased: user_id=%s changed=%s", summary.user_id, summary.changed
            )
        )
    return summary
