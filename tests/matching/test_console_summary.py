"""The program page tells its administrator how preferences and self-match stand, in counts."""

from __future__ import annotations

import datetime

from django.urls import reverse
from django.utils import timezone

from matching.models import Choice, MatchRequest, TermOptOut
from mentoring.models import Program, Term


def test_program_page_counts_rankings_opt_outs_and_requests(
    client, program_admin, program, learner, mentor, other_mentor
):
    program.pairing = "self"
    program.save()
    today = timezone.localdate()
    term = Term.objects.create(
        program=program,
        name="This year",
        starts_on=today - datetime.timedelta(days=10),
        ends_on=today + datetime.timedelta(days=200),
    )
    TermOptOut.objects.create(term=term, guide=other_mentor)
    Choice.objects.create(program=program, side="learner", chooser=learner, chosen=mentor, rank=1)
    Choice.objects.create(
        program=program, side="learner", chooser=learner, chosen=other_mentor, rank=2
    )
    soon = timezone.now() + datetime.timedelta(days=3)
    MatchRequest.objects.create(program=program, learner=learner, guide=mentor, expires_at=soon)
    MatchRequest.objects.create(
        program=program, learner=learner, guide=other_mentor, expires_at=soon, state="expired"
    )
    client.force_login(program_admin)
    response = client.get(reverse("console:program-detail", kwargs={"code": program.code}))
    assert response.status_code == 200
    assert response.context["matching"] == {
        "term": term,
        "opted_out": 1,
        "learners_ranking": 1,
        "requests_waiting": 1,
        "requests_expired": 1,
    }
    page = response.content.decode()
    assert "Guides sitting out This year" in page
    assert "Learners choose: they ask a suggested guide" in page
    # Counts only: the page names nobody who asked or sat out.
    assert learner.full_name not in page and other_mentor.full_name not in page


def test_matching_term_is_the_running_term_else_the_next_else_the_latest(program):
    today = timezone.localdate()

    def term(name, start, end):
        return Term.objects.create(
            program=program,
            name=name,
            starts_on=today + datetime.timedelta(days=start),
            ends_on=today + datetime.timedelta(days=end),
        )

    assert program.matching_term() is None
    term("Two years ago", -800, -500)  # older than the latest past term: never chosen
    last = term("Last year", -400, -100)
    assert program.matching_term() == last
    later = term("After next", 200, 300)
    assert program.matching_term() == later
    term_next = term("Next", 50, 150)
    assert program.matching_term() == term_next
    running = term("Now", -5, 40)
    assert program.matching_term() == running


def test_guide_nouns_have_their_plurals(program):
    assert [Program(kind=k).guide_plural for k in ("mentoring", "coaching", "advising")] == [
        "mentors",
        "coaches",
        "advisors",
    ]
