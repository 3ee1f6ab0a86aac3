"""The home page shows one section per role a person holds, with bounded queries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import membership_grant
from tests.conftest import give_mfa
from tests.factories import ProgramFactory, UserFactory

HOME = "/"


def _sections(response) -> set[str]:
    html = response.content.decode()
    names = {
        "learning": 'id="learning"',
        "guiding": 'id="guiding"',
        "programs": 'id="programs"',
        "institution": 'id="institution"',
        "no_role": 'id="no-role-heading"',
    }
    return {name for name, marker in names.items() if marker in html}


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("learner", {"learning"}),
        ("mentor", {"guiding"}),
        ("program_admin", {"programs"}),
        ("dean", {"institution"}),
        ("outsider", {"no_role"}),
    ],
)
def test_home_shows_the_sections_of_each_role(client, cast, member, expected):
    client.force_login(cast[member])
    response = client.get(HOME)
    assert response.status_code == 200
    assert _sections(response) == expected


def test_person_with_two_roles_sees_both_sections(client, learner, other_program):
    membership_grant(user=learner, role=Role.MENTOR, program=other_program)
    give_mfa(learner)
    client.force_login(learner)
    assert _sections(client.get(HOME)) == {"learning", "guiding"}


def test_program_admin_sees_only_the_programs_they_administer(
    client, program_admin, other_admin, learner
):
    client.force_login(program_admin)
    html = client.get(HOME).content.decode()
    assert "MS1 faculty mentoring" in html
    assert "PGY peer mentoring" not in html


def test_admin_counts_learners_and_guides_once_each(
    client, program_admin, program, learner, mentor, other_mentor
):
    # A guide holding two guide roles in one program still counts once.
    membership_grant(user=mentor, role=Role.COACH, program=program)
    client.force_login(program_admin)
    response = client.get(HOME)
    programs = response.context["administered"]
    assert [(p.name, p.learners, p.guides) for p in programs] == [("MS1 faculty mentoring", 1, 2)]


def test_superuser_without_program_grant_sees_no_program(client, superuser, program):
    client.force_login(superuser)
    assert "programs" not in _sections(client.get(HOME))


def test_dean_sees_counts_never_names(client, dean, learner, mentor):
    client.force_login(dean)
    response = client.get(HOME)
    assert response.context["institution"] == {"programs": 1, "learners": 1, "guides": 1}
    assert learner.full_name not in response.content.decode()


def test_home_queries_do_not_grow_with_programs(client, django_assert_max_num_queries, db):
    user = UserFactory()
    membership_grant(user=user, role=Role.DEAN)

    give_mfa(user)
    for index in range(15):
        program = ProgramFactory(name=f"Scale program {index}")
        for role in (Role.LEARNER, Role.PROGRAM_ADMIN):
            membership_grant(user=user, role=role, program=program)
        for _ in range(3):
            membership_grant(user=UserFactory(), role=Role.LEARNER, program=program)
    client.force_login(user)
    # Constant whatever the number of programs: the to-do lists add a fixed few per role.
    with django_assert_max_num_queries(30):
        response = client.get(HOME)
    assert response.status_code == 200
    assert len(response.context["administered"]) == 15


def test_navigation_is_role_aware(client, cast):
    client.force_login(cast["learner"])
    learner_nav = [item.label for item in client.get(HOME).context["nav"]["items"]]
    client.force_login(cast["program_admin"])
    admin_nav = [item.label for item in client.get(HOME).context["nav"]["items"]]
    assert "Programs" in admin_nav and "Programs" not in learner_nav


def test_pages_carry_a_content_security_policy(client, learner):
    client.force_login(learner)
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


def test_home_counts_say_they_are_today_s_unlike_the_dashboard_s_year(
    client, dean, program_admin, learner
):
    """The home page counts today's members; a dashboard counts everyone in school or in the
    program during the academic year, leavers included (13 there, 12 here, once). Each says
    which it is."""
    client.force_login(dean)
    html = client.get(HOME).content.decode()
    assert "<dt>Learners in a program today</dt><dd>1</dd>" in html
    assert "those who have left since included" in html
    client.force_login(program_admin)
    html = client.get(HOME).content.decode()
    assert "Learners today</th>" in html
    assert "those who have left since included" in html
