"""The administrators' survey pages: scoped to administered programs (R8, R9), response rates
as counts with names only for named follow-up check-ins, results only once closed and
suppressed (R6), free text for the program's administrators only, the template editor that
keeps past results true, hand-made campaigns, and bounded queries."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys import answering, results
from surveys.models import Audience, Campaign, Question, Section
from tests.factories import UserFactory
from tests.surveys.results_helpers import (
    add_responses,
    invite,
    likert_responses,
    make_campaign,
    make_template,
)


def url(name, **kwargs):
    return reverse(f"survey_console:{name}", kwargs=kwargs)


@pytest.fixture
def template(program):
    return make_template(program)


@pytest.fixture
def closed(template):
    return make_campaign(template, title="Spring end of term")


@pytest.fixture
def admin_client(client, program_admin):
    client.force_login(program_admin)
    return client


def page_of(response) -> str:
    return response.content.decode()


# --- The ladder ---------------------------------------------------------------------------------
def test_ladder_every_console_page_is_the_programs_administrators_only(
    client, cast, program, template, closed
):
    question = template.questions.first()
    pages = [
        url("campaign-list", code=program.code),
        url("rates", code=program.code),
        url("campaign-create", code=program.code),
        url("campaign-detail", code=program.code, campaign=closed.code),
        url("campaign-export", code=program.code, campaign=closed.code),
        url("template-list", code=program.code),
        url("template-edit", code=program.code, template=template.code),
        url("question-add", code=program.code, template=template.code),
        url("question-edit", code=program.code, question=question.code),
    ]
    for page in pages:
        client.logout()
        response = client.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        for name in ("outsider", "learner", "mentor", "dean", "other_admin", "superuser"):
            client.force_login(cast[name])
            assert client.get(page).status_code == 404, (name, page)
        client.force_login(cast["program_admin"])
        assert client.get(page).status_code == 200, page


def test_another_programs_objects_are_404_through_this_programs_urls(
    client, program, other_program, other_admin, closed, template
):
    """Tom administers the other program: this program's campaign and question are not found
    under his program's code either."""
    client.force_login(other_admin)
    question = template.questions.first()
    assert (
        client.get(
            url("campaign-detail", code=other_program.code, campaign=closed.code)
        ).status_code
        == 404
    )
    assert (
        client.get(
            url("question-edit", code=other_program.code, question=question.code)
        ).status_code
        == 404
    )
    response = client.post(url("question-delete", code=other_program.code, question=question.code))
    assert response.status_code == 404
    assert Question.objects.filter(pk=question.pk).exists()


# --- Response rates ------------------------------------------------------------------------------
def test_campaign_list_shows_invited_answered_and_rate(admin_client, program, closed):
    invite(closed, [UserFactory() for _ in range(8)], answered=6)
    html = page_of(admin_client.get(url("campaign-list", code=program.code)))
    assert "Spring end of term" in html
    assert '<td class="num">8</td>' in html and '<td class="num">6</td>' in html
    assert "75%" in html


def test_rates_page_by_survey_and_term(admin_client, program, closed):
    invite(closed, [UserFactory() for _ in range(4)], answered=1)
    html = page_of(admin_client.get(url("rates", code=program.code)))
    assert "Learner end-of-term survey" in html and "25%" in html


def test_names_of_non_responders_only_for_named_follow_up_check_ins(
    admin_client, program, template
):
    people = [UserFactory(full_name=f"Quinn Person{i}") for i in range(3)]
    end = make_campaign(template, status=Campaign.Status.OPEN)
    invite(end, people, answered=1)
    html = page_of(admin_client.get(url("campaign-detail", code=program.code, campaign=end.code)))
    assert "Quinn Person" not in html and "Not answered yet" not in html
    check_in = make_template(program, kind="check_in", audience=Audience.BOTH)
    named = make_campaign(check_in, status=Campaign.Status.OPEN, named_follow_up=True)
    invite(named, people, answered=1)
    html = page_of(admin_client.get(url("campaign-detail", code=program.code, campaign=named.code)))
    assert "Quinn Person1" in html and "Quinn Person2" in html
    assert "Quinn Person0" not in html  # she has answered


# --- Results -------------------------------------------------------------------------------------
def test_open_campaign_shows_the_rate_moving_but_no_results(admin_client, program, template):
    campaign = make_campaign(template, status=Campaign.Status.OPEN)
    invite(campaign, [UserFactory() for _ in range(10)], answered=7)
    likert_responses(campaign, [0, 0, 0, 7, 0])
    html = page_of(
        admin_client.get(url("campaign-detail", code=program.code, campaign=campaign.code))
    )
    assert "70%" in html
    assert "Results appear when the campaign closes" in html
    assert "Strongly agree" not in html
    export = admin_client.get(url("campaign-export", code=program.code, campaign=campaign.code))
    assert export.status_code == 404


