"""Participants' side of matching (namespace `choosing`): a learner's suggested guides, ranked
choices and self-match requests; a guide's capacity, term opt-outs, preferred learners and the
requests they answer.

A learner page needs a current learner membership of the program, a guide page a current guide
membership; anyone else gets 404 (R8), administrators included (they have the console). A
request is found only among the signed-in person's own (sent as learner, received as guide).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from accounts.text import TypedTextFormMixin
from matching import preferences
from matching.models import Choice, MatchRequest
from mentoring import rules
from mentoring.models import Program
from mentoring.rules import RuleViolation
from mentoring.views import is_uuid


def _program_as(user, code, *, learner: bool) -> Program:
    program = get_object_or_404(Program.objects.for_participant(user), code=code)
    allowed = (
        preferences.is_current_learner(program, user)
        if learner
        else preferences.guide_membership(program, user) is not None
    )
    if not allowed:
        raise Http404("No such program.")
    return program


def _person(code: str | None) -> User:
    if not code or not is_uuid(code):
        raise Http404("No such person.")
    return get_object_or_404(User, code=code, is_active=True)


class SearchForm(TypedTextFormMixin, forms.Form):
    free_text_fields = ("q",)  # a search, shown to nobody else

    q = forms.CharField(
        required=False,
        max_length=100,
        label="Search by name or interest",
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    overlap = forms.BooleanField(
        required=False, label="Only people free at a time I am (from my profile)"
    )


class RequestForm(TypedTextFormMixin, forms.Form):
    message = forms.CharField(
        required=False,
        max_length=1000,
        label="A note with your request",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Optional, up to 1,000 characters: what you hope to work on together. Only "
        "the person you ask reads it.",
    )


class DeclineForm(TypedTextFormMixin, forms.Form):
    reply = forms.CharField(
        required=False,
        max_length=1000,
        label="A note to the learner",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional. They see it with your answer.",
    )


class OfferForm(TypedTextFormMixin, forms.Form):
    capacity = forms.IntegerField(
        min_value=0,
        max_value=preferences.MAX_CAPACITY,
        label="Learners you can take at once",
        help_text="Matching never gives you more than this (0: no new learners).",
    )
    opt_out_terms = forms.ModelMultipleChoiceField(
        queryset=None,
        required=False,
        label="Terms in which you take no new learners",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, program: Program, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opt_out_terms"].queryset = program.terms.filter(
            ends_on__gte=timezone.localdate()
        ).order_by("starts_on")
        self.fields["opt_out_terms"].label_from_instance = lambda t: (
            f"{t.name} ({t.starts_on:%-d %b %Y} to {t.ends_on:%-d %b %Y})"
        )


def _change(request: HttpRequest, program: Program, side: str, redirect_to: str):
    person = _person(request.POST.get("person"))
    action = request.POST.get("action", "")
    try:
        preferences.choice_change(
            program=program, side=side, chooser=request.user, person_id=person.pk, action=action
        )
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        done = {"add": "added to", "remove": "removed from"}.get(action, "moved in")
        messages.success(request, f"{person.full_name} {done} your list.")
    # Back to the same search: only its own parameters, re-encoded (nothing else rides along).
    sent = QueryDict(request.POST.get("return_query", "")[:500])
    query = urlencode({k: sent[k][:100] for k in SearchForm.base_fields if sent.get(k)})
    url = redirect(redirect_to, code=program.code).url
    return redirect(f"{url}?{query}" if query else url)


# --- Learners ----------------------------------------------------------------------------


@require_GET
def choose(request: HttpRequest, code) -> HttpResponse:
    """Suggested guides, the learner's ranked list, and (self-match) their requests."""
    program = _program_as(request.user, code, learner=True)
    user = request.user
    current = preferences.current_relationship(program, user)
    search = SearchForm(request.GET or None)
    query, overlap = "", False
    if search.is_valid():
        query, overlap = search.cleaned_data["q"], search.cleaned_data["overlap"]
    requests_sent = list(
        MatchRequest.objects.filter(program=program, learner=user)
        .select_related("guide")
        .order_by("-created_at")[:20]
    )
    declined = frozenset(
        r.guide_id for r in requests_sent if r.state == MatchRequest.State.DECLINED
    )
    pending = next((r for r in requests_sent if r.state == MatchRequest.State.PENDING), None)
    if pending and pending.expires_at <= timezone.now():
        pending = None  # the sweep has not run yet; the learner is free to ask again
    ranked = (
        preferences.choices_of(program, Choice.Side.LEARNER, user)
        if program.choices_allowed
        else []
    )
    suggestions = (
        preferences.suggested_guides(
            program, user, query=query, overlap_only=overlap, exclude=declined
        )
        if current is None
        else []
    )
    context = {
        "program": program,
        "guide_noun": program.guide_role,
        "current": current,
        "search": search,
        "searched": bool(query or overlap),
        "suggestions": suggestions,
        "ranked": ranked,
        "ranked_ids": {u.pk for u in ranked},
        "self_match": program.pairing == Program.Pairing.SELF,
        "pending": pending,
        "requests_sent": requests_sent,
        "return_query": request.GET.urlencode(),
        "has_availability": bool(getattr(getattr(user, "profile", None), "availability", 0)),
    }
    return render(request, "matching/participant/choose.html", context)


@require_POST
def choice_change(request: HttpRequest, code) -> HttpResponse:
    program = _program_as(request.user, code, learner=True)
    return _change(request, program, Choice.Side.LEARNER, "choosing:choose")


