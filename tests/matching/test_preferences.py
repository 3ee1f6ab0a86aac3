"""Matching preferences: ranked choices, what they feed the matcher, a guide's capacity and term
opt-outs, suggestions (which never show the shared-background factor or anyone's ranking), and
the participants' pages that set them (namespace `choosing`). Self-match requests are in
test_self_match.py."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, Role
from accounts.services import membership_end, membership_grant
from matching import preferences, services
from matching.models import Choice, MatchRun, TermOptOut
from mentoring import services as mentoring_services
from mentoring.models import Program, Term
from mentoring.rules import RuleViolation

LEARNER_SIDE = Choice.Side.LEARNER
GUIDE_SIDE = Choice.Side.GUIDE
ZERO_WEIGHTS = {k: 0 for k in services.DEFAULT_WEIGHTS if k != "must_have"}


def ranks(program, side, chooser) -> list[tuple[int, int]]:
    return list(
        Choice.objects.filter(program=program, side=side, chooser=chooser)
        .order_by("rank")
        .values_list("chosen_id", "rank")
    )


def set_choices(program, chooser, people, side=LEARNER_SIDE) -> None:
    preferences.choices_set(
        program=program, side=side, chooser=chooser, chosen_ids=[p.pk for p in people]
    )


def change(program, chooser, person, action, side=LEARNER_SIDE) -> None:
    preferences.choice_change(
        program=program, side=side, chooser=chooser, person_id=person.pk, action=action
    )


def with_weights(program, **weights) -> MatchRun:
    """A prior run whose weights become the program's current ones (suggestions use them)."""
    return MatchRun.objects.create(
        program=program,
        weights={**ZERO_WEIGHTS, "must_have": [], **weights},
        status=MatchRun.Status.DONE,
    )


def profile(user, **fields) -> ParticipantProfile:
    return ParticipantProfile.objects.create(user=user, **fields)


def suggested_ids(program, learner, **kwargs) -> set[int]:
    return {s.person.pk for s in preferences.suggested_guides(program, learner, **kwargs)}


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# --- Ranked choices ------------------------------------------------------------------------


def test_choices_set_stores_the_list_best_first_and_replaces_it(
    program, learner, mentor, other_mentor
):
    set_choices(program, learner, [other_mentor, mentor])
    assert ranks(program, LEARNER_SIDE, learner) == [(other_mentor.pk, 1), (mentor.pk, 2)]
    assert preferences.choices_of(program, LEARNER_SIDE, learner) == [other_mentor, mentor]
    set_choices(program, learner, [mentor])
    assert ranks(program, LEARNER_SIDE, learner) == [(mentor.pk, 1)]


def test_choices_set_refuses_more_than_the_program_allows(
    program, learner, mentor, other_mentor, make_mentor
):
    program.choices_allowed = 2
    program.save()
    set_choices(program, learner, [mentor])
    with pytest.raises(RuleViolation) as refused:
        set_choices(program, learner, [mentor, other_mentor, make_mentor()])
    assert "at most 2" in refused.value.text
    assert ranks(program, LEARNER_SIDE, learner) == [(mentor.pk, 1)]  # the old list stands


def test_choices_set_refuses_duplicates(program, learner, mentor, other_mentor):
    with pytest.raises(RuleViolation) as refused:
        set_choices(program, learner, [mentor, other_mentor, mentor])
    assert "only once" in refused.value.text
    assert not Choice.objects.exists()


@pytest.mark.parametrize("side", [LEARNER_SIDE, GUIDE_SIDE])
def test_nobody_ranks_themselves(program, learner, mentor, side):
    chooser = learner if side == LEARNER_SIDE else mentor
    with pytest.raises(RuleViolation) as refused:
        preferences.choices_set(
            program=program, side=side, chooser=chooser, chosen_ids=[chooser.pk]
        )
    assert refused.value.rule == "R1"
    assert not Choice.objects.exists()


