"""The learner's and guide's own pages: relationships, informal relationships, rematch requests.

Only the two people in a relationship reach its pages (everyone else, administrators and the
operator included, gets 404, R8); a rematch request stays between the learner and the program
administrator; every refusal by a rule reaches the person as text, never a 500.
"""

from __future__ import annotations

import datetime
import uuid
from urllib.parse import urlparse

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import ParticipantProfile, Role
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import Relationship, RematchRequest
from tests.factories import ProgramFactory, UserFactory

LIST = reverse("mentoring:relationship-list")
INFORMAL = reverse("mentoring:informal-new")
LOGIN = reverse("account_login")

NOT_PARTICIPANTS = [
    "outsider",
    "other_mentor",
    "assessor",
    "program_admin",
    "other_admin",
    "dean",
    "superuser",
]
# (url name, method) of every page about one relationship.
RELATIONSHIP_VIEWS = [
    ("mentoring:relationship-detail", "get"),
    ("mentoring:relationship-confirm", "post"),
    ("mentoring:relationship-decline", "post"),
    ("mentoring:rematch-request", "get"),
    ("mentoring:rematch-request", "post"),
    ("mentoring:rematch-withdraw", "post"),
]


def _url(name: str, relationship: Relationship) -> str:
    return reverse(name, kwargs={"code": relationship.code})


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def relationship(program, mentor, learner):
    return services.relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def proposal(program, other_mentor, learner):
    return services.relationship_propose_informal(
        program=program, guide=other_mentor, learner=learner
    )


# --- The ladder -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), RELATIONSHIP_VIEWS)
def test_anonymous_visitor_is_sent_to_sign_in(client, relationship, name, method):
    response = getattr(client, method)(_url(name, relationship))
    assert response.status_code == 302
    assert urlparse(response["Location"]).path == LOGIN


