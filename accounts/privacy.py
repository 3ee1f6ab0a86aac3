"""What a person's download holds of their account (accounts): the account, addresses, second
factors, status history, roles and profile. Sections registered with `@section` (see
accounts/privacy_registry.py); secrets (password, authenticators' secrets) are never included.

Erasure: roles end (the rows stay), the profile's free text and answers are cleared (level and
cohort stay), sign-in goes (addresses, second factors, linked accounts, sessions,
permissions), copies of the name and address in other records are replaced (`name_copies`),
and last the account itself is anonymised.
"""

from __future__ import annotations

import datetime
import re
import secrets

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.apps import apps
from django.contrib.admin.models import LogEntry
from django.contrib.sessions.models import Session
from django.db.models import Q
from django.utils import timezone
from guardian.models import UserObjectPermission

from accounts.models import (
    ImportBatch,
    Membership,
    ParticipantProfile,
    Reviewed,
    StatusChange,
    User,
)
from accounts.privacy_registry import (
    ERASED_DOMAIN,
    ERASED_NAME,
    NAME_COPIES,
    Erasure,
    PersonContext,
    erasure_step,
    is_erased,
    name_copies,
    section,
)
from accounts.services import membership_end


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


# --- Erasure ------------------------------------------------------------------------------------
@erasure_step(order=140)
def _end_memberships(erasure: Erasure) -> dict[str, int]:
    # Out of matching, people lists and capacity: memberships end (the rows stay).
    current = list(Membership.objects.current().for_user(erasure.user))
    if erasure.apply:
        now = timezone.now()
        for membership in current:
            if membership.started_at >= now:
                # Not started yet: it never will (a membership ends after it starts).
                membership.started_at = now - datetime.timedelta(microseconds=1)
                membership.save(update_fields=["started_at"])
            membership_end(membership=membership, when=now)
    return {"roles ended": len(current)}


@erasure_step(order=185)
def _forget_reviews(erasure: Erasure) -> dict[str, int]:
    """When the person last went through a list of theirs (home page counts): nothing to keep."""
    reviews = Reviewed.objects.filter(user=erasure.user)
    count = reviews.count()
    if erasure.apply:
        reviews.delete()
    return {"last-reviewed marks": count}


@erasure_step(order=190)
def _clear_profile(erasure: Erasure) -> dict[str, int]:
    """Free text, interests, languages, shared-background answers and availability go; level
    and cohort stay (dashboards count retention by cohort)."""
    profile = ParticipantProfile.objects.filter(user=erasure.user).first()
    cleared = {
        "track": "",
        "campus": "",
        "specialty_interests": [],
        "research_interests": [],
        "languages": [],
        "shared_background": [],
        "timezone": "UTC",
        "availability": 0,
        "contact_preference": "",
    }
    if profile is None or all(getattr(profile, k) == v for k, v in cleared.items()):
        return {"profile cleared": 0}
    if erasure.apply:
        ParticipantProfile.objects.filter(pk=profile.pk).update(**cleared)
    return {"profile cleared": 1}


def _sessions_of(user: User) -> list[str]:
    # SESSION_ENGINE is the database: find the person's sessions by decoding them (a rare,
    # operator-run command; the table holds only unexpired sessions after clearsessions).
    return [
        s.session_key
        for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]


@erasure_step(order=210)
def _erase_sign_in(erasure: Erasure) -> dict[str, int]:
    # Signing in: addresses, second factors, linked accounts, open sessions, permissions.
    user = erasure.user
    counts = {}
    counts["email addresses deleted"] = erasure.delete(EmailAddress.objects.filter(user=user))
    counts["authenticators deleted"] = erasure.delete(Authenticator.objects.filter(user=user))
    if apps.is_installed("allauth.socialaccount"):
        # Imported here: its models cannot be imported when the app is not installed.
        from allauth.socialaccount.models import SocialAccount

        counts["linked accounts deleted"] = erasure.delete(SocialAccount.objects.filter(user=user))
    keys = _sessions_of(user)
    counts["sessions ended"] = erasure.delete(Session.objects.filter(session_key__in=keys))
    counts["permissions removed"] = (
        erasure.delete(User.groups.through.objects.filter(user=user))
        + erasure.delete(User.user_permissions.through.objects.filter(user=user))
        + erasure.delete(UserObjectPermission.objects.filter(user=user))
    )
    return counts


def _forget_import_rows(batch: ImportBatch) -> list[str]:
    """An import batch that named the person loses its rows; a pending one is discarded, so
    committing it later cannot bring the person back."""
    batch.rows, batch.errors = [], []
    if batch.status == ImportBatch.Status.PENDING:
        batch.status = ImportBatch.Status.DISCARDED
        return ["status"]
    return []


name_copies(LogEntry, "object_repr", "change_message")
name_copies(ImportBatch, "rows", "errors", "summary", then=_forget_import_rows)


def _scrub_text(value, patterns):
    """`value` with the person's name and address replaced, in strings, lists and dicts."""
    if isinstance(value, str):
        for pattern, replacement in patterns:
            value = pattern.sub(replacement, value)
        return value
    if isinstance(value, list):
        return [_scrub_text(v, patterns) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_text(v, patterns) for k, v in value.items()}
    return value


# Just before the account: it needs the person's name and address as they were.
@erasure_step(order=990)
def _scrub_records(erasure: Erasure) -> dict[str, int]:
    """Rows outside the person's own that copied their name or address as text (every app's
    `name_copies`: the Django admin's history, match runs' approval reports, import files,
    failed-send errors)."""
    label = "records naming the person scrubbed"
    user = erasure.user
    needles = [n for n in (user.email.strip(), user.full_name.strip()) if len(n) >= 3]
    if is_erased(user) or not needles:
        return {label: 0}
    patterns = [
        (re.compile(r"(?<!\w)" + re.escape(n) + r"(?!\w)", re.IGNORECASE), replacement)
        for n, replacement in zip(needles, ("erased address", ERASED_NAME), strict=False)
    ]

    def naming(*fields) -> Q:
        q = Q()
        for f in fields:
            for n in needles:
                q |= Q(**{f"{f}__icontains": n})
        return q

    changed = 0
    for copies in NAME_COPIES:
        for obj in copies.model.objects.filter(naming(*copies.fields)):
            changed += 1
            if not erasure.apply:
                continue
            for f in copies.fields:
                setattr(obj, f, _scrub_text(getattr(obj, f), patterns))
            updated = list(copies.fields)
            if copies.then is not None:
                updated += copies.then(obj)
            obj.save(update_fields=updated)
    return {label: changed}


# Last of all: the steps before may look the person up by name and address.
@erasure_step(order=1000)
def _anonymise_account(erasure: Erasure) -> dict[str, int]:
    user = erasure.user
    if is_erased(user):
        return {"account anonymised": 0}
    if erasure.apply:
        user.full_name = ERASED_NAME
        user.email = f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"
        user.set_unusable_password()
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.invited_at = None
        user.nudge_emails = "off"
        user.save(
            update_fields=[
                "full_name",
                "email",
                "password",
                "is_active",
                "is_staff",
                "is_superuser",
                "invited_at",
                "nudge_emails",
            ]
        )
    return {"account anonymised": 1}