def test_closed_campaign_results_are_suppressed(admin_client, program, closed):
    likert_responses(closed, [0, 3, 6, 9, 0])
    html = page_of(
        admin_client.get(url("campaign-detail", code=program.code, campaign=closed.code))
    )
    assert "18 people answered" in html
    assert html.count('<span class="badge">hidden</span>') == 2
    assert '<td class="num">9</td>' in html
    assert '<td class="num">3</td>' not in html and '<td class="num">6</td>' not in html


def test_fewer_than_the_minimum_shows_nothing(admin_client, program, closed):
    likert_responses(closed, [0, 0, 0, 4, 0])
    html = page_of(
        admin_client.get(url("campaign-detail", code=program.code, campaign=closed.code))
    )
    assert "Fewer than 5 people answered; results are not shown." in html
    assert "Strongly agree" not in html


def test_free_text_for_the_programs_administrators_from_the_minimum(admin_client, program, closed):
    add_responses(closed, [{"improve": f"Suggestion number {i}"} for i in range(4)])
    html = page_of(
        admin_client.get(url("campaign-detail", code=program.code, campaign=closed.code))
    )
    assert "Suggestion number" not in html
    add_responses(closed, [{"improve": "Suggestion number 4"}])
    html = page_of(
        admin_client.get(url("campaign-detail", code=program.code, campaign=closed.code))
    )
    assert all(f"Suggestion number {i}" in html for i in range(5))


def test_both_sides_are_shown_apart_never_together(admin_client, program):
    check_in = make_template(program, kind="check_in", audience=Audience.BOTH)
    campaign = make_campaign(check_in)
    likert_responses(campaign, [0, 0, 0, 5, 0], audience=Audience.LEARNERS)
    likert_responses(campaign, [0, 0, 0, 0, 5], audience=Audience.GUIDES)
    html = page_of(
        admin_client.get(url("campaign-detail", code=program.code, campaign=campaign.code))
    )
    assert "Answers from learners" in html and "Answers from guides" in html
    assert "10 people answered" not in html


def test_csv_export_of_aggregates(admin_client, program, closed):
    likert_responses(closed, [0, 3, 6, 9, 0])
    response = admin_client.get(url("campaign-export", code=program.code, campaign=closed.code))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("respondents,section,question_key")
    satisfaction = [line for line in lines if ",satisfaction," in line]
    assert [line.split(",")[8] for line in satisfaction] == ["0", "hidden", "hidden", "9", "0"]


