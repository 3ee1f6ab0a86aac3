"""Surveys in a real browser: the end-of-term task runs, a learner opens the emailed link,
answers with one validation error on the way and submits; the administrator sees the
response rate move while results stay hidden, and once the campaign has closed sees results
only where the minimum number answered, small counts hidden (R6)."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from mentoring import services as mentoring_services
from mentoring.models import Term
from surveys.models import Campaign, SurveyTemplate
from surveys.tasks import run_campaigns
from tests.browser.test_accessibility import VIEWPORTS, serious_violations
from tests.browser.test_console import sign_in_with_code
from tests.factories import UserFactory
from tests.surveys.results_helpers import (
    add_responses,
    invite,
    likert_responses,
    make_campaign,
    make_template,
)
from tests.surveys.survey_helpers import LEARNER_END_ANSWERS, new_pair

pytestmark = pytest.mark.browser

LINK = re.compile(r"/surveys/answer/[^/\s]+/")


def link_for(person) -> str:
    """The path of the one-time link in the survey email sent to `person`."""
    sent = [m for m in mail.outbox if m.to == [person.email] and LINK.search(m.body)]
    assert len(sent) == 1, f"{person.email} got {len(sent)} survey emails"
    return LINK.search(sent[0].body).group(0)


# A fixed day: the relationships' first monthly check-in (30 days after their start, 60 days
# ago) fell due last month, whose campaign stays open until the 14th; on a day before the 15th
# the check-in reaches the learners the same day as the end-of-term survey.
@pytest.mark.today("2026-11-26")
def test_learner_answers_the_emailed_survey_and_the_administrator_sees_the_rate_and_results(
    page, browser, live_server, program, learner, mentor, program_admin, eager_tasks
):
    today = timezone.localdate()
    started = today - datetime.timedelta(days=60)
    Term.objects.create(
        program=program,
        name="Autumn",
        starts_on=today - datetime.timedelta(days=120),
        ends_on=today - datetime.timedelta(days=1),
    )
    mentoring_services.relationship_start(
        program=program, guide=mentor, learner=learner, started_on=started
    )
    others = [new_pair(program, started_on=started).learner for _ in range(4)]

    # The end-of-term task: the term ended yesterday, so its campaign opens and emails go out.
    mail.outbox.clear()
    run_campaigns.delay()
    campaign = Campaign.objects.get(program=program, template__kind=SurveyTemplate.Kind.LEARNER_END)
    assert campaign.status == Campaign.Status.OPEN
    assert campaign.invitations.count() == 5

    # Lucia opens her emailed link (no sign-in) and forgets one required question.
    page.goto(link_for(learner))
    expect(page.get_by_role("heading", level=1)).to_have_text("End-of-term survey for learners")
    agree = {
        "Overall, I am satisfied with my relationship with my mentor.": "Strongly agree",
        "My mentor helped me with my academic work.": "Agree",
        "My mentor helped me with my career plans.": "Agree",
        "My mentor helped me look after my wellbeing.": "Neither agree nor disagree",
        "My mentor helped me with professionalism and my identity as a doctor.": "Agree",
        "Overall, I am satisfied with the mentoring program.": "Agree",
        "Would you recommend the program to a fellow learner?": "Yes",
    }
    for prompt, answer in agree.items():
        page.get_by_role("group", name=prompt).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="Submit my answers").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("1 answer needs your attention")
    expect(summary).to_contain_text("We met often enough.")
    # What she chose is kept.
    first = page.get_by_role("group", name=next(iter(agree)))
    expect(first.get_by_label("Strongly agree", exact=True)).to_be_checked()
    page.get_by_role("group", name="We met often enough.").get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Submit my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")

    # The administrator finds the campaign from the program's navigation: 1 of 5 answered,
    # and no results while it is open.
    admin = browser.new_page(base_url=live_server.url)
    sign_in_with_code(admin, program_admin)
    admin.goto(f"/console/programs/{program.code}/")
    admin.get_by_role("navigation", name=program.name).get_by_role("link", name="Surveys").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text(f"Surveys in {program.name}")
    admin.get_by_role("link", name=campaign.title).click()
    rate = admin.get_by_label("Response rate", exact=True)
    expect(rate).to_contain_text("Answered 1", use_inner_text=True)
    expect(rate).to_contain_text("20%")
    expect(admin.get_by_text("Results appear when the campaign closes")).to_be_visible()
    expect(admin.get_by_role("table")).to_have_count(0)

    # Three more learners answer (with a suggestion each): the rate moves, results stay hidden.
    others_client = Client()
    for person in others[:3]:
        response = others_client.post(link_for(person), {**LEARNER_END_ANSWERS, "action": "submit"})
        assert response.status_code == 200 and b"Thank you" in response.content
    admin.reload()
    expect(rate).to_contain_text("Answered 4", use_inner_text=True)
    expect(rate).to_contain_text("80%")
    expect(admin.get_by_role("table")).to_have_count(0)

    # The fifth answers; the administrator closes the campaign and the results appear, each
    # count under 5 hidden, and the free text hidden (only 4 wrote some).
    others_client.post(link_for(others[3]), {**LEARNER_END_ANSWERS, "action": "submit"})
    admin.get_by_role("button", name="Close the campaign now").click()
    expect(admin.locator(".messages")).to_contain_text("is closed")
    expect(rate).to_contain_text("Answered 5", use_inner_text=True)
    expect(rate).to_contain_text("100%")
    expect(admin.get_by_text("5 people answered.")).to_be_visible()
    satisfaction = admin.get_by_role(
        "table", name=re.compile("Overall, I am satisfied with my relationship")
    )
    # Four said Agree, Lucia Strongly agree: both under 5, both hidden; the zeros shown.
    expect(satisfaction.get_by_text("hidden")).to_have_count(2)
    expect(satisfaction.get_by_role("row", name=re.compile("^Strongly disagree"))).to_contain_text(
        "0"
    )
    recommend = admin.get_by_role("table", name=re.compile("Would you recommend"))
    expect(recommend.get_by_role("row", name=re.compile("^Yes"))).to_contain_text("100%")
    expect(
        admin.get_by_text("Fewer than 5 people wrote an answer; the answers are not shown.")
    ).to_be_visible()
    expect(admin.get_by_text("More evening slots, please.")).to_have_count(0)
    admin.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_survey_pages_are_accessible(
    browser, live_server, program, program_admin, mentor, dean, viewport
):
    """axe-core finds no serious or critical violation on the console's survey pages, a
    guide's results and the dean's, with results (hidden cells included) on them."""
    template = make_template(program)
    campaign = make_campaign(template, title="Accessible campaign")
    invite(campaign, [UserFactory() for _ in range(12)], answered=10)
    likert_responses(campaign, [0, 2, 3, 4, 1], about_guide=mentor)
    add_responses(
        campaign, [{"improve": f"Idea {i}", "support": ["time"], "hours": i} for i in range(5)]
    )
    question = template.questions.first()
    pages = {
        program_admin: [
            f"/console/programs/{program.code}/surveys/",
            f"/console/programs/{program.code}/surveys/rates/",
            f"/console/programs/{program.code}/surveys/campaigns/{campaign.code}/",
            f"/console/programs/{program.code}/surveys/campaigns/new/",
            f"/console/programs/{program.code}/surveys/templates/",
            f"/console/programs/{program.code}/surveys/templates/{template.code}/",
            f"/console/programs/{program.code}/surveys/questions/{question.code}/",
        ],
        mentor: ["/surveys/results/about-me/", f"/surveys/results/about-me/{campaign.code}/"],
        dean: ["/surveys/results/institution/", f"/surveys/results/institution/{campaign.code}/"],
    }
    for person, paths in pages.items():
        context = browser.new_context(
            base_url=live_server.url, viewport=VIEWPORTS[viewport], bypass_csp=True
        )
        context.set_default_timeout(15_000)
        visitor = context.new_page()
        sign_in_with_code(visitor, person)
        for path in paths:
            response = visitor.goto(path)
            assert response.status == 200, path
            assert serious_violations(visitor) == [], path
        context.close()
