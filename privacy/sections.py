"""What a person's download holds: one function per section, registered with `@section`.

Only what the person may see in the product:
- their own confidential notes, read through `mentoring.notes.notes_export` (one EXPORT entry
  in the access log per note), and the notes shared with them, read through `note_read` (one
  READ entry each); never another author's note (R4);
- a learner's own rematch request and reason; the guide gets neither (they only learn the end
  reason, as on their pages);
- the other person's email only for a relationship that has not ended (its page shows it
  then); requests and rankings name people, never their addresses;
- their own ranked choices, never who ranked them;
- meeting logs with the reflection for both people of the relationship (R5).

A new section is one function here: decorate it with `@section(name, title=..., description=...,
columns=...)` and return a list of dicts with exactly those columns, fetched in a fixed number
of queries (`ctx.relationships` and `ctx.by_id` are loaded once for all sections).
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q

from accounts.models import Membership, ParticipantProfile, StatusChange
from mentoring.models import (
    AccessLogEntry,
    ConfidentialNote,
    Goal,
    GoalProgress,
    MentoringAgreement,
    Relationship,
    RematchRequest,
)
from mentoring.notes import NoteNotFound, is_expired, note_read, notes_export
from privacy.export import ExportContext, section


@section(
    "account",
    title="Your account",
    description="Your name, email address (your sign-in) and account dates.",
    columns=("code full_name email date_joined last_login invited_at is_active nudge_emails"),
    single=True,
)
def _account(ctx: ExportContext) -> list[dict]:
    u = ctx.user
    return [
        {
            "code": u.code,
            "full_name": u.full_name,
            "email": u.email,
            "date_joined": u.date_joined,
            "last_login": u.last_login,
            "invited_at": u.invited_at,
            "is_active": u.is_active,
            "nudge_emails": u.nudge_emails,
        }
    ]


@section(
    "email_addresses",
    title="Email addresses",
    description="The addresses recorded for signing in and for emails.",
    columns="email primary verified",
)
def _email_addresses(ctx: ExportContext) -> list[dict]:
    from allauth.account.models import EmailAddress

    return list(
        EmailAddress.objects.filter(user=ctx.user)
        .order_by("-primary", "email")
        .values("email", "primary", "verified")
    )


@section(
    "authenticators",
    title="Two-factor authentication",
    description="Which second factors you set up and when (never their secrets).",
    columns="type created_at last_used_at",
)
def _authenticators(ctx: ExportContext) -> list[dict]:
    from allauth.mfa.models import Authenticator

    return list(
        Authenticator.objects.filter(user=ctx.user)
        .order_by("created_at")
        .values("type", "created_at", "last_used_at")
    )


@section(
    "status_history",
    title="Status history",
    description="Your status over time (enrolled, on leave, graduated...; active or left).",
    columns="population status effective_on recorded_at",
)
def _status_history(ctx: ExportContext) -> list[dict]:
    return list(
        StatusChange.objects.filter(user=ctx.user)
        .order_by("effective_on", "pk")
        .values("population", "status", "effective_on", "recorded_at")
    )


@section(
    "memberships",
    title="Roles",
    description="The roles you hold or held, per program (dean: institution-wide).",
    columns="program role capacity started_at ended_at",
)
def _memberships(ctx: ExportContext) -> list[dict]:
    return [
        {
            "program": m.program.name if m.program_id else "",
            "role": m.role,
            "capacity": m.capacity,
            "started_at": m.started_at,
            "ended_at": m.ended_at,
        }
        for m in Membership.objects.filter(user=ctx.user)
        .select_related("program")
        .order_by("started_at", "pk")
    ]


PROFILE_COLUMNS = (  # noqa: SIM905 (a line per name is longer, not clearer)
    "level cohort track campus specialty_interests research_interests languages "
    "shared_background timezone contact_preference updated_at"
).split()


@section(
    "profile",
    title="Your profile",
    description="Your profile, including the shared-background answers you gave for matching "
    "and your usual free times (usual_free_times).",
    columns=[*PROFILE_COLUMNS, "usual_free_times"],
    single=True,
)
def _profile(ctx: ExportContext) -> list[dict]:
    profile = ParticipantProfile.objects.filter(user=ctx.user).first()
    if profile is None:
        return []
    row = {name: getattr(profile, name) for name in PROFILE_COLUMNS}
    row["usual_free_times"] = profile.availability_labels()
    return [row]


@section(
    "relationships",
    title="Relationships",
    description="Every relationship you are or were in, as guide or learner. The other "
    "person's email is given while the relationship has not ended, as on its page.",
    columns=(
        "code program term kind your_role other_person other_person_email status origin "
        "started_on ends_on end_reason"
    ),
)
def _relationships(ctx: ExportContext) -> list[dict]:
    rows = []
    for r in ctx.relationships:
        other = ctx.other(r)
        rows.append(
            {
                "code": r.code,
                "program": r.program.name,
                "term": r.term.name if r.term_id else "",
                "kind": r.kind,
                "your_role": "learner" if r.learner_id == ctx.user.pk else r.guide_noun,
                "other_person": other.full_name,
                "other_person_email": "" if r.status == Relationship.Status.ENDED else other.email,
                "status": r.status,
                "origin": r.origin,
                "started_on": r.started_on,
                "ends_on": r.ends_on,
                "end_reason": r.end_reason,
            }
        )
    return rows


@section(
    "rematch_requests",
    title="Your rematch requests",
    description="The no-fault rematches you asked for as a learner, with your reason.",
    columns="relationship status reason created_at resolved_at",
)
def _rematch_requests(ctx: ExportContext) -> list[dict]:
    # SECURITY: the learner's own only: the guide never sees a request or its reason.
    return [
        {
            "relationship": ctx.by_id[q.relationship_id].code,
            "status": q.status,
            "reason": q.reason,
            "created_at": q.created_at,
            "resolved_at": q.resolved_at,
        }
        for q in RematchRequest.objects.filter(
            relationship_id__in=ctx.by_id, relationship__learner=ctx.user
        ).order_by("created_at")
    ]


@section(
    "agreements",
    title="Mentoring agreements",
    description="What you and the other person agreed at the start of each relationship.",
    columns=(
        "relationship goals meeting_frequency preferred_contact boundaries "
        "learner_agreed_at guide_agreed_at updated_at"
    ),
)
def _agreements(ctx: ExportContext) -> list[dict]:
    return [
        {
            "relationship": ctx.by_id[a.relationship_id].code,
            "goals": a.goals,
            "meeting_frequency": a.meeting_frequency,
            "preferred_contact": a.preferred_contact,
            "boundaries": a.boundaries,
            "learner_agreed_at": a.learner_agreed_at,
            "guide_agreed_at": a.guide_agreed_at,
            "updated_at": a.updated_at,
        }
        for a in MentoringAgreement.objects.filter(relationship_id__in=ctx.by_id).order_by("pk")
    ]


@section(
    "goals",
    title="Goals",
    description="The goals of your relationships.",
    columns=(
        "code relationship title description domain competency target_on status "
        "created_by created_at"
    ),
)
def _goals(ctx: ExportContext) -> list[dict]:
    rows = []
    for g in Goal.objects.filter(relationship_id__in=ctx.by_id).order_by("created_at", "pk"):
        r = ctx.by_id[g.relationship_id]
        rows.append(
            {
                "code": g.code,
                "relationship": r.code,
                "title": g.title,
                "description": g.description,
                "domain": g.domain,
                "competency": g.competency,
                "target_on": g.target_on,
                "status": g.status,
                "created_by": ctx.name_of(g.created_by_id, r),
                "created_at": g.created_at,
            }
        )
    return rows


@section(
    "goal_progress",
    title="Progress on goals",
    description="Progress entries on the goals above (goal: the goal's code).",
    columns="goal relationship note status author created_at",
)
def _goal_progress(ctx: ExportContext) -> list[dict]:
    entries = (
        GoalProgress.objects.filter(goal__relationship_id__in=ctx.by_id)
        .select_related("goal")
        .defer("goal__title", "goal__description")
        .order_by("created_at", "pk")
    )
    rows = []
    for p in entries:
        r = ctx.by_id[p.goal.relationship_id]
        rows.append(
            {
                "goal": p.goal.code,
                "relationship": r.code,
                "note": p.note,
                "status": p.status,
                "author": ctx.name_of(p.author_id, r),
                "created_at": p.created_at,
            }
        )
    return rows


@section(
    "meetings",
    title="Meetings and their logs",
    description="The meetings of your relationships, with their logs: status, duration, "
    "topics and the learner's reflection (both people of a relationship see its log).",
    columns=(
        "code relationship other_person starts_at ends_at location video_link status "
        "booked_by cancelled_by cancel_message logged_by duration_minutes topics "
        "reflection"
    ),
)
def _meetings(ctx: ExportContext) -> list[dict]:
    from sessions_log.models import Meeting, MeetingLog

    rows = []
    meetings = (
        Meeting.objects.filter(relationship_id__in=ctx.by_id)
        .select_related("log")
        .order_by("starts_at", "pk")
    )
    for m in meetings:
        r = ctx.by_id[m.relationship_id]
        try:
            log = m.log
        except MeetingLog.DoesNotExist:
            log = None
        rows.append(
            {
                "code": m.code,
                "relationship": r.code,
                "other_person": ctx.other(r).full_name,
                "starts_at": m.starts_at,
                "ends_at": m.ends_at,
                "location": m.location,
                "video_link": m.video_link,
                "status": m.status,
                "booked_by": ctx.name_of(m.booked_by_id, r),
                "cancelled_by": ctx.name_of(m.cancelled_by_id, r),
                "cancel_message": m.cancel_message,
                "logged_by": ctx.name_of(log.logged_by_id, r) if log else "",
                "duration_minutes": log.duration_minutes if log else None,
                "topics": list(log.topics) if log else [],
                "reflection": log.reflection if log else "",
            }
        )
    return rows


@section(
    "action_items",
    title="Action items",
    description="Things to do agreed at your meetings (meeting: the meeting's code).",
    columns="code meeting relationship text done_at created_by created_at",
)
def _action_items(ctx: ExportContext) -> list[dict]:
    from sessions_log.models import ActionItem

    items = (
        ActionItem.objects.filter(meeting__relationship_id__in=ctx.by_id)
        .select_related("meeting")
        .order_by("created_at", "pk")
    )
    rows = []
    for item in items:
        r = ctx.by_id[item.meeting.relationship_id]
        rows.append(
            {
                "code": item.code,
                "meeting": item.meeting.code,
                "relationship": r.code,
                "text": item.text,
                "done_at": item.done_at,
                "created_by": ctx.name_of(item.created_by_id, r),
                "created_at": item.created_at,
            }
        )
    return rows


@section(
    "time_requests",
    title="Requests for meeting times",
    description="A learner's requests to their guide for times when no slot was free.",
    columns="relationship message created_at answered_at",
)
def _time_requests(ctx: ExportContext) -> list[dict]:
    from sessions_log.models import TimeRequest

    return [
        {
            "relationship": ctx.by_id[t.relationship_id].code,
            "message": t.message,
            "created_at": t.created_at,
            "answered_at": t.answered_at,
        }
        for t in TimeRequest.objects.filter(relationship_id__in=ctx.by_id).order_by("created_at")
    ]


@section(
    "notes_written",
    title="Your confidential notes",
    description="The confidential notes you wrote as a guide (until their retention period "
    "ends). Downloading them is recorded in the access log, one entry per note.",
    columns="code relationship learner body shared_at created_at updated_at",
)
def _notes_written(ctx: ExportContext) -> list[dict]:
    # SECURITY (R4): through the notes service, which reads the author's own only and logs it.
    return [
        {
            "code": n.code,
            "relationship": n.relationship.code,
            "learner": n.relationship.learner.full_name,
            "body": n.body,
            "shared_at": n.shared_at,
            "created_at": n.created_at,
            "updated_at": n.updated_at,
        }
        for n in notes_export(ctx.access)
    ]


@section(
    "notes_shared_with_you",
    title="Notes shared with you",
    description="Notes your guide chose to share with you (no longer confidential). Other "
    "notes are their author's alone and are not in this download.",
    columns="code relationship author body shared_at created_at",
)
def _notes_shared(ctx: ExportContext) -> list[dict]:
    # SECURITY (R4): each note is read through note_read, which decides and logs the read.
    candidates = (
        ConfidentialNote.objects.shared_with(ctx.user)
        .select_related("relationship__program")
        .defer("body")
        .order_by("created_at", "pk")
    )
    rows = []
    for candidate in candidates:
        if is_expired(candidate):
            continue
        try:
            note = note_read(ctx.access, candidate.code)
        except NoteNotFound:  # deleted or changed since: the refusal is logged
            continue
        r = ctx.by_id.get(note.relationship_id)
        rows.append(
            {
                "code": note.code,
                "relationship": note.relationship.code,
                "author": ctx.name_of(note.author_id, r) if r else "",
                "body": note.body,
                "shared_at": note.shared_at,
                "created_at": note.created_at,
            }
        )
    return rows


@section(
    "match_choices",
    title="Your ranked choices",
    description="The people you ranked for matching, best first. Who ranked you is not "
    "shown to anyone, so it is not here either.",
    columns="program side rank person created_at",
)
def _match_choices(ctx: ExportContext) -> list[dict]:
    from matching.models import Choice

    return [
        {
            "program": c.program.name,
            "side": c.side,
            "rank": c.rank,
            "person": c.chosen.full_name,
            "created_at": c.created_at,
        }
        for c in Choice.objects.filter(chooser=ctx.user)
        .select_related("program", "chosen")
        .order_by("program__name", "side", "rank")
    ]


@section(
    "match_requests",
    title="Requests to be paired",
    description="Requests you sent to a guide, or received from a learner, with their notes.",
    columns=(
        "code program direction other_person state message reply created_at expires_at answered_at"
    ),
)
def _match_requests(ctx: ExportContext) -> list[dict]:
    from matching.models import MatchRequest

    user = ctx.user
    # A guide never sees a request the learner withdrew (as on the guide's page).
    requests = (
        MatchRequest.objects.filter(
            Q(learner=user) | (Q(guide=user) & ~Q(state=MatchRequest.State.WITHDRAWN))
        )
        .select_related("program", "learner", "guide")
        .order_by("created_at", "pk")
    )
    return [
        {
            "code": q.code,
            "program": q.program.name,
            "direction": "sent" if q.learner_id == user.pk else "received",
            "other_person": (q.guide if q.learner_id == user.pk else q.learner).full_name,
            "state": q.state,
            "message": q.message,
            "reply": q.reply,
            "created_at": q.created_at,
            "expires_at": q.expires_at,
            "answered_at": q.answered_at,
        }
        for q in requests
    ]


@section(
    "term_opt_outs",
    title="Terms you opted out of",
    description="Terms in which you took no new learners.",
    columns="program term created_at",
)
def _term_opt_outs(ctx: ExportContext) -> list[dict]:
    from matching.models import TermOptOut

    return [
        {"program": o.term.program.name, "term": o.term.name, "created_at": o.created_at}
        for o in TermOptOut.objects.filter(guide=ctx.user).select_related("term__program")
    ]


@section(
    "availability_patterns",
    title="Weekly availability",
    description="The weekly times you offer (weekday 0 = Monday; times in the pattern's "
    "time zone).",
    columns=(
        "code weekday start_time duration_minutes timezone location video_link programs "
        "starts_on ends_on is_active"
    ),
)
def _patterns(ctx: ExportContext) -> list[dict]:
    from sessions_log.models import AvailabilityPattern

    patterns = (
        AvailabilityPattern.objects.filter(guide=ctx.user)
        .prefetch_related("programs")
        .order_by("weekday", "start_time")
    )
    return [
        {
            "code": p.code,
            "weekday": p.weekday,
            "start_time": p.start_time,
            "duration_minutes": p.duration_minutes,
            "timezone": p.timezone,
            "location": p.location,
            "video_link": p.video_link,
            "programs": sorted(program.name for program in p.programs.all()),
            "starts_on": p.starts_on,
            "ends_on": p.ends_on,
            "is_active": p.is_active,
        }
        for p in patterns
    ]


@section(
    "slots",
    title="Times you offered",
    description="Each time you offered for meetings (one-off or from a weekly pattern).",
    columns="code starts_at ends_at location video_link withdrawn_at",
)
def _slots(ctx: ExportContext) -> list[dict]:
    from sessions_log.models import Slot

    return list(
        Slot.objects.filter(guide=ctx.user)
        .order_by("starts_at")
        .values("code", "starts_at", "ends_at", "location", "video_link", "withdrawn_at")
    )


@section(
    "calendar_feeds",
    title="Calendar addresses",
    description="Whether you made a private calendar address, and when (the address itself "
    "is a secret and is not included).",
    columns="created_at revoked_at",
)
def _calendar_feeds(ctx: ExportContext) -> list[dict]:
    from sessions_log.models import CalendarFeed

    return list(
        CalendarFeed.objects.filter(user=ctx.user)
        .order_by("created_at")
        .values("created_at", "revoked_at")
    )


@section(
    "survey_invitations",
    title="Survey invitations",
    description="The surveys you were invited to and whether you answered. Your answers are "
    "anonymous: nothing links them to you, so they cannot be included.",
    columns="survey program opens_at closes_at invited_at answered draft",
)
def _survey_invitations(ctx: ExportContext) -> list[dict]:
    from surveys.models import Invitation, InvitationDraft

    invitations = (
        Invitation.objects.filter(person=ctx.user)
        .select_related("campaign__program")
        .annotate(has_draft=Exists(InvitationDraft.objects.filter(invitation=OuterRef("pk"))))
        .order_by("created_at")
    )
    return [
        {
            "survey": i.campaign.title,
            "program": i.campaign.program.name,
            "opens_at": i.campaign.opens_at,
            "closes_at": i.campaign.closes_at,
            "invited_at": i.created_at,
            "answered": i.has_responded,
            "draft": "saved, not sent" if i.has_draft else "",
        }
        for i in invitations
    ]


ACCESS_LOG_COLUMNS = (  # noqa: SIM905
    "at action outcome object_kind object_code relationship_code reason source_address"
).split()


# Registered last: it includes the entries this export has just written.
@section(
    "access_log",
    title="Your entries in the access log",
    description="Every time you read, wrote, shared, exported or deleted a confidential note, "
    "or were refused (never the content). This download's own entries are included.",
    columns=ACCESS_LOG_COLUMNS,
)
def _access_log(ctx: ExportContext) -> list[dict]:
    return list(
        AccessLogEntry.objects.filter(actor=ctx.user)
        .order_by("at", "id")
        .values(*ACCESS_LOG_COLUMNS)
    )
