"""Answering a survey: the form built from a template, drafts, and the anonymous submit (R6, R12).

The form has one field per question (Likert and single choice as radios, multiple choice as
checkboxes, a number, free text), required or optional as the question says, grouped by section.
What a person typed is never lost: a form with an error is shown again with every answer as it
was, and saved as their draft; "save and finish later" saves the draft too; coming back (the
emailed link or "my surveys") restores it. A draft is tied to the invitation, so it is
encrypted, and deleted when the response is submitted or the campaign closes.

Submitting (R6: who answered is kept apart from what was answered) is two transactions:
1. lock the invitation, check the campaign is open and the invitation unanswered, set
   `has_responded` and delete the draft;
2. write the `Response` (no invitation, person, token or time; a random UUID; only the coarse
   attributes of `response_attributes`) and its `Answer` rows (free text encrypted).
If (2) fails, (1) is undone (the invitation is unanswered again, and what was typed is its
draft once more), so nothing is lost. The two are separate so that no transaction, and no
single moment, holds both the respondent and their answers. If the process dies between
them, the invitation stays answered with no response: one answer lost, never one linked.
SECURITY: nothing here is logged, and nothing the response could be found by is returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django import forms
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.text import TypedTextFormMixin
from mentoring.models import Relationship
from surveys.models import (
    LIKERT_LABELS,
    Answer,
    Audience,
    Invitation,
    InvitationDraft,
    Question,
    Response,
    SurveyTemplate,
)

TEXT_MAX = 5000  # characters of one free-text answer
CHOICE_MAX = 50  # Answer.choice's length
NUMBER_BOUND = 1_000_000  # a number question without bounds still fits the column
FIELD_PREFIX = "q_"
# Templates whose learner responses are about the learner's guide (guides see their own
# results, R6 minimum applied); the wellbeing item is about the person, never their guide.
ABOUT_THE_RELATIONSHIP = frozenset({SurveyTemplate.Kind.LEARNER_END, SurveyTemplate.Kind.CHECK_IN})

OPEN, ANSWERED, CLOSED = "open", "answered", "closed"


class NotOpen(Exception):
    """The invitation cannot take a response: `state` is ANSWERED or CLOSED."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


def invitation_state(invitation: Invitation, now=None) -> str:
    """OPEN (it may be answered now), ANSWERED, or CLOSED (its campaign is not open)."""
    if invitation.has_responded:
        return ANSWERED
    if not invitation.campaign.is_open_at(now or timezone.now()):
        return CLOSED
    return OPEN


# --- The form ----------------------------------------------------------------------------------


def field_name(question: Question) -> str:
    return f"{FIELD_PREFIX}{question.key}"


def _choices(question: Question) -> list[tuple[str, str]]:
    pairs = question.choices or (LIKERT_LABELS if question.kind == Question.Kind.LIKERT else [])
    return [(str(key)[:CHOICE_MAX], str(label)) for key, label in pairs]


def _field(question: Question) -> forms.Field:
    common = {
        "label": question.prompt,
        "help_text": question.help_text,
        "required": question.required,
        "error_messages": {"required": "Please answer this question."},
    }
    kind = question.kind
    if kind in (Question.Kind.LIKERT, Question.Kind.SINGLE):
        common["error_messages"]["invalid_choice"] = "Please choose one of the answers."
        return forms.ChoiceField(choices=_choices(question), widget=forms.RadioSelect, **common)
    if kind == Question.Kind.MULTIPLE:
        common["error_messages"]["invalid_choice"] = "Please choose among the answers given."
        return forms.MultipleChoiceField(
            choices=_choices(question), widget=forms.CheckboxSelectMultiple, **common
        )
    if kind == Question.Kind.NUMBER:
        low = question.min_value if question.min_value is not None else -NUMBER_BOUND
        high = question.max_value if question.max_value is not None else NUMBER_BOUND
        common["error_messages"]["invalid"] = "Please enter a whole number."
        return forms.IntegerField(
            min_value=low,
            max_value=high,
            widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            **common,
        )
    return forms.CharField(max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 4}), **common)


