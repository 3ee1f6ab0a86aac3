"""The shipped survey templates: what they ask, in each program's words, installed once."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from mentoring.models import Program
from surveys import defaults
from surveys.campaigns import campaigns_run
from surveys.models import LIKERT_LABELS, Audience, Question, SurveyTemplate
from tests.factories import ProgramFactory

LEARNER_KEYS = [
    "relationship_satisfaction",
    "met_often_enough",
    "useful_academic",
    "useful_career",
    "useful_wellbeing",
    "useful_professional_identity",
    "program_satisfaction",
    "would_recommend",
    "program_improvement",
]
GUIDE_KEYS = [
    "guide_satisfaction",
    "time_sufficient",
    "time_hours",
    "personal_gratification",
    "career_satisfaction",
    "support_wanted",
    "would_continue",
    "program_improvement",
]


def _keys(program, kind) -> list[str]:
    template = SurveyTemplate.objects.get(program=program, kind=kind)
    return list(template.questions.order_by("position").values_list("key", flat=True))


def test_a_program_gets_the_four_templates_with_stable_keys(program):
    created = defaults.templates_install(program=program)
    assert sorted(t.kind for t in created) == sorted(SurveyTemplate.Kind.values)
    assert _keys(program, "learner_end") == LEARNER_KEYS
    assert _keys(program, "guide_end") == GUIDE_KEYS
    assert _keys(program, "check_in") == ["fit", "burnout"]
    assert _keys(program, "wellbeing") == ["burnout"]
    audiences = dict(program.survey_templates.values_list("kind", "audience"))
    assert audiences == {
        "learner_end": Audience.LEARNERS,
        "guide_end": Audience.GUIDES,
        "check_in": Audience.BOTH,
        "wellbeing": Audience.BOTH,
    }


def test_learner_survey_asks_usefulness_in_each_domain_on_a_labelled_likert(program):
    defaults.templates_install(program=program)
    template = SurveyTemplate.objects.get(program=program, kind="learner_end")
    sections = list(template.sections.values_list("title", flat=True))
    assert sections == ["Your mentor", "How useful was it?", "The program"]
    for key in ("useful_academic", "useful_career", "useful_wellbeing"):
        question = template.questions.get(key=key)
        assert question.kind == Question.Kind.LIKERT and question.required
        assert question.choices == [list(pair) for pair in LIKERT_LABELS]
    recommend = template.questions.get(key="would_recommend")
    assert recommend.kind == "single" and [k for k, _ in recommend.choices] == [
        "yes",
        "maybe",
        "no",
    ]
    assert template.questions.get(key="program_improvement").required is False


def test_the_check_in_offers_a_rematch_on_not_a_good_fit_and_asks_the_burnout_item(program):
    defaults.templates_install(program=program)
    template = SurveyTemplate.objects.get(program=program, kind="check_in")
    fit = template.questions.get(key="fit")
    assert fit.kind == "single"
    assert [k for k, _ in fit.choices] == ["good", "not_sure", "not_good"]
    assert fit.offers_rematch_on == "not_good"
    burnout = template.questions.get(key="burnout")
    assert [k for k, _ in burnout.choices] == ["1", "2", "3", "4", "5"]
    assert "no symptoms of burnout" in burnout.choices[0][1]
    assert "completely burned out" in burnout.choices[4][1]
    # The same item, by the same key, is the wellbeing survey.
    wellbeing = SurveyTemplate.objects.get(program=program, kind="wellbeing")
    assert wellbeing.questions.get().choices == burnout.choices


def test_the_guide_survey_asks_time_gratification_career_and_support(program):
    defaults.templates_install(program=program)
    template = SurveyTemplate.objects.get(program=program, kind="guide_end")
    hours = template.questions.get(key="time_hours")
    assert (hours.kind, hours.min_value, hours.max_value, hours.required) == (
        "number",
        0,
        500,
        False,
    )
    support = template.questions.get(key="support_wanted")
    assert support.kind == "multiple"
    assert "Training in mentoring skills" in [label for _, label in support.choices]


def test_templates_use_the_programs_words(db):
    coaching = ProgramFactory(name="Longitudinal coaching", kind=Program.Kind.COACHING)
    defaults.templates_install(program=coaching)
    guide_end = SurveyTemplate.objects.get(program=coaching, kind="guide_end")
    assert guide_end.name == "End-of-term survey for coaches"
    prompts = " ".join(guide_end.questions.values_list("prompt", flat=True))
    assert "coach" in prompts and "mentor" not in prompts
    learner_end = SurveyTemplate.objects.get(program=coaching, kind="learner_end")
    assert learner_end.questions.get(key="relationship_satisfaction").prompt == (
        "Overall, I am satisfied with my relationship with my coach."
    )


def test_installing_again_changes_nothing_and_keeps_the_administrators_edits(program):
    defaults.templates_install(program=program)
    template = SurveyTemplate.objects.get(program=program, kind="learner_end")
    template.questions.filter(key="met_often_enough").delete()
    template.questions.filter(key="useful_career").update(prompt="Career help was good.")
    count = Question.objects.count()

    assert defaults.templates_install(program=program) == []
    assert Question.objects.count() == count
    assert template.questions.get(key="useful_career").prompt == "Career help was good."
    assert not template.questions.filter(key="met_often_enough").exists()


def test_every_active_program_lacking_templates_gets_them(program, other_program, db):
    archived = ProgramFactory(name="Old scheme", is_active=False)
    defaults.templates_install(program=program)
    SurveyTemplate.objects.filter(program=program, kind="wellbeing").delete()

    assert defaults.templates_install_missing() == 4 + 1
    assert other_program.survey_templates.count() == 4
    assert program.survey_templates.count() == 4
    assert not archived.survey_templates.exists()


def test_nothing_to_install_costs_one_query(program, django_assert_num_queries):
    defaults.templates_install_missing()
    with django_assert_num_queries(1):
        assert defaults.templates_install_missing() == 0


def test_the_campaign_run_installs_templates_for_a_new_program(db):
    fresh = ProgramFactory(name="Residency application advising", kind=Program.Kind.ADVISING)
    campaigns_run()
    assert fresh.survey_templates.count() == 4
    assert "advisor" in SurveyTemplate.objects.get(program=fresh, kind="guide_end").name


@pytest.mark.django_db(transaction=True)
def test_installers_racing_leave_one_copy(program):
    barrier = threading.Barrier(4)
    errors = []

    def install():
        try:
            barrier.wait()
            defaults.templates_install(program=program)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=install) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert program.survey_templates.count() == 4
    assert Question.objects.filter(template__program=program).count() == 9 + 8 + 2 + 1
