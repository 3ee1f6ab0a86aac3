"""Imports of people and assessment roles from CSV (R12): keep an upload as a pending batch
with its valid rows and every problem, commit it all or nothing, discard it, and stop keeping
old uploads' personal data."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ImportBatch, ParticipantProfile, Role, StatusChange
from accounts.services import membership_grant, user_create
from mentoring.services import assessment_role_add
from notify.broker import enqueue
from notify.invitations import invitation_queue
from roster import imports


class ImportRefused(Exception):
    """A commit found problems, so nothing was written; `errors` lists every RowError."""

    def __init__(self, errors: list):
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


@dataclass(frozen=True)
class ImportOutcome:
    """What a commit did (`ok`) or why it did nothing (`errors`, as stored on the batch)."""

    ok: bool
    summary: str
    errors: list


def import_batch_create(*, program, kind: str, filename: str, data: bytes, uploaded_by):
    """Read and check an uploaded CSV for `program` and keep it as a pending ImportBatch with
    its valid rows and every problem, so that the preview can show both. Writes nothing else.

    Raises roster.imports.ImportFileError, and keeps nothing, when the file as a whole cannot
    be read (not UTF-8, empty, too big, not text).
    """

    if kind == ImportBatch.Kind.PEOPLE:
        parsed = imports.parse_people(data, program=program)
        plan = imports.plan_people(program, parsed.rows)
    else:
        parsed = imports.parse_assessment_roles(data)
        plan = imports.plan_assessment_roles(program, parsed.rows)
    errors = sorted(parsed.errors + plan.errors, key=lambda error: error.row)
    batch = ImportBatch(
        program=program,
        kind=kind,
        filename=(filename or "")[:255],
        uploaded_by=uploaded_by,
        columns=parsed.columns,
        rows=parsed.rows,
        errors=[error.as_dict() for error in errors],
    )
    batch.full_clean()
    batch.save()
    return batch


def import_batch_commit(*, batch, by, invite: bool = False) -> ImportOutcome:
    """Import every row of a pending batch in one transaction, or nothing at all.

    The rows are checked against the database again first (it may have changed since the
    upload). Any problem, and any refusal by the rules (R2 for an assessment role), rolls
    everything back and is kept as the batch's errors, naming each row and field. With
    `invite`, people of the batch who have not signed in yet are emailed an invitation once
    the commit is final.
    """

    try:
        with transaction.atomic():
            locked = (
                ImportBatch.objects.select_for_update(of=("self",))
                .select_related("program")
                .get(pk=batch.pk)
            )
            if locked.status != ImportBatch.Status.PENDING:
                state = locked.get_status_display().lower()
                return ImportOutcome(False, f"This upload was already {state}.", [])
            if locked.errors:
                return ImportOutcome(
                    False, "This upload has problems; upload a corrected file.", locked.errors
                )
            if locked.kind == ImportBatch.Kind.PEOPLE:
                summary = _commit_people(locked, by=by, invite=invite)
            else:
                summary = _commit_assessment_roles(locked, by=by)
            locked.status = ImportBatch.Status.COMMITTED
            locked.committed_at = timezone.now()
            locked.committed_by = by
            locked.summary = summary[:300]
            locked.save(update_fields=["status", "committed_at", "committed_by", "summary"])
    except ImportRefused as refused:
        errors = [error.as_dict() for error in sorted(refused.errors, key=lambda e: e.row)]
        ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PENDING).update(
            errors=errors, commit_requested_at=None
        )
        count = len({error["row"] for error in errors})
        return ImportOutcome(
            False,
            f"Nothing was imported: {count} row{'' if count == 1 else 's'} could not be. "
            "Each problem is listed below.",
            errors,
        )
    return ImportOutcome(True, summary, [])


# A worker that was asked to commit and has not finished after this long has died or never
# started (acks_late brings a killed worker's task back, so this is rare): the administrator
# may ask again. The commit locks the batch, so two runs cannot both write it.
COMMIT_RETRY_AFTER_MINUTES = 15


def import_batch_request_commit(*, batch, by, invite: bool = False) -> bool:
    """Ask a worker to commit a large pending batch (roster.tasks.commit_import_batch runs
    import_batch_commit, all or nothing, off the request: thousands of people take longer
    than a web request may). False when it is not pending, has problems, or is already
    being committed."""

    from roster.tasks import commit_import_batch  # the task module imports this one

    now = timezone.now()
    stale = now - datetime.timedelta(minutes=COMMIT_RETRY_AFTER_MINUTES)
    with transaction.atomic():
        claimed = (
            ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PENDING, errors=[])
            .filter(Q(commit_requested_at__isnull=True) | Q(commit_requested_at__lt=stale))
            .update(commit_requested_at=now)
        )
        if claimed:
            enqueue(commit_import_batch, batch.pk, by.pk if by else None, invite)
    return bool(claimed)


def _error_text(exc) -> str:

    if isinstance(exc, ValidationError):
        return str(exc) if hasattr(exc, "rule") else "; ".join(exc.messages)
    return "It could not be saved (another change got there first); upload the file again."


PROFILE_COLUMNS = (
    "level",
    "cohort",
    "track",
    "campus",
    "specialty_interests",
    "research_interests",
    "languages",
    "timezone",
)


def _import_person(
    row: dict, *, program, users: dict, memberships: dict, profiles: dict, statuses, outside
):
    """Write one people row: the person, their profile (only the columns the file has),
    their role in the program, and their status from a date. Returns the person. Someone in
    `outside` (anything beyond this program) gets the role and its capacity only (R9)."""

    email, role = row["email"], row["role"]
    user = users.get(email)
    if user is None:
        user = user_create(email=email, full_name=row["full_name"])
        users[email] = user
    elif user.pk in outside:
        _grant_imported_role(user, row, program=program, memberships=memberships)
        return user
    elif user.full_name != row["full_name"]:
        user.full_name = row["full_name"]
        user.save(update_fields=["full_name"])
    fields = {name: row[name] for name in PROFILE_COLUMNS if name in row}
    profile = profiles.get(user.pk)
    if profile is None or any(getattr(profile, name) != value for name, value in fields.items()):
        profile = profile or ParticipantProfile(user=user)
        for name, value in fields.items():
            setattr(profile, name, value)
        # clean_fields, not full_clean: clean() re-reads the tz database from disk for every
        # row; roster.imports checked the zone against that same list.
        profile.clean_fields()
        profile.save()
        profiles[user.pk] = profile
    _grant_imported_role(user, row, program=program, memberships=memberships)
    if row.get("status"):
        population = "learner" if role == Role.LEARNER else "faculty"
        key = (user.pk, population, row["status_effective_on"])
        # `statuses` holds every record on these dates (the plan read them under the commit's
        # transaction): one write, not update_or_create's three round trips.
        if key not in statuses:
            StatusChange.objects.create(
                user=user,
                population=population,
                status=row["status"],
                effective_on=row["status_effective_on"],
            )
        elif statuses[key] != row["status"]:
            StatusChange.objects.filter(
                user=user, population=population, effective_on=row["status_effective_on"]
            ).update(status=row["status"])
        statuses[key] = row["status"]
    return user


def _grant_imported_role(user, row: dict, *, program, memberships: dict) -> None:
    """The row's role in the program (and its capacity), unless held already as it says."""
    role, capacity = row["role"], row.get("capacity")
    membership = memberships.get((user.pk, role))
    if (
        membership is None
        or membership.ended_at is not None
        or (capacity is not None and membership.capacity != capacity)
    ):
        memberships[(user.pk, role)] = membership_grant(
            user=user, role=role, program=program, capacity=capacity
        )


