"""Builders for survey results tests: templates, campaigns, invitations and responses written
straight to the tables (the answering service has its own tests)."""

from __future__ import annotations

import datetime
import itertools

from django.utils import timezone

from surveys.models import (
    LIKERT_LABELS,
    Answer,
    Audience,
    Campaign,
    Invitation,
    Question,
    Response,
    Section,
    SurveyTemplate,
)

_period = itertools.count(1)

LIKERT = [list(pair) for pair in LIKERT_LABELS]
YES_NO = [["yes", "Yes"], ["maybe", "Maybe"], ["no", "No"]]
SUPPORT = [["training", "Training"], ["time", "Protected time"], ["community", "Community"]]


def make_template(program, *, kind=SurveyTemplate.Kind.LEARNER_END, audience=Audience.LEARNERS):
    """A template with a section and one question of each kind."""
    template = SurveyTemplate.objects.filter(program=program, kind=kind).first()
    if template:
        return template
    template = SurveyTemplate.objects.create(
        program=program, kind=kind, audience=audience, name=f"{kind} survey", open_days=14
    )
    section = Section.objects.create(template=template, title="Your mentor", position=0)
    specs = [
        ("satisfaction", Question.Kind.LIKERT, "I am satisfied.", LIKERT, section),
        ("recommend", Question.Kind.SINGLE, "Would you recommend it?", YES_NO, section),
        ("support", Question.Kind.MULTIPLE, "Which support would help?", SUPPORT, None),
        ("hours", Question.Kind.NUMBER, "Hours spent?", [], None),
        ("improve", Question.Kind.TEXT, "What would make it better?", [], None),
    ]
    for position, (key, qkind, prompt, choices, sec) in enumerate(specs, start=1):
        Question.objects.create(
            template=template,
            section=sec,
            key=key,
            kind=qkind,
            prompt=prompt,
            choices=choices,
            position=position,
            required=qkind not in (Question.Kind.TEXT, Question.Kind.NUMBER),
        )
    return template


def make_campaign(template, *, status=Campaign.Status.CLOSED, title=None, kind=None, **extra):
    now = timezone.now()
    day = datetime.timedelta(days=1)
    opens, closes = {
        Campaign.Status.CLOSED: (now - 20 * day, now - 6 * day),
        Campaign.Status.OPEN: (now - 2 * day, now + 12 * day),
        Campaign.Status.SCHEDULED: (now + 2 * day, now + 16 * day),
    }[status]
    kind = kind or {
        SurveyTemplate.Kind.CHECK_IN: Campaign.Kind.CHECK_IN,
        SurveyTemplate.Kind.WELLBEING: Campaign.Kind.WELLBEING,
    }.get(template.kind, Campaign.Kind.END_OF_TERM)
    return Campaign.objects.create(
        program=template.program,
        template=template,
        kind=kind,
        period_key=f"test-{next(_period)}",
        title=title or f"{template.name} {next(_period)}",
        status=status,
        opens_at=opens,
        closes_at=closes,
        closed_at=closes if status == Campaign.Status.CLOSED else None,
        **extra,
    )


def invite(campaign, people, *, answered=0, relationship=None):
    """Invitations for `people`; the first `answered` of them have answered."""
    return [
        Invitation.objects.create(
            campaign=campaign, person=p, has_responded=i < answered, relationship=relationship
        )
        for i, p in enumerate(people)
    ]


def add_responses(campaign, answer_sets, **attrs):
    """One response per dict in `answer_sets` ({question key: value}); a list value for a
    several-choices question, an int for Likert/number, a key for one choice, text for text."""
    questions = {q.key: q for q in campaign.template.questions.all()}
    attrs.setdefault("audience", Audience.LEARNERS)
    responses, answers = [], []
    for answer_set in answer_sets:
        response = Response(campaign=campaign, **attrs)
        responses.append(response)
        for key, value in answer_set.items():
            question = questions[key]
            if question.kind == Question.Kind.MULTIPLE:
                for choice in value:
                    answers.append(Answer(response=response, question=question, choice=choice))
            elif question.kind in (Question.Kind.LIKERT, Question.Kind.NUMBER):
                answers.append(Answer(response=response, question=question, number=value))
            elif question.kind == Question.Kind.SINGLE:
                answers.append(Answer(response=response, question=question, choice=value))
            else:
                answers.append(Answer(response=response, question=question, text=value))
    Response.objects.bulk_create(responses)
    Answer.objects.bulk_create(answers)
    return responses


def likert_responses(campaign, counts, *, key="satisfaction", **attrs):
    """Responses whose `key` answers have `counts` people on points 1..5 (with the helper's
    own template, each also answers "recommend": yes)."""
    extra = {"recommend": "yes"} if key == "satisfaction" else {}
    sets = [
        {key: point, **extra} for point, count in enumerate(counts, start=1) for _ in range(count)
    ]
    return add_responses(campaign, sets, **attrs)
