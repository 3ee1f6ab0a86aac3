"""Parity: every can_* answer equals membership in the QuerySet it delegates to, for every
member of the cast and every object of the world (STYLE.md: the QuerySet is the truth)."""

from __future__ import annotations

from mentoring import permissions
from mentoring.models import Conflict, Program, Relationship, RematchRequest
from tests.authz_matrix import SIGNED_IN
from tests.test_authorization_matrix import world  # noqa: F401 - the shared fixture


def test_can_functions_agree_with_their_querysets(world, other_program):  # noqa: F811
    relationships = list(Relationship.objects.all())
    programs = list(Program.objects.all())
    assert len(relationships) >= 3 and len(programs) == 2
    for name in SIGNED_IN:
        user = world.cast[name]
        visible = set(Relationship.objects.visible_to(user))
        administered = set(Relationship.objects.administered_by(user))
        own = set(Relationship.objects.for_participant(user))
        assert visible == own | administered, name
        for relationship in relationships:
            assert permissions.can_view_relationship(user, relationship) == (
                relationship in visible
            ), (name, relationship)
            assert permissions.can_administer_relationship(user, relationship) == (
                relationship in administered
            ), (name, relationship)
            assert permissions.can_participate_in_relationship(user, relationship) == (
                relationship in own
            ), (name, relationship)
        for program in programs:
            assert permissions.can_administer_program(user, program) == (
                program in set(Program.objects.administered_by(user))
            ), (name, program)


def test_who_sees_what_in_the_world(world):  # noqa: F811
    cast = world.cast
    pair = world.pair
    assert set(Relationship.objects.visible_to(cast["learner"])) == {pair}
    assert pair in Relationship.objects.visible_to(cast["mentor"])
    for name in ("outsider", "dean", "superuser", "other_admin", "assessor"):
        assert not Relationship.objects.visible_to(cast[name]).exists(), name
    admin = cast["program_admin"]
    assert set(Relationship.objects.administered_by(admin)) == set(
        Relationship.objects.filter(program=world.program)
    )
    assert set(Conflict.objects.administered_by(admin)) == {world.conflict}
    assert set(RematchRequest.objects.administered_by(admin)) == {world.rematch}
    assert not Conflict.objects.administered_by(cast["other_admin"]).exists()
    assert not RematchRequest.objects.administered_by(cast["superuser"]).exists()
