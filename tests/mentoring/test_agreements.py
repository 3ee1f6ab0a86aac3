"""The mentoring agreement: both agree to the same words (a change by one clears the other's
agreement), agreeing needs the confidentiality acknowledgement, only the two people reach it
(R8), nothing changes once the relationship has ended, administrators see "done / not done"
only, and the reminder goes out once to each person who has not agreed (R11), without a word
of the agreement."""

from __future__ import annotations

import datetime
import logging
import re
import threading

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mentoring import agreement_reminders, agreements, services
from mentoring.models import AgreementReminder, MentoringAgreement
from mentoring.tasks import send_agreement_reminders
from notify import engine

GOALS = "Decide between surgery and internal medicine by the spring"
BOUNDARIES = "No calls after 9 pm; my family situation stays off the table"
NOT_PARTICIPANTS = [
    "outsider",
    "other_mentor",
    "assessor",
    "program_admin",
    "other_admin",
    "dean",
    "superuser",
]


@pytest.fixture
def pair(program, mentor, learner):
    return services.relationship_start(program=program, guide=mentor, learner=learner)


def _write(relationship, by, *, goals=GOALS, agree=False, **extra) -> MentoringAgreement:
    return agreements.agreement_save(
        by=by,
        relationship=relationship,
        goals=goals,
        meeting_frequency=extra.pop("meeting_frequency", "monthly"),
        preferred_contact=extra.pop("preferred_contact", "email"),
        boundaries=extra.pop("boundaries", BOUNDARIES),
        agree=agree,
        acknowledged=agree,
        **extra,
    )


def _agree(relationship, by) -> MentoringAgreement:
    return agreements.agreement_agree(by=by, relationship=relationship, acknowledged=True)


def _html(response) -> str:
    return response.content.decode()


def _agreement_url(relationship) -> str:
    return reverse("agreements:agreement", kwargs={"code": relationship.code})


def _agree_url(relationship) -> str:
    return reverse("agreements:agreement-agree", kwargs={"code": relationship.code})


def _form(agree: bool = True, **overrides) -> dict:
    data = {
        "goals": GOALS,
        "meeting_frequency": "fortnightly",
        "preferred_contact": "video",
        "boundaries": BOUNDARIES,
        "acknowledged": "on",
    }
    if agree:
        data["agree"] = "1"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Services -------------------------------------------------------------------------------


def test_both_agreeing_makes_the_agreement_done(pair, learner, mentor):
    agreement = _write(pair, learner, agree=True)
    assert agreement.learner_agreed_at is not None and not agreement.is_done
    assert agreements.agreement_status(agreement, is_learner=True) == "waiting_for_other"
    assert agreements.agreement_status(agreement, is_learner=False) == "waiting_for_you"
    agreement = _agree(pair, mentor)
    assert agreement.is_done
    stored = MentoringAgreement.objects.get(relationship=pair)
    assert stored.is_done and stored.goals == GOALS and stored.boundaries == BOUNDARIES
    assert agreements.agreement_status(stored, is_learner=True) == "done"


def test_a_change_by_one_clears_the_others_agreement(pair, learner, mentor):
    _write(pair, learner, agree=True)
    _agree(pair, mentor)
    changed = _write(pair, mentor, goals=GOALS + ", and publish the case report", agree=True)
    assert changed.guide_agreed_at is not None
    assert changed.learner_agreed_at is None  # she has not read the new words
    assert not changed.is_done
    assert changed.updated_by == mentor
    assert agreements.agreement_status(changed, is_learner=True) == "waiting_for_you"


def test_a_change_of_frequency_alone_clears_the_others_agreement(pair, learner, mentor):
    _write(pair, learner, agree=True)
    _agree(pair, mentor)
    changed = _write(pair, learner, meeting_frequency="weekly")
    assert (changed.learner_agreed_at, changed.guide_agreed_at) == (None, None)


def test_saving_the_same_words_again_clears_nothing(pair, learner, mentor):
    _write(pair, learner, agree=True)
    _agree(pair, mentor)
    again = _write(pair, mentor)
    assert again.is_done


def test_agreeing_needs_the_confidentiality_acknowledgement(pair, learner, mentor):
    _write(pair, learner)
    with pytest.raises(ValidationError) as refused:
        agreements.agreement_agree(by=mentor, relationship=pair, acknowledged=False)
    assert "acknowledged" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        agreements.agreement_save(
            by=learner,
            relationship=pair,
            goals="Something else entirely",
            meeting_frequency="weekly",
            preferred_contact="email",
            agree=True,
            acknowledged=False,
        )
    assert "acknowledged" in refused.value.message_dict
    stored = MentoringAgreement.objects.get(relationship=pair)
    assert stored.goals == GOALS  # the refused save wrote nothing
    assert (stored.learner_agreed_at, stored.guide_agreed_at) == (None, None)


