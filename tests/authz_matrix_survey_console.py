"""Authorization matrix rows of the survey console (namespace `survey_console`) and the
survey results pages (namespace `survey_results`); merged into MATRIX.

World objects, made on first use (`surveys(world)`): the program's shipped surveys, a closed
learner end-of-term campaign with six answers about the world's mentor, and a scheduled one.

- The console is the program's administrators' only (R9): everyone else, the mentor whose
  results they are, the dean and the operator included, gets 404 (R8). A guide never reaches
  a campaign's results or its CSV.
- A guide's own results page lists what is about them (every current guide: 200); a
  campaign's page about a guide is that guide's only (other_mentor: 404).
- The dean's pages (aggregates only, R7) are the dean's only."""

from __future__ import annotations

from types import SimpleNamespace

from surveys.defaults import templates_install
from surveys.models import Campaign, SurveyTemplate
from tests.authz_matrix_base import Row, admin_only
from tests.surveys.results_helpers import likert_responses, make_campaign


def surveys(world) -> SimpleNamespace:
    cached = getattr(world, "_surveys", None)
    if cached is not None:
        return cached
    templates_install(program=world.program)
    template = SurveyTemplate.objects.get(
        program=world.program, kind=SurveyTemplate.Kind.LEARNER_END
    )
    closed = make_campaign(template)
    likert_responses(
        closed, [0, 0, 0, 3, 3], key="relationship_satisfaction", about_guide=world.cast["mentor"]
    )
    scheduled = make_campaign(template, status=Campaign.Status.SCHEDULED)
    question = template.questions.order_by("position").first()
    world._surveys = SimpleNamespace(
        template=template, closed=closed, scheduled=scheduled, question=question
    )
    return world._surveys


def program(world) -> dict:
    return {"code": world.program.code}


def closed(world) -> dict:
    return {"code": world.program.code, "campaign": surveys(world).closed.code}


def scheduled(world) -> dict:
    return {"code": world.program.code, "campaign": surveys(world).scheduled.code}


def template(world) -> dict:
    return {"code": world.program.code, "template": surveys(world).template.code}


def question(world) -> dict:
    return {"code": world.program.code, "question": surveys(world).question.code}


def campaign_only(world) -> dict:
    return {"campaign": surveys(world).closed.code}


GUIDES = {"mentor": 200, "other_mentor": 200, "assessor": 200}

ROWS: dict = {
    # --- console: this program's administrators only --------------------------------------
    "survey_console:campaign-list": admin_only(kwargs=program),
    "survey_console:rates": admin_only(kwargs=program),
    "survey_console:campaign-create": admin_only(kwargs=program),
    "survey_console:campaign-detail": admin_only(kwargs=closed),
    "survey_console:campaign-export": admin_only(kwargs=closed),
    "survey_console:campaign-edit": admin_only(kwargs=scheduled),
    "survey_console:campaign-close": admin_only(302, method="post", kwargs=scheduled),
    "survey_console:template-list": admin_only(kwargs=program),
    "survey_console:templates-install": admin_only(302, method="post", kwargs=program),
    "survey_console:template-edit": admin_only(kwargs=template),
    "survey_console:sections": admin_only(
        302, method="post", kwargs=template, data=lambda w: {"action": "add", "title": "More"}
    ),
    "survey_console:question-add": admin_only(kwargs=template),
    "survey_console:question-edit": admin_only(kwargs=question),
    "survey_console:question-move": admin_only(
        302, method="post", kwargs=question, data=lambda w: {"direction": "down"}
    ),
    # The question has answers: refused with a message, and back to the editor (302).
    "survey_console:question-delete": admin_only(302, method="post", kwargs=question),
    # --- results: a guide about themselves, a dean across programs -------------------------
    "survey_results:about-me": Row(who=GUIDES),
    "survey_results:about-me-campaign": Row(kwargs=campaign_only, who={"mentor": 200}),
    "survey_results:all-programs": Row(who={"dean": 200}),
    "survey_results:campaign": Row(kwargs=campaign_only, who={"dean": 200}),
    "survey_results:campaign-export": Row(kwargs=campaign_only, who={"dean": 200}),
}