def _commit_people(batch, *, by, invite: bool) -> str:

    program = batch.program
    plan = imports.plan_people(program, batch.rows)
    if plan.errors:
        raise ImportRefused(plan.errors)
    people = {}
    for row, row_plan in zip(batch.rows, plan.rows, strict=True):
        if row_plan.action == "unchanged":
            user = plan.users[row["email"]]
        else:
            try:
                user = _import_person(
                    row,
                    program=program,
                    users=plan.users,
                    memberships=plan.extra["memberships"],
                    profiles=plan.extra["profiles"],
                    statuses=plan.extra["statuses"],
                    outside=plan.extra["outside"],
                )
            except (ValidationError, IntegrityError) as exc:
                # The upload named every bad value; this is a race with another change. The
                # whole transaction is rolled back, so stop at the first.
                error = imports.RowError(row["row"], "email", row["email"], _error_text(exc))
                raise ImportRefused([error]) from exc
        people[user.pk] = user
    actions = [row_plan.action for row_plan in plan.rows]
    new_people = len(
        {row["email"] for row, a in zip(batch.rows, actions, strict=True) if a == "new"}
    )
    parts = [
        f"{new_people} new {'person' if new_people == 1 else 'people'}",
        f"{actions.count('join')} joined the program",
        f"{actions.count('update')} updated",
        f"{actions.count('unchanged')} unchanged",
    ]
    summary = f"Imported {len(actions)} row{'' if len(actions) == 1 else 's'}: {', '.join(parts)}."
    if invite:
        invitees = [u for u in people.values() if u.last_login is None and u.is_active]
        for user in invitees:
            invitation_queue(user=user, invited_by=by)
        summary += (
            f" {len(invitees)} invitation{'' if len(invitees) == 1 else 's'} will be emailed."
        )
    return summary


