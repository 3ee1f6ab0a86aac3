"""Roles are held per program (dean institution-wide); administrators are scoped by an object
grant on the program (R9)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.models import Membership, Role, User
from accounts.permissions import roles_of
from accounts.services import membership_end, membership_grant, user_create
from mentoring.models import Program
from tests.factories import UserFactory


def test_dean_is_institution_wide_in_the_database(db, program):
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.DEAN, program=program)


def test_program_roles_need_a_program_in_the_database(db):
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.MENTOR, program=None)


def test_unknown_role_is_refused_by_the_database(db, program):
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role="superhero", program=program)


def test_a_role_is_held_once_per_program(db, program):
    user = UserFactory()
    Membership.objects.create(user=user, role=Role.MENTOR, program=program)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.MENTOR, program=program)


def test_dean_role_is_held_once(db):
    user = UserFactory()
    Membership.objects.create(user=user, role=Role.DEAN)
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, role=Role.DEAN)


def test_grant_service_refuses_a_dean_in_a_program_with_a_clear_message(db, program):
    with pytest.raises(ValidationError) as excinfo:
        membership_grant(user=UserFactory(), role=Role.DEAN, program=program)
    assert "membership_program_matches_role" in str(excinfo.value)


def test_grant_is_idempotent_and_reopens_an_ended_membership(db, program):
    user = UserFactory()
    first = membership_grant(user=user, role=Role.MENTOR, program=program)
    membership_end(membership=first)
    assert Role.MENTOR not in roles_of(user)
    again = membership_grant(user=user, role=Role.MENTOR, program=program)
    assert again.pk == first.pk
    assert again.ended_at is None
    assert roles_of(User.objects.get(pk=user.pk)) == {Role.MENTOR}


def test_program_admin_grant_is_scoped_to_their_program(
    program_admin, other_admin, program, other_program
):
    assert list(Program.objects.administered_by(program_admin)) == [program]
    assert list(Program.objects.administered_by(other_admin)) == [other_program]
    assert program_admin.has_perm("mentoring.administer_program", program)
    assert not program_admin.has_perm("mentoring.administer_program", other_program)


def test_ending_the_admin_role_removes_the_grant(program_admin, program):
    membership = Membership.objects.get(user=program_admin, role=Role.PROGRAM_ADMIN)
    membership_end(membership=membership)
    fresh = User.objects.get(pk=program_admin.pk)
    assert list(Program.objects.administered_by(fresh)) == []
    assert not fresh.has_perm("mentoring.administer_program", program)


def test_no_role_implies_program_access(cast, program, other_program):
    # R9: superuser, dean, mentor, learner: none administers a program without the grant.
    for name in ("superuser", "dean", "mentor", "learner", "outsider", "assessor"):
        assert list(Program.objects.administered_by(cast[name])) == [], name


def test_user_create_lowercases_email_and_records_a_verified_address(db):
    user = user_create(email="New.Person@School.TEST", full_name="New Person")
    assert user.email == "new.person@school.test"
    address = user.emailaddress_set.get()
    assert address.verified and address.primary
    assert not user.has_usable_password()


def test_email_is_unique_whatever_its_case(db):
    user_create(email="same@school.test", full_name="One")
    with pytest.raises((IntegrityError, ValidationError)), transaction.atomic():
        User.objects.create_user(email="SAME@school.test", full_name="Two")


@pytest.mark.parametrize(
    ("full_name", "short"),
    [
        ("Amina Yusuf", "Amina"),
        ("Dr. Amina Yusuf", "Amina"),
        ("Prof Dr. Wei Chen", "Wei"),
        ("Dr.", "Dr."),  # nothing else to call them
        ("  Ms   Lena Fischer ", "Lena"),
        ("Drake Bell", "Drake"),
    ],
)
def test_short_name_skips_a_title(full_name, short):
    assert User(email="x@school.test", full_name=full_name).get_short_name() == short
    assert User(email="x@school.test", full_name="").get_short_name() == "x@school.test"