def test_nobody_agrees_to_words_they_have_not_read(pair, learner, mentor):
    read = agreements.agreement_version(_write(pair, learner, agree=True))
    _write(pair, learner, goals="A different plan", agree=True)
    with pytest.raises(ValidationError, match="changed since you opened it"):
        agreements.agreement_agree(by=mentor, relationship=pair, acknowledged=True, version=read)
    assert MentoringAgreement.objects.get(relationship=pair).guide_agreed_at is None
    current = agreements.agreement_version(agreements.agreement_of(pair))
    agreed = agreements.agreement_agree(
        by=mentor, relationship=pair, acknowledged=True, version=current
    )
    assert agreed.is_done


def test_there_is_nothing_to_agree_to_before_it_is_written(pair, mentor):
    with pytest.raises(ValidationError, match="nothing to agree to"):
        _agree(pair, mentor)


@pytest.mark.parametrize(
    ("field", "overrides"),
    [
        ("goals", {"goals": "   "}),
        ("goals", {"goals": "x" * (agreements.AGREEMENT_TEXT_MAX_CHARS + 1)}),
        ("meeting_frequency", {"meeting_frequency": "hourly"}),
        ("preferred_contact", {"preferred_contact": ""}),
        ("boundaries", {"boundaries": "y" * (agreements.AGREEMENT_TEXT_MAX_CHARS + 1)}),
    ],
)
def test_a_bad_agreement_is_refused_with_a_message_on_its_field(pair, learner, field, overrides):
    with pytest.raises(ValidationError) as refused:
        _write(pair, learner, **overrides)
    assert list(refused.value.message_dict) == [field]
    assert not MentoringAgreement.objects.filter(relationship=pair).exclude(goals="").exists()


@pytest.mark.parametrize("member", NOT_PARTICIPANTS)
def test_only_the_two_people_write_or_agree(cast, pair, learner, member):
    _write(pair, learner)
    with pytest.raises(agreements.NotInRelationship):
        _write(pair, cast[member], goals="Taken over")
    with pytest.raises(agreements.NotInRelationship):
        _agree(pair, cast[member])
    assert MentoringAgreement.objects.get(relationship=pair).goals == GOALS


def test_nothing_changes_once_the_relationship_has_ended(pair, learner, mentor):
    _write(pair, learner, agree=True)
    services.relationship_end(relationship=pair, reason="completed")
    with pytest.raises(agreements.ReadOnly):
        _agree(pair, mentor)
    with pytest.raises(agreements.ReadOnly):
        _write(pair, learner, goals="Rewritten afterwards")
    stored = MentoringAgreement.objects.get(relationship=pair)
    assert stored.goals == GOALS and stored.guide_agreed_at is None


def test_a_paused_relationship_can_still_agree(pair, learner, mentor):
    _write(pair, learner, agree=True)
    services.relationship_pause(relationship=pair)
    assert _agree(pair, mentor).is_done


def test_the_agreement_text_is_encrypted_at_rest_and_kept_out_of_str(pair, learner):
    agreement = _write(pair, learner)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT goals, boundaries FROM mentoring_mentoringagreement WHERE id = %s",
            [agreement.pk],
        )
        goals, boundaries = cursor.fetchone()
    assert GOALS not in goals and BOUNDARIES not in boundaries
    assert GOALS not in str(agreement)


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("member", NOT_PARTICIPANTS)
def test_anybody_but_the_two_people_gets_404(client, cast, pair, learner, member):
    _write(pair, learner, agree=True)
    client.force_login(cast[member])
    assert client.get(_agreement_url(pair)).status_code == 404
    assert client.post(_agreement_url(pair), _form()).status_code == 404
    assert client.post(_agree_url(pair), {"acknowledged": "on"}).status_code == 404
    stored = MentoringAgreement.objects.get(relationship=pair)
    assert stored.guide_agreed_at is None


def test_anonymous_visitor_is_sent_to_sign_in(client, pair):
    response = client.get(_agreement_url(pair))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_agreeing_is_a_post(client, pair, learner, mentor):
    _write(pair, learner)
    client.force_login(mentor)
    assert client.get(_agree_url(pair)).status_code == 405


