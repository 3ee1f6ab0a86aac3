"""Confidential notes pages (namespace `notes`, R4): a guide's own notes on a relationship,
and the notes a guide shared with their learner.

SECURITY (R4):
- every read or change of a note goes through `mentoring.notes`, which decides, logs the
  access (or the refusal) in the access log, and raises NoteNotFound (404, R8) for anyone
  who is neither the author nor, for a shared note, the learner: administrators, deans,
  assessors and the operator (superuser) included;
- lists (the notes area, a relationship's notes, the relationship page's panel) show dates
  and whether a note is shared, never a body. A body is shown only on pages that got it from
  `notes.note_read` (which logged the read): the note, its edit form, and the share and delete
  confirmations (so the author sees exactly what they are about to share or delete);
- every page here answers `Cache-Control: no-store` and asks for a recent authentication:
  the last sign-in or re-authentication must be younger than ACCOUNT_REAUTHENTICATION_TIMEOUT.
  Otherwise allauth's re-authentication (password, or the authenticator code) runs first and
  then returns the person to the page they asked for. The re-authentication comes before the
  access decision; it reveals nothing about the note.
- a POST is never handed to allauth's re-authentication, which would keep it in the session
  (a database table) to replay it: the typed note would be stored in plain text. Every form
  here carries a signed token saying it was served to this person while they were recently
  authenticated (`{% notes_form_token %}`); a POST with a valid token, younger than the
  session idle limit, is accepted. Without one, the page says to confirm it is them and
  shows what they typed (in the response only, never stored), so nothing is lost (R12).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import wraps

from allauth.account.adapter import get_adapter
from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.crypto import constant_time_compare, salted_hmac
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.permissions import is_guide, is_learner
from mentoring import notes
from mentoring.csv_export import csv_response
from mentoring.forms_notes import NoteForm
from mentoring.models import ConfidentialNote, Relationship
from mentoring.notes import Access
from mentoring.permissions import get_own_relationship_or_404
from mentoring.views import is_uuid


# --- Recent authentication ----------------------------------------------------------------
def recently_authenticated(request: HttpRequest) -> bool:
    """True when the person signed in or re-authenticated (password or authenticator code)
    within ACCOUNT_REAUTHENTICATION_TIMEOUT seconds, as recorded by allauth in the session.

    A person allauth has no way to re-authenticate (no usable password, no authenticator:
    single sign-on only) passes, as allauth's own `reauthentication_required` lets them.
    """
    user = request.user
    records = get_authentication_records(request, user)
    latest = max((r.get("at", 0) for r in records if isinstance(r, dict)), default=0)
    if time.time() - latest < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT:
        return True
    return not get_adapter(request).get_reauthentication_methods(user)


FORM_TOKEN_SALT = "mentoring.notes.form-served-while-confirmed"  # noqa: S105 (a salt, public)


def _session_digest(request: HttpRequest) -> str:
    """A digest of the session's key: a token names its session without showing the key in the
    page (the key is the session cookie)."""
    key = request.session.session_key or ""
    return salted_hmac(FORM_TOKEN_SALT, key).hexdigest()[:32]


def form_token(request: HttpRequest) -> str:
    """The hidden field value of every notes form (see the module docstring): the person and
    the session it was served in. A new session (signed out and in again) has a new key, so
    a form served in an earlier one is not taken as a confirmation."""
    return signing.dumps([request.user.pk, _session_digest(request)], salt=FORM_TOKEN_SALT)


def _form_token_valid(request: HttpRequest) -> bool:
    try:
        served = signing.loads(
            request.POST.get("served", ""),
            salt=FORM_TOKEN_SALT,
            max_age=settings.SESSION_IDLE_TIMEOUT,
        )
    except signing.BadSignature:
        return False
    if not (isinstance(served, list) and len(served) == 2):
        return False
    pk, session = served
    return pk == request.user.pk and constant_time_compare(session, _session_digest(request))


@sensitive_variables()
def _confirm_first(request: HttpRequest) -> HttpResponse:
    """A POST whose form is too old: no re-authentication replay (it would store the text);
    the person confirms it is them, with what they typed shown back to copy."""
    response = render(
        request,
        "mentoring/notes/confirm_first.html",
        {"typed": request.POST.get("body", ""), "back": request.path},
    )
    add_never_cache_headers(response)
    return response


def notes_page(view):
    """Every notes page: a recent authentication first, and never stored by a cache."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "POST":
            if not (_form_token_valid(request) or recently_authenticated(request)):
                return _confirm_first(request)
        elif not recently_authenticated(request):
            # allauth's AccountMiddleware answers with its re-authentication page, `next`
            # set to this page.
            raise ReauthenticationRequired()
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)  # no-store: bodies must not stay in a cache
        return response

    return wrapper


