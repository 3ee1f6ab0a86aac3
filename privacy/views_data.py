"""A person's own data: the page that explains the download, and the download (namespace
`data`). Anyone signed in gets their own, and only their own: there is no object to choose."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from privacy.export import SECTIONS, export_filename, export_person


@require_GET
def data_page(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/data_export.html", {"sections": SECTIONS})


@never_cache
@require_POST
# SECURITY: the file holds the person's confidential notes; like the notes area, it asks for
# the password (or second factor) again. allauth keeps this POST and replays it afterwards.
@reauthentication_required
def data_download(request: HttpRequest) -> HttpResponse:
    content = export_person(request.user, address=request.META.get("REMOTE_ADDR") or None)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export_filename()}"'
    response["Content-Length"] = str(len(content))
    return response
