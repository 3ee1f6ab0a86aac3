"""Goals: set by the pair with a domain, a target date and a status, with progress entries;
a competency only in coaching relationships; clear refusals that keep what was typed (R12);
only the two people reach them (R8); read-only once the relationship has ended; the goals page
runs the same number of queries whatever the number of goals."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring import agreements, services
from mentoring.models import Goal, GoalProgress, Program, Relationship
from tests.factories import ProgramFactory

TITLE = "Submit an abstract to the regional surgery meeting"
DESCRIPTION = "Data from the audit of post-operative infections"
NOT_PARTICIPANTS = [
    "outsider",
    "other_mentor",
    "assessor",
    "program_admin",
    "other_admin",
    "dean",
    "superuser",
]


def _in(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


@pytest.fixture
def pair(program, mentor, learner):
    return services.relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def coaching(db, learner, other_mentor):
    program = ProgramFactory(name="Longitudinal coaching", kind=Program.Kind.COACHING)
    membership_grant(user=learner, role=Role.LEARNER, program=program)
    membership_grant(user=other_mentor, role=Role.COACH, program=program)
    return services.relationship_start(program=program, guide=other_mentor, learner=learner)


def _goal(relationship, by, **fields) -> Goal:
    fields.setdefault("title", TITLE)
    fields.setdefault("domain", "research")
    fields.setdefault("target_on", _in(60))
    return agreements.goal_create(by=by, relationship=relationship, **fields)


def _html(response) -> str:
    return response.content.decode()


def _errors(call) -> dict:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


# --- Services -------------------------------------------------------------------------------


def test_either_person_sets_a_goal(pair, learner, mentor):
    mine = _goal(pair, learner, description=DESCRIPTION)
    theirs = _goal(pair, mentor, title="Finish the anatomy revision plan", domain="academic")
    assert (mine.created_by, theirs.created_by) == (learner, mentor)
    stored = Goal.objects.get(pk=mine.pk)
    assert (stored.title, stored.description, stored.domain) == (TITLE, DESCRIPTION, "research")
    assert stored.status == "not_started" and stored.target_on == _in(60)
    assert TITLE not in str(stored)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"title": ""}, "title", "Give the goal a title"),
        ({"title": "   "}, "title", "Give the goal a title"),
        ({"title": "x" * 201}, "title", "the limit is 200"),
        ({"description": "y" * 4001}, "description", "the limit is 4,000"),
        ({"domain": "hobbies"}, "domain", "Choose the area"),
        ({"target_on": None}, "target_on", "Give a target date"),
        ({"target_on": _in(-1)}, "target_on", "in the past"),
        ({"target_on": _in(366 * 6)}, "target_on", "years away"),
    ],
)
def test_a_bad_goal_is_refused_with_a_clear_message(pair, learner, fields, field, words):
    errors = _errors(lambda: _goal(pair, learner, **fields))
    assert field in errors and words in " ".join(errors[field])
    assert not Goal.objects.exists()


def test_a_goal_due_today_is_fine(pair, learner):
    assert _goal(pair, learner, target_on=timezone.localdate()).pk


def test_competency_is_refused_outside_coaching(pair, learner):
    errors = _errors(lambda: _goal(pair, learner, competency="patient_care"))
    assert errors == {
        "competency": [
            "Competencies are for coaching relationships; this is a mentoring relationship."
        ]
    }
    assert not Goal.objects.exists()


def test_competency_is_optional_in_coaching(coaching, learner):
    tagged = _goal(coaching, learner, competency="communication")
    untagged = _goal(coaching, learner, title="Run a family meeting", domain="professionalism")
    assert (tagged.competency, untagged.competency) == ("communication", "")
    errors = _errors(lambda: _goal(coaching, learner, competency="juggling"))
    assert list(errors) == ["competency"]


def test_editing_keeps_a_past_target_but_refuses_a_new_one(pair, learner, mentor):
    goal = _goal(pair, learner)
    Goal.objects.filter(pk=goal.pk).update(target_on=_in(-10))  # time passed
    goal.refresh_from_db()
    edited = agreements.goal_edit(
        by=mentor,
        goal=goal,
        title=TITLE + " (poster)",
        description="",
        domain="research",
        target_on=_in(-10),
    )
    assert Goal.objects.get(pk=goal.pk).title == TITLE + " (poster)"
    errors = _errors(
        lambda: agreements.goal_edit(
            by=mentor, goal=edited, title=TITLE, domain="research", target_on=_in(-3)
        )
    )
    assert list(errors) == ["target_on"]
    assert agreements.goal_edit(
        by=mentor, goal=edited, title=TITLE, domain="career", target_on=_in(5)
    ).domain == ("career")


def test_progress_is_noted_and_can_move_the_status(pair, learner, mentor):
    goal = _goal(pair, learner)
    first = agreements.goal_progress_add(by=learner, goal=goal, note="Drafted the methods")
    assert first.status == "" and Goal.objects.get(pk=goal.pk).status == "not_started"
    second = agreements.goal_progress_add(
        by=mentor, goal=goal, note="Read the draft with her", status="in_progress"
    )
    assert second.status == "in_progress" and second.author == mentor
    assert Goal.objects.get(pk=goal.pk).status == "in_progress"
    agreements.goal_status_set(by=learner, goal=goal, status="achieved")
    assert Goal.objects.get(pk=goal.pk).status == "achieved"
    assert "Drafted" not in str(first)


def test_a_progress_entry_needs_a_note_and_a_real_status(pair, learner):
    goal = _goal(pair, learner)
    assert list(_errors(lambda: agreements.goal_progress_add(by=learner, goal=goal, note=" "))) == [
        "note"
    ]
    errors = _errors(
        lambda: agreements.goal_progress_add(by=learner, goal=goal, note="ok", status="won")
    )
    assert list(errors) == ["status"]
    assert list(_errors(lambda: agreements.goal_status_set(by=learner, goal=goal, status=""))) == [
        "status"
    ]
    assert not GoalProgress.objects.exists()


@pytest.mark.parametrize("member", NOT_PARTICIPANTS)
def test_only_the_two_people_change_goals(cast, pair, learner, member):
    goal = _goal(pair, learner)
    other = cast[member]
    with pytest.raises(agreements.NotInRelationship):
        _goal(pair, other)
    with pytest.raises(agreements.NotInRelationship):
        agreements.goal_edit(by=other, goal=goal, title="x", domain="career", target_on=_in(3))
    with pytest.raises(agreements.NotInRelationship):
        agreements.goal_progress_add(by=other, goal=goal, note="Not mine to write")
    with pytest.raises(agreements.NotInRelationship):
        agreements.goal_status_set(by=other, goal=goal, status="achieved")
    with pytest.raises(agreements.NotInRelationship):
        agreements.get_own_goal_or_404(other, goal.code)
    assert Goal.objects.get().title == TITLE and not GoalProgress.objects.exists()


def test_nothing_changes_once_the_relationship_has_ended(pair, learner, mentor):
    goal = _goal(pair, learner)
    services.relationship_end(relationship=pair, reason="completed")
    goal = agreements.get_own_goal_or_404(learner, goal.code)  # both still read it
    assert agreements.get_own_goal_or_404(mentor, goal.code) == goal
    for call in (
        lambda: _goal(pair, learner, title="Another"),
        lambda: agreements.goal_edit(
            by=learner, goal=goal, title="x", domain="career", target_on=_in(3)
        ),
        lambda: agreements.goal_progress_add(by=mentor, goal=goal, note="Late"),
        lambda: agreements.goal_status_set(by=learner, goal=goal, status="achieved"),
    ):
        with pytest.raises(agreements.ReadOnly):
            call()
    assert Goal.objects.get().status == "not_started" and Goal.objects.count() == 1


def test_a_proposed_relationship_has_no_goals_yet(program, other_mentor, learner):
    proposed = services.relationship_propose_informal(
        program=program, guide=other_mentor, learner=learner
    )
    with pytest.raises(agreements.ReadOnly, match="not confirmed yet"):
        _goal(proposed, learner)


# --- Pages ----------------------------------------------------------------------------------


def _urls(pair, goal) -> list[tuple[str, str]]:
    return [
        ("get", reverse("agreements:goals", kwargs={"code": pair.code})),
        ("get", reverse("agreements:goal-new", kwargs={"code": pair.code})),
        ("post", reverse("agreements:goal-new", kwargs={"code": pair.code})),
        ("get", reverse("agreements:goal", kwargs={"code": goal.code})),
        ("get", reverse("agreements:goal-edit", kwargs={"code": goal.code})),
        ("post", reverse("agreements:goal-edit", kwargs={"code": goal.code})),
        ("post", reverse("agreements:goal-progress", kwargs={"code": goal.code})),
    ]


def _new_goal_form(**overrides) -> dict:
    data = {
        "title": TITLE,
        "description": DESCRIPTION,
        "domain": "research",
        "target_on": _in(45).isoformat(),
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("member", NOT_PARTICIPANTS)
def test_anybody_but_the_two_people_gets_404(client, cast, pair, learner, member):
    goal = _goal(pair, learner)
    client.force_login(cast[member])
    for method, url in _urls(pair, goal):
        data = _new_goal_form(note="x", status="achieved") if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (member, method, url)
    assert Goal.objects.get().status == "not_started" and Goal.objects.count() == 1


def test_a_missing_goal_is_404(client, learner):
    client.force_login(learner)
    missing = "00000000-0000-4000-8000-000000000000"
    assert client.get(f"/relationships/goals/{missing}/").status_code == 404


def test_the_learner_adds_a_goal_and_both_see_it(client, pair, learner, mentor):
    client.force_login(learner)
    response = client.post(
        reverse("agreements:goal-new", kwargs={"code": pair.code}), _new_goal_form()
    )
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert response["Location"].endswith(f"#goal-{goal.code}")
    assert goal.created_by == learner and goal.title == TITLE
    client.force_login(mentor)
    detail = _html(client.get(reverse("mentoring:relationship-detail", kwargs={"code": pair.code})))
    assert TITLE in detail and "Research" in detail and "Not started" in detail
    assert _in(45).strftime("%-d %b %Y") in detail


def test_a_refused_goal_keeps_what_was_typed(client, pair, learner):
    client.force_login(learner)
    response = client.post(
        reverse("agreements:goal-new", kwargs={"code": pair.code}),
        _new_goal_form(target_on=_in(-2).isoformat()),
    )
    assert response.status_code == 200
    html = _html(response)
    assert 'class="error-summary"' in html and "in the past" in html
    assert f'value="{TITLE}"' in html and DESCRIPTION in html  # R12
    assert not Goal.objects.exists()


def test_a_bad_date_answers_with_a_message_not_500(client, pair, learner):
    client.force_login(learner)
    response = client.post(
        reverse("agreements:goal-new", kwargs={"code": pair.code}),
        _new_goal_form(target_on="31/02/2031", title=""),
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"target_on", "title"}


def test_the_competency_field_is_for_coaching_only(client, pair, coaching, learner):
    client.force_login(learner)
    mentoring_page = _html(client.get(reverse("agreements:goal-new", kwargs={"code": pair.code})))
    coaching_page = _html(
        client.get(reverse("agreements:goal-new", kwargs={"code": coaching.code}))
    )
    assert 'name="competency"' not in mentoring_page
    assert 'name="competency"' in coaching_page and "Interpersonal and communication" in (
        coaching_page
    )
    # Posted anyway to a mentoring relationship: not stored.
    client.post(
        reverse("agreements:goal-new", kwargs={"code": pair.code}),
        _new_goal_form(competency="patient_care"),
    )
    assert Goal.objects.get(relationship=pair).competency == ""
    client.post(
        reverse("agreements:goal-new", kwargs={"code": coaching.code}),
        _new_goal_form(competency="patient_care"),
    )
    assert Goal.objects.get(relationship=coaching).competency == "patient_care"


def test_the_domain_choice_is_a_fieldset_with_a_legend(client, pair, learner):
    client.force_login(learner)
    html = _html(client.get(reverse("agreements:goal-new", kwargs={"code": pair.code})))
    assert "<legend" in html and "Area" in html
    assert '<label for="id_title">' in html and "SMART" in html


def test_the_goals_page_groups_by_status_with_progress_newest_first(client, pair, learner, mentor):
    done = _goal(pair, learner, title="Pass the anatomy exam", domain="academic")
    going = _goal(pair, learner)
    agreements.goal_status_set(by=learner, goal=done, status="achieved")
    agreements.goal_progress_add(by=learner, goal=going, note="First entry", status="in_progress")
    GoalProgress.objects.filter(note__isnull=False).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    agreements.goal_progress_add(by=mentor, goal=going, note="Second entry")
    client.force_login(mentor)
    html = _html(client.get(reverse("agreements:goals", kwargs={"code": pair.code})))
    assert html.index("In progress (1)") < html.index(TITLE) < html.index("Achieved (1)")
    assert html.index("Achieved (1)") < html.index("Pass the anatomy exam")
    assert html.index("Second entry") < html.index("First entry")
    assert html.count('action="/relationships/goals/') == 2  # a progress form per goal


def test_a_progress_note_through_the_page(client, pair, learner):
    goal = _goal(pair, learner)
    url = reverse("agreements:goal-progress", kwargs={"code": goal.code})
    client.force_login(learner)
    response = client.post(url, {"note": "Abstract drafted", "status": "in_progress"})
    assert response.status_code == 302
    entry = GoalProgress.objects.get()
    assert (entry.note, entry.status, entry.author) == ("Abstract drafted", "in_progress", learner)
    response = client.post(url, {"note": "", "status": "achieved"})
    assert response.status_code == 302
    assert Goal.objects.get().status == "achieved" and GoalProgress.objects.count() == 1
    # Neither a note nor a status: refused on the goal's page, nothing lost.
    response = client.post(url, {"note": "   ", "status": ""})
    assert response.status_code == 200
    assert "Write a progress note, or choose a new status." in _html(response)
    long_note = "z" * (agreements.PROGRESS_NOTE_MAX_CHARS + 1)
    response = client.post(url, {"note": long_note, "status": "set_aside"})
    assert response.status_code == 200 and long_note in _html(response)
    assert GoalProgress.objects.count() == 1 and Goal.objects.get().status == "achieved"


def test_after_the_end_both_read_the_goals_and_a_change_is_403(client, pair, learner, mentor):
    goal = _goal(pair, learner)
    services.relationship_end(relationship=pair, reason="completed")
    for person in (learner, mentor):
        client.force_login(person)
        page = client.get(reverse("agreements:goals", kwargs={"code": pair.code}))
        assert page.status_code == 200 and TITLE in _html(page)
        assert "Add progress" not in _html(page) and "Add a goal" not in _html(page)
        assert client.get(reverse("agreements:goal", kwargs={"code": goal.code})).status_code == 200
        for method, url in _urls(pair, goal):
            if "/new/" in url or "/edit/" in url or "/progress/" in url:
                data = _new_goal_form(note="Late", status="achieved")
                assert getattr(client, method)(url, data).status_code == 403, url
    assert Goal.objects.get().status == "not_started" and not GoalProgress.objects.exists()


def test_the_goals_page_queries_do_not_grow_with_goals(client, pair, learner, mentor):
    url = reverse("agreements:goals", kwargs={"code": pair.code})
    client.force_login(learner)
    _goal(pair, learner)
    client.get(url)  # warm up (content types, session)
    with CaptureQueriesContext(connection) as one:
        assert client.get(url).status_code == 200
    for n in range(12):
        goal = _goal(pair, mentor if n % 2 else learner, title=f"Goal {n}")
        for m in range(3):
            agreements.goal_progress_add(by=mentor, goal=goal, note=f"Step {m}", status="")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.status_code == 200 and "Goal 11" in _html(response)
    assert len(many) == len(one), [q["sql"] for q in many.captured_queries]


def test_the_relationship_page_queries_do_not_grow_with_goals(client, pair, learner):
    url = reverse("mentoring:relationship-detail", kwargs={"code": pair.code})
    client.force_login(learner)
    _goal(pair, learner)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for n in range(10):
        _goal(pair, learner, title=f"Goal {n}")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(one)


def test_relationship_kinds_match_the_competency_rule():
    # The rule keys on the relationship's kind; a new kind must decide.
    assert set(Relationship.Kind.values) == {"mentoring", "coaching", "advising"}
    assert agreements.competency_allowed(Relationship(kind="coaching"))
    assert not agreements.competency_allowed(Relationship(kind="advising"))
