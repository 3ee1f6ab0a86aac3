"""Answering: the accessible form, nothing lost on bad input (R12: a validation error keeps
every typed answer, leaving and returning restores the draft), the two-step submit, the
rematch offer, "my surveys", and a learner answering from the emailed link in a browser."""

from __future__ import annotations

import html
import json
import re
import threading

import pytest
from django.core import mail
from django.db import DatabaseError, connection, connections
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from mentoring import services as mentoring_services
from mentoring.models import Term
from surveys import answering
from surveys.campaigns import campaign_close
from surveys.models import Answer, Campaign, Invitation, InvitationDraft, Response
from surveys.tasks import run_campaigns
from tests.browser.test_accessibility import serious_violations
from tests.surveys.survey_helpers import (
    DAY,
    LEARNER_END_ANSWERS,
    answer_url,
    invite,
    open_campaign,
)


@pytest.fixture
def pair(program, learner, mentor):
    return mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def invitation(program, learner, pair):
    return invite(open_campaign(program), learner, pair)


@pytest.fixture
def guide_invitation(program, mentor):
    return invite(open_campaign(program, "guide_end"), mentor)


@pytest.fixture
def check_in(program, learner, pair):
    return invite(open_campaign(program, "check_in"), learner, pair)


def _page(response) -> str:
    return response.content.decode()


def _checked(page: str, name: str, value: str) -> bool:
    """Whether the radio or checkbox `name`=`value` is rendered checked."""
    for tag in re.findall(r"<input[^>]*>", page):
        if f'name="{name}"' in tag and f'value="{value}"' in tag:
            return " checked" in tag
    raise AssertionError(f"no input {name}={value}")


# --- The form ----------------------------------------------------------------------------------