def test_the_page_explains_confidentiality_and_its_limits(client, pair, learner):
    client.force_login(learner)
    html = _html(client.get(_agreement_url(pair)))
    assert "What stays confidential, and its limits" in html
    assert "risk of serious harm, to themselves or to others" in html
    assert "safety is at risk" in html
    assert "professionalism concern that the school requires to be reported" in html
    assert 'aria-describedby="confidentiality"' in html  # the box points at the explanation


def test_a_missing_acknowledgement_keeps_what_was_typed(client, pair, learner):
    client.force_login(learner)
    response = client.post(_agreement_url(pair), _form(acknowledged=None))
    assert response.status_code == 200
    html = _html(response)
    assert 'class="error-summary"' in html and "you cannot agree without it" in html
    assert GOALS in html and BOUNDARIES in html  # R12
    assert re.search(r'<input type="radio"[^>]*value="fortnightly"[^>]*checked', html)
    assert not MentoringAgreement.objects.exists()


def test_saving_without_agreeing_needs_no_acknowledgement(client, pair, learner):
    client.force_login(learner)
    response = client.post(_agreement_url(pair), _form(agree=False, acknowledged=None))
    assert response.status_code == 302
    stored = MentoringAgreement.objects.get(relationship=pair)
    assert stored.goals == GOALS and stored.learner_agreed_at is None


def test_both_agree_through_the_pages_and_the_relationship_page_says_done(
    client, pair, learner, mentor
):
    detail = reverse("mentoring:relationship-detail", kwargs={"code": pair.code})
    client.force_login(learner)
    assert "Not done" in _html(client.get(detail))
    response = client.post(_agreement_url(pair), _form())
    assert response.status_code == 302
    assert "Waiting for Kenji Ito" in _html(client.get(detail))

    client.force_login(mentor)
    assert "Waiting for you" in _html(client.get(detail))
    page = client.get(_agreement_url(pair))
    assert GOALS in _html(page)
    version = page.context["agree_form"]["version"].value()
    # Without the box ticked: refused, with the reason next to the box.
    refused = client.post(_agree_url(pair), {"version": version})
    assert refused.status_code == 200 and "you cannot agree without it" in _html(refused)
    assert not MentoringAgreement.objects.get(relationship=pair).is_done
    response = client.post(_agree_url(pair), {"acknowledged": "on", "version": version})
    assert response.status_code == 302
    assert MentoringAgreement.objects.get(relationship=pair).is_done
    assert "Done" in _html(client.get(detail))
    client.force_login(learner)
    assert "Done" in _html(client.get(detail))


def test_agreeing_to_a_page_read_before_a_change_is_refused(client, pair, learner, mentor):
    _write(pair, learner, agree=True)
    client.force_login(mentor)
    version = client.get(_agreement_url(pair)).context["agree_form"]["version"].value()
    _write(pair, learner, goals="Changed while he was reading", agree=True)
    response = client.post(_agree_url(pair), {"acknowledged": "on", "version": version})
    assert response.status_code == 302
    assert MentoringAgreement.objects.get(relationship=pair).guide_agreed_at is None
    page = client.get(response["Location"])
    assert "changed since you opened it" in _html(page)


def test_after_the_end_both_read_and_a_change_is_403(client, pair, learner, mentor):
    _write(pair, learner, agree=True)
    services.relationship_end(relationship=pair, reason="completed")
    for person in (learner, mentor):
        client.force_login(person)
        page = client.get(_agreement_url(pair))
        assert page.status_code == 200 and GOALS in _html(page)
        assert "I agree" not in _html(page) and "Save and agree" not in _html(page)
        assert client.post(_agreement_url(pair), _form(goals="Late change")).status_code == 403
        assert client.post(_agree_url(pair), {"acknowledged": "on"}).status_code == 403
    assert MentoringAgreement.objects.get(relationship=pair).goals == GOALS


def test_a_bad_value_never_answers_500(client, pair, learner):
    client.force_login(learner)
    response = client.post(
        _agreement_url(pair), _form(meeting_frequency="hourly", goals="x" * 5000)
    )
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"meeting_frequency", "goals"}


# --- The console: counts, never text --------------------------------------------------------