def test_a_learner_ranks_only_current_guides_of_the_program(
    program, learner, mentor, other_mentor, outsider, assessor, make_learner
):
    ended = Membership.objects.get(user=other_mentor, program=program, role=Role.MENTOR)
    membership_end(membership=ended)
    # An outsider, a fellow learner, a guide who left, a mentor of another program.
    for person in (outsider, make_learner(), other_mentor, assessor):
        with pytest.raises(RuleViolation) as refused:
            set_choices(program, learner, [mentor, person])
        assert "only current mentors" in refused.value.text
    assert not Choice.objects.exists()
    set_choices(program, learner, [mentor])
    assert ranks(program, LEARNER_SIDE, learner) == [(mentor.pk, 1)]


def test_a_guide_ranks_only_current_learners_of_the_program(
    program, learner, mentor, other_mentor, outsider, make_learner, other_program
):
    elsewhere = make_learner(target=other_program)
    for person in (other_mentor, outsider, elsewhere):
        with pytest.raises(RuleViolation) as refused:
            set_choices(program, mentor, [learner, person], side=GUIDE_SIDE)
        assert "only current learners" in refused.value.text
    set_choices(program, mentor, [learner], side=GUIDE_SIDE)
    assert ranks(program, GUIDE_SIDE, mentor) == [(learner.pk, 1)]


def test_ranking_is_off_when_the_program_allows_no_choices(program, learner, mentor):
    program.choices_allowed = 0
    program.save()
    with pytest.raises(RuleViolation) as refused:
        set_choices(program, learner, [mentor])
    assert "does not ask for ranked choices" in refused.value.text
    with pytest.raises(RuleViolation):
        change(program, learner, mentor, "add")
    assert not Choice.objects.exists()


def test_add_move_and_remove_keep_ranks_one_to_n(
    program, learner, mentor, other_mentor, make_mentor
):
    a, b, c = mentor, other_mentor, make_mentor()

    def order():
        rows = ranks(program, LEARNER_SIDE, learner)
        assert [rank for _, rank in rows] == list(range(1, len(rows) + 1))
        return [chosen for chosen, _ in rows]

    for person in (a, b, c):
        change(program, learner, person, "add")
    assert order() == [a.pk, b.pk, c.pk]
    change(program, learner, a, "add")  # already on the list: nothing changes
    assert order() == [a.pk, b.pk, c.pk]
    change(program, learner, c, "up")
    assert order() == [a.pk, c.pk, b.pk]
    change(program, learner, a, "down")
    assert order() == [c.pk, a.pk, b.pk]
    change(program, learner, c, "up")  # already first
    change(program, learner, b, "down")  # already last
    assert order() == [c.pk, a.pk, b.pk]
    change(program, learner, a, "remove")
    assert order() == [c.pk, b.pk]
    change(program, learner, a, "remove")  # not on the list: nothing to do
    assert order() == [c.pk, b.pk]
    for action in ("up", "down", "promote"):
        with pytest.raises(RuleViolation) as refused:
            change(program, learner, a, action)
        assert "not on your list" in refused.value.text
    assert order() == [c.pk, b.pk]


def test_a_full_list_says_so(program, learner, mentor, other_mentor, make_mentor):
    program.choices_allowed = 2
    program.save()
    change(program, learner, mentor, "add")
    change(program, learner, other_mentor, "add")
    with pytest.raises(RuleViolation) as refused:
        change(program, learner, make_mentor(), "add")
    assert refused.value.text.endswith("your list is full (2): remove someone first.")
    assert len(ranks(program, LEARNER_SIDE, learner)) == 2


# --- What the matcher is given -------------------------------------------------------------


def test_match_input_carries_rankings_availability_and_opt_outs(
    program, learner, mentor, other_mentor, make_mentor, term
):
    third = make_mentor()
    later = Term.objects.create(
        program=program,
        name="Next year",
        starts_on=term.ends_on + datetime.timedelta(days=1),
        ends_on=term.ends_on + datetime.timedelta(days=300),
    )
    profile(learner, availability=0b11)
    profile(mentor, availability=0b110)
    set_choices(program, learner, [other_mentor, mentor, third])
    set_choices(program, mentor, [learner], side=GUIDE_SIDE)
    TermOptOut.objects.create(term=term, guide=other_mentor)
    TermOptOut.objects.create(term=later, guide=mentor)  # another term: no effect on this one
    program.choices_allowed = 2  # lowered after the lists were made: the matcher caps them
    program.save()

    data = services.match_input_build(program=program, weights={}, term=term)
    (lucia,) = data.learners
    guides = {g.id: g for g in data.guides}
    assert lucia.ranked_guides == (other_mentor.pk, mentor.pk)
    assert lucia.availability == 0b11
    assert guides[mentor.pk].preferred_learners == (learner.pk,)
    assert guides[mentor.pk].availability == 0b110
    assert guides[third.pk].availability == 0  # no profile
    assert {g for g in guides if guides[g].opted_out} == {other_mentor.pk}

    assert not any(
        g.opted_out for g in services.match_input_build(program=program, weights={}).guides
    )
    program.choices_allowed = 0
    program.save()
    (lucia,) = services.match_input_build(program=program, weights={}, term=term).learners
    assert lucia.ranked_guides == ()