def _commit_assessment_roles(batch, *, by) -> str:

    plan = imports.plan_assessment_roles(batch.program, batch.rows, predict=False)
    if plan.errors:
        raise ImportRefused(plan.errors)
    errors, added, queued, flagged, kept = [], 0, 0, 0, 0
    for row, row_plan in zip(batch.rows, plan.rows, strict=True):
        if row_plan.action in ("recorded", "rejected"):
            kept += 1
            continue
        try:
            # assessment_role_add applies R2 and runs in a savepoint of its own, so a refused
            # row leaves the transaction usable and the other rows can still be checked.
            outcome = assessment_role_add(
                assessor=plan.users[row["assessor_email"]],
                learner=plan.users[row["learner_email"]],
                kind=row["kind"],
                context=row["context"],
                starts_on=datetime.date.fromisoformat(row["starts_on"]),
                ends_on=datetime.date.fromisoformat(row["ends_on"]) if row["ends_on"] else None,
                created_by=by,
            )
        except (ValidationError, IntegrityError) as exc:
            errors.append(
                imports.RowError(
                    row["row"], "assessor_email", row["assessor_email"], _error_text(exc)
                )
            )
            continue
        added += 1
        if outcome.queued:
            queued += 1
        elif outcome.conflicts:
            flagged += 1
    if errors:
        raise ImportRefused(errors)
    summary = f"Imported {added} assessment role{'' if added == 1 else 's'}."
    if queued:
        summary += (
            f" {queued} conflict{'s' if queued != 1 else ''} with a current relationship "
            f"went to the conflict queue."
        )
    if flagged:
        summary += f" {flagged} flagged for review (advising programs that allow it)."
    if kept:
        summary += f" {kept} already recorded, left as they were."
    return summary


@transaction.atomic
def import_batch_discard(*, batch):
    """Discard a pending batch; its rows and errors (personal data) are not kept."""

    locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.status == ImportBatch.Status.PENDING:
        locked.status = ImportBatch.Status.DISCARDED
        locked.rows = []
        locked.errors = []
        locked.save(update_fields=["status", "rows", "errors"])
    return locked


IMPORT_PENDING_DAYS = 7
IMPORT_COMMITTED_DAYS = 30


@transaction.atomic
def import_batches_expire(*, now=None) -> tuple[int, int]:
    """Stop keeping personal data from old uploads: discard pending batches untouched for
    IMPORT_PENDING_DAYS, and clear the rows of batches committed IMPORT_COMMITTED_DAYS ago
    (their summary stays). Returns (discarded, cleared)."""

    now = now or timezone.now()
    discarded = ImportBatch.objects.filter(
        status=ImportBatch.Status.PENDING,
        commit_requested_at__isnull=True,
        uploaded_at__lt=now - datetime.timedelta(days=IMPORT_PENDING_DAYS),
    ).update(status=ImportBatch.Status.DISCARDED, rows=[], errors=[])
    cleared = (
        ImportBatch.objects.filter(
            status=ImportBatch.Status.COMMITTED,
            committed_at__lt=now - datetime.timedelta(days=IMPORT_COMMITTED_DAYS),
        )
        .exclude(rows=[])
        .update(rows=[], errors=[])
    )
    return discarded, cleared