def test_each_question_is_a_fieldset_or_a_labelled_field_in_its_section(client, guide_invitation):
    page = _page(client.get(answer_url(guide_invitation)))
    # Sections are fieldsets with a heading as their legend.
    assert "<legend><h2>Being a mentor</h2></legend>" in page
    assert "<legend><h2>Support</h2></legend>" in page
    # A Likert question: a fieldset with the question as legend and five labelled radios.
    fieldset = page[page.index('<fieldset id="id_q_guide_satisfaction"') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert "<legend>Overall, I am satisfied with being a mentor in this program." in fieldset
    assert fieldset.count('type="radio"') == 5
    assert '<label for="id_q_guide_satisfaction_0">Strongly disagree</label>' in fieldset
    assert '<label for="id_q_guide_satisfaction_4">Strongly agree</label>' in fieldset
    # Multiple choice: checkboxes, optional, with its help tied to the fieldset.
    support = page[page.index('<fieldset id="id_q_support_wanted"') :]
    support = support[: support.index("</fieldset>")]
    assert 'aria-describedby="id_q_support_wanted_helptext"' in support
    assert support.count('type="checkbox"') == 5 and "(optional)" in support
    # A number with its label and help.
    assert '<label for="id_q_time_hours">' in page
    assert re.search(r'<input type="number" name="q_time_hours"[^>]*min="0"[^>]*max="500"', page)
    assert 'aria-describedby="id_q_time_hours_helptext"' in page
    # Free text.
    assert re.search(r'<textarea name="q_program_improvement"[^>]*maxlength="5000"', page)
    assert "Save and finish later" in page and "Submit my answers" in page


def test_the_page_says_which_relationship_a_survey_is_about(client, check_in, invitation):
    assert "your relationship with Kenji Ito, your mentor" in _page(
        client.get(answer_url(check_in))
    )


def test_named_follow_up_is_stated_on_the_check_in_form(client, program, learner, pair):
    named = invite(open_campaign(program, "check_in", named_follow_up=True), learner, pair)
    plain = invite(open_campaign(program, "check_in"), learner, pair)
    page = _page(client.get(answer_url(named)))
    assert 'id="follow-up-notice"' in page
    assert "see <em>whether</em> you have answered" in page
    assert "never see <em>what</em> you answered" in page
    assert 'id="follow-up-notice"' not in _page(client.get(answer_url(plain)))


# --- R12: nothing lost -------------------------------------------------------------------------


def test_a_validation_error_keeps_every_typed_answer(client, guide_invitation):
    typed = {
        # guide_satisfaction (required) left out
        "q_time_sufficient": "2",
        "q_time_hours": "612",  # above the maximum
        "q_personal_gratification": "5",
        "q_career_satisfaction": "4",
        "q_support_wanted": ["training", "time"],
        "q_would_continue": "maybe",
        "q_program_improvement": "Fewer forms & <more> time.",
        "action": "submit",
    }
    response = client.post(answer_url(guide_invitation), typed)
    assert response.status_code == 200
    page = _page(response)
    # The error summary names each problem and links to its field.
    summary = page[page.index('class="error-summary"') :]
    summary = summary[: summary.index("</div>")]
    assert "2 answers need your attention" in summary
    assert 'href="#id_q_guide_satisfaction_0"' in summary
    assert 'href="#id_q_time_hours"' in summary
    assert "Please answer this question." in summary
    assert 'aria-describedby="id_q_guide_satisfaction_error"' in page
    assert re.search(r'name="q_time_hours"[^>]*aria-describedby="id_q_time_hours_error', page)
    assert 'aria-invalid="true"' in page
    # Every typed answer is still there.
    assert _checked(page, "q_time_sufficient", "2")
    assert _checked(page, "q_personal_gratification", "5")
    assert _checked(page, "q_career_satisfaction", "4")
    assert _checked(page, "q_support_wanted", "training")
    assert _checked(page, "q_support_wanted", "time")
    assert not _checked(page, "q_support_wanted", "community")
    assert _checked(page, "q_would_continue", "maybe")
    assert 'value="612"' in page
    assert html.escape("Fewer forms & <more> time.") in page
    # Nothing recorded; the progress is kept as the draft.
    assert not Response.objects.exists()
    guide_invitation.refresh_from_db()
    assert guide_invitation.has_responded is False
    draft = json.loads(InvitationDraft.objects.get(invitation=guide_invitation).answers)
    assert draft["q_support_wanted"] == ["training", "time"]
    assert draft["q_program_improvement"] == "Fewer forms & <more> time."


def test_leaving_after_an_error_and_returning_restores_the_draft(client, guide_invitation):
    url = answer_url(guide_invitation)
    client.post(url, {"q_time_sufficient": "2", "q_time_hours": "12", "action": "submit"})
    back = _page(client.get(url))
    assert "error-summary" not in back
    assert _checked(back, "q_time_sufficient", "2")
    assert 'value="12"' in back


def test_save_and_finish_later_keeps_the_answers_for_the_next_visit(client, guide_invitation):
    url = answer_url(guide_invitation)
    saved = client.post(
        url,
        {
            "q_guide_satisfaction": "4",
            "q_support_wanted": ["community"],
            "q_program_improvement": "Half done",
            "action": "save",
        },
    )
    assert saved.status_code == 302 and saved["Location"] == url
    page = _page(client.get(url))
    assert "Your answers are saved" in page
    assert _checked(page, "q_guide_satisfaction", "4")
    assert _checked(page, "q_support_wanted", "community")
    assert "Half done</textarea>" in page
    assert not Response.objects.exists()


def test_the_draft_is_encrypted_at_rest(client, guide_invitation):
    client.post(
        answer_url(guide_invitation),
        {"q_program_improvement": "A private thought", "action": "save"},
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT answers FROM surveys_invitationdraft")
        (stored,) = cursor.fetchone()
    assert "private thought" not in stored and stored.startswith("gAAAAA")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("q_relationship_satisfaction", "9"),  # not a point of the scale
        ("q_would_recommend", "definitely"),  # not a choice
        ("q_program_improvement", "x" * 5001),  # too long
    ],
)
def test_tampered_or_oversized_answers_are_errors_not_failures(client, invitation, field, value):
    response = client.post(
        answer_url(invitation), {**LEARNER_END_ANSWERS, field: value, "action": "submit"}
    )
    assert response.status_code == 200
    assert 'class="error-summary"' in _page(response)
    assert not Response.objects.exists()


