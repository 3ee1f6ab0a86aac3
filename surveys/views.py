"""Answering surveys (namespace `surveys`): the emailed one-time link, and "my surveys".

The link's page needs no sign-in: its token is the credential (surveys/tokens.py). A signed-in
person may also answer their own invitations from "my surveys" by the invitation's code; anyone
else's code answers 404 (R8). Both lead to the same form (surveys/answering.py), which keeps
what was typed on every error and as a draft (R12), and writes an anonymous response (R6).
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.permissions import is_guide
from accounts.times import zone_of
from surveys import answering, tokens
from surveys.models import Campaign, Invitation, InvitationDraft

logger = logging.getLogger(__name__)

# What the answering page shows, loaded with the invitation in one query.
INVITATION_RELATED = (
    "campaign__template",
    "campaign__program",
    "person__profile",
    "relationship__guide",
    "relationship__learner",
)


@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    """The signed-in person's surveys still open: to answer (or finish), and answered."""
    now = timezone.now()
    invitations = list(
        Invitation.objects.for_person(request.user)
        .filter(campaign__status=Campaign.Status.OPEN, campaign__closes_at__gt=now)
        .select_related("campaign__program", "relationship__guide", "relationship__learner")
        .annotate(has_draft=Exists(InvitationDraft.objects.filter(invitation=OuterRef("pk"))))
        .order_by("campaign__closes_at", "pk")
    )
    context = {
        "to_answer": [i for i in invitations if not i.has_responded],
        "answered": [i for i in invitations if i.has_responded],
        "zone": zone_of(request.user),
        "is_guide": is_guide(request.user),
    }
    return render(request, "surveys/mine.html", context)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link. SECURITY: no sign-in; the signed token is the credential, valid
    while the campaign is open and until the invitation is answered."""
    invitation = tokens.invitation_for_token(token, related=INVITATION_RELATED)
    if invitation is None:
        return _noindex(render(request, "surveys/invalid.html", status=404))
    return _noindex(_answer(request, invitation))


@never_cache
@require_http_methods(["GET", "POST"])
def answer_mine(request: HttpRequest, code) -> HttpResponse:
    """One of the signed-in person's own invitations (404 for anyone else's, R8)."""
    invitation = get_object_or_404(
        Invitation.objects.for_person(request.user).select_related(*INVITATION_RELATED),
        code=code,
    )
    return _answer(request, invitation)


def _noindex(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex"
    return response


def _about(invitation: Invitation) -> dict:
    """Who a survey about one relationship is about, for the page (never for the email)."""
    relationship = invitation.relationship
    if relationship is None or invitation.campaign.kind == Campaign.Kind.WELLBEING:
        return {}
    is_learner = relationship.learner_id == invitation.person_id
    return {
        "other": relationship.guide if is_learner else relationship.learner,
        "other_noun": relationship.guide_noun if is_learner else relationship.learner_noun,
    }


def _state_page(request: HttpRequest, invitation: Invitation, state: str) -> HttpResponse:
    context = {"campaign": invitation.campaign, "zone": zone_of(invitation.person)}
    name = "answered" if state == answering.ANSWERED else "closed"
    return render(request, f"surveys/{name}.html", context)


def _answer(request: HttpRequest, invitation: Invitation) -> HttpResponse:
    state = answering.invitation_state(invitation)
    if state != answering.OPEN:
        return _state_page(request, invitation, state)
    campaign = invitation.campaign
    questions = answering.template_questions(campaign.template)
    if request.method == "POST":
        form = answering.survey_form(questions, data=request.POST)
        values = answering.draft_values(questions, request.POST)
        if request.POST.get("action") == "save":
            if not answering.draft_save(invitation=invitation, values=values):
                invitation.refresh_from_db(fields=["has_responded"])
                return _state_page(request, invitation, answering.invitation_state(invitation))
            messages.success(
                request,
                "Your answers are saved. Come back with the link in your email (or from My "
                "surveys) to finish before the survey closes.",
            )
            return redirect(request.path)
        if form.is_valid():
            try:
                submitted = answering.response_submit(invitation=invitation, form=form)
            except answering.NotOpen as refused:
                return _state_page(request, invitation, refused.state)
            except DatabaseError:
                # The submit was undone (answering.response_submit): nothing is recorded,
                # what was typed is the draft again and stays on the page. SECURITY: logged
                # without anything that names the invitation or the answers.
                logger.exception("A survey response could not be written; it was undone.")
                form.add_error(
                    None,
                    "Your answers could not be recorded just now. Everything you typed is "
                    "kept: please submit again in a moment.",
                )
            else:
                # Rendered here, not after a redirect: the rematch offer depends on an
                # answer, and keeping it for a next request (a session) would store who said
                # what.
                context = {"campaign": campaign, "rematch": submitted.rematch}
                return render(request, "surveys/thanks.html", context)
        else:
            # R12: what was typed stays on the page and is kept as the draft.
            answering.draft_save(invitation=invitation, values=values)
    else:
        form = answering.survey_form(questions, initial=answering.draft_load(invitation))
    context = {
        "invitation": invitation,
        "campaign": campaign,
        "template": campaign.template,
        "program": campaign.program,
        "form": form,
        "zone": zone_of(invitation.person),
        **_about(invitation),
    }
    return render(request, "surveys/answer.html", context)
