"""Fixtures of the participants' side of matching (preferences and self-match)."""

from __future__ import annotations

import datetime
import functools

import pytest
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring.models import Program, Term
from notify import outbox
from notify.models import OutboxEmail
from tests.factories import UserFactory


@pytest.fixture
def term(program):
    """The program's term running today: its matching term."""
    today = timezone.localdate()
    return Term.objects.create(
        program=program,
        name="This year",
        starts_on=today - datetime.timedelta(days=30),
        ends_on=today + datetime.timedelta(days=300),
    )


@pytest.fixture
def self_match(program):
    """The cast's program, switched to self-match (learners ask, guides answer)."""
    program.pairing = Program.Pairing.SELF
    program.save(update_fields=["pairing"])
    return program


@pytest.fixture
def make_learner(program):
    def make(full_name: str | None = None, target=None):
        person = UserFactory(**({"full_name": full_name} if full_name else {}))
        membership_grant(user=person, role=Role.LEARNER, program=target or program)
        return person

    return make


@pytest.fixture
def make_mentor(program):
    def make(full_name: str | None = None, capacity: int | None = None, target=None):
        person = UserFactory(**({"full_name": full_name} if full_name else {}))
        membership_grant(
            user=person, role=Role.MENTOR, program=target or program, capacity=capacity
        )
        return person

    return make


def queued_notifications(callbacks) -> list[tuple[int, str]]:
    """(request id, event) of every match-request email queued through the outbox whose send
    is published on commit, in order."""
    ids = [
        cb.args[0]
        for cb in callbacks
        if isinstance(cb, functools.partial) and cb.func is outbox._publish
    ]
    rows = OutboxEmail.objects.in_bulk(ids)
    return [
        (rows[pk].params["request"], rows[pk].params["event"])
        for pk in ids
        if rows[pk].kind == "match-request"
    ]


@pytest.fixture
def notifications():
    return queued_notifications