@pytest.mark.parametrize("size", [1, 8])
def test_campaign_pages_queries_do_not_grow(
    admin_client, program, template, size, django_assert_max_num_queries
):
    for _ in range(size):
        campaign = make_campaign(template)
        invite(campaign, [UserFactory() for _ in range(size)], answered=size // 2)
        likert_responses(campaign, [size, size, 0, size * 2, size])
        add_responses(campaign, [{"improve": "more time", "support": ["time"]}] * size)
    with django_assert_max_num_queries(14):
        assert admin_client.get(url("campaign-list", code=program.code)).status_code == 200
    with django_assert_max_num_queries(14):
        response = admin_client.get(
            url("campaign-detail", code=program.code, campaign=campaign.code)
        )
        assert response.status_code == 200
    with django_assert_max_num_queries(8):
        assert admin_client.get(url("rates", code=program.code)).status_code == 200
    with django_assert_max_num_queries(12):
        response = admin_client.get(url("template-edit", code=program.code, template=template.code))
        assert response.status_code == 200
    with django_assert_max_num_queries(10):
        response = admin_client.get(
            url("campaign-export", code=program.code, campaign=campaign.code)
        )
        b"".join(response.streaming_content)


# --- Hand-made campaigns ------------------------------------------------------------------------
def local(dt: datetime.datetime) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_new_campaign_is_scheduled_for_the_task_to_open(admin_client, program, template):
    opens = timezone.now() + datetime.timedelta(days=1)
    response = admin_client.post(
        url("campaign-create", code=program.code),
        {
            "template": template.pk,
            "title": "Mid-year pulse",
            "opens_at": local(opens),
            "closes_at": local(opens + datetime.timedelta(days=10)),
            "reminder_days": "3, 7",
        },
    )
    campaign = Campaign.objects.get(title="Mid-year pulse")
    assert response.status_code == 302
    assert (campaign.status, campaign.kind, campaign.reminder_days) == (
        Campaign.Status.SCHEDULED,
        Campaign.Kind.END_OF_TERM,
        [3, 7],
    )
    assert campaign.program == program and campaign.period_key.startswith("manual-")


def test_new_campaign_errors_keep_what_was_typed(admin_client, program, template):
    opens = timezone.now() + datetime.timedelta(days=1)
    response = admin_client.post(
        url("campaign-create", code=program.code),
        {
            "template": template.pk,
            "title": "Typed title stays",
            "opens_at": local(opens),
            "closes_at": local(opens - datetime.timedelta(days=1)),
            "reminder_days": "2",
        },
    )
    assert response.status_code == 200
    html = page_of(response)
    assert "The campaign must close after it opens." in html
    assert 'value="Typed title stays"' in html
    assert not Campaign.objects.filter(title="Typed title stays").exists()
    response = admin_client.post(
        url("campaign-create", code=program.code),
        {
            "template": template.pk,
            "title": "Reminder too late",
            "opens_at": local(opens),
            "closes_at": local(opens + datetime.timedelta(days=5)),
            "reminder_days": "9",
        },
    )
    assert "would not fall while the survey is open" in page_of(response)


def test_scheduled_dates_change_until_it_opens_and_it_can_close_early(
    admin_client, program, template, closed
):
    scheduled = make_campaign(template, status=Campaign.Status.SCHEDULED)
    closes = scheduled.closes_at + datetime.timedelta(days=3)
    response = admin_client.post(
        url("campaign-edit", code=program.code, campaign=scheduled.code),
        {
            "title": "Moved",
            "opens_at": local(scheduled.opens_at),
            "closes_at": local(closes),
            "reminder_days": "",
        },
    )
    assert response.status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.title == "Moved"
    response = admin_client.get(url("campaign-edit", code=program.code, campaign=closed.code))
    assert response.status_code == 302
    admin_client.post(url("campaign-close", code=program.code, campaign=scheduled.code))
    scheduled.refresh_from_db()
    assert scheduled.status == Campaign.Status.CLOSED


# --- The template editor ------------------------------------------------------------------------
def question_data(**overrides):
    data = {
        "prompt": "How useful were the meetings?",
        "help_text": "",
        "kind": "single",
        "choices_text": "very: Very useful\nsomewhat: Somewhat\nnot: Not useful",
        "key": "meetings_useful",
        "required": "on",
        "section": "",
        "min_value": "",
        "max_value": "",
    }
    data.update(overrides)
    return data


def test_add_a_question_with_choices_at_the_end_of_its_section(admin_client, program, template):
    section = template.sections.get()
    response = admin_client.post(
        url("question-add", code=program.code, template=template.code),
        question_data(section=section.pk),
    )
    assert response.status_code == 302
    question = template.questions.get(key="meetings_useful")
    assert question.choices == [
        ["very", "Very useful"],
        ["somewhat", "Somewhat"],
        ["not", "Not useful"],
    ]
    order = list(template.questions.order_by("position").values_list("key", flat=True))
    assert order == ["satisfaction", "recommend", "meetings_useful", "support", "hours", "improve"]


def test_choice_lines_without_keys_get_keys_from_their_labels(admin_client, program, template):
    admin_client.post(
        url("question-add", code=program.code, template=template.code),
        question_data(choices_text="Yes, often\nno: never\nNote: later"),
    )
    # "no: never" is key "no"; the others are labels (a key is lower case) with made keys.
    assert template.questions.get(key="meetings_useful").choices == [
        ["yes_often", "Yes, often"],
        ["no", "never"],
        ["note_later", "Note: later"],
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"choices_text": "only one"}, "Give at least two choices"),
        ({"choices_text": "a: A\na: again"}, "the key “a” is used twice"),
        ({"kind": "likert", "choices_text": "1\n2\n3"}, "exactly 5 points"),
        ({"key": "satisfaction"}, "already has a question with key"),
        ({"kind": "number", "min_value": "5", "max_value": "1"}, "must not be below"),
        ({"prompt": ""}, "This field is required"),
    ],
)
def test_question_validation_names_the_problem_and_keeps_the_input(
    admin_client, program, template, overrides, message
):
    data = question_data(**overrides)
    response = admin_client.post(
        url("question-add", code=program.code, template=template.code), data
    )
    assert response.status_code == 200
    html = page_of(response)
    assert message in html
    if data["prompt"]:
        assert data["prompt"] in html
    assert not template.questions.filter(key="meetings_useful").exists()


