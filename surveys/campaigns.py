"""Survey campaigns: when they open, whom they invite, when they close.

Everything is found in the database by `campaigns_run` (the beat task `run_campaigns`, every
five minutes), never scheduled as a countdown, and every step is safe to run twice or at the
same time as itself (unique constraints on campaigns and invitations; a row lock on a campaign
while it opens or closes).

The calendar (times in the site's time zone, settings.TIME_ZONE; the table is in
surveys/README.md):
- End of term (period_key: the term's code): opens at 09:00 on the term's last day. The
  learner end-of-term survey asks each learner who had a relationship in the term (about their
  latest); the guide end-of-term survey asks each guide who had one.
- Wellbeing (period_key: the term's code): opens at 09:00 on the middle day of each term, for
  every current learner and guide of the program, paired or not (so mentored and not mentored
  can be compared), away from the end-of-term surveys.
- Check-ins (pooled per program and month, period_key "2026-11"): both people of each active
  relationship, `first_after_days` after it started and every `repeat_every_days` after that
  (0: once).
- Relationship ends (pooled per program and month): the learner (learner survey) and the guide
  (guide survey) of a relationship that ended that month, unless a term of the program ends
  within 14 days of its end (the end-of-term survey asks them) or the guide declined it.

End-of-term and wellbeing campaigns are created `scheduled` up to 30 days ahead (administrators
see them coming and may change their dates), opened at `opens_at` with their invitations made
then, and close `open_days` after opening. A monthly campaign is created open when its first
person is due, takes invitations until the month ends, and closes `open_days` after the month
ends, so that whoever is invited last still has `open_days`; pooling a month of people into one
campaign keeps its groups large enough to show (R6 small cells). Closing deletes the drafts
of people who never submitted. Inactive templates start no new campaigns.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from collections.abc import Iterable

from celery.exceptions import SoftTimeLimitExceeded
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import GUIDE_ROLES, Membership, Role
from mentoring.models import Relationship, Term
from surveys.defaults import templates_install_missing
from surveys.models import Audience, Campaign, Invitation, InvitationDraft, SurveyTemplate

logger = logging.getLogger(__name__)

DAY = datetime.timedelta(days=1)
SCHEDULE_AHEAD = datetime.timedelta(days=30)  # end-of-term campaigns appear this far ahead
OPEN_AT = datetime.time(9, 0)  # in the site's time zone
END_OF_TERM_COVERS = datetime.timedelta(days=14)  # a relationship ending this near a term end
MAX_OPEN_DAYS = 90  # SurveyTemplate.open_days' upper bound

Target = tuple[int, int | None]  # (person id, relationship id or None)


# --- Dates -----------------------------------------------------------------------------------


def opening_time(day: datetime.date) -> datetime.datetime:
    """09:00 on `day` in the site's time zone."""
    return datetime.datetime.combine(day, OPEN_AT, tzinfo=timezone.get_default_timezone())


def calendar_day(now: datetime.datetime) -> datetime.date:
    """The calendar's day at `now`: the site's date from OPEN_AT on, the day before until then.
    Check-ins and relationship ends due on a day are invited at 09:00 with that day's term
    campaigns, so that everything due to a person on one day goes out in one survey email
    (surveys/delivery.py) rather than one at midnight and the rest the next day."""
    local = timezone.localtime(now)
    return local.date() if local.time() >= OPEN_AT else local.date() - DAY


