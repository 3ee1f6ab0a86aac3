"""The administrator's review of match runs (console)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts.text import TypedTextFormMixin
from matching import algorithm, services
from matching.models import MatchRun, Proposal
from matching.permissions import get_administered_proposal_or_404, get_administered_run_or_404
from mentoring.csv_export import csv_response
from mentoring.permissions import get_administered_program_or_404
from mentoring.rules import RuleViolation
from mentoring.views import is_uuid

PAGE_SIZE = 100
UNMATCHED_PAGE_SIZE = 20


WEIGHT_LABELS = {
    "specialty": "Shared specialty interest",
    "research": "Shared research interests",
    "language": "A language in common",
    "campus": "Same campus",
    "background": "Shared background the learner asked for",
    "availability": "Availability overlap",
    "ranked_choice": "The learner's ranked choices",
    "guide_preference": "The guide's preferences",
    "continuity": "Continuity with a previous guide",
    "load_balance": "Spread learners across guides",
}


class RunForm(TypedTextFormMixin, forms.Form):
    """The mode, the weight of each criterion (points, 0-100) and the must-have filters."""

    mode = forms.ChoiceField(
        choices=MatchRun.Mode.choices, widget=forms.RadioSelect, initial=MatchRun.Mode.OPTIMAL
    )

    def __init__(self, *args, weights: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label in WEIGHT_LABELS.items():
            self.fields[name] = forms.IntegerField(
                label=f"{label} (points)",
                min_value=0,
                max_value=100,
                initial=weights.get(name, 0),
            )
        self.fields["must_have"] = forms.MultipleChoiceField(
            required=False,
            label="Must-have (a pair that fails one is never proposed)",
            choices=[(c.value, WEIGHT_LABELS[c.value]) for c in sorted(algorithm.FILTERABLE)],
            widget=forms.CheckboxSelectMultiple,
            initial=weights.get("must_have", []),
        )

    def weights(self) -> dict:
        data = self.cleaned_data
        return {**{name: data[name] for name in WEIGHT_LABELS}, "must_have": data["must_have"]}


class ProposalFilterForm(TypedTextFormMixin, forms.Form):
    """The review's filters. A guide's load is their current relationships in the program plus
    this run's proposed and locked pairs (GuideLoad); the load filters keep the proposals of the
    guides that pass, so unmatched learners (no guide) drop out while one is in use."""

    free_text_fields = ("q",)  # a search, shown to nobody else

    FULL = "full"
    ROOM = "room"

    state = forms.ChoiceField(
        required=False, choices=[("", "All"), *Proposal.State.choices], label="Show"
    )
    q = forms.CharField(required=False, max_length=100, label="Search by name")
    below = forms.IntegerField(required=False, min_value=0, label="Score below")
    load = forms.ChoiceField(required=False)
    min_load = forms.IntegerField(required=False, min_value=1, max_value=10_000)

    def __init__(self, *args, guide_role: str = "guide", **kwargs):
        super().__init__(*args, **kwargs)
        guides = f"{guide_role.capitalize()}s"
        self.fields["load"].label = f"{guide_role.capitalize()} load"
        self.fields["load"].choices = [
            ("", f"Any {guide_role} load"),
            (self.FULL, f"{guides} this run fills to capacity"),
            (self.ROOM, f"{guides} with places left after this run"),
        ]
        self.fields["min_load"].label = f"{guide_role.capitalize()}'s learners at least"


@require_http_methods(["GET", "POST"])
def runs(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = RunForm(request.POST or None, weights=services.program_weights(program))
    if request.method == "POST" and form.is_valid():
        run = services.match_run_create(
            program=program,
            by=request.user,
            mode=form.cleaned_data["mode"],
            weights=form.weights(),
            term=program.matching_term(),
        )
        messages.success(request, "The matcher is running; this page updates when it is done.")
        return redirect("matching:run", code=run.code)
    context = {
        "program": program,
        "form": form,
        "runs": MatchRun.objects.filter(program=program).select_related("run_by", "superseded_by")[
            :20
        ],
        "section": "matching",
    }
    return render(request, "matching/runs.html", context)


def _run_context(request, run: MatchRun) -> dict:
    form = ProposalFilterForm(request.GET or None, guide_role=run.program.guide_role)
    table = services.guide_load_table(run)
    proposals = run.proposals.select_related("learner", "guide").order_by("-score", "pk")
    if form.is_valid():
        data = form.cleaned_data
        if data["state"]:
            proposals = proposals.filter(state=data["state"])
        if data["q"]:
            proposals = proposals.filter(
                Q(learner__full_name__icontains=data["q"])
                | Q(guide__full_name__icontains=data["q"])
            )
        if data["below"] is not None:
            proposals = proposals.exclude(state=Proposal.State.UNMATCHED).filter(
                score__lt=data["below"]
            )
        if data["load"] or data["min_load"] is not None:
            kept = [
                g.id
                for g in table.values()
                if (data["load"] != form.FULL or g.full)
                and (data["load"] != form.ROOM or not g.full)
                and g.load >= (data["min_load"] or 0)
            ]
            proposals = proposals.filter(guide_id__in=kept)
    return _status_context(run) | {
        "program": run.program,
        "run": run,
        "form": form,
        "page": Paginator(proposals, PAGE_SIZE).get_page(request.GET.get("page")),
        "loads": sorted(
            (g for g in table.values() if g.in_run), key=lambda g: (-g.load, g.name, g.id)
        ),
        "guides_with_room": services.guides_with_room(run, table=table),
        # Each learner not matched carries a form listing every guide with room: a page of
        # them at a time keeps the page small at school scale.
        "unmatched": Paginator(
            run.proposals.filter(state=Proposal.State.UNMATCHED)
            .select_related("learner")
            .order_by("learner__full_name", "pk"),
            UNMATCHED_PAGE_SIZE,
        ).get_page(request.GET.get("unmatched_page")),
        "section": "matching",
    }


@require_GET
def run_detail(request: HttpRequest, code) -> HttpResponse:
    run = get_administered_run_or_404(request.user, code)
    return render(request, "matching/run.html", _run_context(request, run))


WORKING = (MatchRun.Status.QUEUED, MatchRun.Status.RUNNING, MatchRun.Status.APPROVING)


def _status_context(run: MatchRun) -> dict:
    """The run and, once approval has begun, its progress: pairs created, refused, to go."""
    context = {"run": run}
    if run.status in (MatchRun.Status.APPROVING, MatchRun.Status.APPROVED):
        counts = run.proposals.aggregate(
            created=Count("pk", filter=Q(state=Proposal.State.APPROVED)),
            refused=Count("pk", filter=Q(state=Proposal.State.REFUSED)),
            waiting=Count(
                "pk", filter=Q(state__in=[Proposal.State.PROPOSED, Proposal.State.LOCKED])
            ),
        )
        context["approval"] = counts
    return context


@require_GET
def run_status(request: HttpRequest, code) -> HttpResponse:
    """Polled by htmx while the run works or is being approved; refreshes the page once it has
    finished."""
    run = get_administered_run_or_404(request.user, code)
    if request.htmx and run.status not in WORKING:
        return HttpResponseClientRefresh()
    return render(request, "matching/_run_status.html", _status_context(run))


@require_POST
def proposal_state(request: HttpRequest, code) -> HttpResponse:
    proposal = get_administered_proposal_or_404(request.user, code)
    state = request.POST.get("state", "")
    try:
        services.proposal_set_state(proposal=proposal, state=state)
    except RuleViolation as violation:
        messages.error(request, violation.text)
    return redirect("matching:run", code=proposal.run.code)


@require_POST
def run_approve(request: HttpRequest, code) -> HttpResponse:
    run = get_administered_run_or_404(request.user, code)
    try:
        run = services.match_run_approve_start(run=run, by=request.user)
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(
            request,
            "Approved: the relationships are being created and both people of each pair are "
            "emailed. This page updates when it is done.",
        )
    return redirect("matching:run", code=run.code)


@require_POST
def run_rerun(request: HttpRequest, code) -> HttpResponse:
    run = get_administered_run_or_404(request.user, code)
    again = services.match_run_create(
        program=run.program, by=request.user, mode=run.mode, weights=run.weights, term=run.term
    )
    messages.success(request, "Running again, keeping your locks and rejections.")
    return redirect("matching:run", code=again.code)


@never_cache
@require_GET
def run_export(request: HttpRequest, code) -> HttpResponse:
    run = get_administered_run_or_404(request.user, code)
    header = ["learner_email", "learner", "guide_email", "guide", "score", "state", "explanation"]
    rows = (
        (
            p.learner.email,
            p.learner.full_name,
            p.guide.email if p.guide else "",
            p.guide.full_name if p.guide else "",
            p.score,
            p.state,
            p.explanation,
        )
        for p in run.proposals.select_related("learner", "guide").order_by("-score", "pk")
    )
    return csv_response(f"match-{run.code}.csv", header, rows)


@require_POST
def proposals_swap(request: HttpRequest, code) -> HttpResponse:
    run = get_administered_run_or_404(request.user, code)
    codes = request.POST.getlist("proposal")
    chosen = []
    if len(codes) == 2 and all(is_uuid(c) for c in codes):
        chosen = list(run.proposals.filter(code__in=codes).select_related("learner"))
    if len(chosen) != 2:
        messages.error(request, "Choose exactly two learners to swap.")
        return redirect("matching:run", code=run.code)
    try:
        services.proposals_swap(first=chosen[0], second=chosen[1])
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(
            request, f"Swapped the guides of {chosen[0].learner} and {chosen[1].learner}."
        )
    return redirect("matching:run", code=run.code)


@require_POST
def proposal_assign(request: HttpRequest, code) -> HttpResponse:
    proposal = get_administered_proposal_or_404(request.user, code)
    try:
        guide_id = int(request.POST.get("guide", ""))
    except ValueError:
        messages.error(request, "Choose a guide.")
        return redirect("matching:run", code=proposal.run.code)
    try:
        services.proposal_assign(proposal=proposal, guide_id=guide_id)
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(request, f"{proposal.learner} assigned.")
    return redirect("matching:run", code=proposal.run.code)
