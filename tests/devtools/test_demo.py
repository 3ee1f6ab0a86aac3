"""`manage.py demo` builds a realistic small school, idempotently."""

from __future__ import annotations

import datetime
import io
from types import SimpleNamespace

import pyotp
import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, Role, StatusChange, User
from accounts.permissions import requires_mfa
from dashboards.aggregates import dean_dashboard
from dashboards.evaluation import program_evaluation
from devtools.demo_school import DEMO_PASSWORD, DOMAIN, demo_totp_secret
from matching import preferences
from matching.models import Choice, MatchRequest
from mentoring.models import AssessmentRole, Conflict, Program, Relationship, RematchRequest, Term
from sessions_log.models import ActionItem, AvailabilityPattern, Meeting, MeetingLog, Slot


def _counts():
    models = (
        User,
        Program,
        Membership,
        Authenticator,
        ParticipantProfile,
        StatusChange,
        Term,
        Relationship,
        AssessmentRole,
        Conflict,
        RematchRequest,
        Choice,
        MatchRequest,
        Slot,
        Meeting,
        MeetingLog,
        ActionItem,
    )
    counts = {model.__name__: model.objects.count() for model in models}
    counts["self-match programs"] = Program.objects.filter(pairing="self").count()
    counts["profiles with availability"] = ParticipantProfile.objects.exclude(
        availability=0
    ).count()
    return counts


