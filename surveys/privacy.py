"""What a person's download holds of surveys, registered with `@section` (see
accounts/privacy_registry.py): the invitations and whether they answered. Answers are
anonymous: nothing links them to the person, so they cannot be included.

Erasure: their saved drafts go; invitations stay (response rates count them)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from accounts.privacy_registry import Erasure, erasure_step, section
from mentoring.export_context import ExportContext
from surveys.models import Invitation, InvitationDraft


@section(
    "survey_invitations",
    order=230,
    title="Survey invitations",
    description="The surveys you were invited to and whether you answered. Your answers are "
    "anonymous: nothing links them to you, so they cannot be included.",
    columns="survey program opens_at closes_at invited_at answered draft",
)
def _survey_invitations(ctx: ExportContext) -> list[dict]:
    invitations = (
        Invitation.objects.filter(person=ctx.user)
        .select_related("campaign__program")
        .annotate(has_draft=Exists(InvitationDraft.objects.filter(invitation=OuterRef("pk"))))
        .order_by("created_at")
    )
    return [
        {
            "survey": i.campaign.title,
            "program": i.campaign.program.name,
            "opens_at": i.campaign.opens_at,
            "closes_at": i.campaign.closes_at,
            "invited_at": i.created_at,
            "answered": i.has_responded,
            "draft": "saved, not sent" if i.has_draft else "",
        }
        for i in invitations
    ]


# --- Erasure ------------------------------------------------------------------------------------
@erasure_step(order=200)
def _erase_drafts(erasure: Erasure) -> dict[str, int]:
    drafts = InvitationDraft.objects.filter(invitation__person=erasure.user)
    return {"survey drafts deleted": erasure.delete(drafts)}