def test_a_run_favouring_ranked_choice_proposes_the_first_choice(
    program, program_admin, learner, mentor, other_mentor, term
):
    set_choices(program, learner, [other_mentor, mentor])
    weights = {**ZERO_WEIGHTS, "ranked_choice": 100}
    run = services.match_run_create(program=program, by=program_admin, weights=weights)
    run = services.match_run_execute(run=run)
    proposal = run.proposals.get(learner=learner)
    assert proposal.guide == other_mentor
    assert "learner ranked this mentor 1st" in proposal.explanation

    # Her first choice sits this term out: the run for the term proposes her second.
    TermOptOut.objects.create(term=term, guide=other_mentor)
    run = services.match_run_create(program=program, by=program_admin, weights=weights, term=term)
    run = services.match_run_execute(run=run)
    proposal = run.proposals.get(learner=learner)
    assert proposal.guide == mentor
    assert "learner ranked this mentor 2nd" in proposal.explanation


# --- A guide's capacity and term opt-outs --------------------------------------------------


def membership_of(program, guide) -> Membership:
    return Membership.objects.get(user=guide, program=program, role=Role.MENTOR)


def test_capacity_cannot_go_below_current_relationships(program, mentor, learner, make_learner):
    for person in (learner, make_learner()):
        mentoring_services.relationship_start(program=program, guide=mentor, learner=person)
    with pytest.raises(RuleViolation) as refused:
        preferences.capacity_set(program=program, guide=mentor, capacity=1)
    assert refused.value.rule == "R3"
    assert "you have 2 current learners" in refused.value.text
    assert "cannot be lower than that" in refused.value.text
    assert membership_of(program, mentor).capacity == 3
    preferences.capacity_set(program=program, guide=mentor, capacity=2)
    assert membership_of(program, mentor).capacity == 2


@pytest.mark.parametrize(("capacity", "allowed"), [(-1, False), (0, True), (20, True), (21, False)])
def test_capacity_range(program, mentor, capacity, allowed):
    if allowed:
        preferences.capacity_set(program=program, guide=mentor, capacity=capacity)
        assert membership_of(program, mentor).capacity == capacity
    else:
        with pytest.raises(RuleViolation) as refused:
            preferences.capacity_set(program=program, guide=mentor, capacity=capacity)
        assert "between 0 and 20" in refused.value.text
        assert membership_of(program, mentor).capacity == 3


def test_only_a_guide_of_the_program_states_a_capacity(program, learner):
    with pytest.raises(RuleViolation) as refused:
        preferences.capacity_set(program=program, guide=learner, capacity=2)
    assert refused.value.rule == "ROLE"


def test_opt_outs_only_for_open_terms_of_the_program(program, other_program, mentor, term):
    today = timezone.localdate()
    later = Term.objects.create(
        program=program,
        name="Next year",
        starts_on=term.ends_on + datetime.timedelta(days=1),
        ends_on=term.ends_on + datetime.timedelta(days=300),
    )
    ended = Term.objects.create(
        program=program,
        name="Last year",
        starts_on=today - datetime.timedelta(days=400),
        ends_on=today - datetime.timedelta(days=31),
    )
    elsewhere = Term.objects.create(
        program=other_program, name="This year", starts_on=term.starts_on, ends_on=term.ends_on
    )
    TermOptOut.objects.create(term=ended, guide=mentor)  # history, kept whatever happens

    def opted():
        return set(TermOptOut.objects.filter(guide=mentor).values_list("term_id", flat=True))

    preferences.opt_outs_set(program=program, guide=mentor, terms=[term, later])
    assert opted() == {ended.pk, term.pk, later.pk}
    assert preferences.is_opted_out(program, mentor)
    preferences.opt_outs_set(program=program, guide=mentor, terms=[later])
    assert opted() == {ended.pk, later.pk}
    assert not preferences.is_opted_out(program, mentor)  # the matching term is `term`
    for wrong in (ended, elsewhere):
        with pytest.raises(RuleViolation) as refused:
            preferences.opt_outs_set(program=program, guide=mentor, terms=[term, wrong])
        assert "have not ended" in refused.value.text
        assert opted() == {ended.pk, later.pk}


