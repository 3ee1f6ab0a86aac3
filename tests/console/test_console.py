"""The administrator's console: scoped to administered programs (R8, R9), rules applied to
manual pairing with the reason shown (R1-R3), queues, bounded queries."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import AssessmentRole, Conflict, Program, Relationship, RematchRequest, Term
from tests.factories import UserFactory

TODAY = timezone.localdate()


def url(name, **kwargs):
    return reverse(f"console:{name}", kwargs=kwargs)


@pytest.fixture
def pair(program, learner, mentor):
    return services.relationship_start(program=program, guide=mentor, learner=learner)


@pytest.fixture
def assessor_in_program(program, assessor, learner):
    """Priya is also a mentor in the program and assesses Lucia this term."""
    membership_grant(user=assessor, role=Role.MENTOR, program=program)
    services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind=AssessmentRole.Kind.ASSESSOR,
        context="Surgery clerkship",
        starts_on=TODAY - datetime.timedelta(days=10),
        ends_on=TODAY + datetime.timedelta(days=60),
    )
    return assessor


# --- The ladder: anonymous, outsider, wrong role, other administrator, right administrator ---


def test_console_ladder_for_program_pages(client, cast, program):
    pages = [
        url("program-detail", code=program.code),
        url("people", code=program.code),
        url("relationships", code=program.code),
        url("conflicts", code=program.code),
        url("quiet", code=program.code),
    ]
    for page in pages:
        client.logout()
        response = client.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
        for name in ("outsider", "learner", "mentor", "dean", "other_admin", "superuser"):
            client.force_login(cast[name])
            assert client.get(page).status_code == 404, (page, name)
        client.force_login(cast["program_admin"])
        assert client.get(page).status_code == 200, page


def test_program_list_shows_only_administered_programs(client, program_admin, other_admin):
    client.force_login(program_admin)
    html = client.get(url("program-list")).content.decode()
    assert "MS1 faculty mentoring" in html and "PGY peer mentoring" not in html


def test_other_administrator_cannot_act_on_a_relationship(client, other_admin, pair):
    client.force_login(other_admin)
    assert client.get(url("relationship-detail", code=pair.code)).status_code == 404
    assert client.post(url("relationship-pause", code=pair.code)).status_code == 404
    pair.refresh_from_db()
    assert pair.status == Relationship.Status.ACTIVE


def test_mutations_refuse_get(client, program_admin, pair):
    client.force_login(program_admin)
    assert client.get(url("relationship-pause", code=pair.code)).status_code == 405


# --- Manual pairing ---------------------------------------------------------------------


def _pair_form(learner, guide, **extra):
    return {"learner": learner.pk, "guide": guide.pk, "started_on": TODAY.isoformat(), **extra}


def test_admin_pairs_a_learner_with_a_mentor(client, program_admin, program, learner, mentor):
    client.force_login(program_admin)
    response = client.post(
        url("relationship-create", code=program.code), _pair_form(learner, mentor)
    )
    relationship = Relationship.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("relationship-detail", code=relationship.code)
    assert relationship.origin == Relationship.Origin.ASSIGNED
    assert relationship.created_by == program_admin


def test_pairing_with_the_learners_assessor_is_refused_with_the_reason(
    client, program_admin, program, learner, assessor_in_program
):
    client.force_login(program_admin)
    response = client.post(
        url("relationship-create", code=program.code), _pair_form(learner, assessor_in_program)
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "R2 Role separation" in html
    assert "Surgery clerkship" in html
    assert Relationship.objects.count() == 0
    # What was typed is kept.
    assert response.context["form"]["guide"].value() == str(assessor_in_program.pk)


def test_pairing_over_capacity_names_the_guide_and_capacity(client, program_admin, program, mentor):
    membership_grant(user=mentor, role=Role.MENTOR, program=program, capacity=1)
    first, second = UserFactory(), UserFactory()
    for person in (first, second):
        membership_grant(user=person, role=Role.LEARNER, program=program)
    client.force_login(program_admin)
    client.post(url("relationship-create", code=program.code), _pair_form(first, mentor))
    response = client.post(
        url("relationship-create", code=program.code), _pair_form(second, mentor)
    )
    assert "R3 Capacity" in response.content.decode()
    assert "capacity of 1" in response.content.decode()
    assert Relationship.objects.count() == 1


def test_pairing_form_offers_only_people_of_the_program(client, program_admin, program, assessor):
    # Priya is a mentor in the other program only.
    client.force_login(program_admin)
    form = client.get(url("relationship-create", code=program.code)).context["form"]
    assert assessor not in form.fields["guide"].queryset


def test_bad_dates_keep_the_form(client, program_admin, program, learner, mentor):
    client.force_login(program_admin)
    response = client.post(
        url("relationship-create", code=program.code),
        _pair_form(learner, mentor, ends_on=(TODAY - datetime.timedelta(days=1)).isoformat()),
    )
    assert response.status_code == 200
    assert "before the start" in response.content.decode()


def test_garbage_input_is_a_form_error_not_a_500(client, program_admin, program):
    client.force_login(program_admin)
    response = client.post(
        url("relationship-create", code=program.code),
        {"learner": "not-a-number", "guide": "", "started_on": "yesterday"},
    )
    assert response.status_code == 200
    assert Relationship.objects.count() == 0


# --- Pause, resume, end -------------------------------------------------------------------


def test_pause_resume_and_end(client, program_admin, pair):
    client.force_login(program_admin)
    client.post(url("relationship-pause", code=pair.code))
    pair.refresh_from_db()
    assert pair.status == "paused"
    client.post(url("relationship-resume", code=pair.code))
    pair.refresh_from_db()
    assert pair.status == "active"
    response = client.post(
        url("relationship-end", code=pair.code),
        {"reason": "completed", "ends_on": TODAY.isoformat()},
    )
    assert response.status_code == 302
    pair.refresh_from_db()
    assert (pair.status, pair.end_reason) == ("ended", "completed")


def test_ending_before_the_start_is_refused_with_a_message(client, program_admin, pair):
    client.force_login(program_admin)
    response = client.post(
        url("relationship-end", code=pair.code),
        {"reason": "completed", "ends_on": (pair.started_on - datetime.timedelta(days=1))},
    )
    assert response.status_code == 200
    assert "cannot end before" in response.content.decode()


def test_pausing_an_ended_relationship_is_a_message_not_a_500(client, program_admin, pair):
    services.relationship_end(relationship=pair, reason="completed")
    client.force_login(program_admin)
    response = client.post(url("relationship-pause", code=pair.code), follow=True)
    assert "only an active relationship can be paused" in response.content.decode()


# --- Conflict queue -----------------------------------------------------------------------


@pytest.fixture
def queued_conflict(program, pair, mentor, learner):
    outcome = services.assessment_role_add(
        assessor=mentor,
        learner=learner,
        kind=AssessmentRole.Kind.SUPERVISOR,
        context="Internal medicine rotation",
        starts_on=TODAY,
    )
    assert outcome.queued
    return outcome.conflicts[0]


def test_conflict_queue_lists_and_resolves_by_ending(client, program_admin, queued_conflict):
    client.force_login(program_admin)
    page = client.get(url("conflicts", code=queued_conflict.program.code))
    assert "Internal medicine rotation" in page.content.decode()
    client.post(url("conflict-resolve", code=queued_conflict.code), {"action": "end_relationship"})
    queued_conflict.refresh_from_db()
    assert queued_conflict.resolution == Conflict.Resolution.ENDED_RELATIONSHIP
    assert queued_conflict.relationship.status == "ended"
    assert queued_conflict.assessment_role.status == AssessmentRole.Status.ACTIVE


def test_conflict_transfer_needs_a_new_guide(client, program_admin, queued_conflict, other_mentor):
    client.force_login(program_admin)
    response = client.post(
        url("conflict-resolve", code=queued_conflict.code), {"action": "transfer"}, follow=True
    )
    assert "Choose the guide" in response.content.decode()
    client.post(
        url("conflict-resolve", code=queued_conflict.code),
        {"action": "transfer", "new_guide": other_mentor.pk},
    )
    queued_conflict.refresh_from_db()
    assert queued_conflict.resolution == Conflict.Resolution.TRANSFERRED
    assert Relationship.objects.current().get().guide == other_mentor


def test_acknowledge_is_refused_for_a_mentor_who_assesses(client, program_admin, queued_conflict):
    client.force_login(program_admin)
    client.post(url("conflict-resolve", code=queued_conflict.code), {"action": "acknowledge"})
    queued_conflict.refresh_from_db()
    assert queued_conflict.status == Conflict.Status.OPEN


def test_other_admin_cannot_resolve(client, other_admin, queued_conflict):
    client.force_login(other_admin)
    response = client.post(
        url("conflict-resolve", code=queued_conflict.code), {"action": "reject_assessment"}
    )
    assert response.status_code == 404
    queued_conflict.refresh_from_db()
    assert queued_conflict.status == Conflict.Status.OPEN


# --- Rematch requests ---------------------------------------------------------------------


def test_admin_sees_the_reason_and_grants_a_rematch(client, program_admin, pair):
    request = services.rematch_request_create(relationship=pair, reason="We never click.")
    client.force_login(program_admin)
    page = client.get(url("rematch-requests", code=pair.program.code))
    assert "We never click." in page.content.decode()
    response = client.post(url("rematch-grant", code=request.code))
    assert response.status_code == 302
    assert f"learner={pair.learner.code}" in response["Location"]
    pair.refresh_from_db()
    assert pair.end_reason == Relationship.EndReason.NO_FAULT_REMATCH
    request.refresh_from_db()
    assert request.status == RematchRequest.Status.REMATCHED
    # The pairing form opens with the learner chosen.
    form = client.get(response["Location"]).context["form"]
    assert form.initial["learner"] == pair.learner.pk


# --- Program settings and terms -----------------------------------------------------------


def test_program_settings_hide_the_advising_choice_for_mentoring(client, program_admin, program):
    client.force_login(program_admin)
    form = client.get(url("program-edit", code=program.code)).context["form"]
    assert "advising_overlap" not in form.fields
    response = client.post(
        url("program-edit", code=program.code),
        {
            "name": program.name,
            "expected_meeting_interval_days": 21,
            "pairing": "self",
            "choices_allowed": 3,
            "request_expiry_days": 5,
            "cancel_notice_hours": 12,
            "agreement_due_days": 10,
            "note_retention_days": 730,
            "assessment_conflict": "refuse",
            "is_active": "on",
            "advising_overlap": "flag",  # ignored: not a field for mentoring
        },
    )
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.expected_meeting_interval_days == 21
    assert program.cancel_notice_hours == 12
    assert (program.agreement_due_days, program.note_retention_days) == (10, 730)
    assert (program.pairing, program.choices_allowed, program.request_expiry_days) == (
        Program.Pairing.SELF,
        3,
        5,
    )
    assert program.advising_overlap == Program.AdvisingOverlap.BLOCK


def test_overlapping_term_is_refused_naming_the_other_term(client, program_admin, program):
    client.force_login(program_admin)
    create = url("term-create", code=program.code)
    client.post(create, {"name": "2026-27", "starts_on": "2026-08-01", "ends_on": "2027-06-30"})
    response = client.post(
        create, {"name": "Spring 2027", "starts_on": "2027-01-10", "ends_on": "2027-05-01"}
    )
    assert response.status_code == 200
    assert "overlap the term 2026-27" in response.content.decode()
    assert program.terms.count() == 1


def test_a_term_is_corrected_with_the_same_checks_as_when_added(
    client, program_admin, program, other_program
):
    client.force_login(program_admin)
    create = url("term-create", code=program.code)
    client.post(create, {"name": "2026-27", "starts_on": "2026-08-01", "ends_on": "2027-06-30"})
    client.post(create, {"name": "2027-28", "starts_on": "2027-08-01", "ends_on": "2028-06-30"})
    term = program.terms.get(name="2026-27")
    edit = url("term-edit", code=program.code, term=term.code)
    assert "Change the term 2026-27" in client.get(edit).content.decode()
    detail = client.get(url("program-detail", code=program.code)).content.decode()
    assert edit in detail

    response = client.post(
        edit, {"name": "2026-27", "starts_on": "2026-08-01", "ends_on": "2027-09-01"}
    )
    page = response.content.decode()
    assert response.status_code == 200 and "overlap the term 2027-28" in page
    assert "2027-09-01" in page  # what was typed stays
    term.refresh_from_db()
    assert term.ends_on.isoformat() == "2027-06-30"

    response = client.post(
        edit, {"name": "2026-27", "starts_on": "2026-08-15", "ends_on": "2027-06-15"}
    )
    assert response.status_code == 302
    term.refresh_from_db()
    assert (term.starts_on.isoformat(), term.ends_on.isoformat()) == ("2026-08-15", "2027-06-15")
    # Another program's term through this program's address: not found.
    theirs = Term.objects.create(
        program=other_program, name="Theirs", starts_on=term.starts_on, ends_on=term.ends_on
    )
    assert client.get(url("term-edit", code=program.code, term=theirs.code)).status_code == 404


# --- People -------------------------------------------------------------------------------


def test_people_search_and_role_filter(client, program_admin, program, learner, mentor):
    client.force_login(program_admin)
    page = client.get(url("people", code=program.code), {"q": "lucia"}).context["page"]
    assert [p.email for p in page.object_list] == [learner.email]
    page = client.get(url("people", code=program.code), {"role": "mentor"}).context["page"]
    assert [p.email for p in page.object_list] == [mentor.email]


def test_person_outside_the_program_is_404(client, program_admin, program, assessor):
    client.force_login(program_admin)
    response = client.get(url("person-detail", code=program.code, person=assessor.code))
    assert response.status_code == 404


@pytest.fixture
def big_program(program, program_admin, mentor):
    """Enough people and relationships to expose an N+1 on any list page."""
    guides = [mentor] + [UserFactory() for _ in range(9)]
    for guide in guides:
        membership_grant(user=guide, role=Role.MENTOR, program=program, capacity=10)
    for index in range(60):
        person = UserFactory()
        membership_grant(user=person, role=Role.LEARNER, program=program)
        relationship = services.relationship_start(
            program=program,
            guide=guides[index % len(guides)],
            learner=person,
            started_on=TODAY - datetime.timedelta(days=90),
        )
        if index % 6 == 0:
            services.rematch_request_create(relationship=relationship, reason="x")
        if index % 5 == 0:
            services.assessment_role_add(
                assessor=guides[index % len(guides)],
                learner=person,
                kind="assessor",
                context="OSCE",
                starts_on=TODAY,
            )
    return program


@pytest.mark.parametrize(
    "name",
    [
        "program-list",
        "program-detail",
        "people",
        "relationships",
        "quiet",
        "conflicts",
        "rematch-requests",
        "assessments",
    ],
)
def test_list_pages_run_a_bounded_number_of_queries(
    client, program_admin, big_program, name, django_assert_max_num_queries
):
    client.force_login(program_admin)
    target = url(name) if name == "program-list" else url(name, code=big_program.code)
    # About ten queries whatever the size: session, user, roles, MFA, the nav's privacy
    # officer check, program, the page's own queries. With 60 relationships and 12
    # conflicts, an N+1 would exceed this.
    with django_assert_max_num_queries(15):
        response = client.get(target)
    assert response.status_code == 200


def test_invite_emails_a_set_password_link(
    client,
    program_admin,
    program,
    learner,
    eager_tasks,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    client.force_login(program_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("person-invite", code=program.code, person=learner.code))
    assert response.status_code == 302
    assert [m.to for m in mailoutbox] == [[learner.email]]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    learner.refresh_from_db()
    assert learner.invited_at is not None
