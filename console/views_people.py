"""Console: the people of a program, their profiles, invitations and assessment roles."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership, StatusChange, User
from console.views_programs import count_subquery
from mentoring.forms import PeopleFilterForm
from mentoring.models import AssessmentRole, Relationship
from mentoring.permissions import get_administered_program_or_404
from notify.invitations import invitation_queue

PAGE_SIZE = 50


@require_GET
def people(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = PeopleFilterForm(request.GET or None)
    memberships = Membership.objects.current().filter(program=program)
    if form.is_valid() and form.cleaned_data["role"]:
        memberships = memberships.filter(role=form.cleaned_data["role"])
    people_qs = User.objects.filter(pk__in=memberships.values("user"))
    if form.is_valid() and form.cleaned_data["q"]:
        q = form.cleaned_data["q"]
        people_qs = people_qs.filter(Q(full_name__icontains=q) | Q(email__icontains=q))
    current = Relationship.objects.current().filter(program=program)
    people_qs = (
        people_qs.select_related("profile")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.current().filter(program=program),
                to_attr="program_memberships",
            )
        )
        .annotate(
            current_relationships=count_subquery(current, field="learner")
            + count_subquery(current, field="guide")
        )
        .order_by("full_name", "email")
    )
    page = Paginator(people_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"program": program, "form": form, "page": page, "section": "people"}
    return render(request, "console/people.html", context)


def _person_in_program_or_404(program, person_code) -> User:
    """A person who holds or held a role in the program; anyone else is 404 (R8, R9)."""
    return get_object_or_404(
        User.objects.filter(memberships__program=program).distinct().select_related("profile"),
        code=person_code,
    )


@require_GET
def person_detail(request: HttpRequest, code, person) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    member = _person_in_program_or_404(program, person)
    relationships = (
        Relationship.objects.filter(program=program)
        .filter(Q(guide=member) | Q(learner=member))
        .select_related("guide", "learner", "term")
    )
    assessment_roles = (
        AssessmentRole.objects.administered_by(request.user)
        .filter(Q(learner=member) | Q(assessor=member))
        .select_related("assessor", "learner")
    )
    context = {
        "program": program,
        "member": member,
        "memberships": Membership.objects.filter(program=program, user=member),
        "relationships": relationships,
        "assessment_roles": assessment_roles,
        "statuses": StatusChange.objects.filter(user=member).order_by("-effective_on"),
        "section": "people",
    }
    return render(request, "console/person_detail.html", context)


@require_POST
def person_invite(request: HttpRequest, code, person) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    member = _person_in_program_or_404(program, person)
    if not member.is_active:
        raise Http404
    invitation_queue(user=member, invited_by=request.user)
    messages.success(request, f"An invitation is on its way to {member.email}.")
    return redirect("console:person-detail", code=program.code, person=member.code)


@require_GET
def assessments(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    learners = Membership.objects.filter(program=program, role="learner").values("user")
    roles = (
        AssessmentRole.objects.administered_by(request.user)
        .filter(learner__in=learners)
        .select_related("assessor", "learner")
        .order_by("-starts_on", "pk")
    )
    page = Paginator(roles, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"program": program, "page": page, "section": "assessments"}
    return render(request, "console/assessments.html", context)
