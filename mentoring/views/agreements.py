"""The mentoring agreement and the goals of a relationship (namespace `agreements`).

Every view fetches the relationship (or goal) through the signed-in person's own
(`get_own_relationship_or_404`, `agreements.get_own_goal_or_404`), so anyone who is not one of
the two people gets 404 (R8), administrators and the operator included: the console shows them
whether the agreement is done and how many goals there are, never the text. A participant
trying to change anything once the relationship has ended (or before it is confirmed) gets 403:
they may read it, not change it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from mentoring import agreements
from mentoring.forms_agreements import AgreeForm, AgreementForm, GoalForm, GoalProgressForm
from mentoring.models import Goal, MentoringAgreement, Relationship
from mentoring.permissions import get_own_relationship_or_404

# The order of the groups on the goals page.
STATUS_ORDER = (
    Goal.Status.IN_PROGRESS,
    Goal.Status.NOT_STARTED,
    Goal.Status.ACHIEVED,
    Goal.Status.SET_ASIDE,
)


@dataclass(frozen=True)
class Pair:
    """A relationship as the signed-in person sees it."""

    relationship: Relationship
    is_learner: bool

    @property
    def other(self) -> User:
        return self.relationship.guide if self.is_learner else self.relationship.learner

    @property
    def other_role(self) -> str:
        r = self.relationship
        return r.guide_noun if self.is_learner else r.learner_noun

    @property
    def writable(self) -> bool:
        return agreements.is_writable(self.relationship)

    @property
    def with_competency(self) -> bool:
        return agreements.competency_allowed(self.relationship)


def _pair(user: User, relationship: Relationship) -> Pair:
    return Pair(relationship, relationship.learner_id == user.pk)


def _refuse(form, exc: ValidationError) -> None:
    """Put a service's refusal on the form: next to the field it names, else at the top."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, " ".join(exc.messages))


def _goals_url(relationship: Relationship, goal: Goal | None = None) -> str:
    url = reverse("agreements:goals", kwargs={"code": relationship.code})
    return f"{url}#goal-{goal.code}" if goal else url


# --- The agreement --------------------------------------------------------------------------


def _agreement_initial(agreement: MentoringAgreement | None) -> dict:
    if agreement is None:
        return {}
    return {
        "goals": agreement.goals,
        "meeting_frequency": agreement.meeting_frequency,
        "preferred_contact": agreement.preferred_contact,
        "boundaries": agreement.boundaries,
    }


def _agreement_page(
    request: HttpRequest,
    relationship: Relationship,
    *,
    form: AgreementForm | None = None,
    agree_form: AgreeForm | None = None,
) -> HttpResponse:
    pair = _pair(request.user, relationship)
    agreement = agreements.agreement_of(relationship)
    status = agreements.agreement_status(agreement, is_learner=pair.is_learner)
    version = agreements.agreement_version(agreement)
    mine, theirs = ("learner", "guide") if pair.is_learner else ("guide", "learner")
    context = {
        "pair": pair,
        "relationship": relationship,
        "agreement": agreement,
        "status": status,
        "my_agreed_at": getattr(agreement, f"{mine}_agreed_at", None),
        "other_agreed_at": getattr(agreement, f"{theirs}_agreed_at", None),
        "form": form or AgreementForm(initial=_agreement_initial(agreement)),
        "agree_form": agree_form or AgreeForm(initial={"version": version}, auto_id="agree_%s"),
        # The change form is open when there is nothing to agree to yet, or it has errors.
        "editing": form is not None or status == "not_started",
    }
    return render(request, "mentoring/agreements/agreement.html", context)


