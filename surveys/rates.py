"""Response rates and named follow-up: counts of invitations (who was invited, who answered),
never of responses, so they are not suppressed; names of people who have not answered only
for check-ins whose template chose named follow-up (stated on the survey form). Callers reach
these through surveys/results.py, which re-exports them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from surveys.models import Campaign, Invitation, SurveyTemplate


def count_per(queryset, field: str):
    """A subquery annotation: how many rows of `queryset` have the outer row as `field`."""
    return Coalesce(
        Subquery(
            queryset.filter(**{field: OuterRef("pk")})
            .order_by()
            .values(field)
            .annotate(c=Count("*"))  # COUNT(*): an index-only scan can answer it
            .values("c"),
            output_field=IntegerField(),
        ),
        0,
    )


@dataclass(frozen=True)
class Rate:
    invited: int
    answered: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.answered / self.invited) if self.invited else None


def with_rates(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotate campaigns with `invited` and `answered` (counts of invitations)."""
    invitations = Invitation.objects.all()
    return campaigns.annotate(
        invited=count_per(invitations, "campaign"),
        answered=count_per(invitations.filter(has_responded=True), "campaign"),
    )


def rate_of(campaign) -> Rate:
    """The Rate of a campaign annotated by with_rates (or counted now)."""
    if hasattr(campaign, "invited"):
        return Rate(campaign.invited, campaign.answered)
    figures = campaign.invitations.aggregate(
        invited=Count("pk"), answered=Count("pk", filter=Q(has_responded=True))
    )
    return Rate(figures["invited"], figures["answered"])


def program_rates(program) -> dict:
    """A program's response rates: overall, and per template kind and term (one query)."""
    rows = (
        Invitation.objects.filter(campaign__program=program)
        .values("campaign__template__kind", "campaign__term__name")
        .annotate(invited=Count("pk"), answered=Count("pk", filter=Q(has_responded=True)))
        .order_by("campaign__template__kind", "campaign__term__name")
    )
    kinds = dict(SurveyTemplate.Kind.choices)
    breakdown = [
        {
            "kind": kinds.get(row["campaign__template__kind"], row["campaign__template__kind"]),
            "term": row["campaign__term__name"] or "",
            "rate": Rate(row["invited"], row["answered"]),
        }
        for row in rows
    ]
    overall = Rate(
        sum(row["rate"].invited for row in breakdown),
        sum(row["rate"].answered for row in breakdown),
    )
    return {"overall": overall, "breakdown": breakdown}


def named_follow_up_allowed(campaign: Campaign) -> bool:
    """Names of people who have not answered are shown only for check-ins that chose named
    follow-up when they were created (respondents were told so on the form). The campaign's
    own flag counts, not the template's today: turning it on later must not name people who
    answered under the promise of a count only."""
    return bool(
        campaign.named_follow_up
        and campaign.kind == Campaign.Kind.CHECK_IN
        and campaign.template.kind == SurveyTemplate.Kind.CHECK_IN
    )


def non_responders(campaign: Campaign) -> QuerySet[Invitation]:
    """Invitations not yet answered, with the person and the relationship, for named follow-up
    only; an empty queryset for every other campaign."""
    if not named_follow_up_allowed(campaign):
        return Invitation.objects.none()
    return (
        campaign.invitations.filter(has_responded=False)
        .select_related("person", "relationship__guide", "relationship__learner")
        .order_by("person__full_name", "person__email", "pk")
    )
