"""The de-identified research export: no name, email, id, exact date, or group under the
minimum."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from accounts.models import User
from dashboards.research_export import (
    ANSWER_GROUP,
    RELATIONSHIP_GROUP,
    research_export,
)
from mentoring.models import Program, Relationship
from surveys.defaults import templates_install
from surveys.models import Answer, Campaign, Question, Response, SurveyTemplate
from tests.dashboards.conftest import at

pytestmark = pytest.mark.django_db


def _files(export) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(export.zip_bytes())) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _survey(program, answers, *, opens_at, period):
    templates_install(program=program)
    template = SurveyTemplate.objects.get(program=program, kind="learner_end")
    campaign = Campaign.objects.create(
        program=program,
        template=template,
        kind="end_of_term",
        period_key=period,
        title="End of term",
        status="closed",
        opens_at=opens_at,
        closes_at=opens_at.replace(day=opens_at.day + 1),
    )
    question = Question.objects.get(template=template, key="relationship_satisfaction")
    for point in answers:
        response = Response.objects.create(
            campaign=campaign, audience="learners", relationship_kind="mentoring", formal=True
        )
        Answer.objects.create(response=response, question=question, number=point)
        Answer.objects.create(
            response=response,
            question=Question.objects.get(template=template, key="program_improvement"),
            text="Dr Ito was wonderful",
        )


@pytest.fixture
def export(school, settings):
    settings.SURVEY_MIN_CELL = 3
    _survey(school.alpha, [4, 4, 4, 5, 5, 5], opens_at=at(2024, 12, 1), period="a")
    _survey(school.delta, [1, 4, 4, 4, 5, 5], opens_at=at(2024, 12, 1), period="b")
    return research_export()


def test_no_name_email_id_code_or_free_text(export, school):
    files = _files(export)
    text = "\n".join(files.values())
    for user in User.objects.all():
        assert user.full_name not in text
        assert user.email not in text
        assert str(user.code) not in text
    for relationship in Relationship.objects.all():
        assert str(relationship.code) not in text
    assert "wonderful" not in text
    header = files["relationships.csv"].splitlines()[0]
    assert "id" not in header.split(",")
    # Keys are random (10 hex digits), never a row's id: an all-digit key is possible by chance
    # (about 1 in 110), so the test compares with the ids themselves.
    ids = {str(pk) for pk in User.objects.values_list("pk", flat=True)}
    ids |= {str(pk) for pk in Relationship.objects.values_list("pk", flat=True)}
    for row in _rows(files["relationships.csv"]):
        for key in ("relationship_key", "learner_key", "guide_key"):
            assert re.fullmatch(r"[RP][0-9a-f]{10}", row[key])
            assert row[key][1:].lstrip("0") not in ids


def test_no_exact_date(export):
    text = "\n".join(_files(export).values())
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{2,4}", text)
    for row in export.relationships:
        assert re.fullmatch(r"\d{4}\u2013\d{2}", row["start_year"])  # an academic year


def test_no_group_under_the_minimum(export):
    # Alpha: seven learners, five paired (three formal, two informal); Delta: four paired
    # (two and two); Gamma: three. Formal x informal x program splits them under 3.
    assert export.relationships, "the groups of three or more are exported"
    people: dict = {}
    for row in export.relationships:
        people.setdefault(tuple(row[c] for c in RELATIONSHIP_GROUP), set()).add(row["learner_key"])
    assert all(len(keys) >= 3 for keys in people.values())
    assert export.left_out["relationships.csv"] > 0  # the informal pairs of two
    kept = {row["program"] for row in export.relationships}
    assert "Gamma coaching" in kept and "Alpha mentoring" in kept
    assert all(row["formal"] == "yes" for row in export.relationships)
    groups: dict = {}
    for row in export.answers:
        groups.setdefault(tuple(row[c] for c in ANSWER_GROUP), set()).add(row["response_key"])
    assert all(len(keys) >= 3 for keys in groups.values())


def test_answers_only_where_survey_results_show_the_question_in_full(export):
    # Delta's campaign has one answer of 1: results.py hides that cell, so none of its answers
    # are exported (they would give it back); Alpha's six are.
    programs = {row["program"] for row in export.answers}
    assert programs == {"Alpha mentoring"}
    assert sorted(row["answer"] for row in export.answers) == ["4", "4", "4", "5", "5", "5"]


def test_keys_are_made_anew_for_each_export(school, settings):
    settings.SURVEY_MIN_CELL = 3
    first = {row["learner_key"] for row in research_export().relationships}
    second = {row["learner_key"] for row in research_export().relationships}
    assert first and second and not first & second


def test_readme_says_what_was_left_out(export):
    readme = _files(export)["README.txt"]
    assert "fewer than 3 distinct people" in readme
    assert f"relationships.csv: {export.left_out['relationships.csv']}" in readme
    assert re.search(r"made in \d{4}-\d{2}\.", readme)


def test_an_administrator_exports_their_programs_only(school, settings):
    settings.SURVEY_MIN_CELL = 2
    export = research_export(programs=Program.objects.filter(pk=school.alpha.pk))
    assert {row["program"] for row in export.relationships} == {"Alpha mentoring"}
