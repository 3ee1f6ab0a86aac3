"""Results pages for guides (about themselves) and deans (across programs): closed campaigns
only, the minimum applied, no free text, no names, 404 for everyone else (R6-R8), bounded
queries, and the navigation links."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mentoring import services
from surveys.models import Campaign
from tests.factories import UserFactory
from tests.surveys.results_helpers import (
    add_responses,
    invite,
    likert_responses,
    make_campaign,
    make_template,
)


def url(name, **kwargs):
    return reverse(f"survey_results:{name}", kwargs=kwargs)


def html_of(response) -> str:
    return response.content.decode()


@pytest.fixture
def template(program):
    return make_template(program)


@pytest.fixture
def closed(template):
    return make_campaign(template, title="Autumn end of term")


# --- Guides ---------------------------------------------------------------------------------
def test_results_about_me_for_guides_only(client, cast):
    for name in ("outsider", "learner", "dean", "program_admin", "other_admin", "superuser"):
        client.force_login(cast[name])
        assert client.get(url("about-me")).status_code == 404, name
    for name in ("mentor", "other_mentor", "assessor"):
        client.force_login(cast[name])
        assert client.get(url("about-me")).status_code == 200, name


def test_a_guide_sees_aggregates_about_them_from_the_minimum(client, mentor, closed):
    likert_responses(closed, [0, 0, 1, 2, 3], about_guide=mentor)
    client.force_login(mentor)
    html = html_of(client.get(url("about-me")))
    assert "Autumn end of term" in html and "6 answers" in html
    html = html_of(client.get(url("about-me-campaign", campaign=closed.code)))
    assert "6 people answered" in html
    # 1 and 2 are small cells; 3 alone would be 6 minus the shown ones: all three hidden.
    assert html.count('<span class="badge">hidden</span>') == 3


def test_under_the_minimum_a_guide_is_told_so_and_shown_nothing(client, mentor, closed):
    likert_responses(closed, [0, 0, 0, 4, 0], about_guide=mentor)
    client.force_login(mentor)
    html = html_of(client.get(url("about-me")))
    assert "Fewer than 5 people answered; results are not shown." in html
    html = html_of(client.get(url("about-me-campaign", campaign=closed.code)))
    assert "Fewer than 5 people answered; results are not shown." in html
    assert "Strongly agree" not in html and "4 people" not in html


def test_a_guide_never_sees_another_guides_results_or_an_open_campaign(
    client, mentor, other_mentor, template, closed
):
    likert_responses(closed, [0, 0, 0, 5, 5], about_guide=other_mentor)
    client.force_login(mentor)
    assert client.get(url("about-me-campaign", campaign=closed.code)).status_code == 404
    running = make_campaign(template, status=Campaign.Status.OPEN)
    likert_responses(running, [0, 0, 0, 5, 5], about_guide=mentor)
    assert client.get(url("about-me-campaign", campaign=running.code)).status_code == 404
    assert "Autumn end of term" not in html_of(client.get(url("about-me")))


def test_a_wellbeing_survey_is_never_about_the_guide(client, program, learner, mentor):
    """Learners' wellbeing invitations name their relationship (mentored or not), but their
    answers are about themselves: the guide is not shown that survey."""

    pair = services.relationship_start(program=program, guide=mentor, learner=learner)
    wellbeing = make_campaign(
        make_template(program, kind="wellbeing", audience="both"), title="Wellbeing pulse"
    )
    invite(wellbeing, [learner], answered=1, relationship=pair)
    end = make_campaign(make_template(program), title="End of term about him")
    invite(end, [learner], answered=1, relationship=pair)
    client.force_login(mentor)
    html = html_of(client.get(url("about-me")))
    assert "End of term about him" in html and "Wellbeing pulse" not in html
    assert client.get(url("about-me-campaign", campaign=wellbeing.code)).status_code == 404


def test_a_guide_never_sees_free_text(client, mentor, closed):
    add_responses(
        closed,
        [{"satisfaction": 5, "improve": f"Private words {i}"} for i in range(6)],
        about_guide=mentor,
    )
    client.force_login(mentor)
    html = html_of(client.get(url("about-me-campaign", campaign=closed.code)))
    assert "6 people answered" in html
    assert "Private words" not in html
    assert "read by the program's administrators only" in html


# --- Deans ----------------------------------------------------------------------------------
def test_dean_pages_are_the_deans_only(client, cast, closed):
    pages = [
        url("all-programs"),
        url("campaign", campaign=closed.code),
        url("campaign-export", campaign=closed.code),
    ]
    for page in pages:
        for name in ("outsider", "learner", "mentor", "program_admin", "superuser"):
            client.force_login(cast[name])
            assert client.get(page).status_code == 404, (name, page)
        client.force_login(cast["dean"])
        assert client.get(page).status_code == 200, page


def test_dean_sees_aggregates_across_programs_without_names_or_text(
    client, dean, program, other_program, closed
):
    other = make_campaign(make_template(other_program), title="Peer program end of term")
    invited = [UserFactory(full_name="Named Invitee") for _ in range(3)]
    invite(other, invited, answered=2)
    add_responses(closed, [{"satisfaction": 4, "improve": "Secret suggestion"}] * 6)
    client.force_login(dean)
    html = html_of(client.get(url("all-programs")))
    assert "Autumn end of term" in html and "Peer program end of term" in html
    assert program.name in html and other_program.name in html
    assert "Named Invitee" not in html and "67%" in html
    html = html_of(client.get(url("campaign", campaign=closed.code)))
    assert "6 people answered" in html and "Secret suggestion" not in html
    response = client.get(url("campaign-export", campaign=closed.code))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "Secret suggestion" not in text and ",satisfaction," in text


def test_dean_never_sees_an_open_campaign(client, dean, template):
    running = make_campaign(template, status=Campaign.Status.OPEN, title="Still running")
    client.force_login(dean)
    assert client.get(url("campaign", campaign=running.code)).status_code == 404
    assert "Still running" not in html_of(client.get(url("all-programs")))


@pytest.mark.parametrize("size", [1, 8])
def test_results_pages_queries_do_not_grow(
    client, dean, mentor, template, size, django_assert_max_num_queries
):
    for _ in range(size):
        campaign = make_campaign(template)
        invite(campaign, [UserFactory() for _ in range(size)], answered=size)
        likert_responses(campaign, [size, size, 0, 5, size], about_guide=mentor)
    client.force_login(dean)
    with django_assert_max_num_queries(12):
        assert client.get(url("all-programs")).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("campaign", campaign=campaign.code)).status_code == 200
    client.force_login(mentor)
    with django_assert_max_num_queries(12):
        assert client.get(url("about-me")).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("about-me-campaign", campaign=campaign.code)).status_code == 200


# --- Navigation -------------------------------------------------------------------------------
def test_navigation_links_for_guides_and_deans_only(client, cast):
    for name, label, present in [
        ("mentor", "Surveys", True),
        ("learner", "Surveys", True),
        ("dean", "Survey results", True),
        ("learner", "Survey results", False),
        ("program_admin", "Survey results", False),
        ("program_admin", "Surveys", False),
    ]:
        client.force_login(cast[name])
        html = html_of(client.get(reverse("home")))
        assert (f">{label}</a>" in html) is present, (name, label)


def test_guides_reach_their_results_from_their_surveys_page(client, cast):
    about_me = reverse("survey_results:about-me")
    client.force_login(cast["mentor"])
    assert about_me in html_of(client.get(reverse("surveys:mine")))
    client.force_login(cast["learner"])
    assert about_me not in html_of(client.get(reverse("surveys:mine")))