@pytest.fixture(scope="module")
def demo_run(django_db_setup, django_db_blocker):
    """One run of `manage.py demo` for the whole module, inside a transaction rolled back at
    its end; each test runs in a savepoint within it, so what a test changes (a second run
    included) is undone before the next. Returns what the run printed, the counts it left and
    the emails it sent."""
    with (
        django_db_blocker.unblock(),
        # The autouse `_fast_password_hashing` is per test; the run is made before it.
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        sent_before = len(mail.outbox)
        out = io.StringIO()
        call_command("demo", stdout=out)
        yield SimpleNamespace(
            out=out.getvalue(), counts=_counts(), mails=list(mail.outbox[sent_before:])
        )
        transaction.set_rollback(True)


@pytest.fixture
def demo(demo_run, db):
    """The database as one run of the demo left it (the run itself: `demo_run`)."""
    return demo_run


def test_demo_is_idempotent_and_covers_every_role(demo, capsys):
    first = demo.counts
    call_command("demo")
    assert _counts() == first

    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == {r.value for r in Role}
    assert Program.objects.count() >= 3
    assert set(Program.objects.values_list("kind", flat=True)) == {
        "mentoring",
        "coaching",
        "advising",
    }
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out


def test_demo_staff_accounts_have_a_printed_totp_secret_and_learners_do_not(demo):
    out = demo.out
    for user in User.objects.filter(email__endswith=f"@{DOMAIN}"):
        has_totp = Authenticator.objects.filter(user=user, type="totp").exists()
        assert has_totp is requires_mfa(user), user.email
        if has_totp:
            assert demo_totp_secret(user.email) in out


def test_demo_password_and_totp_secret_work(demo, client):
    email = f"coordinator@{DOMAIN}"
    user = User.objects.get(email=email)
    assert user.check_password(DEMO_PASSWORD)
    response = client.post("/accounts/login/", {"login": email, "password": DEMO_PASSWORD})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    code = pyotp.TOTP(demo_totp_secret(email)).now()
    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_demo_includes_a_person_with_two_roles(demo):
    chen = User.objects.get(email=f"pgy3.chen@{DOMAIN}")
    assert set(chen.memberships.values_list("role", flat=True)) == {"learner", "mentor"}


def test_demo_has_a_conflict_waiting_a_rematch_request_and_an_informal_proposal(demo):
    # The named people's; the school's history has conflicts and requests of its own.
    named = {"relationship__learner__email__endswith": f"@{DOMAIN}"}
    waiting = Conflict.objects.open().filter(kind=Conflict.Kind.PENDING_ASSESSMENT, **named).get()
    assert waiting.assessment_role.status == "pending"
    assert waiting.program.name == "MS1 faculty mentoring"
    assert Conflict.objects.open().filter(kind=Conflict.Kind.FLAGGED_OVERLAP, **named).count() == 1
    assert RematchRequest.objects.open().filter(**named).count() == 1
    named_pairs = Relationship.objects.filter(learner__email__endswith=f"@{DOMAIN}")
    assert named_pairs.filter(status="proposed", origin="self_initiated").count() == 1
    assert named_pairs.current().count() >= 8


def test_demo_has_participants_matching_once(demo, mailoutbox):
    """A self-match program with a learner still choosing and a request waiting for a demo
    mentor, a ranked choice list in an administrator-paired program, and a weekly
    availability on every profile; a second run adds none of them again."""
    call_command("demo")  # the second run (demo_run was the first)

    self_match = Program.objects.get(pairing="self")
    assert self_match.name == "PGY peer mentoring"
    assert Program.objects.filter(pairing="administrator").count() == Program.objects.count() - 1

    waiting = MatchRequest.objects.get()  # exactly one, after two runs
    assert waiting.state == MatchRequest.State.PENDING
    assert waiting.program == self_match
    assert waiting.guide.email == f"pgy3.chen@{DOMAIN}"
    assert waiting.message
    waiting_list, _ = preferences.requests_for_guide(self_match, waiting.guide)
    assert waiting_list == [waiting]
    assert demo.mails == [] and mailoutbox == []  # the demo emails nobody

    fischer = User.objects.get(email=f"pgy1.fischer@{DOMAIN}")
    assert preferences.current_relationship(self_match, fischer) is None
    assert not MatchRequest.objects.filter(learner=fischer).exists()
    assert len(preferences.suggested_guides(self_match, fischer)) >= 2

    (chooser,) = {c.chooser for c in Choice.objects.all()}
    assert chooser.email == f"ms1.brown@{DOMAIN}"
    ranked_in = {c.program for c in Choice.objects.all()}
    assert [p.pairing for p in ranked_in] == ["administrator"]
    (program,) = ranked_in
    assert preferences.current_relationship(program, chooser) is None
    assert [c.rank for c in Choice.objects.order_by("rank")] == [1, 2]
    ranked = [u.email for u in preferences.choices_of(program, Choice.Side.LEARNER, chooser)]
    assert ranked == [f"mentor.adeyemi@{DOMAIN}", f"mentor.ito@{DOMAIN}"]

    profiles = ParticipantProfile.objects.filter(user__email__endswith=DOMAIN)
    assert profiles.exists()
    assert not profiles.filter(availability=0).exists()
    assert len(set(profiles.values_list("availability", flat=True))) > 5


def test_demo_replaces_its_request_once_it_expired_unanswered(demo):
    first = MatchRequest.objects.get()
    first.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    first.save(update_fields=["expires_at"])
    call_command("demo")
    first.refresh_from_db()
    assert first.state == MatchRequest.State.EXPIRED
    assert MatchRequest.objects.pending().get().expires_at > timezone.now()
    # An answered request is left as it is.
    MatchRequest.objects.pending().update(state=MatchRequest.State.DECLINED)
    call_command("demo")
    assert not MatchRequest.objects.pending().exists()


def test_demo_has_meetings_once(demo):
    call_command("demo")  # the second run (demo_run was the first)
    assert AvailabilityPattern.objects.count() == 1
    named = Meeting.objects.filter(relationship__learner__email__endswith=f"@{DOMAIN}")
    booked = named.get(status="booked")
    assert booked.slot is not None and booked.relationship.learner.email.startswith("ms1.garcia")
    logged = named.get(status="completed")
    assert logged.slot is None and logged.log.topics == ["career", "wellbeing"]
    assert ActionItem.objects.filter(done_at__isnull=True).count() == 1


def test_the_demo_dean_sees_figures_not_hidden(demo):
    """The school's history makes the dashboards worth opening: retention by year with and
    without a relationship, satisfaction, and the evaluation's comparisons with intervals."""
    assert "Dashboard figures refreshed" in demo.out
    board = dean_dashboard()
    year = str(board.filters.year)
    retention = board.table("retention_trend")
    for column in ("retained", "guided_retained", "unguided_retained"):
        figure = retention.value(year, column)
        assert not figure.hidden and 50 < figure.value <= 100, (column, figure)
    assert sum(not v.hidden and v.value for r in retention.rows for v in r.values) > 12
    satisfaction = board.table("satisfaction")
    assert any(not v.hidden and v.value for r in satisfaction.rows for v in r.values)
    differences = [
        d for c in program_evaluation().comparisons for _a, _b, d, _text in c.differences if d
    ]
    assert len(differences) >= 3
    assert all(d.ci_low <= d.estimate <= d.ci_high for d in differences)


def test_the_demo_first_then_seed_scale_twice(demo):
    """The other order: the demo (with its history) first, then seed_scale --force twice."""
    before = Program.objects.count()
    for seed in (7, 8):
        call_command("seed_scale", scale=0.01, seed=seed, force=True, stdout=io.StringIO())
    assert Program.objects.count() == before  # every data-set program was there already
    assert User.objects.get(email=f"dean@{DOMAIN}").check_password(DEMO_PASSWORD)