@pytest.mark.parametrize("value", ["12abc", "99999999999999999999", "-1"])
def test_a_bad_number_is_an_error_and_kept(client, guide_invitation, value):
    response = client.post(
        answer_url(guide_invitation), {"q_time_hours": value, "action": "submit"}
    )
    assert response.status_code == 200
    assert f'value="{value}"' in _page(response)
    assert response.context["form"].errors["q_time_hours"]


# --- Submitting --------------------------------------------------------------------------------


def test_submitting_records_one_anonymous_response_and_marks_the_invitation(
    client, guide_invitation, program
):
    answers = {
        "q_guide_satisfaction": "4",
        "q_time_sufficient": "2",
        "q_time_hours": "35",
        "q_personal_gratification": "5",
        "q_career_satisfaction": "3",
        "q_support_wanted": ["training", "time", "training"],
        "q_would_continue": "yes",
        "q_program_improvement": "",
        "action": "submit",
    }
    client.post(answer_url(guide_invitation), {"q_time_hours": "3", "action": "save"})
    page = client.post(answer_url(guide_invitation), answers)
    assert page.status_code == 200 and "Thank you" in _page(page)
    guide_invitation.refresh_from_db()
    assert guide_invitation.has_responded is True
    assert not InvitationDraft.objects.exists()
    response = Response.objects.get()
    assert (response.campaign_id, response.audience) == (guide_invitation.campaign_id, "guides")
    assert response.about_guide_id is None
    rows = {
        (a.question.key, a.number, a.choice, a.text)
        for a in Answer.objects.filter(response=response).select_related("question")
    }
    assert rows == {
        ("guide_satisfaction", 4, "", ""),
        ("time_sufficient", 2, "", ""),
        ("time_hours", 35, "", ""),
        ("personal_gratification", 5, "", ""),
        ("career_satisfaction", 3, "", ""),
        ("support_wanted", None, "training", ""),
        ("support_wanted", None, "time", ""),
        ("would_continue", None, "yes", ""),
    }  # the optional text left blank has no row; a repeated choice counts once


