"""Console: the programs an administrator runs, their settings and terms."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import GUIDE_ROLES, Membership, Role
from matching.models import Choice, MatchRequest, TermOptOut
from mentoring import services
from mentoring.agreements import agreements_not_done
from mentoring.forms import ProgramSettingsForm, TermForm
from mentoring.models import Conflict, Program, Relationship, RematchRequest, Term
from mentoring.permissions import get_administered_program_or_404


def count_subquery(queryset, field: str = "program"):
    """A correlated COUNT(*) of `queryset` rows whose `field` is the outer row (no join fan-out
    when several counts sit side by side)."""
    return Coalesce(
        Subquery(
            queryset.filter(**{field: OuterRef("pk")})
            .order_by()
            .values(field)
            .annotate(n=Count("*"))  # COUNT(*): an index-only scan can answer it
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def with_counts(programs):
    """Annotate programs with the figures the console shows on every program."""
    current = Membership.objects.current()
    return programs.annotate(
        learners=count_subquery(current.filter(role=Role.LEARNER)),
        guides=count_subquery(current.filter(role__in=GUIDE_ROLES)),
        current_relationships=count_subquery(Relationship.objects.current()),
        open_conflicts=count_subquery(Conflict.objects.open()),
        open_rematch_requests=count_subquery(
            RematchRequest.objects.open(), field="relationship__program"
        ),
    )


@require_GET
def program_list(request: HttpRequest) -> HttpResponse:
    programs = with_counts(Program.objects.administered_by(request.user))
    return render(request, "console/program_list.html", {"programs": programs})


@require_GET
def program_detail(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    program = (
        with_counts(Program.objects.filter(pk=program.pk))
        .annotate(agreements_not_done=count_subquery(agreements_not_done()))
        .get()
    )
    context = {
        "program": program,
        "terms": program.terms.all(),
        "matching": matching_summary(program),
        "section": "overview",
    }
    return render(request, "console/program_detail.html", context)


def matching_summary(program: Program) -> dict:
    """Counts only, for the administrator: how preferences and self-match stand."""
    term = program.matching_term()
    requests = MatchRequest.objects.filter(program=program).aggregate(
        waiting=Count("pk", filter=Q(state=MatchRequest.State.PENDING)),
        expired=Count("pk", filter=Q(state=MatchRequest.State.EXPIRED)),
    )
    return {
        "term": term,
        "opted_out": TermOptOut.objects.filter(term=term).count() if term else 0,
        "learners_ranking": Choice.objects.filter(program=program, side=Choice.Side.LEARNER)
        .values("chooser")
        .distinct()
        .count(),
        "requests_waiting": requests["waiting"],
        "requests_expired": requests["expired"],
    }


@require_http_methods(["GET", "POST"])
def program_edit(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = ProgramSettingsForm(request.POST or None, instance=program)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Program settings saved.")
        return redirect("console:program-detail", code=program.code)
    return render(
        request,
        "console/program_form.html",
        {"program": program, "form": form, "section": "overview"},
    )


@require_http_methods(["GET", "POST"])
def term_create(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = TermForm(request.POST or None, program=program)
    if request.method == "POST" and form.is_valid():
        term, _ = services.term_save(form=form)
        messages.success(request, f"Term {term.name} added.")
        return redirect("console:program-detail", code=program.code)
    return render(
        request, "console/term_form.html", {"program": program, "form": form, "section": "overview"}
    )


@require_http_methods(["GET", "POST"])
def term_edit(request: HttpRequest, code, term) -> HttpResponse:
    """Correct a term's name or dates; surveys scheduled from its dates move with them."""
    program = get_administered_program_or_404(request.user, code)
    term = get_object_or_404(Term, program=program, code=term)
    saved_name = term.name  # the form writes what was typed onto the term as it validates
    form = TermForm(request.POST or None, instance=term, program=program)
    if request.method == "POST" and form.is_valid():
        term, moved = services.term_save(form=form)
        text = f"Term {term.name} saved."
        if moved:
            text += (
                f" {moved} survey{'s' if moved != 1 else ''} not yet open "
                f"{'move' if moved != 1 else 'moves'} with its dates."
            )
        messages.success(request, text)
        return redirect("console:program-detail", code=program.code)
    return render(
        request,
        "console/term_form.html",
        {"program": program, "form": form, "term_name": saved_name, "section": "overview"},
    )