def test_administrators_see_done_or_not_and_counts_never_the_text(
    client, pair, learner, mentor, program, program_admin
):
    _write(pair, learner, agree=True)
    today = timezone.localdate()
    goal = agreements.goal_create(
        by=learner,
        relationship=pair,
        title="Shadow a cardiothoracic surgeon twice",
        description="Ask Dr. Adams first",
        domain="career",
        target_on=today + datetime.timedelta(days=30),
    )
    agreements.goal_progress_add(by=mentor, goal=goal, note="First shadowing done", status="")
    agreements.goal_create(
        by=learner,
        relationship=pair,
        title="Finish the anatomy revision plan",
        domain="academic",
        target_on=today + datetime.timedelta(days=10),
    )
    agreements.goal_status_set(by=learner, goal=goal, status="achieved")
    client.force_login(program_admin)
    page = _html(client.get(reverse("console:relationship-detail", kwargs={"code": pair.code})))
    assert "<dt>Agreement</dt><dd>Not done</dd>" in page
    assert "<dt>Goals</dt><dd>2 (achieved 1)</dd>" in page
    for secret in (GOALS, BOUNDARIES, "cardiothoracic", "Dr. Adams", "anatomy", "shadowing"):
        assert secret not in page
    overview = _html(client.get(reverse("console:program-detail", kwargs={"code": program.code})))
    assert "<dt>Agreements not done</dt><dd>1</dd>" in overview

    _agree(pair, mentor)
    page = _html(client.get(reverse("console:relationship-detail", kwargs={"code": pair.code})))
    assert "<dt>Agreement</dt><dd>Done</dd>" in page and GOALS not in page
    overview = _html(client.get(reverse("console:program-detail", kwargs={"code": program.code})))
    assert "<dt>Agreements not done</dt><dd>0</dd>" in overview


def test_the_console_facts_read_no_text_column_in_one_query(pair, learner, mentor):
    _write(pair, learner, agree=True)
    _agree(pair, mentor)
    agreements.goal_create(
        by=learner, relationship=pair, title="Hidden", domain="career", target_on=pair.started_on
    )
    with CaptureQueriesContext(connection) as queries:
        facts = agreements.agreement_facts(pair)
    assert facts == {"agreement_done": True, "goals": 1, "goals_achieved": 0}
    assert len(queries) == 1
    sql = queries.captured_queries[0]["sql"]
    for column in ('mentoringagreement"."goals"', '"boundaries"', '"title"', '"description"'):
        assert column not in sql


# --- Reminders (R11) ------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://mentoring.school.test"


def _started(program, mentor, learner, days_ago: int):
    return services.relationship_start(
        program=program,
        guide=mentor,
        learner=learner,
        started_on=timezone.localdate() - datetime.timedelta(days=days_ago),
    )


def _recipients() -> list[str]:
    return sorted(message.to[0] for message in mail.outbox)


def test_no_reminder_before_the_days_are_up(program, mentor, learner):
    _started(program, mentor, learner, program.agreement_due_days - 1)
    assert send_agreement_reminders() == 0
    assert mail.outbox == [] and not AgreementReminder.objects.exists()


def test_both_people_are_reminded_once_when_the_days_are_up(program, mentor, learner):
    pair = _started(program, mentor, learner, program.agreement_due_days)
    assert send_agreement_reminders() == 2
    assert send_agreement_reminders() == 0  # run twice: sent once
    assert _recipients() == sorted([learner.email, mentor.email])
    assert AgreementReminder.objects.filter(relationship=pair, sent_at__isnull=False).count() == 2
    message = next(m for m in mail.outbox if m.to == [learner.email])
    assert "Please complete your mentoring agreement with Kenji Ito" in message.subject
    assert agreement_reminders.agreement_url(pair) in message.body
    assert agreement_reminders.agreement_url(pair) in message.alternatives[0][0]
    assert message.extra_headers["X-Mentoring-Claim"].startswith("agreement-reminder-")


def test_a_reminder_more_than_a_month_late_is_not_sent(program, mentor, learner):
    """Relationships begun long before (e.g. before agreements existed) are not emailed."""
    late = program.agreement_due_days + agreement_reminders.LATE_WINDOW.days + 1
    _started(program, mentor, learner, late)
    assert send_agreement_reminders() == 0
    assert mail.outbox == []
    assert not AgreementReminder.objects.exists()


def test_only_the_person_who_has_not_agreed_is_reminded_without_the_text(program, mentor, learner):
    pair = _started(program, mentor, learner, 40)
    _write(pair, learner, agree=True)
    send_agreement_reminders()
    send_agreement_reminders()
    assert _recipients() == [mentor.email]
    message = mail.outbox[0]
    for part in (message.subject, message.body, message.alternatives[0][0]):
        assert GOALS not in part and BOUNDARIES not in part
        assert "Lucia Garcia" in part


def test_nobody_is_reminded_of_a_done_agreement(program, mentor, learner):
    pair = _started(program, mentor, learner, 40)
    _write(pair, learner, agree=True)
    _agree(pair, mentor)
    assert send_agreement_reminders() == 0
    assert mail.outbox == [] and not AgreementReminder.objects.exists()


