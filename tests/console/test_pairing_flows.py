"""The administrator's pairing flows: granting a rematch is a confirmation that says who has a
place left (and lets the administrator choose the new guide), the pairing and transfer forms
offer only the choices the rules allow (the others disabled, with why), a refused conflict
resolution keeps what was chosen, and the term defaults to the program's."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import AssessmentRole, Conflict, Program, Relationship, RematchRequest, Term
from mentoring.rules import RuleViolation
from tests.factories import UserFactory

TODAY = timezone.localdate()


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs=kwargs)


def capacity(program, guide, places: int) -> None:
    Membership.objects.filter(program=program, user=guide, role=Role.MENTOR).update(capacity=places)


def option(page: str, value) -> str:
    """The <option> tag of `value` in the page (the first one)."""
    found = re.search(rf'<option value="{value}"[^>]*>[^<]*</option>', page)
    assert found, f"no option {value}"
    return found.group(0)


@pytest.fixture
def rematch(program, learner, mentor):
    relationship = services.relationship_start(program=program, guide=mentor, learner=learner)
    return services.rematch_request_create(relationship=relationship, reason="Schedules clash.")


# --- Granting a rematch: a confirmation, then the deed ------------------------------------


def test_the_grant_page_says_what_happens_and_who_has_room_and_changes_nothing(
    client, program_admin, program, rematch, mentor, other_mentor
):
    capacity(program, other_mentor, 2)
    client.force_login(program_admin)
    response = client.get(url("rematch-grant", code=rematch.code))
    page = response.content.decode()
    assert response.status_code == 200
    assert "ends today, recorded as a no-fault rematch" in page
    assert "Funmi Adeyemi: 2 places left" in page
    assert "2 places left" in option(page, other_mentor.pk)
    assert "disabled" not in option(page, other_mentor.pk)
    # The guide she leaves is not a choice.
    assert f'<option value="{mentor.pk}"' not in page
    assert "Grant the rematch" in page
    rematch.refresh_from_db()
    assert rematch.status == RematchRequest.Status.OPEN
    assert rematch.relationship.status == Relationship.Status.ACTIVE
    # The list of requests leads to the confirmation, not straight to the deed.
    listing = client.get(url("rematch-requests", code=program.code)).content.decode()
    assert f'href="{url("rematch-grant", code=rematch.code)}"' in listing
    assert 'method="post"' not in listing.split("<main")[-1].split("</main>")[0]


def test_granting_with_a_new_guide_pairs_the_learner_at_once(
    client, program_admin, program, rematch, learner, other_mentor
):
    capacity(program, other_mentor, 2)
    term = Term.objects.create(
        program=program,
        name="This year",
        starts_on=TODAY - datetime.timedelta(days=10),
        ends_on=TODAY + datetime.timedelta(days=200),
    )
    client.force_login(program_admin)
    response = client.post(url("rematch-grant", code=rematch.code), {"new_guide": other_mentor.pk})
    new = Relationship.objects.current().get(learner=learner)
    assert response["Location"] == url("relationship-detail", code=new.code)
    assert (new.guide, new.term, new.origin) == (other_mentor, term, Relationship.Origin.ASSIGNED)
    rematch.refresh_from_db()
    assert rematch.status == RematchRequest.Status.REMATCHED
    assert rematch.relationship.end_reason == Relationship.EndReason.NO_FAULT_REMATCH
    page = client.get(response["Location"]).content.decode()
    assert "is now paired with Funmi Adeyemi" in page


def test_when_nobody_has_room_the_page_says_so_and_what_becomes_of_the_learner(
    client, program_admin, program, rematch, learner, other_mentor
):
    capacity(program, other_mentor, 0)
    client.force_login(program_admin)
    page = client.get(url("rematch-grant", code=rematch.code)).content.decode()
    assert "No other mentor in MS1 faculty mentoring has a place left for Lucia Garcia" in page
    assert "stays without a mentor until a place opens" in page
    assert url("people", code=program.code) in page
    assert "End without fault; pair later" in page
    response = client.post(url("rematch-grant", code=rematch.code))
    assert f"learner={learner.code}" in response["Location"]
    assert not Relationship.objects.current().filter(learner=learner).exists()
    # The pairing form that follows does not offer the mentor she left.
    page = client.get(response["Location"]).content.decode()
    left = option(page, rematch.relationship.guide_id)
    assert "disabled" in left and "asked to leave them" in left


def test_a_refused_new_guide_changes_nothing_and_keeps_the_choice(
    client, program_admin, program, rematch, learner, mentor, other_mentor
):
    capacity(program, other_mentor, 0)
    client.force_login(program_admin)
    # Chosen on a page opened before Funmi's last place went: the rules refuse.
    response = client.post(url("rematch-grant", code=rematch.code), {"new_guide": other_mentor.pk})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'class="error-summary"' in page
    assert "Funmi Adeyemi already has 0 current relationships" in page
    assert "selected" in option(page, other_mentor.pk)
    rematch.refresh_from_db()
    assert rematch.status == RematchRequest.Status.OPEN
    assert Relationship.objects.current().get(learner=learner).guide == mentor


def test_in_a_self_match_program_the_learner_chooses(
    client, program_admin, program, rematch, learner, other_mentor
):
    program.pairing = Program.Pairing.SELF
    program.save(update_fields=["pairing"])
    capacity(program, other_mentor, 1)
    client.force_login(program_admin)
    page = client.get(url("rematch-grant", code=rematch.code)).content.decode()
    assert "<select" not in page
    assert "asks a new mentor from their own page" in page
    response = client.post(url("rematch-grant", code=rematch.code), {"new_guide": other_mentor.pk})
    assert response["Location"] == url("rematch-requests", code=program.code)
    assert not Relationship.objects.current().filter(learner=learner).exists()


def test_an_answered_request_leads_back_to_the_list(client, program_admin, program, rematch):
    services.rematch_request_grant(request=rematch, by=program_admin)
    client.force_login(program_admin)
    response = client.get(url("rematch-grant", code=rematch.code), follow=True)
    assert "already been answered" in response.content.decode()


def test_other_admin_gets_404_on_the_grant_page(client, other_admin, rematch):
    client.force_login(other_admin)
    assert client.get(url("rematch-grant", code=rematch.code)).status_code == 404


def test_the_service_pairs_with_the_new_guide_or_does_nothing(
    program, program_admin, rematch, learner, mentor, other_mentor
):
    with pytest.raises(RuleViolation, match="asked to leave"):
        services.rematch_request_grant(request=rematch, by=program_admin, new_guide=mentor)
    capacity(program, other_mentor, 0)
    with pytest.raises(RuleViolation) as refused:
        services.rematch_request_grant(request=rematch, by=program_admin, new_guide=other_mentor)
    assert refused.value.rule == "R3"
    rematch.refresh_from_db()
    assert rematch.status == RematchRequest.Status.OPEN
    assert Relationship.objects.current().get(learner=learner).guide == mentor
    capacity(program, other_mentor, 1)
    services.rematch_request_grant(request=rematch, by=program_admin, new_guide=other_mentor)
    assert Relationship.objects.current().get(learner=learner).guide == other_mentor


# --- The pairing form offers what can succeed ----------------------------------------------


def test_the_pairing_form_lists_unpaired_learners_and_disables_full_guides(
    client, program_admin, program, learner, mentor, other_mentor
):
    capacity(program, mentor, 1)
    capacity(program, other_mentor, 3)
    paired = UserFactory(full_name="Paula Paired")
    membership_grant(user=paired, role=Role.LEARNER, program=program)
    services.relationship_start(program=program, guide=mentor, learner=paired)
    term = Term.objects.create(
        program=program,
        name="Only term",
        starts_on=TODAY - datetime.timedelta(days=10),
        ends_on=TODAY + datetime.timedelta(days=200),
    )
    client.force_login(program_admin)
    response = client.get(url("relationship-create", code=program.code))
    form = response.context["form"]
    assert list(form.fields["learner"].queryset) == [learner]
    assert form.fields["term"].initial == term
    page = response.content.decode()
    assert "Paula Paired" not in page
    full = option(page, mentor.pk)
    assert "disabled" in full and "no place left (1 of 1 taken)" in full
    room = option(page, other_mentor.pk)
    assert "disabled" not in room and "3 places left" in room
    assert re.search(rf'<option value="{term.pk}" selected>', page)
    # A learner paired since the page opened is refused in words, with the form kept.
    response = client.post(
        url("relationship-create", code=program.code),
        {"learner": paired.pk, "guide": other_mentor.pk, "started_on": TODAY.isoformat()},
    )
    assert "cannot be paired now" in response.content.decode()
    assert not Relationship.objects.filter(learner=paired, guide=other_mentor).exists()


# --- Conflict resolution keeps the choices on a refusal -----------------------------------


@pytest.fixture
def queued_conflict(program, learner, mentor):
    services.relationship_start(program=program, guide=mentor, learner=learner)
    outcome = services.assessment_role_add(
        assessor=mentor,
        learner=learner,
        kind=AssessmentRole.Kind.SUPERVISOR,
        context="Internal medicine rotation",
        starts_on=TODAY,
    )
    return outcome.conflicts[0]


def test_transfer_choices_disable_full_guides_and_assessors(
    client, program_admin, program, queued_conflict, learner, other_mentor, assessor
):
    membership_grant(user=assessor, role=Role.MENTOR, program=program)
    services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind=AssessmentRole.Kind.ASSESSOR,
        context="OSCE",
        starts_on=TODAY + datetime.timedelta(days=400),
    )
    capacity(program, other_mentor, 0)
    client.force_login(program_admin)
    page = client.get(url("conflicts", code=program.code)).content.decode()
    full = option(page, other_mentor.pk)
    assert "disabled" in full and "no place left" in full
    # Priya's role starts in a year: pairing today would still overlap it, open-ended (R2).
    assert "assesses this learner" in option(page, assessor.pk)


def test_a_refused_transfer_keeps_the_choices_and_puts_the_error_on_top(
    client, program_admin, program, queued_conflict, learner, mentor, other_mentor
):
    capacity(program, other_mentor, 0)
    client.force_login(program_admin)
    response = client.post(
        url("conflict-resolve", code=queued_conflict.code),
        {"action": "transfer", "new_guide": other_mentor.pk},
    )
    page = response.content.decode()
    assert response.status_code == 422
    summary = page.index('id="resolve-errors"')
    assert summary < page.index(f'id="conflict-{queued_conflict.code}"')
    assert "Funmi Adeyemi already has 0 current relationships" in page[summary:]
    assert re.search(r'<input type="radio" name="action" value="transfer"[^>]*checked', page)
    assert "selected" in option(page, other_mentor.pk)
    queued_conflict.refresh_from_db()
    assert queued_conflict.status == Conflict.Status.OPEN
    assert Relationship.objects.current().get(learner=learner).guide == mentor


# --- Ways on after an action ----------------------------------------------------------------


def test_an_ended_relationship_offers_to_pair_the_learner_again(
    client, program_admin, program, learner, mentor, other_mentor
):
    relationship = services.relationship_start(program=program, guide=mentor, learner=learner)
    services.relationship_end(relationship=relationship, reason=Relationship.EndReason.COMPLETED)
    client.force_login(program_admin)
    detail = url("relationship-detail", code=relationship.code)
    again = f"{url('relationship-create', code=program.code)}?learner={learner.code}"
    assert again in client.get(detail).content.decode()
    services.relationship_start(program=program, guide=other_mentor, learner=learner)
    assert again not in client.get(detail).content.decode()  # paired again since


def test_a_relationship_with_an_open_rematch_request_links_to_the_decision(
    client, program_admin, rematch
):
    client.force_login(program_admin)
    page = client.get(url("relationship-detail", code=rematch.relationship.code)).content.decode()
    assert url("rematch-grant", code=rematch.code) in page
