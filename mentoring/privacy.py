"""What a person's download holds of their relationships (mentoring), registered with
`@section` (see accounts/privacy_registry.py):

- relationships, a learner's own rematch requests and reasons (the guide gets neither: they
  only learn the end reason, as on their pages), agreements, goals and progress;
- the other person's email only for a relationship that has not ended (its page shows it then);
- their own confidential notes, read through `mentoring.notes.notes_export` (one EXPORT entry
  in the access log per note), and the notes shared with them, read through `note_read` (one
  READ entry each); never another author's note (R4);
- last, their entries in the access log, including the ones this download has just written.

Erasure: their confidential notes through the notes service (an ERASE entry each); what they
wrote in their relationships blanked (goals, progress notes, agreement texts, rematch
reasons), the rows kept so that counts stay.
"""

from __future__ import annotations

from django.db.models import Q

from accounts.privacy_registry import Erasure, erasure_step, name_copies, section
from mentoring.export_context import ExportContext
from mentoring.models import (
    AccessLogEntry,
    AgreementReminder,
    ConfidentialNote,
    Goal,
    GoalProgress,
    MentoringAgreement,
    Relationship,
    RematchRequest,
)
from mentoring.notes import (
    Access,
    NoteNotFound,
    is_expired,
    note_read,
    notes_erase_of_author,
    notes_export,
)


@section(
    "relationships",
    order=70,
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
    order=80,
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
    order=90,
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
    order=100,
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
    order=110,
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
    "notes_written",
    order=150,
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
    order=160,
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


ACCESS_LOG_COLUMNS = (  # noqa: SIM905
    "at action outcome object_kind object_code relationship_code reason source_address"
).split()


# Last of all (order 1000): it includes the entries this export has just written.
@section(
    "access_log",
    order=1000,
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


# --- Erasure ------------------------------------------------------------------------------------
name_copies(AgreementReminder, "last_error")


@erasure_step(order=10)
def _erase_notes(erasure: Erasure) -> dict[str, int]:
    # Confidential notes: through the notes service (one ERASE entry per note, actor `by`).
    notes = ConfidentialNote.objects.filter(author=erasure.user)
    if not erasure.apply:
        return {"confidential notes erased": notes.count()}
    erased = notes_erase_of_author(Access(user=erasure.by), author=erasure.user)
    return {"confidential notes erased": erased}


@erasure_step(order=40)
def _erase_relationship_texts(erasure: Erasure) -> dict[str, int]:
    user = erasure.user
    counts = {}
    # A learner's goals are theirs whoever typed them; a guide's, those they wrote.
    goals = Goal.objects.filter(Q(created_by=user) | Q(relationship__learner=user))
    counts["goal titles blanked"] = erasure.replace_required(goals, "title")
    erasure.update(goals.exclude(description=""), description="")
    counts["goal progress notes blanked"] = erasure.replace_required(
        GoalProgress.objects.filter(author=user), "note"
    )
    counts["agreement texts blanked"] = erasure.update(
        MentoringAgreement.objects.filter(
            relationship__in=Relationship.objects.for_participant(user)
        ).filter(~Q(goals="") | ~Q(boundaries="")),
        goals="",
        boundaries="",
    )
    counts["rematch reasons blanked"] = erasure.update(
        RematchRequest.objects.filter(relationship__learner=user).exclude(reason=""),
        reason="",
    )
    return counts
