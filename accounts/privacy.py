"""What a person's download holds of their account (accounts): the account, addresses, second
factors, status history, roles and profile. Sections registered with `@section` (see
accounts/privacy_registry.py); secrets (password, authenticators' secrets) are never included."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator

from accounts.models import Membership, ParticipantProfile, StatusChange
from accounts.privacy_registry import PersonContext, section


@section(
    "account",
    order=10,
    title="Your account",
    description="Your name, email address (your sign-in) and account dates.",
    columns=("code full_name email date_joined last_login invited_at is_active nudge_emails"),
    single=True,
)
def _account(ctx: PersonContext) -> list[dict]:
    u = ctx.user
    return [
        {
            "code": u.code,
            "full_name": u.full_name,
            "email": u.email,
            "date_joined": u.date_joined,
            "last_login": u.last_login,
            "invited_at": u.invited_at,
            "is_active": u.is_active,
            "nudge_emails": u.nudge_emails,
        }
    ]


@section(
    "email_addresses",
    order=20,
    title="Email addresses",
    description="The addresses recorded for signing in and for emails.",
    columns="email primary verified",
)
def _email_addresses(ctx: PersonContext) -> list[dict]:
    return list(
        EmailAddress.objects.filter(user=ctx.user)
        .order_by("-primary", "email")
        .values("email", "primary", "verified")
    )


@section(
    "authenticators",
    order=30,
    title="Two-factor authentication",
    description="Which second factors you set up and when (never their secrets).",
    columns="type created_at last_used_at",
)
def _authenticators(ctx: PersonContext) -> list[dict]:
    return list(
        Authenticator.objects.filter(user=ctx.user)
        .order_by("created_at")
        .values("type", "created_at", "last_used_at")
    )


@section(
    "status_history",
    order=40,
    title="Status history",
    description="Your status over time (enrolled, on leave, graduated...; active or left).",
    columns="population status effective_on recorded_at",
)
def _status_history(ctx: PersonContext) -> list[dict]:
    return list(
        StatusChange.objects.filter(user=ctx.user)
        .order_by("effective_on", "pk")
        .values("population", "status", "effective_on", "recorded_at")
    )


@section(
    "memberships",
    order=50,
    title="Roles",
    description="The roles you hold or held, per program (dean: institution-wide).",
    columns="program role capacity started_at ended_at",
)
def _memberships(ctx: PersonContext) -> list[dict]:
    return [
        {
            "program": m.program.name if m.program_id else "",
            "role": m.role,
            "capacity": m.capacity,
            "started_at": m.started_at,
            "ended_at": m.ended_at,
        }
        for m in Membership.objects.filter(user=ctx.user)
        .select_related("program")
        .order_by("started_at", "pk")
    ]


PROFILE_COLUMNS = (  # noqa: SIM905 (a line per name is longer, not clearer)
    "level cohort track campus specialty_interests research_interests languages "
    "shared_background timezone contact_preference updated_at"
).split()


@section(
    "profile",
    order=60,
    title="Your profile",
    description="Your profile, including the shared-background answers you gave for matching "
    "and your usual free times (usual_free_times).",
    columns=[*PROFILE_COLUMNS, "usual_free_times"],
    single=True,
)
def _profile(ctx: PersonContext) -> list[dict]:
    profile = ParticipantProfile.objects.filter(user=ctx.user).first()
    if profile is None:
        return []
    row = {name: getattr(profile, name) for name in PROFILE_COLUMNS}
    row["usual_free_times"] = profile.availability_labels()
    return [row]