# --- Suggestions ---------------------------------------------------------------------------


def test_suggestions_leave_out_full_opted_out_forbidden_and_excluded_guides(
    program, learner, mentor, other_mentor, assessor, make_mentor, make_learner, term
):
    full = make_mentor(capacity=1)
    mentoring_services.relationship_start(program=program, guide=full, learner=make_learner())
    make_mentor(capacity=0)  # no places at all
    sitting_out = make_mentor()
    TermOptOut.objects.create(term=term, guide=sitting_out)
    later = Term.objects.create(
        program=program,
        name="Next year",
        starts_on=term.ends_on + datetime.timedelta(days=1),
        ends_on=term.ends_on + datetime.timedelta(days=300),
    )
    TermOptOut.objects.create(term=later, guide=other_mentor)  # not the matching term
    membership_grant(user=assessor, role=Role.MENTOR, program=program)
    mentoring_services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind="assessor",
        context="OSCE",
        starts_on=timezone.localdate() - datetime.timedelta(days=5),
    )
    declined = make_mentor()

    suggestions = preferences.suggested_guides(program, learner)
    assert {s.person.pk for s in suggestions} == {mentor.pk, other_mentor.pk, declined.pk}
    assert {s.room for s in suggestions} == {3}
    assert suggested_ids(program, learner, exclude=frozenset({declined.pk})) == {
        mentor.pk,
        other_mentor.pk,
    }


def test_suggestions_search_names_and_interests(program, learner, mentor, other_mentor):
    profile(mentor, specialty_interests=["Cardiology"])
    profile(other_mentor, research_interests=["Medical education"])
    assert suggested_ids(program, learner, query="kenji") == {mentor.pk}
    assert suggested_ids(program, learner, query="  CARDIO ") == {mentor.pk}
    assert suggested_ids(program, learner, query="education") == {other_mentor.pk}
    assert suggested_ids(program, learner, query="adeyemi") == {other_mentor.pk}
    assert suggested_ids(program, learner, query="dermatology") == set()
    assert suggested_ids(program, learner) == {mentor.pk, other_mentor.pk}


def test_overlap_only_keeps_guides_free_at_a_time_the_learner_is(
    program, learner, mentor, other_mentor, make_mentor
):
    no_profile = make_mentor()
    profile(learner, availability=0b011)  # Monday morning and afternoon
    profile(mentor, availability=0b010)  # Monday afternoon
    profile(other_mentor, availability=1 << 20)  # Sunday evening
    assert suggested_ids(program, learner, overlap_only=True) == {mentor.pk}
    assert suggested_ids(program, learner) == {mentor.pk, other_mentor.pk, no_profile.pk}


def test_reasons_never_show_the_shared_background(client, program, learner, mentor, other_mentor):
    with_weights(program, background=50, specialty=30)
    profile(learner, specialty_interests=["Surgery"], shared_background=["First-generation"])
    profile(mentor, specialty_interests=["surgery"], shared_background=["first-generation"])
    suggestions = preferences.suggested_guides(program, learner)
    top = suggestions[0]
    assert top.person == mentor
    assert top.score == 80  # the background factor counted ...
    assert top.reasons == ["both interested in surgery"]  # ... but is never put in words
    client.force_login(learner)
    page = _html(client.get(reverse("choosing:choose", kwargs={"code": program.code})))
    assert "both interested in surgery" in page
    assert "first-generation" not in page.lower()
    assert "background" not in page.lower()