def edit(admin_client, program, question, **overrides):
    data = {
        "prompt": question.prompt,
        "help_text": question.help_text,
        "kind": question.kind,
        "choices_text": "\n".join(f"{k}: {v}" for k, v in question.choices),
        "key": question.key,
        "required": "on" if question.required else "",
        "section": question.section_id or "",
        "min_value": "",
        "max_value": "",
    }
    data.update(overrides)
    return admin_client.post(url("question-edit", code=program.code, question=question.code), data)


def test_an_answered_question_keeps_kind_key_and_answered_choices(
    admin_client, program, template, closed
):
    add_responses(closed, [{"recommend": "yes"}, {"recommend": "no"}])
    recommend = template.questions.get(key="recommend")
    response = edit(admin_client, program, recommend, kind="multiple")
    assert "Keep the kind of answer" in page_of(response)
    response = edit(admin_client, program, recommend, key="recommend_it")
    assert "Keep the key “recommend”" in page_of(response)
    response = edit(admin_client, program, recommend, choices_text="yes: Yes\nmaybe: Maybe")
    assert "Keep the choice “no”: past answers chose it." in page_of(response)
    recommend.refresh_from_db()
    assert (recommend.kind, recommend.key) == ("single", "recommend")
    assert [k for k, _ in recommend.choices] == ["yes", "maybe", "no"]
    # Rewording keeps the keys: allowed.
    response = edit(
        admin_client,
        program,
        recommend,
        prompt="Would you recommend the program?",
        choices_text="yes: Yes, I would\nmaybe: Maybe\nno: No\nunsure: Not sure",
    )
    assert response.status_code == 302
    recommend.refresh_from_db()
    assert recommend.prompt == "Would you recommend the program?"
    assert recommend.choices[0] == ["yes", "Yes, I would"] and len(recommend.choices) == 4


def test_an_answered_question_cannot_be_removed_an_unanswered_one_can(
    admin_client, program, template, closed
):
    add_responses(closed, [{"recommend": "yes"}])
    recommend = template.questions.get(key="recommend")
    response = admin_client.post(
        url("question-delete", code=program.code, question=recommend.code), follow=True
    )
    assert "has 1 answer from past campaigns" in page_of(response)
    assert Question.objects.filter(pk=recommend.pk).exists()
    hours = template.questions.get(key="hours")
    admin_client.post(url("question-delete", code=program.code, question=hours.code))
    assert not Question.objects.filter(pk=hours.pk).exists()
    positions = list(template.questions.order_by("position").values_list("position", flat=True))
    assert positions == [1, 2, 3, 4]


def test_while_a_campaign_is_open_the_structure_waits_but_wording_can_be_fixed(
    admin_client, program, template
):
    make_campaign(template, status=Campaign.Status.OPEN, title="Running now")
    response = admin_client.get(url("question-add", code=program.code, template=template.code))
    assert response.status_code == 302
    hours = template.questions.get(key="hours")
    response = admin_client.post(url("question-delete", code=program.code, question=hours.code))
    assert Question.objects.filter(pk=hours.pk).exists()
    response = edit(admin_client, program, hours, kind="text")
    assert "“Running now” is open" in page_of(response)
    recommend = template.questions.get(key="recommend")
    response = edit(admin_client, program, recommend, choices_text="yes: Yes\nmaybe: Maybe")
    assert "choices can be reworded but not added, removed" in page_of(response)
    response = edit(admin_client, program, recommend, prompt="Recommend us?")
    assert response.status_code == 302


def test_a_retired_question_is_asked_no_more_and_stays_in_past_results(
    admin_client, program, template, closed
):
    add_responses(closed, [{"recommend": "yes", "satisfaction": 4}] * 6)
    recommend = template.questions.get(key="recommend")
    assert "retire it on its page" in page_of(
        admin_client.post(
            url("question-delete", code=program.code, question=recommend.code), follow=True
        )
    )
    assert edit(admin_client, program, recommend, retired="on").status_code == 302
    recommend.refresh_from_db()
    assert recommend.retired
    editor_page = page_of(
        admin_client.get(url("template-edit", code=program.code, template=template.code))
    )
    assert "Retired: no longer asked" in editor_page

    # New forms leave it out; the closed campaign's results keep it.
    asked = [q.key for q in answering.template_questions(template)]
    assert "recommend" not in asked and "satisfaction" in asked
    assert "recommend" in [q.key for q in results.campaign_results(closed).questions]
    # A campaign that ran after it was retired does not list it, empty.
    later = make_campaign(template, title="Autumn end of term")
    add_responses(later, [{"satisfaction": 5}] * 6)
    later_keys = [q.key for q in results.campaign_results(later).questions]
    assert "recommend" not in later_keys and "satisfaction" in later_keys

    # Unticked, it is asked again.
    assert edit(admin_client, program, recommend).status_code == 302
    assert "recommend" in [q.key for q in answering.template_questions(template)]


