"""The match review's guide-load filter: a guide's load is their current relationships in the
program plus the run's proposed and locked pairs, against their capacity; the filter keeps the
proposals of the guides that pass, with the other filters and across pages, in a bounded number
of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Membership, Role
from accounts.services import membership_grant
from matching import services
from matching.models import MatchRun, Proposal
from mentoring import services as mentoring_services
from mentoring.models import Relationship
from tests.factories import UserFactory

PROPOSED, LOCKED, REJECTED, UNMATCHED = (
    Proposal.State.PROPOSED,
    Proposal.State.LOCKED,
    Proposal.State.REJECTED,
    Proposal.State.UNMATCHED,
)


def make_learners(program, count, prefix="Learner"):
    people = []
    for i in range(count):
        person = UserFactory(full_name=f"{prefix} {i:02d}")
        membership_grant(user=person, role=Role.LEARNER, program=program)
        people.append(person)
    return people


@pytest.fixture
def review(program, program_admin, mentor, other_mentor):
    """Kenji (capacity 3) already guides one learner and this run proposes one more and locks a
    third: 3 of 3, full. Funmi (capacity 5) gets one proposal: 1 of 5. Each also has a rejected
    pair (no place taken), and one learner is not matched."""
    Membership.objects.filter(user=mentor, program=program).update(capacity=3)
    Membership.objects.filter(user=other_mentor, program=program).update(capacity=5)
    already, *learners = make_learners(program, 7)
    mentoring_services.relationship_start(program=program, guide=mentor, learner=already)
    run = MatchRun.objects.create(
        program=program, run_by=program_admin, status=MatchRun.Status.DONE
    )
    pairs = {
        "kenji_proposed": (mentor, PROPOSED, 90),
        "kenji_locked": (mentor, LOCKED, 80),
        "kenji_rejected": (mentor, REJECTED, 70),
        "funmi_proposed": (other_mentor, PROPOSED, 60),
        "funmi_rejected": (other_mentor, REJECTED, 50),
        "nobody": (None, UNMATCHED, 0),
    }
    learner_of = {}
    for person, (key, (guide, state, score)) in zip(learners, pairs.items(), strict=False):
        Proposal.objects.create(run=run, learner=person, guide=guide, state=state, score=score)
        learner_of[key] = person.pk
    return run, learner_of


def shown(client, run, **params):
    response = client.get(reverse("matching:run", kwargs={"code": run.code}), params)
    assert response.status_code == 200
    return response, {p.learner_id for p in response.context["page"].object_list}


def ids(learner_of, *keys):
    return {learner_of[k] for k in keys}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ("kenji_proposed", "kenji_locked", "kenji_rejected", "funmi_proposed",
              "funmi_rejected", "nobody")),
        ({"load": ""}, ("kenji_proposed", "kenji_locked", "kenji_rejected", "funmi_proposed",
                        "funmi_rejected", "nobody")),
        ({"load": "full"}, ("kenji_proposed", "kenji_locked", "kenji_rejected")),
        ({"load": "room"}, ("funmi_proposed", "funmi_rejected")),
        ({"min_load": 1}, ("kenji_proposed", "kenji_locked", "kenji_rejected", "funmi_proposed",
                           "funmi_rejected")),
        ({"min_load": 3}, ("kenji_proposed", "kenji_locked", "kenji_rejected")),
        ({"min_load": 4}, ()),
        ({"load": "room", "min_load": 1}, ("funmi_proposed", "funmi_rejected")),
        ({"load": "room", "min_load": 2}, ()),
        ({"load": "full", "state": "proposed"}, ("kenji_proposed",)),
        ({"load": "full", "state": "locked"}, ("kenji_locked",)),
        ({"load": "room", "state": "rejected"}, ("funmi_rejected",)),
        ({"load": "full", "state": "unmatched"}, ()),
        ({"load": "room", "q": "Funmi"}, ("funmi_proposed", "funmi_rejected")),
        ({"load": "full", "below": 85}, ("kenji_locked", "kenji_rejected")),
    ],
)  # fmt: skip
def test_each_guide_load_choice_shows_exactly_its_learners(
    client, program_admin, review, params, expected
):
    run, learner_of = review
    client.force_login(program_admin)
    response, learners = shown(client, run, **params)
    assert learners == ids(learner_of, *expected)
    assert response.context["page"].paginator.count == len(expected)


def test_the_current_relationship_counts_towards_the_load(
    client, program, program_admin, review, mentor
):
    run, learner_of = review
    # Without Kenji's current relationship he would have a place left after this run.
    mentoring_services.relationship_end(
        relationship=Relationship.objects.get(program=program, guide=mentor),
        reason=Relationship.EndReason.COMPLETED,
    )
    client.force_login(program_admin)
    _, learners = shown(client, run, load="room")
    assert learners == ids(
        learner_of,
        "kenji_proposed",
        "kenji_locked",
        "kenji_rejected",
        "funmi_proposed",
        "funmi_rejected",
    )
    _, learners = shown(client, run, load="full")
    assert learners == set()


def test_loads_panel_and_hand_assign_choices_use_the_same_loads(
    client, program_admin, review, other_mentor
):
    run, _ = review
    client.force_login(program_admin)
    response, _ = shown(client, run)
    content = response.content.decode()
    assert "Kenji Ito: 3 of 3 (2 in this run), full" in content
    assert "Funmi Adeyemi: 1 of 5 (1 in this run)</li>" in content
    # The guides offered for the unmatched learner are the service's guides with room.
    assert response.context["guides_with_room"] == services.guides_with_room(run)
    assert response.context["guides_with_room"] == [(other_mentor.pk, "Funmi Adeyemi", 4)]
    assert "Funmi Adeyemi (4 places left)" in content


def test_the_filter_is_labelled_and_kept_in_the_pagination_links(
    client, program_admin, review, monkeypatch
):
    run, learner_of = review
    monkeypatch.setattr("matching.views.PAGE_SIZE", 2)
    client.force_login(program_admin)
    response, first = shown(client, run, load="full", state="")
    content = response.content.decode()
    assert '<label for="id_load">Mentor load</label>' in content
    assert '<label for="id_min_load">Mentor&#x27;s learners at least</label>' in content
    assert '<option value="full" selected>Mentors this run fills to capacity</option>' in content
    assert "load=full&amp;" in content and "page=2" in content
    _, second = shown(client, run, load="full", state="", page=2)
    assert first | second == ids(learner_of, "kenji_proposed", "kenji_locked", "kenji_rejected")
    assert len(first) == 2 and len(second) == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"load": "nonsense"}, "load"),
        ({"min_load": "-3"}, "min_load"),
        ({"min_load": "0"}, "min_load"),
        ({"min_load": "lots"}, "min_load"),
        ({"min_load": "99999999999999999999"}, "min_load"),
        ({"load": "full", "min_load": "-1", "state": "proposed"}, "min_load"),
    ],
)
def test_bad_filter_input_shows_the_error_and_the_unfiltered_list(
    client, program_admin, review, params, field
):
    run, learner_of = review
    client.force_login(program_admin)
    response, learners = shown(client, run, **params)
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert learners == set(learner_of.values())  # no filter applied, not a 500
    content = response.content.decode()
    assert "The filters were not applied" in content
    assert f'id="id_{field}_error"' in content
    assert f'aria-describedby="id_{field}_error"' in content and 'aria-invalid="true"' in content


def make_run(program, admin, guides, size, tag):
    """A run of `size` learners spread over `guides`, with every state, one in five unmatched."""
    run = MatchRun.objects.create(program=program, run_by=admin, status=MatchRun.Status.DONE)
    states = [PROPOSED, LOCKED, REJECTED, PROPOSED, UNMATCHED]
    for i, person in enumerate(make_learners(program, size, prefix=f"{tag} learner")):
        state = states[i % len(states)]
        guide = None if state == UNMATCHED else guides[i % len(guides)]
        Proposal.objects.create(run=run, learner=person, guide=guide, state=state, score=i)
    return run


@pytest.mark.parametrize("params", [{}, {"load": "full"}, {"load": "room", "min_load": "2"}])
def test_queries_do_not_grow_with_the_number_of_proposals(
    client, program, program_admin, mentor, other_mentor, params
):
    # Kenji (capacity 1) is full in both runs, Funmi (capacity 30) has room in both: every
    # filter keeps some proposals of each run, so both take the same path.
    Membership.objects.filter(user=mentor, program=program).update(capacity=1)
    Membership.objects.filter(user=other_mentor, program=program).update(capacity=30)
    guides = [mentor, other_mentor]
    small = make_run(program, program_admin, guides, 5, "Small")
    large = make_run(program, program_admin, guides, 30, "Large")
    client.force_login(program_admin)
    counts, shown_rows = {}, {}
    for run in (small, large):
        url = reverse("matching:run", kwargs={"code": run.code})
        client.get(url, params)  # warm the per-process caches (content types, session)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200
        counts[run.pk] = len(queries)
        shown_rows[run.pk] = len(response.context["page"].object_list)
    assert 0 < shown_rows[small.pk] < shown_rows[large.pk]
    assert counts[large.pk] == counts[small.pk], counts
