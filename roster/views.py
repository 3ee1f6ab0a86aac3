"""Console: CSV import and export of people and of assessment roles (R12).

Upload -> an ImportBatch, kept even when it has problems -> a preview of every row and every
problem -> commit, all or nothing (roster.services.import_batch_commit). Every view fetches
the program first (R8, R9) and the batch through the program, so a batch of another program
is "not found" like one that does not exist.
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import messages
from django.db.models import OuterRef, Subquery
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.models import ImportBatch, Membership, ParticipantProfile, Role, StatusChange
from mentoring.csv_export import cell_text, csv_response
from mentoring.models import AssessmentRole, Program
from mentoring.permissions import get_administered_program_or_404
from roster import imports
from roster.services import (
    COMMIT_RETRY_AFTER_MINUTES,
    import_batch_commit,
    import_batch_create,
    import_batch_discard,
    import_batch_request_commit,
)

RECENT_UPLOADS = 5
# Up to this many rows are committed within the request (a few seconds); a larger batch is
# committed by a worker (roster.services.import_batch_request_commit), because writing
# thousands of people through the services takes longer than a request may last.
SYNC_COMMIT_ROWS = 500


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Comma-separated, saved as UTF-8 ('CSV UTF-8' in a spreadsheet); at most "
        f"{imports.MAX_BYTES // 1024 // 1024} MB and {imports.MAX_ROWS:,} rows.",
        error_messages={
            "required": "Choose the CSV file to upload.",
            "empty": "The file is empty.",
            "invalid": "Choose a file to upload.",
        },
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > imports.MAX_BYTES:
            # Refused before reading a byte of it.
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; the most one import takes "
                f"is {imports.MAX_BYTES // 1024 // 1024} MB. Split it into smaller files."
            )
        return upload


class CommitForm(forms.Form):
    invite = forms.BooleanField(
        required=False,
        label="Email an invitation to people who have not signed in yet",
        help_text="Each gets a link to choose their password; it is sent once the import is done.",
    )


# Column help for the upload page: (column, required, what to write).
def _people_columns(program: Program) -> list[tuple[str, bool, str]]:
    guide = program.guide_role
    guides = imports.PLURAL[guide].capitalize()
    return [
        ("email", True, "Their email address: how they sign in."),
        ("full_name", True, "As it should appear to others."),
        ("role", True, f"learner or {guide}."),
        ("level", False, ", ".join(ParticipantProfile.Level.values) + "."),
        ("cohort", False, "For example Class of 2029."),
        ("track", False, ""),
        ("campus", False, ""),
        ("specialty_interests", False, "Several, separated by semicolons (;)."),
        ("research_interests", False, "Several, separated by semicolons (;)."),
        ("languages", False, "Several, separated by semicolons (;)."),
        (
            "capacity",
            False,
            f"{guides} only: most learners at once, 0 to {imports.MAX_CAPACITY}. "
            "Empty keeps their current capacity (3 for someone new).",
        ),
        ("timezone", False, "For example Europe/London. Empty means UTC."),
        (
            "status",
            False,
            f"Learners: enrolled, leave, withdrawn or graduated. {guides}: active "
            "or left. Empty records nothing.",
        ),
        ("status_effective_on", False, "The date the status starts, YYYY-MM-DD."),
    ]


ASSESSMENT_COLUMN_HELP = [
    ("assessor_email", True, "The person who holds the role; they must have an account here."),
    ("learner_email", True, "A learner in this program."),
    ("kind", True, "assessor, supervisor, line_manager or program_director."),
    ("context", True, "For example Surgery clerkship, Block 3."),
    ("starts_on", True, "YYYY-MM-DD."),
    ("ends_on", False, "YYYY-MM-DD; empty for no end date."),
    ("status", False, "Written by the export for you to read; ignored on import."),
]

KIND_PAGES = {
    ImportBatch.Kind.PEOPLE: {
        "what": "people",
        "section": "people",
        "list": "console:people",
        "import": "console:people-import",
        "export": "console:people-export",
    },
    ImportBatch.Kind.ASSESSMENT_ROLES: {
        "what": "assessment roles",
        "section": "assessments",
        "list": "console:assessments",
        "import": "console:assessments-import",
        "export": "console:assessments-export",
    },
}


# --- Upload -------------------------------------------------------------------------------------


def _upload(request: HttpRequest, program: Program, kind: str) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                batch = import_batch_create(
                    program=program,
                    kind=kind,
                    filename=upload.name,
                    data=upload.read(),
                    uploaded_by=request.user,
                )
            except imports.ImportFileError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("console:import-preview", code=program.code, batch=batch.code)
    else:
        form = UploadForm()
    pages = KIND_PAGES[kind]
    context = {
        "program": program,
        "kind": kind,
        "pages": pages,
        "section": pages["section"],
        "form": form,
        "column_help": _people_columns(program)
        if kind == ImportBatch.Kind.PEOPLE
        else ASSESSMENT_COLUMN_HELP,
        "recent": ImportBatch.objects.filter(program=program, kind=kind).select_related(
            "uploaded_by"
        )[:RECENT_UPLOADS],
    }
    return render(request, "console/imports/upload.html", context)


@require_http_methods(["GET", "POST"])
def people_import(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    return _upload(request, program, ImportBatch.Kind.PEOPLE)


@require_http_methods(["GET", "POST"])
def assessments_import(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    return _upload(request, program, ImportBatch.Kind.ASSESSMENT_ROLES)


# --- Preview and commit -------------------------------------------------------------------------


def _batch_or_404(program: Program, code) -> ImportBatch:
    """A batch of `program`; a batch of any other program is 404 (R8)."""
    return get_object_or_404(
        ImportBatch.objects.filter(program=program).select_related("uploaded_by", "committed_by"),
        code=code,
    )


@require_http_methods(["GET"])
def import_preview(request: HttpRequest, code, batch) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    batch = _batch_or_404(program, batch)
    pending = batch.status == ImportBatch.Status.PENDING
    committing = (
        pending
        and not batch.errors
        and batch.commit_requested_at is not None
        and timezone.now() - batch.commit_requested_at
        < datetime.timedelta(minutes=COMMIT_RETRY_AFTER_MINUTES)
    )
    plans = {}
    if pending and batch.rows:
        if batch.kind == ImportBatch.Kind.PEOPLE:
            plan = imports.plan_people(program, batch.rows)
        else:
            plan = imports.plan_assessment_roles(program, batch.rows)
        plans = {row_plan.row: row_plan for row_plan in plan.rows}
    error_rows = {error["row"] for error in batch.errors}
    columns = [c for c in batch.columns if c in (batch.rows[0] if batch.rows else {})]
    rows = []
    for row in batch.rows:
        row_plan = plans.get(row["row"])
        if row["row"] in error_rows:
            action, note = "error", "Not imported: see the problems above"
        elif row_plan is not None:
            action, note = row_plan.action, row_plan.note
        else:
            action, note = "", ""
        rows.append(
            {
                "number": row["row"],
                "action": action,
                "note": note,
                "cells": [cell_text(row.get(column)) for column in columns],
            }
        )
    pages = KIND_PAGES[batch.kind]
    context = {
        "program": program,
        "batch": batch,
        "pages": pages,
        "section": pages["section"],
        "columns": columns,
        "rows": rows,
        "error_count": len(batch.errors),
        "error_row_count": len(error_rows),
        "committing": committing,
        "can_commit": pending and not batch.errors and bool(batch.rows) and not committing,
        "form": CommitForm() if batch.kind == ImportBatch.Kind.PEOPLE else None,
    }
    return render(request, "console/imports/preview.html", context)


@require_http_methods(["POST"])
def import_commit(request: HttpRequest, code, batch) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    batch = _batch_or_404(program, batch)
    pages = KIND_PAGES[batch.kind]
    if request.POST.get("action") == "discard":
        import_batch_discard(batch=batch)
        messages.info(request, "The upload was discarded; nothing was imported.")
        return redirect(pages["import"], code=program.code)
    form = CommitForm(request.POST)
    invite = (
        batch.kind == ImportBatch.Kind.PEOPLE and form.is_valid() and form.cleaned_data["invite"]
    )
    if len(batch.rows) > SYNC_COMMIT_ROWS:
        if import_batch_request_commit(batch=batch, by=request.user, invite=invite):
            messages.info(
                request,
                f"Importing {len(batch.rows):,} rows. This takes a minute or two; this page "
                "shows the result when it is done.",
            )
        else:
            messages.error(request, "This upload is already being imported, or cannot be.")
        return redirect("console:import-preview", code=program.code, batch=batch.code)
    outcome = import_batch_commit(batch=batch, by=request.user, invite=invite)
    if outcome.ok:
        messages.success(request, outcome.summary)
    else:
        messages.error(request, outcome.summary)
    return redirect("console:import-preview", code=program.code, batch=batch.code)


# --- Exports ------------------------------------------------------------------------------------


def _filename(program: Program, what: str) -> str:
    return f"{slugify(program.name) or 'program'}-{what}-{timezone.localdate().isoformat()}.csv"


@never_cache
@require_http_methods(["GET"])
def people_export(request: HttpRequest, code) -> StreamingHttpResponse:
    """The program's current learners and guides, in the import's columns: importing the file
    again changes nothing."""
    program = get_administered_program_or_404(request.user, code)

    def latest(population: str, column: str):
        return Subquery(
            StatusChange.objects.filter(user=OuterRef("user"), population=population)
            .order_by("-effective_on")
            .values(column)[:1]
        )

    members = (
        Membership.objects.current()
        .filter(program=program, role__in=imports.IMPORTABLE_ROLES)
        .select_related("user", "user__profile")
        .annotate(
            learner_status=latest("learner", "status"),
            learner_status_on=latest("learner", "effective_on"),
            faculty_status=latest("faculty", "status"),
            faculty_status_on=latest("faculty", "effective_on"),
        )
        .order_by("role", "user__full_name", "user__email")
    )

    def rows():
        for membership in members.iterator(chunk_size=500):
            user = membership.user
            profile = getattr(user, "profile", None)
            is_learner = membership.role == Role.LEARNER
            status = membership.learner_status if is_learner else membership.faculty_status
            status_on = membership.learner_status_on if is_learner else membership.faculty_status_on
            yield [
                user.email,
                user.full_name,
                membership.role,
                profile.level if profile else "",
                profile.cohort if profile else "",
                profile.track if profile else "",
                profile.campus if profile else "",
                profile.specialty_interests if profile else [],
                profile.research_interests if profile else [],
                profile.languages if profile else [],
                "" if is_learner else membership.capacity,
                profile.timezone if profile else "UTC",
                status or "",
                status_on.isoformat() if status_on else "",
            ]

    return csv_response(_filename(program, "people"), imports.PEOPLE_COLUMNS, rows())


@never_cache
@require_http_methods(["GET"])
def assessments_export(request: HttpRequest, code) -> StreamingHttpResponse:
    """Assessment roles about the program's current learners (R9), in the import's columns
    and their status."""
    program = get_administered_program_or_404(request.user, code)
    learners = (
        Membership.objects.current().filter(program=program, role=Role.LEARNER).values("user")
    )
    roles = (
        AssessmentRole.objects.filter(learner__in=learners)
        .select_related("assessor", "learner")
        .order_by("learner__email", "starts_on", "pk")
    )

    def rows():
        for role in roles.iterator(chunk_size=500):
            yield [
                role.assessor.email,
                role.learner.email,
                role.kind,
                role.context,
                role.starts_on.isoformat(),
                role.ends_on.isoformat() if role.ends_on else "",
                role.status,
            ]

    return csv_response(_filename(program, "assessment-roles"), imports.ASSESSMENT_COLUMNS, rows())
