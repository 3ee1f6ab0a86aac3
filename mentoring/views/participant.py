"""A learner's and a guide's own relationships: the list, one relationship, the informal
relationships a learner records and the guide confirms, and no-fault rematch requests.

Every page about a relationship fetches it through `get_own_relationship_or_404`, so anyone who
is not one of the two people gets 404 (R8), administrators and operators included: they have
console pages of their own. One participant trying the other's action (the learner confirming,
the guide asking for a rematch) gets 403: they may see the relationship but not do that.

SECURITY: a rematch request is the learner's, in confidence. Only code paths where the signed-in
person is the learner read RematchRequest; the guide's pages never query it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import ParticipantProfile, User
from accounts.permissions import is_learner
from mentoring import services
from mentoring.forms_participant import InformalRelationshipForm, RematchRequestForm
from mentoring.models import Relationship, RematchRequest
from mentoring.permissions import get_own_relationship_or_404


def _profile_of(user: User) -> ParticipantProfile | None:
    # Fetched with select_related: a missing profile is cached as None and costs no query.
    try:
        return user.profile
    except ObjectDoesNotExist:
        return None


@dataclass(frozen=True)
class Side:
    """One relationship as the signed-in person sees it: who the other person is to them."""

    relationship: Relationship
    is_learner: bool
    open_rematch: RematchRequest | None = None  # only ever set for the learner

    @property
    def other(self) -> User:
        return self.relationship.guide if self.is_learner else self.relationship.learner

    @property
    def other_profile(self) -> ParticipantProfile | None:
        return _profile_of(self.other)

    @property
    def guide_noun(self) -> str:
        return self.relationship.guide_noun

    @property
    def learner_noun(self) -> str:
        return self.relationship.learner_noun

    @property
    def other_role(self) -> str:
        """What the other person is to me: "mentor" to a learner, "mentee" to a mentor."""
        return self.guide_noun if self.is_learner else self.learner_noun

    @property
    def my_role(self) -> str:
        return self.learner_noun if self.is_learner else self.guide_noun

    @property
    def shows_contact(self) -> bool:
        # Contact details are for a relationship that is running or about to start.
        return self.relationship.status != Relationship.Status.ENDED


def _side(user: User, relationship: Relationship) -> Side:
    return Side(relationship=relationship, is_learner=relationship.learner_id == user.pk)


def _refusal(exc: ValidationError) -> str:
    """The text of a refusal: a RuleViolation names the rule and the conflicting record."""
    return " ".join(exc.messages)


def _open_rematch(relationship: Relationship) -> RematchRequest | None:
    return RematchRequest.objects.open().filter(relationship=relationship).first()


# --- Pages ----------------------------------------------------------------------------------


@require_GET
def relationship_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    relationships = (
        Relationship.objects.for_participant(user)
        .select_related("program", "guide__profile", "learner__profile")
        .order_by("-started_on", "-created_at")
    )
    # One query, about the learner's own relationships only (see the module's SECURITY note).
    open_rematches = {
        rematch.relationship_id: rematch
        for rematch in RematchRequest.objects.open().filter(relationship__learner=user)
    }
    current, awaiting_me, awaiting_them, ended = [], [], [], []
    for relationship in relationships:
        side = _side(user, relationship)
        if side.is_learner and relationship.pk in open_rematches:
            side = Side(relationship, True, open_rematches[relationship.pk])
        if relationship.is_current:
            current.append(side)
        elif relationship.status == Relationship.Status.PROPOSED:
            (awaiting_them if side.is_learner else awaiting_me).append(side)
        else:
            ended.append(side)
    context = {
        "current": current,
        "awaiting_me": awaiting_me,
        "awaiting_them": awaiting_them,
        "ended": ended,
        "can_record_informal": is_learner(user),
    }
    return render(request, "mentoring/participant/relationship_list.html", context)


@require_GET
def relationship_detail(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    side = _side(request.user, relationship)
    if side.is_learner and relationship.is_current:
        side = Side(relationship, True, _open_rematch(relationship))
    return render(request, "mentoring/participant/relationship_detail.html", {"side": side})


@require_http_methods(["GET", "POST"])
def informal_new(request: HttpRequest) -> HttpResponse:
    # Only learners record informal relationships; for anyone else the page does not exist.
    if not is_learner(request.user):
        raise Http404
    form = InformalRelationshipForm(request.POST or None, learner=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            relationship = services.relationship_propose_informal(
                program=form.cleaned_data["program"],
                guide=form.cleaned_data["guide"],
                learner=request.user,
                started_on=form.cleaned_data["started_on"],
            )
        except ValidationError as exc:
            field = "started_on" if getattr(exc, "rule", None) == "DATES" else None
            form.add_error(field, _refusal(exc))
        else:
            messages.success(
                request,
                f"Recorded. {relationship.guide} is asked to confirm your "
                f"{relationship.get_kind_display().lower()} relationship in "
                f"{relationship.program}.",
            )
            return redirect("mentoring:relationship-detail", code=relationship.code)
    return render(request, "mentoring/participant/informal_new.html", {"form": form})


@require_POST
def relationship_confirm(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    if relationship.guide_id != request.user.pk:
        raise PermissionDenied("Only the guide of this relationship can confirm it.")
    try:
        services.relationship_confirm(relationship=relationship)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
    else:
        messages.success(
            request, f"Confirmed. Your relationship with {relationship.learner} is active."
        )
    return redirect("mentoring:relationship-detail", code=relationship.code)


@require_POST
def relationship_decline(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    if relationship.guide_id != request.user.pk:
        raise PermissionDenied("Only the guide of this relationship can decline it.")
    if relationship.status != Relationship.Status.PROPOSED:
        # relationship_end would end any relationship; this button is for proposals only.
        messages.error(
            request, "STATE Relationship status: only a proposed relationship can be declined."
        )
        return redirect("mentoring:relationship-detail", code=relationship.code)
    try:
        services.relationship_end(relationship=relationship, reason=Relationship.EndReason.DECLINED)
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
        return redirect("mentoring:relationship-detail", code=relationship.code)
    messages.success(request, f"Declined. {relationship.learner}'s request is closed.")
    return redirect("mentoring:relationship-list")


@require_http_methods(["GET", "POST"])
def rematch_request(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    side = _side(request.user, relationship)
    if not side.is_learner:
        # The same answer whether or not a request is open: the guide learns nothing.
        raise PermissionDenied("Only the learner can ask for a rematch.")
    if not relationship.is_current:
        messages.error(
            request,
            "STATE Relationship status: a rematch can be asked for a current relationship only.",
        )
        return redirect("mentoring:relationship-detail", code=relationship.code)
    if request.method == "GET" and _open_rematch(relationship) is not None:
        messages.info(
            request, "You have already asked for a rematch; it is with the program administrator."
        )
        return redirect("mentoring:relationship-detail", code=relationship.code)
    form = RematchRequestForm(request.POST or None, guide_noun=side.guide_noun)
    if request.method == "POST" and form.is_valid():
        try:
            services.rematch_request_create(
                relationship=relationship, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, _refusal(exc))
        else:
            messages.success(
                request,
                f"Your request has gone to the program administrator. "
                f"Your {side.guide_noun} is not told.",
            )
            return redirect("mentoring:relationship-detail", code=relationship.code)
    return render(
        request, "mentoring/participant/rematch_request.html", {"side": side, "form": form}
    )


@require_POST
def rematch_withdraw(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    if relationship.learner_id != request.user.pk:
        raise PermissionDenied("Only the learner can withdraw a rematch request.")
    open_request = _open_rematch(relationship)
    if open_request is None:
        messages.error(
            request, "STATE Relationship status: there is no open rematch request to withdraw."
        )
    else:
        try:
            services.rematch_request_withdraw(request=open_request)
        except ValidationError as exc:
            messages.error(request, _refusal(exc))
        else:
            messages.success(request, "Your rematch request is withdrawn.")
    return redirect("mentoring:relationship-detail", code=relationship.code)
