"""One-time links: the token is the credential; valid once, until the campaign closes, and
refused when tampered with."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from mentoring import services as mentoring_services
from surveys import tokens
from surveys.campaigns import campaign_close
from surveys.models import Campaign, Invitation, Response
from tests.surveys.survey_helpers import LEARNER_END_ANSWERS, answer_url, invite, open_campaign


@pytest.fixture
def invitation(program, learner, mentor):
    pair = mentoring_services.relationship_start(program=program, guide=mentor, learner=learner)
    return invite(open_campaign(program), learner, pair)


def _url(token: str) -> str:
    return reverse("surveys:answer", kwargs={"token": token})


def test_the_token_names_its_invitation_and_opens_the_survey_without_sign_in(client, invitation):
    token = tokens.token_for(invitation)
    assert tokens.token_for(invitation) == token  # the reminder's link is the same
    assert tokens.invitation_for_token(token) == invitation
    assert invitation.person.email not in token and "@" not in token
    page = client.get(_url(token))
    assert page.status_code == 200
    assert "End-of-term survey for learners" in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex"
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]


def test_the_link_is_absolute_on_the_site(invitation, settings):
    settings.SITE_URL = "https://mentoring.school.test"
    link = tokens.link_for(invitation)
    assert link == "https://mentoring.school.test" + answer_url(invitation)


def test_the_link_is_valid_once(client, invitation):
    url = answer_url(invitation)
    first = client.post(url, {**LEARNER_END_ANSWERS, "action": "submit"})
    assert first.status_code == 200 and "Thank you" in first.content.decode()
    again = client.get(url)
    assert again.status_code == 200
    assert "You have already answered this survey" in again.content.decode()
    assert 'name="q_' not in again.content.decode()  # no form
    replay = client.post(url, {**LEARNER_END_ANSWERS, "action": "submit"})
    assert "You have already answered this survey" in replay.content.decode()
    assert Response.objects.count() == 1
    # Saving a draft after answering keeps nothing either.
    client.post(url, {"q_fit": "good", "action": "save"})
    assert not hasattr(Invitation.objects.get(pk=invitation.pk), "draft")


def test_the_link_is_refused_once_the_campaign_closes(client, invitation):
    url = answer_url(invitation)
    assert client.get(url).status_code == 200
    campaign_close(campaign=invitation.campaign)
    closed = client.get(url)
    assert closed.status_code == 200
    assert "This survey has closed" in closed.content.decode()
    posted = client.post(url, {**LEARNER_END_ANSWERS, "action": "submit"})
    assert "This survey has closed" in posted.content.decode()
    assert not Response.objects.exists()
    assert not Invitation.objects.get(pk=invitation.pk).has_responded


def test_the_link_is_refused_past_the_closing_time_before_the_task_closes_it(client, invitation):
    Campaign.objects.filter(pk=invitation.campaign_id).update(
        closes_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    response = client.post(answer_url(invitation), {**LEARNER_END_ANSWERS, "action": "submit"})
    assert "This survey has closed" in response.content.decode()
    assert not Response.objects.exists()


def _tampered(token: str) -> list[str]:
    value, signature = token.split(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_code = uuid.uuid4().hex
    return [
        f"{value}:{flipped}",  # signature changed
        f"{other_code}:{signature}",  # another invitation, same signature
        value,  # signature cut off
        token[:-5],  # cut short
        signing.Signer(salt="another.salt").sign(value),  # another kind of signed thing
        signing.Signer(salt=tokens.SALT, key="not-the-site-key").sign(value),  # another key
        "%00%ff",
        "x" * 300,
    ]


def test_a_tampered_link_is_refused_with_a_clear_page(client, invitation):
    token = tokens.token_for(invitation)
    for bad in _tampered(token):
        assert tokens.invitation_for_token(bad) is None, bad
        page = client.get(_url(bad))
        assert page.status_code == 404, bad
        assert "This link is not valid" in page.content.decode()
        post = client.post(_url(bad), {**LEARNER_END_ANSWERS, "action": "submit"})
        assert post.status_code == 404
    assert not Response.objects.exists()


def test_a_well_signed_token_of_no_invitation_is_refused(client, db):
    token = tokens._signer().sign(uuid.uuid4().hex)
    page = client.get(_url(token))
    assert page.status_code == 404
    assert "This link is not valid" in page.content.decode()


def test_the_token_page_asks_no_sign_in_but_my_surveys_does(client, invitation):
    assert client.get(answer_url(invitation)).status_code == 200
    mine = client.get(reverse("surveys:mine"))
    assert mine.status_code == 302 and mine["Location"].startswith(reverse("account_login"))
