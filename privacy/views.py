"""The privacy officer's access log (namespace `privacy`, R4): who touched which confidential
note, when, with what outcome, from where. Never any content: the log holds none.

Viewing needs `mentoring.view_accesslogentry` (anyone else gets 404, R8); the CSV download
also needs `mentoring.export_accesslogentry` (403 for an officer without it). Both come with
the "Privacy officer" group (migration 0006). No page changes an entry, and the table refuses
UPDATE and DELETE at the database. Superusers hold every permission in Django and so see the
log; it holds no content, and the notes themselves stay closed to them.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from accounts.todo import review_mark
from mentoring.csv_export import csv_response
from mentoring.forms_notes import AccessLogFilterForm
from mentoring.models import AccessLogEntry
from privacy.todo import SUBJECT as REVIEW_SUBJECT

PAGE_SIZE = 50
VIEW_PERMISSION = "mentoring.view_accesslogentry"
EXPORT_PERMISSION = "mentoring.export_accesslogentry"

CSV_HEADER = [
    "when",
    "person",
    "email",
    "action",
    "outcome",
    "object kind",
    "object code",
    "relationship code",
    "reason",
    "source address",
]


def is_privacy_officer(user) -> bool:
    return user.is_authenticated and user.has_perm(VIEW_PERMISSION)


def _officer_or_404(user) -> None:
    if not is_privacy_officer(user):
        raise Http404("No such page.")


def _filtered(request: HttpRequest) -> tuple[AccessLogFilterForm, object]:
    """The filter form and the entries it selects; none while a filter is invalid (R12: the
    errors are shown, nothing answers 500)."""
    form = AccessLogFilterForm(request.GET or None)
    qs = AccessLogEntry.objects.select_related("actor").order_by("-at", "-id")
    if form.is_bound:
        qs = form.filter(qs) if form.is_valid() else qs.none()
    return form, qs


@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    _officer_or_404(request.user)
    form, qs = _filtered(request)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "can_export": request.user.has_perm(EXPORT_PERMISSION),
        "csv_url": reverse("privacy:access-log-csv") + (f"?{query.urlencode()}" if query else ""),
    }
    return render(request, "mentoring/privacy/access_log.html", context)


@require_POST
def access_log_reviewed(request: HttpRequest) -> HttpResponse:
    """The officer has gone through the log up to now: their home page counts refusals and
    operators' changes from here on. Changes nothing in the log itself."""
    _officer_or_404(request.user)
    review_mark(request.user, REVIEW_SUBJECT, timezone.now())
    messages.success(
        request,
        "Marked as reviewed. Your home page now counts only refusals and account changes "
        "that come after this.",
    )
    return redirect("privacy:access-log")


def _when(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


@require_GET
def access_log_csv(request: HttpRequest) -> HttpResponse:
    """The filtered log as CSV (the same filters as the page)."""
    _officer_or_404(request.user)
    if not request.user.has_perm(EXPORT_PERMISSION):
        raise PermissionDenied("Exporting the access log needs the export permission.")
    form, qs = _filtered(request)
    if form.is_bound and not form.is_valid():
        # Back to the page, which shows what is wrong with the filters.
        return redirect(reverse("privacy:access-log") + "?" + request.GET.urlencode())
    rows = (
        [
            _when(entry.at),
            entry.actor.full_name if entry.actor else "System",
            entry.actor.email if entry.actor else "",
            entry.action,
            entry.outcome,
            entry.object_kind,
            entry.object_code or "",
            entry.relationship_code or "",
            entry.reason,
            entry.source_address or "",
        ]
        for entry in qs.iterator(chunk_size=2000)
    )
    filename = f"access-log-{timezone.localdate():%Y-%m-%d}.csv"
    response = csv_response(filename, CSV_HEADER, rows)
    add_never_cache_headers(response)  # names, addresses: not for a shared cache
    return response