@dataclass
class QuestionField:
    question: Question
    field: forms.BoundField

    @property
    def is_group(self) -> bool:
        """Radios or checkboxes: a fieldset whose legend is the question."""
        return self.question.kind in (
            Question.Kind.LIKERT,
            Question.Kind.SINGLE,
            Question.Kind.MULTIPLE,
        )

    @property
    def anchor(self) -> str:
        """The id of the first input, where the error summary's link goes."""
        return f"{self.field.auto_id}_0" if self.is_group else self.field.auto_id

    @property
    def described_by(self) -> str:
        ids = []
        if self.field.errors:
            ids.append(f"{self.field.auto_id}_error")
        if self.question.help_text:
            ids.append(f"{self.field.auto_id}_helptext")
        return " ".join(ids)


@dataclass
class SectionGroup:
    title: str
    questions: list[QuestionField]


class SurveyForm(TypedTextFormMixin, forms.Form):
    """One field per question of a template, named `q_<key>`."""

    def __init__(self, *args, questions: list[Question], **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            self.fields[field_name(question)] = _field(question)

    def full_clean(self):
        super().full_clean()
        # Inputs point at their error and help (radios and checkboxes: their fieldset does).
        for name, field in self.fields.items():
            if name in self.errors and not isinstance(
                field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple
            ):
                described = [f"id_{name}_error"] + (
                    [f"id_{name}_helptext"] if field.help_text else []
                )
                field.widget.attrs["aria-describedby"] = " ".join(described)
                field.widget.attrs["aria-invalid"] = "true"

    def sections(self) -> list[SectionGroup]:
        """The questions in order, grouped by consecutive section."""
        groups: list[SectionGroup] = []
        current = object()
        for question in self.questions:
            if question.section_id != current:
                current = question.section_id
                title = question.section.title if question.section_id else ""
                groups.append(SectionGroup(title, []))
            groups[-1].questions.append(QuestionField(question, self[field_name(question)]))
        return groups

    def errored(self) -> list[QuestionField]:
        """The questions with an error, in order (the error summary)."""
        return [
            QuestionField(q, self[field_name(q)])
            for q in self.questions
            if field_name(q) in self.errors
        ]


def template_questions(template: SurveyTemplate) -> list[Question]:
    """The questions the template asks (retired ones left out) in order, with their sections
    (one query)."""
    return list(
        template.questions.filter(retired=False)
        .select_related("section")
        .order_by(F("section__position").asc(nulls_first=True), "position", "id")
    )


def survey_form(questions: list[Question], *, data=None, initial=None) -> SurveyForm:
    return SurveyForm(data=data, initial=initial, questions=questions)


# --- Drafts ------------------------------------------------------------------------------------


def draft_values(questions: list[Question], data) -> dict:
    """What was typed for each question, from a POST, bounded in size: strings, and lists for
    multiple choice."""
    values: dict = {}
    for question in questions:
        name = field_name(question)
        if question.kind == Question.Kind.MULTIPLE:
            chosen = [str(v)[:CHOICE_MAX] for v in data.getlist(name)][: len(question.choices)]
            if chosen:
                values[name] = chosen
        else:
            value = data.get(name, "")
            limit = TEXT_MAX if question.kind == Question.Kind.TEXT else CHOICE_MAX
            if value:
                values[name] = str(value)[:limit]
    return values


def draft_save(*, invitation: Invitation, values: dict) -> bool:
    """Keep `values` as the invitation's draft; False (nothing kept) once it is answered or
    its campaign closed, so no answer tied to a person outlives either."""
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=invitation.pk)
        )
        if invitation_state(locked) != OPEN:
            return False
        InvitationDraft.objects.update_or_create(
            invitation=locked, defaults={"answers": json.dumps(values)}
        )
    return True


def draft_load(invitation: Invitation) -> dict:
    """The saved draft's values (empty without one)."""
    draft = InvitationDraft.objects.filter(invitation=invitation).first()
    if draft is None:
        return {}
    try:
        values = json.loads(draft.answers)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


# --- Submitting --------------------------------------------------------------------------------


def _is_current_learner(person_id: int, program_id: int) -> bool:
    return (
        Membership.objects.current()
        .filter(user_id=person_id, program_id=program_id, role=Role.LEARNER)
        .exists()
    )


