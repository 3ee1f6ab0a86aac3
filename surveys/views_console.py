"""Administrators' survey pages (namespace `survey_console`): campaigns and their response
rates and results, the program's rates, hand-made campaigns, and the template editor.

Every view first fetches the program through get_administered_program_or_404 (R8, R9), then
the campaign, template or question inside that program (another program's object is 404).
Results come from surveys/results.py only, already suppressed (R6)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.text import label_problem
from mentoring.csv_export import csv_response
from mentoring.permissions import get_administered_program_or_404
from surveys import editor, results
from surveys.campaigns import campaign_close as close
from surveys.defaults import templates_install as install
from surveys.forms_console import CampaignForm, QuestionForm, TemplateSettingsForm
from surveys.models import Audience, Campaign, Question, Section, SurveyTemplate

PAGE_SIZE = 50


def _campaign_or_404(program, code) -> Campaign:
    return get_object_or_404(
        Campaign.objects.filter(program=program).select_related("template", "term"), code=code
    )


def _template_or_404(program, code) -> SurveyTemplate:
    return get_object_or_404(SurveyTemplate.objects.filter(program=program), code=code)


def _question_or_404(program, code) -> Question:
    return get_object_or_404(
        Question.objects.filter(template__program=program).select_related("template", "section"),
        code=code,
    )


def partitions(campaign: Campaign, *, free_text: bool = False) -> list[tuple[str, object]]:
    """The campaign's results, split by the side people answered from when its survey went
    to both learners and guides. SECURITY: the split is shown instead of the whole, never
    beside it (a whole minus one part would give the other part's hidden cells)."""
    if campaign.template.audience == Audience.BOTH:
        return [
            (
                label,
                results.results(
                    results.ResponseFilter(campaigns=(campaign,), audience=audience),
                    free_text=free_text,
                ),
            )
            for audience, label in ((Audience.LEARNERS, "Learners"), (Audience.GUIDES, "Guides"))
        ]
    return [("", results.campaign_results(campaign, free_text=free_text))]


def export_rows(parts):
    for label, part in parts:
        for row in results.results_csv_rows(part):
            yield [label or "all", *row]


EXPORT_HEADER = ["respondents", *results.RESULTS_CSV_HEADER]


# --- Campaigns and rates ----------------------------------------------------------------------
@require_GET
def campaign_list(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    campaigns = results.with_rates(
        Campaign.objects.filter(program=program).select_related("template", "term")
    ).order_by("-opens_at", "pk")
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    for campaign in page.object_list:
        campaign.rate = results.rate_of(campaign)
    context = {
        "program": program,
        "page": page,
        "overall": results.program_rates(program)["overall"],
        "minimum": results.minimum_cell(),
        "section": "surveys",
    }
    return render(request, "surveys/console/campaigns.html", context)


@require_GET
def rates(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    context = {"program": program, "rates": results.program_rates(program), "section": "surveys"}
    return render(request, "surveys/console/rates.html", context)


@require_GET
def campaign_detail(request: HttpRequest, code, campaign) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    campaign = _campaign_or_404(program, campaign)
    closed = campaign.status == Campaign.Status.CLOSED
    context = {
        "program": program,
        "campaign": campaign,
        "rate": results.rate_of(campaign),
        "closed": closed,
        # Free text: this program's administrators only, closed campaigns only (R6).
        "parts": partitions(campaign, free_text=True) if closed else [],
        "named_follow_up": results.named_follow_up_allowed(campaign),
        "non_responders": results.non_responders(campaign),
        "minimum": results.minimum_cell(),
        "section": "surveys",
    }
    return render(request, "surveys/console/campaign.html", context)


@require_GET
def campaign_export(request: HttpRequest, code, campaign) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    campaign = _campaign_or_404(program, campaign)
    if campaign.status != Campaign.Status.CLOSED:
        raise Http404("Results exist once the campaign has closed.")
    return csv_response(
        f"survey-results-{campaign.code}.csv", EXPORT_HEADER, export_rows(partitions(campaign))
    )


@require_http_methods(["GET", "POST"])
def campaign_create(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    form = CampaignForm(request.POST or None, program=program)
    if request.method == "POST" and form.is_valid():
        campaign = form.save()
        messages.success(
            request,
            f"“{campaign.title}” is scheduled. Invitations go out when it opens.",
        )
        return redirect("survey_console:campaign-detail", code=program.code, campaign=campaign.code)
    context = {"program": program, "form": form, "section": "surveys"}
    return render(request, "surveys/console/campaign_form.html", context)


@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, code, campaign) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    campaign = _campaign_or_404(program, campaign)
    if campaign.status != Campaign.Status.SCHEDULED:
        messages.error(request, "This campaign has opened: its dates can no longer change.")
        return redirect("survey_console:campaign-detail", code=program.code, campaign=campaign.code)
    form = CampaignForm(request.POST or None, program=program, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Campaign saved.")
        return redirect("survey_console:campaign-detail", code=program.code, campaign=campaign.code)
    context = {"program": program, "form": form, "campaign": campaign, "section": "surveys"}
    return render(request, "surveys/console/campaign_form.html", context)


@require_POST
def campaign_close(request: HttpRequest, code, campaign) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    campaign = _campaign_or_404(program, campaign)

    if close(campaign=campaign):
        messages.success(request, f"“{campaign.title}” is closed: no more answers are taken.")
    else:
        messages.info(request, "This campaign was closed already.")
    return redirect("survey_console:campaign-detail", code=program.code, campaign=campaign.code)


# --- Templates --------------------------------------------------------------------------------
@require_GET
def template_list(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    templates = program.survey_templates.annotate(
        question_count=Count("questions", distinct=True),
        campaign_count=Count("campaigns", distinct=True),
    ).order_by("kind")
    have = {t.kind for t in templates}
    missing = [label for kind, label in SurveyTemplate.Kind.choices if kind not in have]
    context = {
        "program": program,
        "templates": templates,
        "missing": missing,
        "section": "surveys",
    }
    return render(request, "surveys/console/templates.html", context)


@require_POST
def templates_install(request: HttpRequest, code) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)

    made = install(program=program)
    if made:
        messages.success(request, f"Added: {', '.join(t.name for t in made)}.")
    else:
        messages.info(request, "The program has every shipped survey already.")
    return redirect("survey_console:template-list", code=program.code)


def _editor_context(program, template, form=None, section_error=None) -> dict:
    questions = list(template.questions.select_related("section").order_by("position", "id"))
    answers = results.answer_counts(template)
    for i, question in enumerate(questions):
        question.answer_count = answers.get(question.pk, 0)
        question.is_first, question.is_last = i == 0, i == len(questions) - 1
    return {
        "program": program,
        "template": template,
        "form": form or TemplateSettingsForm(instance=template),
        "questions": questions,
        "sections": list(template.sections.all()),
        "locked_by": editor.open_campaign(template),
        "section_error": section_error,
        "section": "surveys",
    }


@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, code, template) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    template = _template_or_404(program, template)
    form = TemplateSettingsForm(request.POST or None, instance=template)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(
            request, "Survey settings saved. They apply to campaigns started from now."
        )
        return redirect("survey_console:template-edit", code=program.code, template=template.code)
    return render(
        request, "surveys/console/template.html", _editor_context(program, template, form)
    )


@require_POST
def sections(request: HttpRequest, code, template) -> HttpResponse:
    """Add, rename or remove a section heading (the section named by its id in the form,
    looked up inside this template only)."""
    program = get_administered_program_or_404(request.user, code)
    template = _template_or_404(program, template)
    action = request.POST.get("action")
    title = (request.POST.get("title") or "").strip()
    section = None
    if action in ("rename", "remove"):
        section_id = request.POST.get("section", "")
        if not section_id.isdigit():
            raise Http404
        section = get_object_or_404(Section, template=template, pk=int(section_id))
    try:
        if action in ("add", "rename") and (problem := label_problem(title, "The title")):
            raise ValidationError(problem)
        if action == "add":
            if not title:
                raise ValidationError("Give the new section a title.")
            editor.section_add(template=template, title=title)
            messages.success(request, f"Section “{title}” added.")
        elif action == "rename":
            if not title:
                raise ValidationError("A section needs a title.")
            editor.section_rename(section=section, title=title)
            messages.success(request, f"Section renamed “{title}”.")
        elif action == "remove":
            editor.section_remove(section=section)
            messages.success(request, f"Section “{section.title}” removed; its questions stay.")
        else:
            raise Http404
    except ValidationError as error:
        context = _editor_context(program, template, section_error=" ".join(error.messages))
        # What was typed stays in the field it was typed in (R12).
        context["typed_section"] = section.pk if section is not None else "new"
        context["typed_title"] = title
        return render(request, "surveys/console/template.html", context, status=400)
    return redirect("survey_console:template-edit", code=program.code, template=template.code)


# --- Questions --------------------------------------------------------------------------------
def _question_form(request, template, question=None) -> QuestionForm:
    answers, answered_keys = 0, set()
    if question is not None:
        answers = results.answer_counts(template).get(question.pk, 0)
        answered_keys = results.answered_choices(question) if answers else set()
    return QuestionForm(
        request.POST or None,
        instance=question,
        template=template,
        answers=answers,
        answered_keys=answered_keys,
        locked_by=editor.open_campaign(template),
    )


@require_http_methods(["GET", "POST"])
def question_add(request: HttpRequest, code, template) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    template = _template_or_404(program, template)
    form = _question_form(request, template)
    if form.locked_by:
        messages.error(
            request,
            f"The campaign “{form.locked_by.title}” is open and people are answering it: add "
            "questions after it closes.",
        )
        return redirect("survey_console:template-edit", code=program.code, template=template.code)
    if request.method == "POST" and form.is_valid():
        question = editor.question_save(form=form)
        messages.success(request, f"Question added: “{question.prompt}”.")
        return redirect("survey_console:template-edit", code=program.code, template=template.code)
    context = {"program": program, "template": template, "form": form, "section": "surveys"}
    return render(request, "surveys/console/question_form.html", context)


@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, code, question) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    question = _question_or_404(program, question)
    template = question.template
    form = _question_form(request, template, question)
    if request.method == "POST" and form.is_valid():
        editor.question_save(form=form)
        messages.success(request, "Question saved.")
        return redirect("survey_console:template-edit", code=program.code, template=template.code)
    context = {
        "program": program,
        "template": template,
        "question": question,
        "form": form,
        "section": "surveys",
    }
    return render(request, "surveys/console/question_form.html", context)


@require_POST
def question_move(request: HttpRequest, code, question) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    question = _question_or_404(program, question)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        raise Http404
    editor.question_move(question=question, direction=direction)
    return redirect(
        "survey_console:template-edit", code=program.code, template=question.template.code
    )


@require_POST
def question_delete(request: HttpRequest, code, question) -> HttpResponse:
    program = get_administered_program_or_404(request.user, code)
    question = _question_or_404(program, question)
    try:
        editor.question_remove(question=question)
    except editor.EditRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, f"Question removed: “{question.prompt}”.")
    return redirect(
        "survey_console:template-edit", code=program.code, template=question.template.code
    )