# --- One note as the signed-in person sees it -----------------------------------------------
@dataclass(frozen=True)
class NoteView:
    note: ConfidentialNote
    user: User

    @property
    def relationship(self) -> Relationship:
        return self.note.relationship

    @property
    def is_author(self) -> bool:
        return self.note.author_id == self.user.pk

    @property
    def other(self) -> User:
        """The learner to the author; the author to the learner."""
        r = self.note.relationship
        return r.learner if self.is_author else self.note.author

    @property
    def can_change(self) -> bool:
        return self.is_author and not notes.is_read_only(self.note)

    @property
    def can_share(self) -> bool:
        return self.can_change and not self.note.is_shared

    @property
    def retention_ends_on(self):
        return notes.retention_ends_on(self.note.relationship)


def _read(request: HttpRequest, code) -> NoteView:
    """The note for a page that shows its body (note_read logs the read or the refusal)."""
    note = notes.note_read(Access.of(request), code)
    return NoteView(note, request.user)


def _changeable(view: NoteView) -> None:
    """Refuse (403) a change form to someone who may read the note but not change it."""
    if not view.is_author:
        raise PermissionDenied("Only the note's author changes it.")
    if notes.is_read_only(view.note):
        raise PermissionDenied("The relationship has ended: your notes are read-only.")


def _put_on_form(form: NoteForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(exc.messages))


# --- Lists ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NotesRow:
    relationship: Relationship
    count: int
    is_guide: bool

    @property
    def other(self) -> User:
        r = self.relationship
        return r.learner if self.is_guide else r.guide

    @property
    def retention_ends_on(self):
        return notes.retention_ends_on(self.relationship)


@require_GET
@notes_page
def my_notes(request: HttpRequest) -> HttpResponse:
    """The notes area: the guide's relationships with how many notes each holds, and the
    relationships where a guide shared notes with the signed-in learner. Counts only."""
    user = request.user
    today = timezone.localdate()
    # One query for the counts, through the R4 rule itself (readable_by): own notes, and
    # notes shared with this person as the learner.
    counts = dict(
        ConfidentialNote.objects.readable_by(user)
        .values_list("relationship_id")
        .annotate(n=Count("id"))
        .values_list("relationship_id", "n")
    )
    relationships = (
        Relationship.objects.for_participant(user)
        .exclude(status=Relationship.Status.PROPOSED)
        .select_related("program", "guide", "learner")
        .order_by("-started_on", "-created_at")
    )
    guiding, shared_with_me = [], []
    for relationship in relationships:
        ends = notes.retention_ends_on(relationship)
        if ends is not None and today > ends:
            continue  # erased (or about to be): nothing to open
        row = NotesRow(
            relationship, counts.get(relationship.pk, 0), relationship.guide_id == user.pk
        )
        if row.is_guide:
            guiding.append(row)
        elif row.count:
            shared_with_me.append(row)
    if not (guiding or shared_with_me or is_guide(user) or is_learner(user)):
        raise Http404("No notes area for this person.")
    context = {"guiding": guiding, "shared_with_me": shared_with_me, "is_guide": is_guide(user)}
    return render(request, "mentoring/notes/my_notes.html", context)


@require_GET
@notes_page
def relationship_notes(request: HttpRequest, code) -> HttpResponse:
    """One relationship's notes: the guide's own (with a form for a new one while the
    relationship is current), or those shared with the learner. Metadata only."""
    relationship = get_own_relationship_or_404(request.user, code)
    user = request.user
    is_guide_here = relationship.guide_id == user.pk
    ends = notes.retention_ends_on(relationship)
    may_write = notes.may_write_on(user, relationship)
    context = {
        "relationship": relationship,
        "is_guide": is_guide_here,
        "other": relationship.learner if is_guide_here else relationship.guide,
        "notes": list(notes.note_list(user, relationship)),
        "may_write": may_write,
        "retention_ends_on": ends,
        "expired": ends is not None and timezone.localdate() > ends,
        "form": NoteForm() if may_write else None,
    }
    return render(request, "mentoring/notes/relationship_notes.html", context)


# --- Writing --------------------------------------------------------------------------------
def _note_new_page(request, relationship: Relationship, form: NoteForm) -> HttpResponse:
    context = {"relationship": relationship, "other": relationship.learner, "form": form}
    return render(request, "mentoring/notes/note_new.html", context)


