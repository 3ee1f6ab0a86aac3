"""`manage.py seed_scale` at a hundredth of the school: counts right, rules kept, fast, and it
refuses a database with people in it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Q

from accounts.models import Membership, StatusChange, User
from dashboards.aggregates import dean_dashboard
from dashboards.summaries import summaries_refresh
from devtools.demo_school import DEMO_PASSWORD, DOMAIN
from mentoring.models import Program, Relationship
from sessions_log.models import Meeting
from surveys.models import Invitation, Response
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded():
    out = io.StringIO()
    call_command("seed_scale", scale=0.01, seed=3, stdout=out)
    return out.getvalue()


# A fixed day for the exact counts: the school's history runs up to today, and in the first
# weeks of an academic year its new learners have no relationship yet and last year's have
# ended, so fewer than the target are drawn (544 of 600 on 1 August).
@pytest.mark.today("2026-11-26")
def test_counts_at_a_hundredth(seeded):
    output = seeded
    learners = User.objects.filter(memberships__role="learner").distinct().count()
    guides = (
        User.objects.filter(memberships__role__in=("mentor", "coach", "advisor")).distinct().count()
    )
    assert learners == 200
    assert guides == 60
    assert Relationship.objects.count() == 600
    assert Meeting.objects.count() == 5000
    assert Response.objects.count() == 1000
    assert Invitation.objects.filter(has_responded=True).count() == 1000
    assert Program.objects.count() == 10
    assert "Seeded in" in output  # how long it took is printed, never asserted (load varies)


def test_five_years_of_status_history_and_the_rules_kept(seeded):
    first = StatusChange.objects.order_by("effective_on").first().effective_on
    last = StatusChange.objects.order_by("-effective_on").first().effective_on
    assert (last - first).days > 5 * 365
    assert StatusChange.objects.filter(status="withdrawn").exists()
    assert StatusChange.objects.filter(status="graduated").exists()
    assert StatusChange.objects.filter(population="faculty", status="left").exists()
    # R1, R3 hold (the database constraints were on while COPY wrote).
    assert not Relationship.objects.filter(guide=F("learner")).exists()
    doubled = (
        Relationship.objects.filter(status__in=("active", "paused"))
        .values("program", "learner", "kind")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    assert not doubled.exists()
    assert not User.objects.exclude(Q(email__endswith="@scale.invalid")).exists()  # no mail
    # Peer guides are learners too.
    peers = Membership.objects.filter(role="mentor", user__memberships__role="learner")
    assert peers.exists()


def test_the_dashboards_run_on_it(seeded):
    refresh = summaries_refresh()
    assert refresh is not None and refresh.cells > 100
    board = dean_dashboard()
    assert board.table("retention_trend").value(str(board.filters.year), "learners").value > 0


@pytest.mark.today("2026-11-26")  # exact counts, as above
def test_refuses_a_database_with_people_unless_forced():
    UserFactory(email="real.person@school.test")
    with pytest.raises(CommandError, match="already has 1 people"):
        call_command("seed_scale", scale=0.01, stdout=io.StringIO())
    assert not Program.objects.exists()
    call_command("seed_scale", scale=0.01, seed=4, force=True, stdout=io.StringIO())
    assert Relationship.objects.count() == 600
    assert User.objects.filter(email="real.person@school.test").exists()


def test_the_history_merges_into_the_demo_school_in_either_order_and_twice():
    """seed_scale beside the demo's people once crashed (KeyError on a program name the
    demo has too). Either order, and each twice: one school, the named people intact."""

    def run(name, **options):
        call_command(name, stdout=io.StringIO(), **options)

    run("seed_scale", scale=0.01, seed=5)
    run("demo", history_scale=0.01)  # the history is there: not added again
    learners = User.objects.filter(email__endswith="@scale.invalid").count()
    run("seed_scale", scale=0.01, seed=6, force=True)  # a second draw, into the same school
    run("demo", history_scale=0.01)
    assert User.objects.filter(email__endswith="@scale.invalid").count() > learners
    assert Program.objects.filter(name="Residency application advising").count() == 1
    assert Program.objects.filter(name__contains="(").count() == 0  # none renamed aside
    named = Relationship.objects.filter(learner__email__endswith=f"@{DOMAIN}")
    assert named.current().count() >= 8
    advising = Program.objects.get(name="Residency application advising")
    assert advising.relationships.exclude(learner__email__endswith=f"@{DOMAIN}").exists()
    assert User.objects.get(email=f"dean@{DOMAIN}").check_password(DEMO_PASSWORD)
