"""Changing a program's survey templates without corrupting past results.

The rules (explained to the administrator where they refuse something):
- A question that past campaigns' answers use keeps its kind, its key and every choice
  answered; its wording and labels may be edited. It cannot be removed, only retired: asked
  no more, its past answers still in results.
- While a campaign of the template is open, people are answering it: its questions cannot be
  added, removed, retired or brought back, or change kind or choices (wording can be fixed).
- Order is one list of questions; sections are headings over runs of it. Moving a question
  past the edge of its section moves it into the neighbouring section, so sections stay in
  one piece. Sections' positions follow their first question.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from surveys import results
from surveys.models import Campaign, Question, Section, SurveyTemplate


class EditRefused(Exception):
    """A change the editor will not make; the message says why, for the administrator."""


def open_campaign(template: SurveyTemplate) -> Campaign | None:
    """An open campaign of the template (its people are answering now), if any."""
    return template.campaigns.filter(status=Campaign.Status.OPEN).order_by("closes_at").first()


def _ordered(template: SurveyTemplate) -> list[Question]:
    return list(
        Question.objects.filter(template=template)
        .select_for_update(of=("self",))
        .select_related("section")
        .order_by("position", "id")
    )


def _renumber(template: SurveyTemplate, questions: list[Question]) -> None:
    """Positions 1..n in the given order; sections numbered by their first question (empty
    sections after)."""
    for position, question in enumerate(questions, start=1):
        question.position = position
    Question.objects.bulk_update(questions, ["position", "section"])
    first_seen: dict[int, int] = {}
    for question in questions:
        if question.section_id and question.section_id not in first_seen:
            first_seen[question.section_id] = len(first_seen)
    sections = list(Section.objects.filter(template=template).order_by("position", "id"))
    rest = len(first_seen)
    for section in sections:
        if section.pk in first_seen:
            section.position = first_seen[section.pk]
        else:
            section.position, rest = rest, rest + 1
    Section.objects.bulk_update(sections, ["position"])


@transaction.atomic
def question_save(*, form) -> Question:
    """Save a valid QuestionForm. A new question, or one moved to another section, goes to
    the end of its section's run (or of the survey)."""
    question = form.instance
    template = form.template
    is_new = question.pk is None
    moved = not is_new and "section" in form.changed_data
    question = form.save()
    if is_new or moved:
        questions = [q for q in _ordered(template) if q.pk != question.pk]
        at = len(questions)
        if question.section_id:
            run = [i for i, q in enumerate(questions) if q.section_id == question.section_id]
            if run:
                at = run[-1] + 1
        questions.insert(at, question)
        _renumber(template, questions)
    return question


@transaction.atomic
def question_move(*, question: Question, direction: str) -> None:
    """Move one place up or down; across a section's edge it joins the neighbouring section."""
    template = question.template
    questions = _ordered(template)
    index = next(i for i, q in enumerate(questions) if q.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(questions):
        return
    me, neighbour = questions[index], questions[other]
    if me.section_id != neighbour.section_id:
        me.section_id = neighbour.section_id
    else:
        questions[index], questions[other] = neighbour, me
    _renumber(template, questions)


@transaction.atomic
def question_remove(*, question: Question) -> None:
    template = question.template
    answered = results.answer_counts(template).get(question.pk, 0)
    if answered:
        raise EditRefused(
            f"“{question.prompt}” has {answered} answer{'s' if answered != 1 else ''} from "
            "past campaigns, and their results would lose it. It stays; to stop asking it, retire "
            "it on its page."
        )
    campaign = open_campaign(template)
    if campaign:
        raise EditRefused(
            f"The campaign “{campaign.title}” is open and people are answering it: remove "
            "questions after it closes."
        )
    question.delete()
    _renumber(template, _ordered(template))


@transaction.atomic
def section_add(*, template: SurveyTemplate, title: str) -> Section:
    last = template.sections.aggregate(m=Max("position"))["m"]
    section = Section(template=template, title=title, position=0 if last is None else last + 1)
    section.full_clean()
    section.save()
    return section


def section_rename(*, section: Section, title: str) -> None:
    section.title = title
    section.full_clean()
    section.save(update_fields=["title"])


@transaction.atomic
def section_remove(*, section: Section) -> None:
    """Remove a heading; its questions stay where they are, under no section."""
    template = section.template
    section.delete()
    _renumber(template, _ordered(template))