@pytest.mark.parametrize("url", [LIST, INFORMAL])
def test_anonymous_visitor_is_sent_to_sign_in_from_own_pages(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert urlparse(response["Location"]).path == LOGIN


@pytest.mark.parametrize("member", NOT_PARTICIPANTS)
@pytest.mark.parametrize(("name", "method"), RELATIONSHIP_VIEWS)
def test_everyone_but_the_two_participants_gets_404(
    client, cast, relationship, member, name, method
):
    services.rematch_request_create(relationship=relationship, reason="private")
    client.force_login(cast[member])
    response = getattr(client, method)(_url(name, relationship))
    assert response.status_code == 404
    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ACTIVE
    assert RematchRequest.objects.open().filter(relationship=relationship).count() == 1


@pytest.mark.parametrize(
    "member",
    ["mentor", "outsider", "assessor", "program_admin", "other_admin", "dean", "superuser"],
)
def test_outsiders_cannot_confirm_or_decline_a_proposal(client, cast, proposal, member):
    # The proposal is between Lucia and Funmi (other_mentor); Kenji is an outsider to it.
    client.force_login(cast[member])
    for name in ("mentoring:relationship-confirm", "mentoring:relationship-decline"):
        assert client.post(_url(name, proposal)).status_code == 404
    proposal.refresh_from_db()
    assert proposal.status == Relationship.Status.PROPOSED


def test_missing_relationship_is_404_like_someone_elses(client, learner):
    client.force_login(learner)
    url = reverse("mentoring:relationship-detail", kwargs={"code": uuid.uuid4()})
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("member", ["learner", "mentor"])
def test_both_participants_see_the_relationship(client, cast, relationship, member):
    client.force_login(cast[member])
    response = client.get(_url("mentoring:relationship-detail", relationship))
    assert response.status_code == 200
    other = relationship.guide if member == "learner" else relationship.learner
    assert other.full_name in _html(response)
    assert "MS1 faculty mentoring" in _html(response)


@pytest.mark.parametrize("member", ["learner", "mentor", "outsider", "program_admin", "dean"])
def test_relationship_list_answers_everyone_signed_in_with_their_own_only(
    client, cast, relationship, member
):
    client.force_login(cast[member])
    response = client.get(LIST)
    assert response.status_code == 200
    shown = str(relationship.code) in _html(response)
    assert shown is (member in ("learner", "mentor"))


def test_informal_page_is_for_learners_only(client, cast):
    for member in ("mentor", "outsider", "program_admin", "dean", "superuser"):
        client.force_login(cast[member])
        assert client.get(INFORMAL).status_code == 404, member
        assert client.post(INFORMAL, {}).status_code == 404, member
    client.force_login(cast["learner"])
    assert client.get(INFORMAL).status_code == 200


def test_learner_sees_link_to_record_informal_relationship_guide_does_not(client, learner, mentor):
    client.force_login(learner)
    assert INFORMAL in _html(client.get(LIST))
    client.force_login(mentor)
    assert INFORMAL not in _html(client.get(LIST))


def test_mutations_refuse_get(client, relationship, learner, mentor):
    client.force_login(mentor)
    assert client.get(_url("mentoring:relationship-confirm", relationship)).status_code == 405
    assert client.get(_url("mentoring:relationship-decline", relationship)).status_code == 405
    client.force_login(learner)
    assert client.get(_url("mentoring:rematch-withdraw", relationship)).status_code == 405


# --- The list -------------------------------------------------------------------------------


def test_list_groups_current_waiting_and_ended(client, program, learner, mentor, other_mentor):
    current = services.relationship_start(program=program, guide=mentor, learner=learner)
    other_learner = UserFactory(full_name="Ama Boateng")
    membership_grant(user=other_learner, role=Role.LEARNER, program=program)
    ended = services.relationship_start(program=program, guide=mentor, learner=other_learner)
    services.relationship_end(relationship=ended, reason=Relationship.EndReason.COMPLETED)
    third = UserFactory(full_name="Bea Novak")
    membership_grant(user=third, role=Role.LEARNER, program=program)
    waiting = services.relationship_propose_informal(program=program, guide=mentor, learner=third)

    client.force_login(mentor)
    response = client.get(LIST)
    context = response.context
    assert [s.relationship for s in context["current"]] == [current]
    assert [s.relationship for s in context["awaiting_me"]] == [waiting]
    assert [s.relationship for s in context["ended"]] == [ended]
    assert context["awaiting_them"] == []
    html = _html(response)
    assert "Waiting for your confirmation" in html
    assert _url("mentoring:relationship-confirm", waiting) in html
    assert _url("mentoring:relationship-decline", waiting) in html
    assert "Completed" in html  # how the ended one ended


def test_current_relationship_shows_the_other_persons_contact_and_profile(
    client, relationship, learner, mentor
):
    ParticipantProfile.objects.create(
        user=learner,
        level="MS1",
        campus="North campus",
        specialty_interests=["Pediatrics"],
        research_interests=["Health equity"],
        languages=["English", "Spanish"],
        shared_background=["First-generation college student"],
        timezone="America/Chicago",
        contact_preference="Text me first",
    )
    client.force_login(mentor)
    for url in (LIST, _url("mentoring:relationship-detail", relationship)):
        html = _html(client.get(url))
        for shown in (
            "lucia@school.test",
            "Text me first",
            "America/Chicago",
            "MS1",
            "North campus",
            "Pediatrics",
            "Health equity",
            "English, Spanish",
        ):
            assert shown in html, (url, shown)
        assert "First-generation" not in html, url


def test_list_runs_a_bounded_number_of_queries(
    client, program, mentor, django_assert_max_num_queries
):
    def add_learners(count: int) -> None:
        for _ in range(count):
            person = UserFactory()
            ParticipantProfile.objects.create(user=person, languages=["English"])
            membership_grant(user=person, role=Role.LEARNER, program=program)
            relationship = services.relationship_start(
                program=program, guide=mentor, learner=person
            )
            services.rematch_request_create(relationship=relationship, reason="private")

    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=100)
    add_learners(1)
    client.force_login(mentor)
    with CaptureQueriesContext(connection) as few:
        assert client.get(LIST).status_code == 200

    add_learners(20)
    # Ended ones, proposals, and relationships in which the mentor is the learner.
    for relationship in Relationship.objects.filter(guide=mentor)[:5]:
        services.relationship_end(relationship=relationship, reason="completed")
    for _ in range(5):
        person = UserFactory()
        membership_grant(user=person, role=Role.LEARNER, program=program)
        services.relationship_propose_informal(program=program, guide=mentor, learner=person)
    for n in range(4):
        other = ProgramFactory(name=f"Peer program {n}")
        guide = UserFactory()
        ParticipantProfile.objects.create(user=guide)
        membership_grant(user=guide, role=Role.MENTOR, program=other)
        membership_grant(user=mentor, role=Role.LEARNER, program=other)
        relationship = services.relationship_start(program=other, guide=guide, learner=mentor)
        services.rematch_request_create(relationship=relationship)
    assert Relationship.objects.for_participant(mentor).count() == 30

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(LIST)
    assert response.status_code == 200
    assert len(response.context["current"]) == 20
    assert len(response.context["ended"]) == 5
    assert len(response.context["awaiting_me"]) == 5
    assert len(few.captured_queries) <= 12