def test_suggestions_never_use_or_reveal_rankings(program, learner, mentor, other_mentor):
    with_weights(program, ranked_choice=100, guide_preference=100, must_have=["ranked_choice"])
    set_choices(program, learner, [mentor])
    set_choices(program, mentor, [learner], side=GUIDE_SIDE)
    set_choices(program, other_mentor, [learner], side=GUIDE_SIDE)
    guides = preferences.suggested_guides(program, learner)
    # must-have ranked choice would keep only Kenji; suggestions drop it, and both rankings.
    assert {s.person.pk for s in guides} == {mentor.pk, other_mentor.pk}
    assert all(s.score == 0 and s.reasons == [] for s in guides)
    (lucia,) = preferences.suggested_learners(program, mentor)
    assert (lucia.person, lucia.score, lucia.reasons) == (learner, 0, [])


def test_suggested_learners_are_the_unpaired_ones_without_background(
    program, learner, mentor, other_mentor, make_learner
):
    with_weights(program, background=50, specialty=30)
    paired = make_learner()
    mentoring_services.relationship_start(program=program, guide=other_mentor, learner=paired)
    waiting = make_learner("Zora Quint")
    profile(waiting, specialty_interests=["Surgery"], shared_background=["Rural"])
    profile(mentor, specialty_interests=["Surgery"], shared_background=["Rural"])
    suggestions = preferences.suggested_learners(program, mentor)
    assert [s.person.pk for s in suggestions] == [waiting.pk, learner.pk]
    assert suggestions[0].score == 80
    assert suggestions[0].reasons == ["both interested in surgery"]
    assert [s.person for s in preferences.suggested_learners(program, mentor, query="zora")] == [
        waiting
    ]
    assert preferences.suggested_learners(program, learner) == []  # not a guide here


# --- Pages: choose and offer ---------------------------------------------------------------


def choose_url(program) -> str:
    return reverse("choosing:choose", kwargs={"code": program.code})


def offer_url(program) -> str:
    return reverse("choosing:offer", kwargs={"code": program.code})


@pytest.mark.parametrize("member", ["outsider", "program_admin", "mentor", "assessor"])
def test_choose_pages_are_for_the_programs_learners(
    client, request, program, learner, mentor, member
):
    client.force_login(request.getfixturevalue(member))
    assert client.get(choose_url(program)).status_code == 404
    response = client.post(
        reverse("choosing:choice-change", kwargs={"code": program.code}),
        {"person": str(mentor.code), "action": "add"},
    )
    assert response.status_code == 404
    assert not Choice.objects.exists()


@pytest.mark.parametrize("member", ["outsider", "program_admin", "learner", "assessor"])
def test_offer_pages_are_for_the_programs_guides(client, request, program, learner, mentor, member):
    client.force_login(request.getfixturevalue(member))
    assert client.get(offer_url(program)).status_code == 404
    assert client.post(offer_url(program), {"capacity": "5"}).status_code == 404
    response = client.post(
        reverse("choosing:learner-choice-change", kwargs={"code": program.code}),
        {"person": str(learner.code), "action": "add"},
    )
    assert response.status_code == 404
    assert not Choice.objects.exists()
    assert membership_of(program, mentor).capacity == 3


def test_choose_page_offers_ask_in_a_self_match_program(
    client, self_match, learner, mentor, other_mentor
):
    client.force_login(learner)
    page = _html(client.get(choose_url(self_match)))
    for guide in (mentor, other_mentor):
        url = reverse(
            "choosing:request-new", kwargs={"code": self_match.code, "person": guide.code}
        )
        assert f'href="{url}"' in page
        assert f"Ask {guide.get_short_name()}" in page
    assert "Add to my choices" not in page


def test_choose_page_offers_ranking_in_an_administrator_paired_program(
    client, program, learner, mentor
):
    assert program.pairing == Program.Pairing.ADMINISTRATOR
    client.force_login(learner)
    page = _html(client.get(choose_url(program)))
    assert "Kenji Ito" in page
    assert "Add to my choices" in page
    assert "choose/ask/" not in page