@require_http_methods(["GET", "POST"])
def agreement(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    if request.method == "GET":
        return _agreement_page(request, relationship)
    agreements.check_writable(relationship)
    agreeing = "agree" in request.POST
    form = AgreementForm(request.POST, agreeing=agreeing)
    if form.is_valid():
        data = form.cleaned_data
        try:
            saved = agreements.agreement_save(
                by=request.user,
                relationship=relationship,
                goals=data["goals"],
                meeting_frequency=data["meeting_frequency"],
                preferred_contact=data["preferred_contact"],
                boundaries=data["boundaries"],
                agree=agreeing,
                acknowledged=data["acknowledged"],
            )
        except ValidationError as exc:
            _refuse(form, exc)
        else:
            pair = _pair(request.user, relationship)
            if saved.is_done:
                messages.success(request, "You have both agreed: the agreement is done.")
            elif agreeing:
                messages.success(
                    request, f"Saved, and you agreed. {pair.other} is asked to agree too."
                )
            else:
                messages.success(
                    request,
                    f"Saved. Agree to it when you are ready; {pair.other} is asked to agree too.",
                )
            return redirect("agreements:agreement", code=relationship.code)
    return _agreement_page(request, relationship, form=form)


@require_POST
def agreement_agree(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    agreements.check_writable(relationship)
    form = AgreeForm(request.POST, auto_id="agree_%s")
    if not form.is_valid():
        return _agreement_page(request, relationship, agree_form=form)
    try:
        saved = agreements.agreement_agree(
            by=request.user,
            relationship=relationship,
            acknowledged=form.cleaned_data["acknowledged"],
            version=form.cleaned_data["version"] or None,
        )
    except ValidationError as exc:
        # The text changed since the page was read (or there is none): read it again.
        messages.error(request, " ".join(exc.messages))
    else:
        if saved.is_done:
            messages.success(request, "You have both agreed: the agreement is done.")
        else:
            other = _pair(request.user, relationship).other
            messages.success(request, f"You agreed. {other} is asked to agree too.")
    return redirect("agreements:agreement", code=relationship.code)


# --- Goals ----------------------------------------------------------------------------------


def _progress_form(goal: Goal, data=None) -> GoalProgressForm:
    # Ids unique on a page that has one progress form per goal.
    return GoalProgressForm(data, auto_id=f"progress-{goal.code}-%s")


@require_GET
def goals(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)
    pair = _pair(request.user, relationship)
    groups: dict[str, list] = {status: [] for status in STATUS_ORDER}
    for goal in agreements.goals_for(relationship):
        form = _progress_form(goal) if pair.writable else None
        groups[goal.status].append((goal, form))
    context = {
        "pair": pair,
        "relationship": relationship,
        "groups": [(Goal.Status(s).label, s, items) for s, items in groups.items() if items],
        "count": sum(len(items) for items in groups.values()),
    }
    return render(request, "mentoring/agreements/goals.html", context)


GOAL_FIELDS = ("title", "description", "domain", "target_on")


def _goal_form_page(request: HttpRequest, relationship, goal: Goal | None, save, done: str):
    """The new-goal and edit-goal form: `save(**fields)` writes through the service."""
    agreements.check_writable(relationship)
    pair = _pair(request.user, relationship)
    initial = {f: getattr(goal, f) for f in (*GOAL_FIELDS, "competency")} if goal else None
    form = GoalForm(request.POST or None, initial=initial, with_competency=pair.with_competency)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {f: data[f] for f in GOAL_FIELDS}
        # A goal tagged before keeps its tag where the field is not shown.
        fields["competency"] = data.get("competency", goal.competency if goal else "")
        try:
            saved = save(**fields)
        except ValidationError as exc:
            _refuse(form, exc)
        else:
            messages.success(request, done)
            return redirect(_goals_url(relationship, saved))
    return render(
        request,
        "mentoring/agreements/goal_form.html",
        {"pair": pair, "relationship": relationship, "form": form, "goal": goal},
    )


@require_http_methods(["GET", "POST"])
def goal_new(request: HttpRequest, code) -> HttpResponse:
    relationship = get_own_relationship_or_404(request.user, code)

    def save(**fields):
        return agreements.goal_create(by=request.user, relationship=relationship, **fields)

    return _goal_form_page(request, relationship, None, save, "Goal added.")


def _goal_page(request: HttpRequest, goal: Goal, form: GoalProgressForm | None = None):
    relationship = goal.relationship
    pair = _pair(request.user, relationship)
    context = {
        "pair": pair,
        "relationship": relationship,
        "goal": goal,
        "entries": list(goal.progress.select_related("author").order_by("-created_at")),
        "form": form or (_progress_form(goal) if pair.writable else None),
    }
    return render(request, "mentoring/agreements/goal_detail.html", context)


@require_GET
def goal_detail(request: HttpRequest, code) -> HttpResponse:
    return _goal_page(request, agreements.get_own_goal_or_404(request.user, code))


@require_http_methods(["GET", "POST"])
def goal_edit(request: HttpRequest, code) -> HttpResponse:
    goal = agreements.get_own_goal_or_404(request.user, code)

    def save(**fields):
        return agreements.goal_edit(by=request.user, goal=goal, **fields)

    return _goal_form_page(request, goal.relationship, goal, save, "Goal saved.")


@require_POST
def goal_progress(request: HttpRequest, code) -> HttpResponse:
    goal = agreements.get_own_goal_or_404(request.user, code)
    agreements.check_writable(goal.relationship)
    form = _progress_form(goal, request.POST)
    if form.is_valid():
        note, status = form.cleaned_data["note"].strip(), form.cleaned_data["status"]
        try:
            if note:
                agreements.goal_progress_add(by=request.user, goal=goal, note=note, status=status)
            else:
                agreements.goal_status_set(by=request.user, goal=goal, status=status)
        except ValidationError as exc:
            _refuse(form, exc)
        else:
            messages.success(request, "Progress added." if note else "Status changed.")
            return redirect(_goals_url(goal.relationship, goal))
    return _goal_page(request, goal, form)