def response_attributes(invitation: Invitation) -> dict:
    """The coarse attributes a response carries (R6), from the invitation's relationship:
    the side its respondent answers on; the kind of relationship (blank: not about one, e.g.
    an unpaired learner's wellbeing); formal (made by the program) or informal; peer (the
    guide is a learner too); and, for a learner's answer about their relationship, the guide
    it is about (guides see their own results only above the minimum cell)."""
    campaign = invitation.campaign
    template = campaign.template
    relationship: Relationship | None = invitation.relationship
    person_id = invitation.person_id
    if relationship is not None:
        is_learner = person_id == relationship.learner_id
    elif template.audience in (Audience.LEARNERS, Audience.GUIDES):
        is_learner = template.audience == Audience.LEARNERS
    else:
        is_learner = _is_current_learner(person_id, campaign.program_id)
    guide_id = relationship.guide_id if relationship else (None if is_learner else person_id)
    return {
        "audience": Audience.LEARNERS if is_learner else Audience.GUIDES,
        "relationship_kind": relationship.kind if relationship else "",
        "formal": (
            relationship.origin != Relationship.Origin.SELF_INITIATED if relationship else None
        ),
        "peer": (
            Membership.objects.current().filter(user_id=guide_id, role=Role.LEARNER).exists()
            if guide_id
            else None
        ),
        "about_guide_id": (
            relationship.guide_id
            if relationship and is_learner and template.kind in ABOUT_THE_RELATIONSHIP
            else None
        ),
    }


def _answers(form: SurveyForm) -> list[Answer]:
    rows = []
    for question in form.questions:
        value = form.cleaned_data.get(field_name(question))
        if value in (None, "", []):
            continue
        if question.kind == Question.Kind.MULTIPLE:
            for choice in dict.fromkeys(value):
                rows.append(Answer(question=question, choice=choice))
        elif question.kind == Question.Kind.LIKERT:
            if value.isdigit():
                rows.append(Answer(question=question, number=int(value)))
            else:
                rows.append(Answer(question=question, choice=value))
        elif question.kind == Question.Kind.SINGLE:
            rows.append(Answer(question=question, choice=value))
        elif question.kind == Question.Kind.NUMBER:
            rows.append(Answer(question=question, number=value))
        else:
            rows.append(Answer(question=question, text=value))
    return rows


def _offers_rematch(invitation: Invitation, form: SurveyForm) -> Relationship | None:
    """The relationship to offer a no-fault rematch for: the learner answered a question with
    its `offers_rematch_on` choice, about a current relationship of theirs."""
    relationship = invitation.relationship
    if relationship is None or relationship.learner_id != invitation.person_id:
        return None
    if not relationship.is_current:
        return None
    for question in form.questions:
        trigger = question.offers_rematch_on
        value = form.cleaned_data.get(field_name(question))
        if trigger and (value == trigger or (isinstance(value, list) and trigger in value)):
            return relationship
    return None


@dataclass(frozen=True)
class Submitted:
    rematch: Relationship | None  # offer the learner a no-fault rematch of this one


def response_submit(*, invitation: Invitation, form: SurveyForm) -> Submitted:
    """Record a valid form's answers as an anonymous response (see the module docstring);
    raises NotOpen when the invitation is answered already or its campaign is closed. Exactly
    one response per invitation, however many submits race (the invitation's row lock)."""
    assert form.is_valid()  # noqa: S101 (a caller's mistake, never the person's input)
    attributes = response_attributes(invitation)
    answers = _answers(form)
    typed = draft_values(form.questions, form.data)
    # (1) Who: the invitation is answered.
    with transaction.atomic():
        locked = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("campaign")
            .get(pk=invitation.pk)
        )
        state = invitation_state(locked)
        if state != OPEN:
            raise NotOpen(state)
        locked.has_responded = True
        locked.save(update_fields=["has_responded"])
        InvitationDraft.objects.filter(invitation=locked).delete()
    # (2) What: the response, in a transaction of its own, with nothing that names (1).
    try:
        with transaction.atomic():
            response = Response.objects.create(campaign_id=invitation.campaign_id, **attributes)
            for answer in answers:
                answer.response = response
            Answer.objects.bulk_create(answers)
    except Exception:
        # Undo (1): the invitation can be answered again, with what was typed as its draft.
        with transaction.atomic():
            Invitation.objects.filter(pk=invitation.pk).update(has_responded=False)
            InvitationDraft.objects.update_or_create(
                invitation_id=invitation.pk, defaults={"answers": json.dumps(typed)}
            )
        raise
    return Submitted(rematch=_offers_rematch(invitation, form))