def test_adding_a_choice_from_the_page(client, program, learner, mentor, other_mentor):
    client.force_login(learner)
    url = reverse("choosing:choice-change", kwargs={"code": program.code})
    response = client.post(
        url, {"person": str(mentor.code), "action": "add", "return_query": "q=kenji"}
    )
    assert response.status_code == 302
    assert response["Location"] == choose_url(program) + "?q=kenji"
    assert ranks(program, LEARNER_SIDE, learner) == [(mentor.pk, 1)]
    page = client.get(choose_url(program))
    assert "Kenji Ito added to your list." in _messages(page)
    assert "Your choices (1 of 5)" in _html(page)
    assert "On your list" in _html(page)

    program.choices_allowed = 1
    program.save()
    page = client.post(url, {"person": str(other_mentor.code), "action": "add"}, follow=True)
    assert any("your list is full (1)" in m for m in _messages(page))
    assert ranks(program, LEARNER_SIDE, learner) == [(mentor.pk, 1)]
    bad = client.post(url, {"person": str(uuid.uuid4()), "action": "add"})
    assert bad.status_code == 404


def test_a_guide_adds_a_preferred_learner_from_the_offer_page(client, program, learner, mentor):
    client.force_login(mentor)
    page = _html(client.get(offer_url(program)))
    assert "Lucia Garcia" in page and "Add to my list" in page
    response = client.post(
        reverse("choosing:learner-choice-change", kwargs={"code": program.code}),
        {"person": str(learner.code), "action": "add"},
    )
    assert response["Location"] == offer_url(program)
    assert ranks(program, GUIDE_SIDE, mentor) == [(learner.pk, 1)]


def test_offer_page_refuses_capacity_below_the_current_load(
    client, program, learner, mentor, make_learner, term
):
    for person in (learner, make_learner()):
        mentoring_services.relationship_start(program=program, guide=mentor, learner=person)
    client.force_login(mentor)
    response = client.post(offer_url(program), {"capacity": "1", "opt_out_terms": [term.pk]})
    assert response.status_code == 200  # re-rendered with the error, as every form here
    assert "your capacity cannot be lower than that" in _html(response)
    assert membership_of(program, mentor).capacity == 3
    assert not TermOptOut.objects.exists()  # nothing of the form is saved

    response = client.post(offer_url(program), {"capacity": "4", "opt_out_terms": [term.pk]})
    assert response.status_code == 302
    assert membership_of(program, mentor).capacity == 4
    assert TermOptOut.objects.filter(term=term, guide=mentor).exists()
    assert client.post(offer_url(program), {"capacity": "21"}).status_code == 200
    assert membership_of(program, mentor).capacity == 4


@pytest.mark.parametrize(
    ("name", "needs"),
    [
        ("choosing:choice-change", "program"),
        ("choosing:learner-choice-change", "program"),
        ("choosing:request-withdraw", "request"),
        ("choosing:request-accept", "request"),
        ("choosing:request-decline", "request"),
    ],
)
def test_post_only_urls_refuse_get(client, program, learner, mentor, name, needs):
    code = program.code if needs == "program" else uuid.uuid4()
    for person in (learner, mentor):
        client.force_login(person)
        assert client.get(reverse(name, kwargs={"code": code})).status_code == 405


def test_default_weights_count_common_free_times_in_hours(program, learner, mentor, other_mentor):
    # Monday and Tuesday mornings in common (two four-hour parts), with the default weights.
    profile(learner, availability=0b1001001)
    profile(mentor, availability=0b1001)
    profile(other_mentor, availability=0b10)
    found = preferences.suggested_guides(program, learner)
    assert [s.person for s in found] == [mentor, other_mentor]
    assert found[0].reasons == ["8 h of weekly availability in common"]
    assert found[0].score == services.DEFAULT_WEIGHTS["availability"] > 0
    assert found[1].reasons == []


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("q=kenji&overlap=on", "?q=kenji&overlap=on"),
        ("q=a%0d%0aSet-Cookie:+x=1", "?q=a%0D%0ASet-Cookie%3A+x%3D1"),  # no header injection
        ("next=https://evil.test/&q=", ""),  # only the search's own parameters come back
        ("", ""),
    ],
)
def test_the_list_buttons_return_to_the_same_search_and_nothing_else(
    client, program, learner, mentor, sent, kept
):
    client.force_login(learner)
    url = reverse("choosing:choice-change", kwargs={"code": program.code})
    response = client.post(url, {"person": str(mentor.code), "action": "add", "return_query": sent})
    assert response.status_code == 302
    assert response["Location"] == choose_url(program) + kept
