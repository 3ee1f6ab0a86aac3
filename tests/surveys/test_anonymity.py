"""R6: no database path from a response to its respondent. The schema of Response and Answer
(models and the real tables) has no key, token, person or time that leads back; the rows
written for one respondent share nothing with their invitation but the campaign (and, for a
learner's answer about a relationship, the guide it is about); ids are random, so there is
no order to match; the two are written in separate transactions; nothing is logged."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.apps import apps
from django.db import connection, models
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import membership_grant
from mentoring import services as mentoring_services
from surveys import answering
from surveys.models import (
    Answer,
    Campaign,
    Invitation,
    InvitationDelivery,
    InvitationDraft,
    Question,
    Response,
)
from tests.factories import UserFactory
from tests.surveys.survey_helpers import LEARNER_END_ANSWERS, answer_url, invite, open_campaign

# The only foreign keys a response and an answer may hold, and why each is harmless:
ALLOWED_KEYS = {
    (Response, "campaign"): Campaign,  # every invitee of the campaign shares it
    (Response, "about_guide"): User,  # the guide a learner's answer is about (shown >= minimum)
    (Answer, "response"): Response,
    (Answer, "question"): Question,
}
ALLOWED_COLUMNS = {
    Response: {
        "id",
        "campaign_id",
        "audience",
        "relationship_kind",
        "formal",
        "peer",
        "about_guide_id",
    },
    Answer: {"id", "response_id", "question_id", "number", "choice", "text"},
}
WHO = (Invitation, InvitationDelivery, InvitationDraft, User)


@pytest.fixture
def pair(program, learner, mentor):
    return mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)


def _submit(client, invitation, answers=LEARNER_END_ANSWERS):
    page = client.post(answer_url(invitation), {**answers, "action": "submit"})
    assert "Thank you" in page.content.decode()


# --- The schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Response, Answer])
def test_responses_and_answers_hold_no_key_token_person_or_time(model):
    for field in model._meta.get_fields():
        if field.auto_created and not field.concrete:
            continue  # reverse relations (answers of a response)
        assert not isinstance(field, models.DateField | models.TimeField | models.DurationField), (
            f"{model.__name__}.{field.name} is a time: it could be matched to when someone answered"
        )
        if field.is_relation:
            assert ALLOWED_KEYS.get((model, field.name)) is field.related_model, (
                f"{model.__name__}.{field.name} leads to {field.related_model.__name__}"
            )
        assert not any(word in field.name for word in ("token", "invitation", "person", "code"))
    pk = model._meta.pk
    assert isinstance(pk, models.UUIDField) and pk.default is uuid.uuid4  # no sequence, no order


@pytest.mark.parametrize("model", [Response, Answer])
def test_the_real_tables_have_only_the_allowed_columns_and_keys(db, model):
    table = model._meta.db_table
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
        constraints = connection.introspection.get_constraints(cursor, table)
    assert columns == ALLOWED_COLUMNS[model]
    references = {
        info["foreign_key"][0] for info in constraints.values() if info.get("foreign_key")
    }
    allowed = {
        target._meta.db_table for (owner, _), target in ALLOWED_KEYS.items() if owner is model
    }
    assert references <= allowed
    assert Invitation._meta.db_table not in references
    # No trigger copies anything elsewhere, and no default fills a time in.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.triggers WHERE event_object_table = %s",
            [table],
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = %s AND column_default IS NOT NULL",
            [table],
        )
        assert cursor.fetchall() == []


def test_no_model_anywhere_points_at_a_response_or_an_answer():
    """A table elsewhere (an audit log, a join table) pointing at responses could store the
    link the response itself lacks."""
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model in (Response, Answer):
                assert (model, field.related_model) == (Answer, Response), (
                    f"{model.__name__}.{field.name} points at {field.related_model.__name__}"
                )


def test_who_was_asked_holds_no_key_to_what_was_answered():
    for model in WHO:
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete:
                assert field.related_model not in (Response, Answer), (
                    f"{model.__name__}.{field.name}"
                )
    invitation_fields = {f.name for f in Invitation._meta.get_fields() if f.concrete}
    assert "responded_at" not in invitation_fields and "updated_at" not in invitation_fields


# --- The rows -----------------------------------------------------------------------------------


def _row(model, pk) -> dict:
    return model.objects.filter(pk=pk).values().get()


def test_one_respondents_rows_share_only_the_campaign_and_the_guide(
    client, program, learner, mentor, pair
):
    campaign = open_campaign(program)
    invitation = invite(campaign, learner, pair)
    client.post(answer_url(invitation), {"q_met_often_enough": "2", "action": "save"})
    InvitationDelivery.objects.create(
        invitation=invitation, kind="invitation", claimed_at=timezone.now(), sent_at=timezone.now()
    )
    _submit(client, invitation)

    response = Response.objects.get()
    who = [
        _row(Invitation, invitation.pk),
        *InvitationDelivery.objects.filter(invitation=invitation).values(),
    ]
    what = [_row(Response, response.pk), *Answer.objects.filter(response=response).values()]
    assert len(what) == 1 + 9

    def traces(rows) -> set:
        """Values that could name a row or a moment: UUIDs, text, times (integers are ids
        of different tables, compared by meaning below)."""
        found = set()
        for row in rows:
            for value in row.values():
                if isinstance(value, uuid.UUID):
                    found.add(value.hex)
                elif isinstance(value, str) and value:
                    found.add(value)
                elif hasattr(value, "isoformat"):
                    found.add(value.isoformat())
        return found

    assert traces(who) & traces(what) == set()
    # Keys, by meaning: the response names the campaign (shared by every invitee) and the
    # guide; never the respondent, the invitation or its emails.
    assert response.campaign_id == invitation.campaign_id
    assert response.about_guide_id != invitation.person_id
    assert response.about_guide_id == mentor.pk == pair.guide_id  # the one designed exception
    # The response holds nothing of the person, the relationship, the token or the time.
    flat = " ".join(str(v) for row in what for v in row.values())
    for trace in (
        learner.email,
        str(learner.code),
        str(invitation.code),
        invitation.code.hex,
        str(pair.code),
        answer_url(invitation),
    ):
        assert trace not in flat
    assert not InvitationDraft.objects.exists()  # the draft (tied to her) is gone


def test_response_ids_are_random_so_their_order_says_nothing(client, program):
    campaign = open_campaign(program, "wellbeing")
    written = []
    for n in range(20):
        person = UserFactory()
        membership_grant(user=person, role=Role.LEARNER, program=program)
        _submit(client, invite(campaign, person), {"q_burnout": str(n % 5 + 1)})
        written.append(Response.objects.exclude(pk__in=written).get().pk)
    assert all(pk.version == 4 for pk in written)
    assert sorted(written) != written  # 1 chance in 20! of failing by luck
    assert sorted(written, key=str) != written


@pytest.mark.django_db(transaction=True)
def test_who_and_what_are_written_in_separate_transactions(client, program, learner, mentor):
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    invitation = invite(open_campaign(program), learner, pair)
    _submit(client, invitation)
    response = Response.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM surveys_invitation WHERE id = %s", [invitation.pk])
        (invitation_xid,) = cursor.fetchone()
        cursor.execute("SELECT xmin::text FROM surveys_response WHERE id = %s", [response.pk])
        (response_xid,) = cursor.fetchone()
        cursor.execute("SELECT DISTINCT xmin::text FROM surveys_answer")
        answer_xids = {row[0] for row in cursor.fetchall()}
    assert invitation_xid != response_xid
    assert answer_xids == {response_xid}


def test_submitting_logs_nothing_that_names_the_respondent_or_the_response(
    client, program, learner, mentor, pair, caplog
):
    invitation = invite(open_campaign(program), learner, pair)
    with caplog.at_level(logging.DEBUG):
        _submit(client, invitation)
    response = Response.objects.get()
    logged = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("django.db"))
    for trace in (str(response.pk), str(invitation.code), learner.email, str(invitation.pk)):
        assert trace not in logged


def test_response_attributes_are_coarse_and_come_from_the_relationship(
    program, learner, mentor, other_mentor
):
    informal = mentoring_services.relationship_start(
        program=program, guide=mentor, learner=learner, origin="self_initiated"
    )
    learner_side = invite(open_campaign(program, "check_in"), learner, informal)
    assert answering.response_attributes(learner_side) == {
        "audience": "learners",
        "relationship_kind": "mentoring",
        "formal": False,
        "peer": False,
        "about_guide_id": mentor.pk,
    }
    guide_side = invite(open_campaign(program, "check_in"), mentor, informal)
    assert answering.response_attributes(guide_side)["audience"] == "guides"
    assert answering.response_attributes(guide_side)["about_guide_id"] is None
    # A guide who is a learner too is a peer.
    membership_grant(user=other_mentor, role=Role.LEARNER, program=program)
    peer_guide = invite(open_campaign(program, "guide_end"), other_mentor)
    assert answering.response_attributes(peer_guide) == {
        "audience": "guides",
        "relationship_kind": "",
        "formal": None,
        "peer": True,
        "about_guide_id": None,
    }
    # Wellbeing is about the person: never about their guide.
    wellbeing = invite(open_campaign(program, "wellbeing"), learner, informal)
    attributes = answering.response_attributes(wellbeing)
    assert attributes["audience"] == "learners" and attributes["about_guide_id"] is None
    assert attributes["relationship_kind"] == "mentoring"  # mentored, for the comparison