# SECURITY (R4): the error report (the operator's email) prints POST data: not the note.
@sensitive_post_parameters("body")
@require_http_methods(["GET", "POST"])
@notes_page
def note_new(request: HttpRequest, code) -> HttpResponse:
    user = request.user
    if request.method == "GET":
        relationship = get_own_relationship_or_404(user, code)
        if relationship.guide_id != user.pk:
            raise Http404("Only the relationship's guide writes notes on it.")
        if not notes.may_write_on(user, relationship):
            raise PermissionDenied("The relationship is not current: no new notes.")
        return _note_new_page(request, relationship, NoteForm())
    # SECURITY: fetched without the participant filter so that the service decides and logs
    # every refused attempt (R4); nothing of the relationship is shown before it decided.
    relationship = (
        Relationship.objects.select_related("program", "guide", "learner").filter(code=code).first()
    )
    if relationship is None:
        raise Http404("No such relationship.")
    form = NoteForm(request.POST)
    form.is_valid()  # the form only carries the text; the service checks it
    try:
        notes.note_create(
            Access.of(request), relationship=relationship, body=form.cleaned_data["body"]
        )
    except ValidationError as exc:
        _put_on_form(form, exc)
        return _note_new_page(request, relationship, form)
    messages.success(request, "Note saved. Only you can read it.")
    return redirect("notes:relationship", code=relationship.code)


@require_GET
@notes_page
def note_detail(request: HttpRequest, code) -> HttpResponse:
    """The only page whose purpose is to show a note's body."""
    return render(request, "mentoring/notes/note_detail.html", {"view": _read(request, code)})


# SECURITY (R4): the error report (the operator's email) prints POST data: not the note.
@sensitive_post_parameters("body")
@require_http_methods(["GET", "POST"])
@notes_page
def note_edit(request: HttpRequest, code) -> HttpResponse:
    if request.method == "GET":
        view = _read(request, code)
        _changeable(view)
        form = NoteForm(initial={"body": view.note.body})
        return render(
            request, "mentoring/notes/note_edit.html", {"code": code, "view": view, "form": form}
        )
    form = NoteForm(request.POST)
    form.is_valid()
    try:
        notes.note_edit(Access.of(request), code, body=form.cleaned_data["body"])
    except ValidationError as exc:
        # Raised only after the service found the person may edit this note.
        _put_on_form(form, exc)
        return render(
            request, "mentoring/notes/note_edit.html", {"code": code, "view": None, "form": form}
        )
    messages.success(request, "Note saved.")
    return redirect("notes:note", code=code)


@require_http_methods(["GET", "POST"])
@notes_page
def note_share(request: HttpRequest, code) -> HttpResponse:
    if request.method == "GET":
        view = _read(request, code)
        _changeable(view)
        if view.note.is_shared:
            messages.info(request, f"This note is already shared with {view.other}.")
            return redirect("notes:note", code=code)
        return render(request, "mentoring/notes/note_share.html", {"view": view})
    note = notes.note_share(Access.of(request), code)
    learner = note.relationship.learner
    messages.success(request, f"Shared with {learner}. They can read this note from now on.")
    return redirect("notes:relationship", code=note.relationship.code)


@require_http_methods(["GET", "POST"])
@notes_page
def note_delete(request: HttpRequest, code) -> HttpResponse:
    if request.method == "GET":
        view = _read(request, code)
        _changeable(view)
        return render(request, "mentoring/notes/note_delete.html", {"view": view})
    notes.note_delete(Access.of(request), code)
    messages.success(request, "Note deleted.")
    # Only where to go next: that page checks access again.
    back = request.POST.get("relationship", "")
    if is_uuid(back):
        return redirect("notes:relationship", code=back.strip())
    return redirect("notes:my-notes")


# --- The author's own export ----------------------------------------------------------------
EXPORT_HEADER = [
    "note code",
    "program",
    "learner",
    "written",
    "last edited",
    "shared with the learner",
    "note",
]


def _when(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


@require_POST
@notes_page
def notes_export(request: HttpRequest) -> HttpResponse:
    """The signed-in author's own notes, bodies included (one EXPORT row per note in the
    access log). Nobody else's notes, whatever their role."""
    exported = notes.notes_export(Access.of(request))
    if not exported and not is_guide(request.user):
        raise Http404("No notes to export.")
    rows = (
        [
            note.code,
            note.relationship.program.name,
            note.relationship.learner.full_name,
            _when(note.created_at),
            _when(note.updated_at),
            _when(note.shared_at),
            note.body,
        ]
        for note in exported
    )
    filename = f"my-confidential-notes-{timezone.localdate():%Y-%m-%d}.csv"
    return csv_response(filename, EXPORT_HEADER, rows)