# --- Rematch --------------------------------------------------------------------------------


def test_learner_asks_for_a_rematch_in_confidence(client, relationship, learner, mentor):
    client.force_login(learner)
    detail = _url("mentoring:relationship-detail", relationship)
    assert _url("mentoring:rematch-request", relationship) in _html(client.get(detail))
    form_page = client.get(_url("mentoring:rematch-request", relationship))
    assert form_page.status_code == 200
    assert "Only the program administrator reads this" in _html(form_page)

    response = client.post(
        _url("mentoring:rematch-request", relationship),
        {"reason": "We never find a time that works."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == detail
    assert any("program administrator" in m for m in _messages(response))
    request = RematchRequest.objects.get(relationship=relationship)
    assert request.status == RematchRequest.Status.OPEN
    assert request.reason == "We never find a time that works."
    html = _html(response)
    assert "Waiting for the administrator" in html
    assert _url("mentoring:rematch-withdraw", relationship) in html

    # The guide sees neither the reason nor that a request is open, anywhere.
    client.force_login(mentor)
    for url in (LIST, detail):
        page = _html(client.get(url))
        assert "never find a time" not in page
        assert "rematch" not in page.lower(), url
    # ...and the learner's pages for it answer the guide the same whatever the state.
    assert client.get(_url("mentoring:rematch-request", relationship)).status_code == 403
    assert client.post(_url("mentoring:rematch-withdraw", relationship)).status_code == 403
    request.refresh_from_db()
    assert request.status == RematchRequest.Status.OPEN


def test_guide_gets_the_same_answer_whether_or_not_a_rematch_is_open(client, relationship, mentor):
    client.force_login(mentor)
    detail = _url("mentoring:relationship-detail", relationship)
    before = client.get(detail)
    list_before = client.get(LIST)
    services.rematch_request_create(relationship=relationship, reason="secret")
    after = client.get(detail)
    list_after = client.get(LIST)

    def strip(response) -> str:
        # Only the CSRF token differs between two renders of the same page.
        html = _html(response)
        return "\n".join(line for line in html.splitlines() if "csrfmiddlewaretoken" not in line)

    assert strip(before) == strip(after)
    assert strip(list_before) == strip(list_after)


def test_second_rematch_request_is_refused_with_a_message(client, relationship, learner):
    services.rematch_request_create(relationship=relationship, reason="first")
    client.force_login(learner)
    response = client.post(
        _url("mentoring:rematch-request", relationship), {"reason": "second try"}
    )
    assert response.status_code == 200
    html = _html(response)
    assert "STATE Relationship status: you have already asked for a rematch" in html
    assert "second try" in html  # what was typed is kept
    assert RematchRequest.objects.filter(relationship=relationship).count() == 1

    response = client.get(_url("mentoring:rematch-request", relationship), follow=True)
    assert any("already asked" in m for m in _messages(response))


def test_learner_withdraws_a_rematch_request_and_may_ask_again(client, relationship, learner):
    request = services.rematch_request_create(relationship=relationship, reason="")
    client.force_login(learner)
    response = client.post(_url("mentoring:rematch-withdraw", relationship), follow=True)
    assert any("withdrawn" in m for m in _messages(response))
    request.refresh_from_db()
    assert request.status == RematchRequest.Status.WITHDRAWN
    assert _url("mentoring:rematch-withdraw", relationship) not in _html(response)

    response = client.post(_url("mentoring:rematch-withdraw", relationship), follow=True)
    assert any("no open rematch request" in m for m in _messages(response))

    client.post(_url("mentoring:rematch-request", relationship), {"reason": "again"})
    assert RematchRequest.objects.open().filter(relationship=relationship).count() == 1


def test_rematch_for_an_ended_relationship_is_refused_with_a_message(client, relationship, learner):
    services.relationship_end(relationship=relationship, reason="completed")
    client.force_login(learner)
    response = client.post(
        _url("mentoring:rematch-request", relationship), {"reason": "x"}, follow=True
    )
    assert response.status_code == 200
    assert any("current relationship only" in m for m in _messages(response))
    assert not RematchRequest.objects.exists()


def test_rematch_reason_over_the_limit_is_a_form_error(client, relationship, learner):
    client.force_login(learner)
    response = client.post(_url("mentoring:rematch-request", relationship), {"reason": "x" * 2001})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not RematchRequest.objects.exists()


# --- Informal relationships -----------------------------------------------------------------


def _propose(client, program, guide, **extra):
    data = {"program": str(program.code), "guide": str(guide.code), **extra}
    return client.post(INFORMAL, data)


def test_informal_form_lists_only_the_programs_guides(
    client, learner, mentor, other_mentor, assessor, program_admin
):
    client.force_login(learner)
    html = _html(client.get(INFORMAL))
    assert f'value="{mentor.code}"' in html
    assert f'value="{other_mentor.code}"' in html
    assert f'value="{assessor.code}"' not in html  # a mentor, but in another program
    assert f'value="{program_admin.code}"' not in html
    assert f'value="{learner.code}"' not in html


def test_learner_proposes_and_guide_confirms(client, program, learner, mentor):
    client.force_login(learner)
    response = _propose(client, program, mentor, started_on="")
    relationship = Relationship.objects.get(learner=learner)
    assert response.status_code == 302
    assert response["Location"] == _url("mentoring:relationship-detail", relationship)
    assert relationship.status == Relationship.Status.PROPOSED
    assert relationship.origin == Relationship.Origin.SELF_INITIATED
    assert relationship.guide == mentor
    waiting = client.get(LIST).context["awaiting_them"]
    assert [s.relationship for s in waiting] == [relationship]

    # Only the guide answers: the learner may see the relationship but not confirm it.
    assert client.post(_url("mentoring:relationship-confirm", relationship)).status_code == 403
    assert client.post(_url("mentoring:relationship-decline", relationship)).status_code == 403

    client.force_login(mentor)
    assert [s.relationship for s in client.get(LIST).context["awaiting_me"]] == [relationship]
    response = client.post(_url("mentoring:relationship-confirm", relationship), follow=True)
    assert any("Confirmed" in m for m in _messages(response))
    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ACTIVE


def test_informal_start_date_is_kept(client, program, learner, mentor):
    client.force_login(learner)
    started = timezone.localdate() - datetime.timedelta(days=20)
    _propose(client, program, mentor, started_on=started.isoformat())
    assert Relationship.objects.get(learner=learner).started_on == started


def test_r3_refusal_is_shown_and_the_form_keeps_what_was_typed(
    client, program, relationship, learner, other_mentor
):
    client.force_login(learner)
    started = timezone.localdate() - datetime.timedelta(days=3)
    response = _propose(client, program, other_mentor, started_on=started.isoformat())
    assert response.status_code == 200
    html = _html(response)
    assert "R3 Capacity: Lucia Garcia already has a current mentoring relationship" in html
    assert "Kenji Ito" in html  # the conflicting record
    assert f'value="{started.isoformat()}"' in html
    assert f'<option value="{other_mentor.code}" selected>' in html
    assert Relationship.objects.filter(learner=learner).count() == 1


def test_r3_refusal_at_confirmation_is_shown_to_the_guide(
    client, program, proposal, learner, mentor, other_mentor
):
    services.relationship_start(program=program, guide=mentor, learner=learner)
    client.force_login(other_mentor)
    response = client.post(_url("mentoring:relationship-confirm", proposal), follow=True)
    assert response.status_code == 200
    assert any(m.startswith("R3 Capacity") for m in _messages(response))
    proposal.refresh_from_db()
    assert proposal.status == Relationship.Status.PROPOSED


def test_guide_declines_a_proposal(client, proposal, other_mentor, learner):
    client.force_login(other_mentor)
    response = client.post(_url("mentoring:relationship-decline", proposal), follow=True)
    assert response.redirect_chain[-1][0] == LIST
    assert any("Declined" in m for m in _messages(response))
    proposal.refresh_from_db()
    assert proposal.status == Relationship.Status.ENDED
    assert proposal.end_reason == Relationship.EndReason.DECLINED
    client.force_login(learner)
    assert "Declined by the guide" in _html(client.get(LIST))


def test_decline_cannot_end_an_active_relationship(client, relationship, mentor):
    client.force_login(mentor)
    response = client.post(_url("mentoring:relationship-decline", relationship), follow=True)
    assert any("only a proposed relationship" in m for m in _messages(response))
    relationship.refresh_from_db()
    assert relationship.status == Relationship.Status.ACTIVE


def test_confirming_twice_is_refused_with_a_message(client, proposal, other_mentor):
    client.force_login(other_mentor)
    client.post(_url("mentoring:relationship-confirm", proposal))
    response = client.post(_url("mentoring:relationship-confirm", proposal), follow=True)
    assert any("only a proposed relationship can be confirmed" in m for m in _messages(response))


def test_second_proposal_to_the_same_guide_is_refused(client, program, proposal, learner):
    client.force_login(learner)
    response = _propose(client, program, proposal.guide)
    assert "has not answered your earlier request yet" in _html(response)
    assert Relationship.objects.filter(learner=learner).count() == 1


def test_guide_from_another_program_is_a_form_error(
    client, program, other_program, learner, assessor
):
    membership_grant(user=learner, role=Role.LEARNER, program=other_program)
    client.force_login(learner)
    # Priya mentors in the other program only: listed there, refused for this one.
    response = _propose(client, program, assessor)
    assert response.status_code == 200
    assert response.context["form"].errors["guide"] == [
        "This person is not a mentor in MS1 faculty mentoring. Choose someone listed under "
        "MS1 faculty mentoring."
    ]
    assert not Relationship.objects.exists()


def test_r2_refusal_names_the_assessment_role(client, program, learner, mentor):
    services.assessment_role_add(
        assessor=mentor,
        learner=learner,
        kind="assessor",
        context="Surgery clerkship",
        starts_on=timezone.localdate() - datetime.timedelta(days=10),
    )
    client.force_login(learner)
    html = _html(_propose(client, program, mentor))
    assert "R2 Role separation" in html
    assert "Surgery clerkship" in html
    assert not Relationship.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"started_on": "2999-01-01"}, "started_on"),
        ({"started_on": "not a date"}, "started_on"),
        ({"program": "not-a-uuid"}, "program"),
        ({"program": "00000000-0000-0000-0000-000000000001"}, "program"),
        ({"guide": "00000000-0000-0000-0000-000000000001"}, "guide"),
        ({"guide": ""}, "guide"),
    ],
)
def test_bad_input_is_a_form_error_not_a_500(client, program, learner, mentor, data, field):
    client.force_login(learner)
    response = client.post(
        INFORMAL, {"program": str(program.code), "guide": str(mentor.code), **data}
    )
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Relationship.objects.exists()
