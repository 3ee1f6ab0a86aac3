"""Console: relationships, manual pairing, the conflict queue, rematch requests, quiet pairs.

Administrators see a relationship's metadata only (who, when, status) and its meetings' (date,
duration, status, topic categories); never notes, reflections or action items (R4, R5).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from mentoring import rules, services
from mentoring.agreements import agreement_facts
from mentoring.forms import (
    ConflictResolveForm,
    EndRelationshipForm,
    PairingForm,
    RelationshipFilterForm,
    RematchGrantForm,
)
from mentoring.models import Conflict, Program, Relationship, RematchRequest
from mentoring.permissions import (
    get_administered_conflict_or_404,
    get_administered_program_or_404,
    get_administered_relationship_or_404,
    get_administered_rematch_request_or_404,
)
from mentoring.rules import RuleViolation
from mentoring.views import is_uuid
from sessions_log.logs import meeting_facts, quiet_cutoff, quiet_relationships

PAGE_SIZE = 50


def _name(field: str) -> Subquery:
    return Subquery(User.objects.filter(pk=OuterRef(field)).order_by().values("full_name")[:1])


@require_GET
def relationships(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = RelationshipFilterForm(request.GET or None)
    qs = Relationship.objects.filter(program=program).select_related("guide", "learner", "term")
    status = form.cleaned_data["status"] if form.is_valid() else ""
    if status == "":
        qs = qs.current()
    elif status != "all":
        qs = qs.filter(status=status)
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        qs = qs.filter(
            Q(guide__full_name__icontains=q)
            | Q(learner__full_name__icontains=q)
            | Q(guide__email__icontains=q)
            | Q(learner__email__icontains=q)
        )
    page = Paginator(qs.order_by("-started_on", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"program": program, "form": form, "page": page, "section": "relationships"}
    return render(request, "console/relationships.html", context)


@require_http_methods(["GET", "POST"])
def relationship_create(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = PairingForm(request.POST or None, program=program)
    learner_code = request.GET.get("learner", "")
    if request.method == "GET" and is_uuid(learner_code):
        # Arriving from a granted rematch: the learner is chosen already.
        learner = form.fields["learner"].queryset.filter(code=learner_code.strip()).first()
        if learner is not None:
            form.initial["learner"] = learner.pk
            form.leaving(learner)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            relationship = services.relationship_start(
                program=program,
                guide=data["guide"],
                learner=data["learner"],
                started_on=data["started_on"],
                ends_on=data["ends_on"],
                term=data["term"],
                origin=Relationship.Origin.ASSIGNED,
                created_by=request.user,
            )
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            flagged = relationship.conflicts.count()
            messages.success(
                request,
                f"{relationship.learner} is now paired with {relationship.guide}."
                + (
                    f" {flagged} advising overlap flagged in the conflict queue." if flagged else ""
                ),
            )
            return redirect("console:relationship-detail", code=relationship.code)
    context = {"program": program, "form": form, "section": "relationships"}
    return render(request, "console/relationship_form.html", context)


@require_GET
def relationship_detail(request: HttpRequest, code) -> HttpResponse:
    relationship = get_administered_relationship_or_404(request.user, code)
    context = {
        "program": relationship.program,
        "relationship": relationship,
        "conflicts": relationship.conflicts.select_related(
            "assessment_role__assessor", "assessment_role__learner"
        ),
        "rematch_requests": relationship.rematch_requests.all(),
        # R5: date, duration, status and topics only, never a reflection or an action item.
        "meetings": meeting_facts(relationship),
        # Whether the agreement is done and how many goals: counts only, never their text.
        "agreement": agreement_facts(relationship),
        "end_form": EndRelationshipForm(relationship=relationship),
        # After an ending, the way on: pair the learner again (if nobody has since).
        "learner_unpaired": relationship.status == Relationship.Status.ENDED
        and rules.current_of_kind(relationship.program, relationship.learner) is None,
        "section": "relationships",
    }
    return render(request, "console/relationship_detail.html", context)


def _state_change(request, code, action, done: str) -> HttpResponse:
    relationship = get_administered_relationship_or_404(request.user, code)
    try:
        action(relationship=relationship)
    except RuleViolation as violation:
        messages.error(request, violation.text)
    else:
        messages.success(request, done)
    return redirect("console:relationship-detail", code=relationship.code)


@require_POST
def relationship_pause(request: HttpRequest, code) -> HttpResponse:
    return _state_change(request, code, services.relationship_pause, "Relationship paused.")


@require_POST
def relationship_resume(request: HttpRequest, code) -> HttpResponse:
    return _state_change(request, code, services.relationship_resume, "Relationship resumed.")


@require_http_methods(["GET", "POST"])
def relationship_end(request: HttpRequest, code) -> HttpResponse:
    relationship = get_administered_relationship_or_404(request.user, code)
    form = EndRelationshipForm(request.POST or None, relationship=relationship)
    if request.method == "POST" and form.is_valid():
        try:
            services.relationship_end(
                relationship=relationship,
                reason=form.cleaned_data["reason"],
                ends_on=form.cleaned_data["ends_on"],
            )
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            messages.success(request, "Relationship ended.")
            return redirect("console:relationship-detail", code=relationship.code)
    context = {
        "program": relationship.program,
        "relationship": relationship,
        "form": form,
        "section": "relationships",
    }
    return render(request, "console/relationship_end.html", context)


@require_GET
def quiet(request: HttpRequest, code) -> HttpResponse:
    """Active relationships with no completed meeting in the program's expected interval
    (`expected_meeting_interval_days`), each with the date of its last completed meeting;
    relationships younger than the interval are not listed yet."""
    program = get_administered_program_or_404(request.user, code)
    cutoff = quiet_cutoff(program)
    # The two names are read for the page's rows only, not by joining every user of the
    # school before the sort by last meeting.
    qs = (
        quiet_relationships(program, cutoff=cutoff)
        .select_related(None)
        .only("code", "started_on")
        .annotate(learner_name=_name("learner_id"), guide_name=_name("guide_id"))
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"program": program, "page": page, "cutoff": cutoff, "section": "quiet"}
    return render(request, "console/quiet.html", context)


def _conflicts_page(request, program, *, failed: ConflictResolveForm | None = None, status=200):
    """The conflict queue; `failed`: the bound form of a resolution that was refused, shown in
    its conflict's place with what was chosen and the error (also summed up at the top)."""
    related = (
        "relationship__guide",
        "relationship__learner",
        "relationship__program",
        "assessment_role__assessor",
        "assessment_role__learner",
        "program",
    )
    open_conflicts = list(Conflict.objects.open().filter(program=program).select_related(*related))
    # One query each for every form's choice of new guide: the guides' room (R3) and who
    # assesses which learner (R2).
    rooms = rules.guides_room(program)
    assessors = rules.assessors_refused(
        program=program,
        learners=[c.relationship.learner_id for c in open_conflicts],
        starts_on=timezone.localdate(),
    )
    rows = [
        (
            c,
            failed
            if failed is not None and failed.conflict.pk == c.pk
            else ConflictResolveForm(conflict=c, rooms=rooms, assessors=assessors),
        )
        for c in open_conflicts
    ]
    resolved = (
        Conflict.objects.filter(program=program, status=Conflict.Status.RESOLVED)
        .select_related(*related, "resolved_by")
        .order_by("-resolved_at")[:20]
    )
    context = {
        "program": program,
        "rows": rows,
        "resolved": resolved,
        "failed": failed,
        "section": "conflicts",
    }
    return render(request, "console/conflicts.html", context, status=status)


