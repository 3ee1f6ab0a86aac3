"""The shipped survey templates, and installing them into a program.

Every program has the four kinds of `SurveyTemplate` (one of each, a database constraint): the
learner and guide end-of-term surveys, the relationship check-in and the wellbeing item. They
are copied from `DEFAULTS` into the program (with the program's words: mentor, coach or
advisor) and its administrators then edit their copy; the copy is never overwritten.

Question keys are stable (`relationship_satisfaction`, `burnout`, ...): results and dashboards
compare programs and terms by key, whatever an administrator has reworded. The single-item
burnout measure has the same key, `burnout`, in the check-in and in the wellbeing survey.

`templates_install(program=...)` is idempotent (a template the program already has, of a kind,
is left alone, edited or not); `templates_install_missing()` installs for every active
program that lacks one, and runs at the start of each campaign run (surveys/campaigns.py), so
a new program has its templates within minutes without a signal on Program.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from mentoring.models import Program
from mentoring.models.relationships import GUIDE_NOUN, GUIDE_PLURAL
from surveys.models import LIKERT_LABELS, Audience, Question, Section, SurveyTemplate

# The verb of each kind of program, for prompts ("time for mentoring").
ACTIVITY = {"mentoring": "mentoring", "coaching": "coaching", "advising": "advising"}

YES_MAYBE_NO = [["yes", "Yes"], ["maybe", "Maybe"], ["no", "No"]]

FIT_CHOICES = [
    ["good", "A good fit"],
    ["not_sure", "Not sure yet"],
    ["not_good", "Not a good fit"],
]
# The single-item burnout measure (the style of the validated single item used with clinicians
# and trainees): 1 is no burnout, 3 and above is burnout.
BURNOUT_CHOICES = [
    ["1", "I enjoy my work and studies. I have no symptoms of burnout."],
    [
        "2",
        "Occasionally I am under stress, and I don't always have as much energy as I once "
        "did, but I don't feel burned out.",
    ],
    [
        "3",
        "I am definitely burning out and have one or more symptoms of burnout, such as "
        "physical and emotional exhaustion.",
    ],
    [
        "4",
        "The symptoms of burnout that I'm experiencing won't go away. I think about "
        "frustration at work or in my studies a lot.",
    ],
    [
        "5",
        "I feel completely burned out and often wonder if I can go on. I am at the point "
        "where I may need some changes or may need to seek some sort of help.",
    ],
]
SUPPORT_CHOICES = [
    ["training", "Training in {activity} skills"],
    ["community", "A community of {guides} to learn with"],
    ["time", "Protected time"],
    ["recognition", "Recognition of {activity} for promotion"],
    ["resources", "Resources and guides"],
]


@dataclass(frozen=True)
class QuestionSpec:
    key: str
    kind: str
    prompt: str
    required: bool = True
    help_text: str = ""
    choices: list = field(default_factory=list)
    min_value: int | None = None
    max_value: int | None = None
    offers_rematch_on: str = ""


@dataclass(frozen=True)
class TemplateSpec:
    kind: str
    audience: str
    name: str
    introduction: str
    sections: list[tuple[str, list[QuestionSpec]]]
    open_days: int = 14
    reminder_days: tuple[int, ...] = (4, 10)


BURNOUT = QuestionSpec(
    "burnout",
    Question.Kind.SINGLE,
    "Using your own definition of burnout, which of these best describes you at the moment?",
    help_text="If you are struggling, your school's wellbeing service is there to help, "
    "in confidence.",
    choices=BURNOUT_CHOICES,
)

DEFAULTS: list[TemplateSpec] = [
    TemplateSpec(
        SurveyTemplate.Kind.LEARNER_END,
        Audience.LEARNERS,
        "End-of-term survey for learners",
        "A few minutes about your {guide} and the program this term. Your answers are "
        "anonymous: nobody, your {guide} included, can see what you answered.",
        [
            (
                "Your {guide}",
                [
                    QuestionSpec(
                        "relationship_satisfaction",
                        Question.Kind.LIKERT,
                        "Overall, I am satisfied with my relationship with my {guide}.",
                    ),
                    QuestionSpec(
                        "met_often_enough",
                        Question.Kind.LIKERT,
                        "We met often enough.",
                    ),
                ],
            ),
            (
                "How useful was it?",
                [
                    QuestionSpec(
                        "useful_academic",
                        Question.Kind.LIKERT,
                        "My {guide} helped me with my academic work.",
                    ),
                    QuestionSpec(
                        "useful_career",
                        Question.Kind.LIKERT,
                        "My {guide} helped me with my career plans.",
                    ),
                    QuestionSpec(
                        "useful_wellbeing",
                        Question.Kind.LIKERT,
                        "My {guide} helped me look after my wellbeing.",
                    ),
                    QuestionSpec(
                        "useful_professional_identity",
                        Question.Kind.LIKERT,
                        "My {guide} helped me with professionalism and my identity as a doctor.",
                    ),
                ],
            ),
            (
                "The program",
                [
                    QuestionSpec(
                        "program_satisfaction",
                        Question.Kind.LIKERT,
                        "Overall, I am satisfied with the {activity} program.",
                    ),
                    QuestionSpec(
                        "would_recommend",
                        Question.Kind.SINGLE,
                        "Would you recommend the program to a fellow learner?",
                        choices=YES_MAYBE_NO,
                    ),
                    QuestionSpec(
                        "program_improvement",
                        Question.Kind.TEXT,
                        "What would make the program better?",
                        required=False,
                        help_text="Please leave out names: free text is read by the "
                        "program's administrators.",
                    ),
                ],
            ),
        ],
    ),
    TemplateSpec(
        SurveyTemplate.Kind.GUIDE_END,
        Audience.GUIDES,
        "End-of-term survey for {guides}",
        "A few minutes about being a {guide} this term. Your answers are anonymous.",
        [
            (
                "Being a {guide}",
                [
                    QuestionSpec(
                        "guide_satisfaction",
                        Question.Kind.LIKERT,
                        "Overall, I am satisfied with being a {guide} in this program.",
                    ),
                    QuestionSpec(
                        "time_sufficient",
                        Question.Kind.LIKERT,
                        "I had enough time for {activity} this term.",
                    ),
                    QuestionSpec(
                        "time_hours",
                        Question.Kind.NUMBER,
                        "About how many hours did you spend on {activity} this term?",
                        required=False,
                        min_value=0,
                        max_value=500,
                        help_text="A whole number; a rough estimate is fine.",
                    ),
                    QuestionSpec(
                        "personal_gratification",
                        Question.Kind.LIKERT,
                        "Being a {guide} was personally rewarding.",
                    ),
                    QuestionSpec(
                        "career_satisfaction",
                        Question.Kind.LIKERT,
                        "I am satisfied with my own career.",
                    ),
                ],
            ),
            (
                "Support",
                [
                    QuestionSpec(
                        "support_wanted",
                        Question.Kind.MULTIPLE,
                        "Which support would help you most?",
                        required=False,
                        help_text="Choose any that apply.",
                        choices=SUPPORT_CHOICES,
                    ),
                    QuestionSpec(
                        "would_continue",
                        Question.Kind.SINGLE,
                        "Would you be a {guide} again next term?",
                        choices=YES_MAYBE_NO,
                    ),
                    QuestionSpec(
                        "program_improvement",
                        Question.Kind.TEXT,
                        "What would make the program better?",
                        required=False,
                        help_text="Please leave out names: free text is read by the "
                        "program's administrators.",
                    ),
                ],
            ),
        ],
    ),
    TemplateSpec(
        SurveyTemplate.Kind.CHECK_IN,
        Audience.BOTH,
        "Relationship check-in",
        "Two questions, under a minute. Your answers are anonymous.",
        [
            (
                "",
                [
                    QuestionSpec(
                        "fit",
                        Question.Kind.SINGLE,
                        "After your first meetings, how is this relationship working for you?",
                        choices=FIT_CHOICES,
                        offers_rematch_on="not_good",
                    ),
                    BURNOUT,
                ],
            )
        ],
        reminder_days=(7,),
    ),
    TemplateSpec(
        SurveyTemplate.Kind.WELLBEING,
        Audience.BOTH,
        "Wellbeing",
        "One question about how you are. Your answer is anonymous.",
        [("", [BURNOUT])],
        reminder_days=(7,),
    ),
]

KINDS = [t.kind for t in DEFAULTS]


def _words(program: Program) -> dict[str, str]:
    return {
        "guide": GUIDE_NOUN[program.kind],
        "guides": GUIDE_PLURAL[program.kind],
        "activity": ACTIVITY[program.kind],
    }


def _choices(question: QuestionSpec, words: dict[str, str]) -> list:
    if question.kind == Question.Kind.LIKERT:
        return [list(pair) for pair in LIKERT_LABELS]
    return [[key, label.format(**words)] for key, label in question.choices]


@transaction.atomic
def _create(program: Program, spec: TemplateSpec) -> SurveyTemplate:
    words = _words(program)
    template = SurveyTemplate.objects.create(
        program=program,
        kind=spec.kind,
        audience=spec.audience,
        name=spec.name.format(**words),
        introduction=spec.introduction.format(**words),
        open_days=spec.open_days,
        reminder_days=list(spec.reminder_days),
    )
    position = 0
    for section_position, (title, questions) in enumerate(spec.sections):
        section = None
        if title:
            section = Section.objects.create(
                template=template, title=title.format(**words), position=section_position
            )
        for question in questions:
            position += 1
            Question(
                template=template,
                section=section,
                key=question.key,
                position=position,
                kind=question.kind,
                prompt=question.prompt.format(**words),
                help_text=question.help_text.format(**words),
                required=question.required,
                choices=_choices(question, words),
                min_value=question.min_value,
                max_value=question.max_value,
                offers_rematch_on=question.offers_rematch_on,
            ).save()
    return template


def templates_install(*, program: Program) -> list[SurveyTemplate]:
    """Copy each shipped template the program lacks (by kind) into it; returns those created.
    Idempotent and safe to run at the same time as itself: a kind the program has, edited or
    not, is left alone, and two installers racing leave one copy (the unique constraint)."""
    have = set(program.survey_templates.values_list("kind", flat=True))
    created = []
    for spec in DEFAULTS:
        if spec.kind in have:
            continue
        try:
            created.append(_create(program, spec))
        except IntegrityError:
            continue  # installed by someone else at the same moment
    return created


def templates_install_missing() -> int:
    """Install the shipped templates into every active program lacking one of the kinds;
    returns how many templates were created (one query when there is nothing to do)."""
    lacking = (
        Program.objects.active()
        .annotate(
            kinds=Count(
                "survey_templates", filter=Q(survey_templates__kind__in=KINDS), distinct=True
            )
        )
        .filter(kinds__lt=len(KINDS))
    )
    return sum(len(templates_install(program=program)) for program in lacking)