def test_free_text_answers_are_encrypted_at_rest(client, invitation):
    client.post(answer_url(invitation), {**LEARNER_END_ANSWERS, "action": "submit"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM surveys_answer WHERE text <> ''")
        (stored,) = cursor.fetchone()
    assert stored.startswith("gAAAAA") and "evening" not in stored
    assert Answer.objects.get(question__key="program_improvement").text == (
        "More evening slots, please."
    )


def test_a_failed_response_write_undoes_the_submit_and_keeps_what_was_typed(
    client, invitation, monkeypatch
):
    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Answer.objects, "bulk_create", broken)
    page = client.post(answer_url(invitation), {**LEARNER_END_ANSWERS, "action": "submit"})
    assert page.status_code == 200
    text = _page(page)
    assert "could not be recorded just now" in text
    assert _checked(text, "q_useful_wellbeing", "2")
    assert "More evening slots, please." in text
    invitation.refresh_from_db()
    assert invitation.has_responded is False
    assert not Response.objects.exists()
    draft = json.loads(InvitationDraft.objects.get(invitation=invitation).answers)
    assert draft["q_program_improvement"] == "More evening slots, please."

    monkeypatch.undo()
    again = client.post(answer_url(invitation), {**LEARNER_END_ANSWERS, "action": "submit"})
    assert "Thank you" in _page(again)
    assert Response.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_submits_at_once_record_one_response(program, learner, mentor):
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    invitation = invite(open_campaign(program), learner, pair)
    questions = answering.template_questions(invitation.campaign.template)
    barrier = threading.Barrier(4)
    outcomes = []

    def submit():
        try:
            form = answering.survey_form(questions, data=LEARNER_END_ANSWERS)
            mine = Invitation.objects.select_related("campaign__template").get(pk=invitation.pk)
            barrier.wait()
            try:
                answering.response_submit(invitation=mine, form=form)
                outcomes.append("recorded")
            except answering.NotOpen as refused:
                outcomes.append(refused.state)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["answered"] * 3 + ["recorded"]
    assert Response.objects.count() == 1


def test_a_draft_cannot_be_saved_once_answered_or_closed(invitation, guide_invitation):
    Invitation.objects.filter(pk=invitation.pk).update(has_responded=True)
    invitation.refresh_from_db()
    assert answering.draft_save(invitation=invitation, values={"q_x": "1"}) is False
    campaign_close(campaign=guide_invitation.campaign)
    assert answering.draft_save(invitation=guide_invitation, values={"q_x": "1"}) is False
    assert not InvitationDraft.objects.exists()


# --- The rematch offer -------------------------------------------------------------------------


def _check_in_answers(fit: str) -> dict:
    return {"q_fit": fit, "q_burnout": "2", "action": "submit"}


def test_a_learner_who_says_not_a_good_fit_is_offered_a_no_fault_rematch(client, check_in, pair):
    page = _page(client.post(answer_url(check_in), _check_in_answers("not_good")))
    rematch = reverse("mentoring:rematch-request", kwargs={"code": pair.code})
    assert f'href="{rematch}"' in page
    assert "no-fault" in page


@pytest.mark.parametrize("fit", ["good", "not_sure"])
def test_no_rematch_offer_for_other_answers(client, check_in, fit):
    page = _page(client.post(answer_url(check_in), _check_in_answers(fit)))
    assert "Thank you" in page and "rematch" not in page


def test_the_guide_saying_not_a_good_fit_is_not_offered_the_learners_rematch(
    client, program, mentor, pair
):
    guide_check_in = invite(open_campaign(program, "check_in"), mentor, pair)
    page = _page(client.post(answer_url(guide_check_in), _check_in_answers("not_good")))
    assert "Thank you" in page and "rematch" not in page
    assert Response.objects.get().audience == "guides"


def test_the_rematch_offer_is_kept_nowhere(client, check_in):
    client.post(answer_url(check_in), _check_in_answers("not_good"))
    # Not in the session (it would tie the person to an answer), nor anywhere but the page.
    assert "not_good" not in json.dumps(dict(client.session))
    assert not InvitationDraft.objects.exists()


# --- My surveys ---------------------------------------------------------------------------------


def test_my_surveys_lists_my_open_invitations_only(client, program, learner, mentor, pair):
    to_answer = invite(
        open_campaign(program, "check_in", title="Check-in: November"), learner, pair
    )
    InvitationDraft.objects.create(invitation=to_answer, answers="{}")
    answered = invite(open_campaign(program, title="End of term: autumn"), learner, pair)
    answered.has_responded = True
    answered.save()
    closed = open_campaign(program, "wellbeing", title="Wellbeing: old")
    invite(closed, learner)
    campaign_close(campaign=closed)
    invite(open_campaign(program, "guide_end", title="Guide survey"), mentor)

    client.force_login(learner)
    page = _page(client.get(reverse("surveys:mine")))
    assert "Check-in: November" in page and "Continue" in page
    assert reverse("surveys:answer-mine", kwargs={"code": to_answer.code}) in page
    assert "End of term: autumn (MS1 faculty mentoring): answered, thank you." in page
    assert "Wellbeing: old" not in page and "Guide survey" not in page


def test_my_surveys_runs_a_bounded_number_of_queries(
    client, program, learner, pair, django_assert_max_num_queries
):
    client.force_login(learner)
    client.get(reverse("surveys:mine"))
    for n in range(12):
        invite(open_campaign(program, "check_in", title=f"Check-in {n}"), learner, pair)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("surveys:mine"))
    assert _page(page).count("<h3>Check-in ") == 12


def test_a_signed_in_person_answers_their_own_invitation_by_its_code(client, learner, invitation):
    client.force_login(learner)
    url = reverse("surveys:answer-mine", kwargs={"code": invitation.code})
    assert client.get(url).status_code == 200
    done = client.post(url, {**LEARNER_END_ANSWERS, "action": "submit"})
    assert "Thank you" in _page(done)
    assert "You have already answered" in _page(client.get(url))


