"""Survey results for guides (about themselves) and deans (namespace `survey_results`).

A guide sees, for closed campaigns only, the aggregates of learners' answers about them, and
only when at least the minimum number answered about them; never free text, never another
guide's results. A dean sees the aggregates of every closed campaign across programs (R7):
no names, no free text, suppression applied. Anyone else gets 404 (R8)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.permissions import is_dean, is_guide
from mentoring.csv_export import csv_response
from surveys import results
from surveys.models import Campaign
from surveys.views_console import EXPORT_HEADER, export_rows, partitions

PAGE_SIZE = 50


def _guide_or_404(user) -> None:
    if not is_guide(user):
        raise Http404


def _dean_or_404(user) -> None:
    if not is_dean(user):
        raise Http404


def _closed_campaign_or_404(code) -> Campaign:
    return get_object_or_404(
        Campaign.objects.filter(status=Campaign.Status.CLOSED).select_related(
            "program", "template", "term"
        ),
        code=code,
    )


# --- Guides -----------------------------------------------------------------------------------
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    _guide_or_404(request.user)
    campaigns = results.guide_campaigns(request.user)
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "minimum": results.minimum_cell()}
    return render(request, "surveys/results/mine.html", context)


@require_GET
def mine_campaign(request: HttpRequest, campaign) -> HttpResponse:
    _guide_or_404(request.user)
    campaign = get_object_or_404(results.guide_campaigns(request.user), code=campaign)
    about_me = results.guide_results(campaign, request.user)
    context = {
        "campaign": campaign,
        # SECURITY (R6): under the minimum nothing but that fact reaches the template.
        "parts": [] if about_me.too_few else [("", about_me)],
        "too_few": about_me.too_few,
        "minimum": about_me.minimum,
    }
    return render(request, "surveys/results/mine_campaign.html", context)


# --- Deans ------------------------------------------------------------------------------------
@require_GET
def institution(request: HttpRequest) -> HttpResponse:
    _dean_or_404(request.user)
    campaigns = results.with_rates(
        Campaign.objects.filter(status=Campaign.Status.CLOSED).select_related("program", "template")
    ).order_by("template__kind", "-closes_at", "pk")
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    for campaign in page.object_list:
        campaign.rate = results.rate_of(campaign)
    return render(
        request,
        "surveys/results/institution.html",
        {"page": page, "minimum": results.minimum_cell()},
    )


@require_GET
def institution_campaign(request: HttpRequest, campaign) -> HttpResponse:
    _dean_or_404(request.user)
    campaign = _closed_campaign_or_404(campaign)
    context = {
        "campaign": campaign,
        "rate": results.rate_of(campaign),
        # No free text for deans (R7): free_text stays False.
        "parts": partitions(campaign),
        "minimum": results.minimum_cell(),
    }
    return render(request, "surveys/results/institution_campaign.html", context)


@require_GET
def institution_export(request: HttpRequest, campaign) -> HttpResponse:
    _dean_or_404(request.user)
    campaign = _closed_campaign_or_404(campaign)
    return csv_response(
        f"survey-results-{campaign.code}.csv", EXPORT_HEADER, export_rows(partitions(campaign))
    )