@pytest.mark.parametrize("change", ["pause", "end"])
def test_only_active_relationships_are_reminded(program, mentor, learner, change):
    pair = _started(program, mentor, learner, 40)
    if change == "pause":
        services.relationship_pause(relationship=pair)
    else:
        services.relationship_end(relationship=pair, reason="completed")
    assert send_agreement_reminders() == 0
    assert mail.outbox == []


def test_the_programs_number_of_days_decides(program, mentor, learner):
    program.agreement_due_days = 30
    program.save(update_fields=["agreement_due_days"])
    _started(program, mentor, learner, 20)
    assert send_agreement_reminders() == 0
    program.agreement_due_days = 20
    program.save(update_fields=["agreement_due_days"])
    assert send_agreement_reminders() == 2


def test_a_claim_whose_person_agreed_before_the_send_is_withdrawn(program, mentor, learner):
    pair = _started(program, mentor, learner, 40)
    _write(pair, learner)
    claimed = agreement_reminders.reminders_claim()
    assert len(claimed) == 2
    _agree(pair, learner)  # between the claim and the send
    assert agreement_reminders.reminders_send(reminder_ids=claimed) == 1
    assert _recipients() == [mentor.email]
    assert list(AgreementReminder.objects.values_list("recipient", flat=True)) == [mentor.pk]


def test_the_sweeper_sends_a_claim_left_unsent_once(program, mentor, learner):
    _started(program, mentor, learner, 40)
    claimed = agreement_reminders.reminders_claim()  # the worker is killed before it sends
    assert len(claimed) == 2 and mail.outbox == []
    assert agreement_reminders.reminders_sweep() == 0  # too early: it may still be on its way
    later = timezone.now() + agreement_reminders.SWEEP_AFTER + datetime.timedelta(seconds=1)
    assert agreement_reminders.reminders_sweep(now=later) == 2
    assert agreement_reminders.reminders_sweep(now=later + agreement_reminders.SWEEP_AFTER * 4) == 0
    assert send_agreement_reminders() == 0
    assert len(mail.outbox) == 2


def test_a_failed_send_is_retried_by_the_sweeper(program, mentor, learner, monkeypatch):
    _started(program, mentor, learner, 40)

    def broken(self, message):
        raise OSError("mail server down")

    monkeypatch.setattr(engine.Mailer, "send", broken)
    assert send_agreement_reminders() == 0
    assert AgreementReminder.objects.filter(sent_at__isnull=True).count() == 2
    monkeypatch.undo()
    later = timezone.now() + agreement_reminders.SWEEP_AFTER + datetime.timedelta(seconds=1)
    assert agreement_reminders.reminders_sweep(now=later) == 2
    assert len(mail.outbox) == 2


def test_the_sweeper_gives_up_after_five_attempts_and_says_so_once(
    program, mentor, learner, monkeypatch, caplog
):
    """The agreement sweeper shares the meeting reminders' attempt rule (claims_stale,
    claim_retake): attempts wait twice as long each time, and after the fifth the claim is
    given up, its reason recorded and one error logged."""

    def broken(self, message):
        raise OSError("mail server down")

    monkeypatch.setattr(engine.Mailer, "send", broken)
    _started(program, mentor, learner, 40)
    assert send_agreement_reminders() == 0
    at = timezone.now()
    for attempt in range(2, engine.MAX_ATTEMPTS + 1):
        at += agreement_reminders.SWEEP_AFTER * 2 ** (attempt - 2) + datetime.timedelta(seconds=1)
        assert agreement_reminders.reminders_sweep(now=at) == 0
        assert set(AgreementReminder.objects.values_list("attempts", flat=True)) == {attempt}
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="sessions_log.reminders"):
        agreement_reminders.reminders_sweep(now=at + datetime.timedelta(days=1))
        agreement_reminders.reminders_sweep(now=at + datetime.timedelta(days=2))
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("gave up on agreementreminder" in e for e in errors)
    assert set(AgreementReminder.objects.values_list("last_error", flat=True)) == {"given up"}
    assert not AgreementReminder.objects.filter(sent_at__isnull=False).exists()
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_send_each_reminder_once(program, mentor, learner, other_mentor):
    """Six runs of the task at once, each with its own database connection (a duplicated task,
    two beat processes): every person is emailed exactly once."""
    _started(program, mentor, learner, 40)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def run():
        try:
            barrier.wait()
            results.append(send_agreement_reminders())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and sum(results) == 2
    assert _recipients() == sorted([learner.email, mentor.email])