def test_someone_elses_invitation_code_is_not_found(client, mentor, outsider, invitation):
    url = reverse("surveys:answer-mine", kwargs={"code": invitation.code})
    for person in (mentor, outsider):
        client.force_login(person)
        assert client.get(url).status_code == 404
        assert client.post(url, {**LEARNER_END_ANSWERS, "action": "submit"}).status_code == 404
    assert not Response.objects.exists()


def test_the_answering_page_runs_a_bounded_number_of_queries(
    client, invitation, django_assert_max_num_queries
):
    url = answer_url(invitation)
    with django_assert_max_num_queries(5):
        assert client.get(url).status_code == 200


# --- In a browser: from the emailed link to the thank-you page ---------------------------------


@pytest.mark.browser
# A fixed day: the relationship's first monthly check-in (30 days after its start, 60 days
# ago) fell due last month, whose campaign stays open until the 14th; on a day before the
# 15th the check-in reaches her the same day as the end-of-term survey.
@pytest.mark.today("2026-11-26")
def test_learner_answers_the_end_of_term_survey_from_the_emailed_link(
    page, live_server, program, learner, mentor, settings, eager_tasks
):
    """The end-of-term task runs; Lucia opens the link in her email (not signed in), forgets a
    question, is shown the error with her other answers kept, answers it and submits."""

    settings.SITE_URL = live_server.url
    today = timezone.localdate()
    mentoring_services.relationship_start(
        program=program, guide=mentor, learner=learner, started_on=today - 60 * DAY
    )
    Term.objects.create(program=program, name="Autumn", starts_on=today - 90 * DAY, ends_on=today)
    run_campaigns.apply()  # installs the templates, schedules the end-of-term campaigns
    Campaign.objects.filter(status="scheduled").update(opens_at=timezone.now() - DAY)
    run_campaigns.apply()  # opens them and emails the invitations
    (email,) = [m for m in mail.outbox if m.to == [learner.email]]
    link = re.search(r"https?://\S+/surveys/answer/\S+/", email.body).group(0)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("End-of-term survey for learners")
    assert serious_violations(page) == []
    answers = {
        "Overall, I am satisfied with my relationship with my mentor.": "Agree",
        "We met often enough.": "Strongly agree",
        "My mentor helped me with my academic work.": "Agree",
        "My mentor helped me with my career plans.": "Strongly agree",
        "My mentor helped me look after my wellbeing.": "Neither agree nor disagree",
        "Overall, I am satisfied with the mentoring program.": "Agree",
        "Would you recommend the program to a fellow learner?": "Yes",
    }
    for question, choice in answers.items():
        page.get_by_role("group", name=question).get_by_label(choice, exact=True).check()
    page.get_by_label("What would make the program better?").fill("More evening slots")
    page.get_by_role("button", name="Submit my answers").click()

    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("1 answer needs your attention")
    assert serious_violations(page) == []
    identity = "My mentor helped me with professionalism and my identity as a doctor."
    group = page.get_by_role("group", name=identity)
    expect(group).to_contain_text("Please answer this question.")
    expect(page.get_by_label("What would make the program better?")).to_have_value(
        "More evening slots"
    )
    expect(
        page.get_by_role("group", name="We met often enough.").get_by_label(
            "Strongly agree", exact=True
        )
    ).to_be_checked()
    summary.get_by_role("link").click()
    group.get_by_label("Agree", exact=True).check()
    page.get_by_role("button", name="Submit my answers").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    assert Response.objects.filter(audience="learners").count() == 1
    assert Answer.objects.filter(question__key="useful_professional_identity").get().number == 4
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "You have already answered this survey"
    )


def test_answering_emails_nobody(client, invitation):
    """Answers go nowhere but the response: no confirmation to anyone, the guide included."""
    client.post(answer_url(invitation), {**LEARNER_END_ANSWERS, "action": "submit"})
    assert Response.objects.count() == 1
    assert mail.outbox == []