def test_retiring_or_bringing_back_waits_for_an_open_campaign(admin_client, program, template):
    hours = template.questions.get(key="hours")
    make_campaign(template, status=Campaign.Status.OPEN, title="Running now")
    response = edit(admin_client, program, hours, retired="on")
    assert "“Running now” is open and people are answering it: retire the question" in page_of(
        response
    )
    hours.refresh_from_db()
    assert not hours.retired
    Question.objects.filter(pk=hours.pk).update(retired=True)
    hours.refresh_from_db()
    response = edit(admin_client, program, hours)
    assert "bring back the question after it closes" in page_of(response)
    hours.refresh_from_db()
    assert hours.retired


def test_a_new_question_cannot_start_retired(admin_client, program, template):
    page = page_of(admin_client.get(url("question-add", code=program.code, template=template.code)))
    assert "Retired: no longer asked" not in page
    admin_client.post(
        url("question-add", code=program.code, template=template.code),
        question_data(retired="on"),
    )
    assert template.questions.get(key="meetings_useful").retired is False


def test_moving_questions_and_crossing_a_section_edge(admin_client, program, template):
    def order():
        return [
            (q.key, q.section.title if q.section else "")
            for q in template.questions.select_related("section").order_by("position")
        ]

    support = template.questions.get(key="support")
    move = url("question-move", code=program.code, question=support.code)
    admin_client.post(move, {"direction": "up"})
    # Past the edge of the unsectioned run: it joins "Your mentor", in place.
    assert order()[:3] == [
        ("satisfaction", "Your mentor"),
        ("recommend", "Your mentor"),
        ("support", "Your mentor"),
    ]
    admin_client.post(move, {"direction": "up"})
    assert [k for k, _ in order()][:3] == ["satisfaction", "support", "recommend"]
    assert admin_client.post(move, {"direction": "sideways"}).status_code == 404


def test_sections_add_rename_remove(admin_client, program, template):
    target = url("sections", code=program.code, template=template.code)
    admin_client.post(target, {"action": "add", "title": "About the program"})
    added = template.sections.get(title="About the program")
    admin_client.post(target, {"action": "rename", "section": added.pk, "title": "Program"})
    added.refresh_from_db()
    assert added.title == "Program"
    response = admin_client.post(target, {"action": "add", "title": "  "})
    assert response.status_code == 400 and "Give the new section a title." in page_of(response)
    mentor_section = template.sections.get(title="Your mentor")
    admin_client.post(target, {"action": "remove", "section": mentor_section.pk})
    assert not Section.objects.filter(pk=mentor_section.pk).exists()
    assert template.questions.count() == 5
    assert not template.questions.filter(section__isnull=False).exists()
    other = make_template(program, kind="wellbeing", audience=Audience.BOTH).sections.get()
    response = admin_client.post(target, {"action": "remove", "section": other.pk})
    assert response.status_code == 404


def test_settings_validate_reminder_days_and_keep_the_input(admin_client, program, template):
    target = url("template-edit", code=program.code, template=template.code)
    response = admin_client.post(
        target,
        {"name": "Renamed survey", "introduction": "", "open_days": "10", "reminder_days": "3, x"},
    )
    html = page_of(response)
    assert "“x” is not a whole number of days" in html and 'value="Renamed survey"' in html
    response = admin_client.post(
        target,
        {
            "name": "Renamed survey",
            "introduction": "",
            "is_active": "on",
            "open_days": "10",
            "reminder_days": "7, 3",
        },
    )
    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.name, template.reminder_days) == ("Renamed survey", [3, 7])


def test_named_follow_up_is_offered_for_check_ins_only(admin_client, program, template):
    html = page_of(
        admin_client.get(url("template-edit", code=program.code, template=template.code))
    )
    assert "Named follow-up" not in html
    check_in = make_template(program, kind="check_in", audience=Audience.BOTH)
    html = page_of(
        admin_client.get(url("template-edit", code=program.code, template=check_in.code))
    )
    assert "Named follow-up" in html


def test_shipped_surveys_can_be_added(admin_client, program):
    response = admin_client.post(url("templates-install", code=program.code), follow=True)
    assert "Added:" in page_of(response)
    assert program.survey_templates.count() == 4