def month_start(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day`'s month in the site's time zone."""
    return datetime.datetime.combine(
        day.replace(day=1), datetime.time(0), tzinfo=timezone.get_default_timezone()
    )


def next_month(day: datetime.date) -> datetime.date:
    """The first day of the month after `day`'s."""
    return (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)


def month_key(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


def term_opening(kind: str, starts_on: datetime.date, ends_on: datetime.date) -> datetime.datetime:
    """When a term's campaign of `kind` (wellbeing or end of term) opens: 09:00 on the term's
    middle day, or on its last day."""
    if kind == Campaign.Kind.WELLBEING:
        return opening_time(starts_on + (ends_on - starts_on) // 2)
    return opening_time(ends_on)


def term_campaigns_follow(
    *, term: Term, old_starts_on: datetime.date, old_ends_on: datetime.date
) -> int:
    """The term's dates changed: its campaigns not yet open move with it, when they still open
    when the old dates said (an administrator who chose another time keeps it); the closing
    moves by as much. Open and closed campaigns stay as they are. Returns how many moved."""
    moved = 0
    with transaction.atomic():
        for campaign in Campaign.objects.select_for_update().filter(
            term=term,
            status=Campaign.Status.SCHEDULED,
            kind__in=[Campaign.Kind.END_OF_TERM, Campaign.Kind.WELLBEING],
        ):
            if campaign.opens_at != term_opening(campaign.kind, old_starts_on, old_ends_on):
                continue
            shift = term_opening(campaign.kind, term.starts_on, term.ends_on) - campaign.opens_at
            if not shift:
                continue
            campaign.opens_at += shift
            campaign.closes_at += shift
            campaign.save(update_fields=["opens_at", "closes_at"])
            moved += 1
    return moved


def on_term_dates_changed(sender, *, term, old_starts_on, old_ends_on, **kwargs) -> int:
    """Receiver of mentoring.signals.term_dates_changed (connected in apps.py)."""
    return term_campaigns_follow(term=term, old_starts_on=old_starts_on, old_ends_on=old_ends_on)


def check_in_due(
    started_on: datetime.date, first_after_days: int, repeat_every_days: int, today: datetime.date
) -> datetime.date | None:
    """The latest day on or before `today` a check-in of a relationship started on
    `started_on` falls due (None before the first)."""
    first = started_on + first_after_days * DAY
    if first > today:
        return None
    if repeat_every_days <= 0:
        return first
    return first + ((today - first).days // repeat_every_days) * repeat_every_days * DAY


# --- Whom a campaign invites -------------------------------------------------------------------


def _sides(audience: str) -> tuple[bool, bool]:
    """(learners, guides) invited for a template's audience."""
    return (audience != Audience.GUIDES, audience != Audience.LEARNERS)


def _relationships_in_term(campaign: Campaign):
    """The relationships a term-bound campaign is about: those of the program that shared a
    day with the term (or, with no term, the current ones); never one the guide declined."""
    qs = Relationship.objects.filter(program_id=campaign.program_id)
    if campaign.term is not None:
        qs = qs.filter(
            status__in=[
                Relationship.Status.ACTIVE,
                Relationship.Status.PAUSED,
                Relationship.Status.ENDED,
            ]
        ).overlapping(campaign.term.starts_on, campaign.term.ends_on)
    else:
        qs = qs.current()
    return qs.exclude(end_reason=Relationship.EndReason.DECLINED)


def _relationship_targets(relationships, audience: str) -> list[Target]:
    """Learners (each once, about their latest relationship) and guides (each once, about no
    one relationship) of `relationships`, as the audience asks; active people only."""
    learners, guides = _sides(audience)
    rows = relationships.order_by("started_on", "pk").values_list(
        "pk", "guide_id", "guide__is_active", "learner_id", "learner__is_active"
    )
    latest: dict[int, int] = {}
    guide_ids: set[int] = set()
    for pk, guide_id, guide_active, learner_id, learner_active in rows:
        if learners and learner_active:
            latest[learner_id] = pk  # ordered by start: the last one wins
        if guides and guide_active:
            guide_ids.add(guide_id)
    return [(person, pk) for person, pk in latest.items()] + [(g, None) for g in guide_ids]


def _member_targets(campaign: Campaign) -> list[Target]:
    """Every current learner and guide of the program (as the audience asks), paired or not;
    a learner's invitation names their current relationship in the program, if any (so a
    response says whether its respondent was mentored). Someone who is both is asked once,
    as a learner."""
    learners, guides = _sides(campaign.template.audience)
    roles = ([Role.LEARNER] if learners else []) + (sorted(GUIDE_ROLES) if guides else [])
    members = (
        Membership.objects.current()
        .filter(program_id=campaign.program_id, role__in=roles, user__is_active=True)
        .values_list("user_id", "role")
    )
    learner_ids, guide_ids = set(), set()
    for user_id, role in members:
        (learner_ids if role == Role.LEARNER else guide_ids).add(user_id)
    current = dict(
        Relationship.objects.current()
        .filter(program_id=campaign.program_id, learner_id__in=learner_ids)
        .order_by("started_on", "pk")
        .values_list("learner_id", "pk")
    )
    return [(person, current.get(person)) for person in learner_ids] + [
        (person, None) for person in guide_ids - learner_ids
    ]


def campaign_targets(campaign: Campaign) -> list[Target]:
    """Whom a campaign invites when it opens (see the module's table). Monthly check-in and
    relationship-end campaigns are filled as people fall due instead (`invite_check_ins`,
    `invite_relationship_ends`); one of those kinds made by hand asks the people of the
    program's current relationships."""
    if campaign.kind == Campaign.Kind.WELLBEING:
        return _member_targets(campaign)
    audience = campaign.template.audience
    if campaign.kind == Campaign.Kind.END_OF_TERM:
        return _relationship_targets(_relationships_in_term(campaign), audience)
    relationships = Relationship.objects.filter(program_id=campaign.program_id).active()
    return _pair_targets(relationships.values_list("pk", "guide_id", "learner_id"), audience)


def _pair_targets(rows: Iterable[tuple[int, int, int]], audience: str) -> list[Target]:
    """Both people of each relationship (as the audience asks), each about the relationship."""
    learners, guides = _sides(audience)
    targets = []
    for pk, guide_id, learner_id in rows:
        if learners:
            targets.append((learner_id, pk))
        if guides:
            targets.append((guide_id, pk))
    return targets


def invitations_create(*, campaign: Campaign, targets: Iterable[Target]) -> int:
    """Invite each (person, relationship) once (the unique constraint `invitation_once`; a
    second run, or another process, adds nothing); returns how many new ones were asked for."""
    # The constraint holds for a NULL relationship too (NULLS NOT DISTINCT): conflicts are
    # skipped by the database, and the count is what the table gained.
    rows = [
        Invitation(campaign=campaign, person_id=person, relationship_id=relationship)
        for person, relationship in sorted(set(targets), key=lambda t: (t[0], t[1] or 0))
    ]
    before = campaign.invitations.count()
    Invitation.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return campaign.invitations.count() - before


# --- Scheduling, opening, closing -------------------------------------------------------------


def _title(template: SurveyTemplate, when: str) -> str:
    return f"{template.name}: {when}"[:200]


def campaigns_schedule(*, now: datetime.datetime) -> int:
    """Create the end-of-term and wellbeing campaigns of terms whose opening is within
    SCHEDULE_AHEAD (or past, while the campaign would still be open); returns how many."""
    today = timezone.localdate(now)
    terms = list(
        Term.objects.filter(
            program__is_active=True,
            ends_on__gte=today - MAX_OPEN_DAYS * DAY,
            starts_on__lte=today + SCHEDULE_AHEAD,
        )
    )
    if not terms:
        return 0
    templates = defaultdict(list)
    for template in SurveyTemplate.objects.filter(
        program_id__in={t.program_id for t in terms},
        is_active=True,
        kind__in=[
            SurveyTemplate.Kind.LEARNER_END,
            SurveyTemplate.Kind.GUIDE_END,
            SurveyTemplate.Kind.WELLBEING,
        ],
    ):
        templates[template.program_id].append(template)
    existing = set(
        Campaign.objects.filter(
            period_key__in=[str(t.code) for t in terms],
            kind__in=[Campaign.Kind.END_OF_TERM, Campaign.Kind.WELLBEING],
        ).values_list("template_id", "kind", "period_key")
    )
    made = 0
    for term in terms:
        for template in templates[term.program_id]:
            kind = (
                Campaign.Kind.WELLBEING
                if template.kind == SurveyTemplate.Kind.WELLBEING
                else Campaign.Kind.END_OF_TERM
            )
            opens_at = term_opening(kind, term.starts_on, term.ends_on)
            closes_at = opens_at + template.open_days * DAY
            if (template.pk, kind, str(term.code)) in existing:
                continue
            if not (opens_at - SCHEDULE_AHEAD <= now < closes_at):
                continue
            try:
                with transaction.atomic():
                    Campaign.objects.create(
                        program_id=term.program_id,
                        template=template,
                        kind=kind,
                        term=term,
                        period_key=str(term.code),
                        title=_title(template, term.name),
                        opens_at=opens_at,
                        closes_at=closes_at,
                        reminder_days=list(template.reminder_days),
                    )
                made += 1
            except IntegrityError:
                continue  # made by another run at the same moment
    return made


def campaigns_open_due(*, now: datetime.datetime) -> int:
    """Open each scheduled campaign whose time has come: invite its people (see
    `campaign_targets`), then mark it open, in one transaction under a row lock, so two runs
    open it once. A campaign whose whole window passed unopened is closed; one whose template
    was switched off waits (and closes at its closing time). Returns how many opened."""
    opened = 0
    due = Campaign.objects.filter(status=Campaign.Status.SCHEDULED, opens_at__lte=now)
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            campaign = (
                Campaign.objects.select_for_update(of=("self",))
                .select_related("template", "term")
                .filter(pk=pk, status=Campaign.Status.SCHEDULED)
                .first()
            )
            if campaign is None:
                continue
            if campaign.closes_at <= now:
                campaign.status, campaign.closed_at = Campaign.Status.CLOSED, now
                campaign.save(update_fields=["status", "closed_at"])
                continue
            if not campaign.template.is_active:
                continue
            invitations_create(campaign=campaign, targets=campaign_targets(campaign))
            campaign.status = Campaign.Status.OPEN
            campaign.save(update_fields=["status"])
            opened += 1
    return opened


def campaign_close(*, campaign: Campaign, now: datetime.datetime | None = None) -> bool:
    """Close a campaign (at its closing time, or early by an administrator): no more answers,
    no more emails (claims left unsent are skipped), and the drafts of people who never
    submitted are deleted. Returns False if it was closed already."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = (
            Campaign.objects.select_for_update()
            .filter(pk=campaign.pk)
            .exclude(status=Campaign.Status.CLOSED)
            .first()
        )
        if locked is None:
            return False
        locked.status, locked.closed_at = Campaign.Status.CLOSED, now
        locked.save(update_fields=["status", "closed_at"])
        InvitationDraft.objects.filter(invitation__campaign=locked).delete()
    campaign.status, campaign.closed_at = locked.status, locked.closed_at
    return True


def campaigns_close_due(*, now: datetime.datetime) -> int:
    """Close every campaign past its closing time; returns how many."""
    due = Campaign.objects.exclude(status=Campaign.Status.CLOSED).filter(closes_at__lte=now)
    return sum(campaign_close(campaign=campaign, now=now) for campaign in due)


# --- Monthly campaigns: check-ins and relationship ends ----------------------------------------


def _monthly_campaign(
    template: SurveyTemplate, kind: str, day: datetime.date, now: datetime.datetime
) -> Campaign | None:
    """The open monthly campaign of `template` for `day`'s month, made if need be; None once
    it has closed (or was closed early)."""
    month = day.replace(day=1)
    opens_at = month_start(month)
    closes_at = month_start(next_month(month)) + template.open_days * DAY
    if now >= closes_at:
        return None
    label = f"{month:%B %Y}"
    defaults = {
        "program_id": template.program_id,
        "title": _title(
            template,
            label if kind == Campaign.Kind.CHECK_IN else f"relationships ended in {label}",
        ),
        "status": Campaign.Status.OPEN,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "reminder_days": list(template.reminder_days),
        "named_follow_up": template.named_follow_up,
    }
    try:
        with transaction.atomic():
            campaign, _ = Campaign.objects.get_or_create(
                template=template, kind=kind, period_key=month_key(month), defaults=defaults
            )
    except IntegrityError:
        campaign = Campaign.objects.get(template=template, kind=kind, period_key=month_key(month))
    return campaign if campaign.is_open_at(now) else None


def _invite_new(campaign: Campaign, targets: list[Target]) -> int:
    """Invite the targets not invited yet (one query to find them, so a run with nothing new
    writes nothing)."""
    if not targets:
        return 0
    existing = set(
        Invitation.objects.filter(
            campaign=campaign, person_id__in={person for person, _ in targets}
        ).values_list("person_id", "relationship_id")
    )
    new = [t for t in targets if t not in existing]
    return invitations_create(campaign=campaign, targets=new) if new else 0


def invite_check_ins(*, now: datetime.datetime) -> int:
    """Invite both people of each active relationship whose check-in has fallen due (the
    latest due day, from 09:00 on it, while its month's campaign is open); returns how many
    were invited."""
    today = calendar_day(now)
    invited = 0
    templates = SurveyTemplate.objects.filter(
        kind=SurveyTemplate.Kind.CHECK_IN, is_active=True, program__is_active=True
    )
    for template in templates:
        rows = Relationship.objects.filter(
            program_id=template.program_id,
            status=Relationship.Status.ACTIVE,
            started_on__lte=today - template.first_after_days * DAY,
        ).values_list(
            "pk", "started_on", "guide_id", "guide__is_active", "learner_id", "learner__is_active"
        )
        by_month: dict[datetime.date, list[Target]] = defaultdict(list)
        learners, guides = _sides(template.audience)
        for pk, started_on, guide_id, guide_active, learner_id, learner_active in rows:
            due = check_in_due(
                started_on, template.first_after_days, template.repeat_every_days, today
            )
            if due is None:
                continue
            if learners and learner_active:
                by_month[due.replace(day=1)].append((learner_id, pk))
            if guides and guide_active:
                by_month[due.replace(day=1)].append((guide_id, pk))
        for month, targets in sorted(by_month.items()):
            campaign = _monthly_campaign(template, Campaign.Kind.CHECK_IN, month, now)
            if campaign is not None:
                invited += _invite_new(campaign, targets)
    return invited


def invite_relationship_ends(*, now: datetime.datetime) -> int:
    """Invite the learner (learner end-of-term survey) and the guide (guide end-of-term
    survey) of each relationship that ended (from 09:00 on its last day), in its month's
    campaign while that is open; returns how many were invited. Not for a relationship ending
    within END_OF_TERM_COVERS of the end of one of its program's terms (the end-of-term survey
    asks them) or one the guide declined."""
    today = calendar_day(now)
    earliest = today.replace(day=1) - (MAX_OPEN_DAYS + 31) * DAY
    templates: dict[int, dict[str, SurveyTemplate]] = defaultdict(dict)
    for template in SurveyTemplate.objects.filter(
        kind__in=[SurveyTemplate.Kind.LEARNER_END, SurveyTemplate.Kind.GUIDE_END],
        is_active=True,
        program__is_active=True,
    ):
        templates[template.program_id][template.kind] = template
    if not templates:
        return 0
    rows = (
        Relationship.objects.filter(
            program_id__in=templates,
            status=Relationship.Status.ENDED,
            ends_on__lte=today,
            ends_on__gte=earliest,
        )
        .exclude(end_reason=Relationship.EndReason.DECLINED)
        .values_list(
            "pk",
            "program_id",
            "ends_on",
            "guide_id",
            "guide__is_active",
            "learner_id",
            "learner__is_active",
        )
    )
    term_ends = defaultdict(list)
    for program_id, ends_on in Term.objects.filter(
        program_id__in=templates, ends_on__gte=earliest - END_OF_TERM_COVERS
    ).values_list("program_id", "ends_on"):
        term_ends[program_id].append(ends_on)
    due: dict[tuple[int, str, datetime.date], list[Target]] = defaultdict(list)
    for pk, program_id, ends_on, guide_id, guide_active, learner_id, learner_active in rows:
        if any(abs(end - ends_on) <= END_OF_TERM_COVERS for end in term_ends[program_id]):
            continue
        month = ends_on.replace(day=1)
        if learner_active:
            due[(program_id, SurveyTemplate.Kind.LEARNER_END, month)].append((learner_id, pk))
        if guide_active:
            due[(program_id, SurveyTemplate.Kind.GUIDE_END, month)].append((guide_id, pk))
    invited = 0
    for (program_id, kind, month), targets in sorted(due.items()):
        template = templates[program_id].get(kind)
        if template is None:
            continue
        campaign = _monthly_campaign(template, Campaign.Kind.RELATIONSHIP_END, month, now)
        if campaign is not None:
            invited += _invite_new(campaign, targets)
    return invited


def campaigns_run(*, now: datetime.datetime | None = None) -> None:
    """One pass of the calendar (the beat task): install missing templates, close what is
    due, schedule and open end-of-term and wellbeing campaigns, invite people whose check-in
    or relationship end has come. Emails are claimed and sent by surveys/delivery.py."""
    now = now or timezone.now()
    steps = (
        lambda: templates_install_missing(),
        lambda: campaigns_close_due(now=now),
        lambda: campaigns_schedule(now=now),
        lambda: campaigns_open_due(now=now),
        lambda: invite_check_ins(now=now),
        lambda: invite_relationship_ends(now=now),
    )
    for step in steps:
        # One step failing (a program's odd data) must not stop the others, nor the emails
        # of invitations already made: it is logged, and the next run tries again.
        try:
            step()
        except SoftTimeLimitExceeded:
            raise
        except Exception:
            logger.exception("Survey campaign run: a step failed; the others went on.")