@require_GET
def conflicts(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    return _conflicts_page(request, program)


@require_POST
def conflict_resolve(request: HttpRequest, code) -> HttpResponse:
    conflict = get_administered_conflict_or_404(request.user, code)
    program = conflict.program
    if conflict.status != Conflict.Status.OPEN:
        messages.info(request, "This conflict has already been resolved.")
        return redirect("console:conflicts", code=program.code)
    form = ConflictResolveForm(request.POST, conflict=conflict)
    if form.is_valid():
        try:
            services.conflict_resolve(
                conflict=conflict,
                action=form.cleaned_data["action"],
                by=request.user,
                new_guide=form.cleaned_data.get("new_guide"),
            )
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            messages.success(request, "Conflict resolved.")
            return redirect("console:conflicts", code=program.code)
    # Refused: the page again, with what was chosen kept and the error at the top.
    return _conflicts_page(request, program, failed=form, status=422)


@require_GET
def rematch_requests(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    open_requests = (
        RematchRequest.objects.open()
        .filter(relationship__program=program)
        .select_related("relationship__guide", "relationship__learner")
    )
    context = {"program": program, "requests": open_requests, "section": "rematch"}
    return render(request, "console/rematch_requests.html", context)


@require_http_methods(["GET", "POST"])
def rematch_grant(request: HttpRequest, code) -> HttpResponse:
    """Grant a rematch request: the page says what will happen and who has a place left (or
    that nobody has, and what then becomes of the learner); where the administrator pairs,
    the new guide can be chosen here. The POST does it."""
    rematch = get_administered_rematch_request_or_404(request.user, code)
    relationship = rematch.relationship
    program = relationship.program
    if rematch.status != RematchRequest.Status.OPEN:
        messages.info(request, "This rematch request has already been answered.")
        return redirect("console:rematch-requests", code=program.code)
    form = RematchGrantForm(request.POST if request.method == "POST" else None, rematch=rematch)
    if request.method == "POST" and form.is_valid():
        new_guide = form.cleaned_data.get("new_guide")
        try:
            services.rematch_request_grant(request=rematch, by=request.user, new_guide=new_guide)
        except RuleViolation as violation:
            form.add_error(None, violation.text)
        else:
            learner = relationship.learner
            if new_guide is not None:
                messages.success(
                    request,
                    f"The relationship with {relationship.guide} ended without fault; "
                    f"{learner} is now paired with {new_guide}.",
                )
                current = rules.current_of_kind(program, learner)
                return redirect("console:relationship-detail", code=current.code)
            if program.pairing == Program.Pairing.SELF:
                messages.success(
                    request,
                    f"The relationship with {relationship.guide} ended without fault. "
                    f"{learner} can now ask a new {program.guide_role} from their page.",
                )
                return redirect("console:rematch-requests", code=program.code)
            messages.success(
                request,
                f"The relationship with {relationship.guide} ended without fault. "
                f"Pair {learner} with a new {program.guide_role} below.",
            )
            url = reverse("console:relationship-create", kwargs={"code": program.code})
            return redirect(f"{url}?learner={learner.code}")
    context = {
        "program": program,
        "rematch": rematch,
        "relationship": relationship,
        "form": form,
        "section": "rematch",
    }
    return render(request, "console/rematch_grant.html", context)
