"""Builders for the answering, campaign and delivery tests (helper 6's results tests have
their own in results_helpers.py)."""

from __future__ import annotations

import datetime
import itertools

from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring import services as mentoring_services
from surveys.defaults import templates_install
from surveys.models import Campaign, Invitation, SurveyTemplate
from surveys.tokens import token_for
from tests.factories import UserFactory

DAY = datetime.timedelta(days=1)
_period = itertools.count(1)


def template_of(program, kind: str) -> SurveyTemplate:
    templates_install(program=program)
    return SurveyTemplate.objects.get(program=program, kind=kind)


def open_campaign(program, kind: str = SurveyTemplate.Kind.LEARNER_END, **extra) -> Campaign:
    """An open campaign of the program's shipped template `kind`: opened a day ago, closing in
    13 days, reminders after 4 and 10 days unless told otherwise."""
    template = template_of(program, kind)
    now = timezone.now()
    campaign_kind = {
        SurveyTemplate.Kind.CHECK_IN: Campaign.Kind.CHECK_IN,
        SurveyTemplate.Kind.WELLBEING: Campaign.Kind.WELLBEING,
    }.get(kind, Campaign.Kind.END_OF_TERM)
    values = {
        "program": program,
        "template": template,
        "kind": campaign_kind,
        "period_key": f"test-{next(_period)}",
        "title": f"{template.name}: test",
        "status": Campaign.Status.OPEN,
        "opens_at": now - DAY,
        "closes_at": now + 13 * DAY,
        "reminder_days": [4, 10],
    }
    values.update(extra)
    return Campaign.objects.create(**values)


def invite(campaign: Campaign, person, relationship=None) -> Invitation:
    return Invitation.objects.create(campaign=campaign, person=person, relationship=relationship)


def answer_url(invitation: Invitation) -> str:
    return reverse("surveys:answer", kwargs={"token": token_for(invitation)})


def new_pair(program, *, started_on=None, role=Role.MENTOR, **extra):
    """A new guide and learner of the program, paired."""
    guide, learner = UserFactory(), UserFactory()
    membership_grant(user=guide, role=role, program=program)
    membership_grant(user=learner, role=Role.LEARNER, program=program)
    return mentoring_services.relationship_start(
        program=program, guide=guide, learner=learner, started_on=started_on, **extra
    )


# A complete, valid answer to the shipped learner end-of-term survey.
LEARNER_END_ANSWERS = {
    "q_relationship_satisfaction": "4",
    "q_met_often_enough": "3",
    "q_useful_academic": "5",
    "q_useful_career": "4",
    "q_useful_wellbeing": "2",
    "q_useful_professional_identity": "4",
    "q_program_satisfaction": "5",
    "q_would_recommend": "yes",
    "q_program_improvement": "More evening slots, please.",
}