@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, code, person) -> HttpResponse:
    program = _program_as(request.user, code, learner=True)
    guide = _person(str(person))
    if (
        program.pairing != Program.Pairing.SELF
        or preferences.guide_membership(program, guide) is None
    ):
        raise Http404("No such guide to ask in this program.")
    form = RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            preferences.request_send(
                program=program,
                learner=request.user,
                guide=guide,
                message=form.cleaned_data["message"],
            )
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            messages.success(
                request,
                f"Your request is on its way to {guide.full_name}. They have "
                f"{program.request_expiry_days} days to answer; we email you either way.",
            )
            return redirect("choosing:choose", code=program.code)
    context = {
        "program": program,
        "guide": guide,
        "guide_noun": program.guide_role,
        "form": form,
        "self_match": program.pairing == Program.Pairing.SELF,
    }
    return render(request, "matching/participant/request_new.html", context)


@require_POST
def request_withdraw(request: HttpRequest, code) -> HttpResponse:
    match_request = get_object_or_404(MatchRequest, code=code, learner=request.user)
    try:
        preferences.request_withdraw(match_request=match_request)
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(request, "Your request is withdrawn. You can ask someone else.")
    return redirect("choosing:choose", code=match_request.program.code)


# --- Guides ------------------------------------------------------------------------------


def _offer_form(request: HttpRequest, program: Program, data=None) -> OfferForm:
    membership = preferences.guide_membership(program, request.user)
    opted = request.user.term_opt_outs.filter(term__program=program).values_list("term", flat=True)
    return OfferForm(
        data,
        program=program,
        initial={"capacity": membership.capacity or 0, "opt_out_terms": list(opted)},
    )


def _offer_page(
    request: HttpRequest,
    program: Program,
    form: OfferForm,
    declining: tuple[int, DeclineForm] | None = None,
) -> HttpResponse:
    user = request.user
    term = program.matching_term()
    search = SearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    waiting, answered = preferences.requests_for_guide(program, user)
    for match_request in waiting:
        bound = declining and declining[0] == match_request.pk
        match_request.decline_form = (
            declining[1] if bound else DeclineForm(prefix=f"r{match_request.pk}")
        )
    preferred = (
        preferences.choices_of(program, Choice.Side.GUIDE, user) if program.choices_allowed else []
    )
    suggestions = (
        preferences.suggested_learners(program, user, query=query)
        if program.choices_allowed and program.pairing == Program.Pairing.ADMINISTRATOR
        else []
    )
    context = {
        "program": program,
        "guide_noun": program.guide_role,
        "form": form,
        "load": rules.guide_loads(program, [user.pk]).get(user.pk, 0),
        "opted_out": preferences.is_opted_out(program, user, term=term),
        "matching_term": term,
        "waiting": waiting,
        "answered": answered,
        "preferred": preferred,
        "preferred_ids": {u.pk for u in preferred},
        "suggestions": suggestions,
        "search": search,
        "return_query": request.GET.urlencode(),
        "self_match": program.pairing == Program.Pairing.SELF,
    }
    return render(request, "matching/participant/offer.html", context)


@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest, code) -> HttpResponse:
    """A guide's capacity and opt-outs, requests to answer, and preferred learners."""
    program = _program_as(request.user, code, learner=False)
    form = _offer_form(request, program, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                preferences.capacity_set(
                    program=program, guide=request.user, capacity=form.cleaned_data["capacity"]
                )
                preferences.opt_outs_set(
                    program=program,
                    guide=request.user,
                    terms=list(form.cleaned_data.get("opt_out_terms", [])),
                )
        except RuleViolation as violation:
            form.add_error("capacity", violation.text)
        else:
            messages.success(request, "Your availability for matching is saved.")
            return redirect("choosing:offer", code=program.code)
    return _offer_page(request, program, form)


@require_POST
def learner_choice_change(request: HttpRequest, code) -> HttpResponse:
    program = _program_as(request.user, code, learner=False)
    return _change(request, program, Choice.Side.GUIDE, "choosing:offer")


def _received(request: HttpRequest, code) -> MatchRequest:
    return get_object_or_404(
        MatchRequest.objects.select_related("program", "learner"), code=code, guide=request.user
    )


@require_POST
def request_accept(request: HttpRequest, code) -> HttpResponse:
    match_request = _received(request, code)
    try:
        match_request = preferences.request_accept(match_request=match_request)
    except RuleViolation as violation:
        messages.error(request, violation.text)
        return redirect("choosing:offer", code=match_request.program.code)
    messages.success(
        request, f"You and {match_request.learner.full_name} are paired; we have told them."
    )
    return redirect("mentoring:relationship-detail", code=match_request.relationship.code)


@require_POST
def request_decline(request: HttpRequest, code) -> HttpResponse:
    match_request = _received(request, code)
    form = DeclineForm(request.POST, prefix=f"r{match_request.pk}")
    if not form.is_valid():
        # The offer page is the guide's: a guide who has left the program gets 404 (R8).
        program = _program_as(request.user, match_request.program.code, learner=False)
        return _offer_page(
            request,
            program,
            _offer_form(request, program),
            declining=(match_request.pk, form),
        )
    try:
        preferences.request_decline(match_request=match_request, reply=form.cleaned_data["reply"])
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(request, f"You declined {match_request.learner.full_name}'s request.")
    return redirect("choosing:offer", code=match_request.program.code)
