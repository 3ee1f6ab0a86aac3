"""Self-match: a learner asks one suggested guide at a time; the guide accepts (the relationship
starts through relationship_start, so R1-R3 hold) or declines; unanswered requests expire and
the learner is told. Emails name people and the program only: the learner's message and the
guide's reply stay in the app."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, Role
from accounts.services import membership_end, membership_grant
from matching import emails, preferences
from matching.models import MatchRequest, TermOptOut
from matching.tasks import expire_match_requests, notify_match_request
from mentoring import services as mentoring_services
from mentoring.models import Program, Relationship
from mentoring.rules import RuleViolation

SECRET_MESSAGE = "I failed my cardiology rotation and feel lost"
SECRET_REPLY = "I am going on sick leave next month"


def send(program, learner, guide, message: str = "") -> MatchRequest:
    return preferences.request_send(program=program, learner=learner, guide=guide, message=message)


def overdue(match_request: MatchRequest) -> MatchRequest:
    MatchRequest.objects.filter(pk=match_request.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    match_request.refresh_from_db()
    return match_request


def state_of(match_request: MatchRequest) -> str:
    match_request.refresh_from_db()
    return match_request.state


def _html(response) -> str:
    return response.content.decode()


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def refused(program, learner, guide, rule: str, words: str) -> None:
    """request_send refuses with `rule`, naming the reason, and creates nothing."""
    before = MatchRequest.objects.count()
    with pytest.raises(RuleViolation) as refusal:
        send(program, learner, guide)
    assert refusal.value.rule == rule
    assert words in refusal.value.text
    assert MatchRequest.objects.count() == before


# --- Sending -------------------------------------------------------------------------------


def test_a_request_waits_for_the_guide_and_tells_them(
    self_match, learner, mentor, django_capture_on_commit_callbacks, notifications
):
    self_match.request_expiry_days = 3
    self_match.save()
    with django_capture_on_commit_callbacks() as callbacks:
        match_request = send(self_match, learner, mentor, "  Hello  ")
    assert (match_request.state, match_request.message) == (MatchRequest.State.PENDING, "Hello")
    expected = timezone.now() + datetime.timedelta(days=3)
    assert abs((match_request.expires_at - expected).total_seconds()) < 60
    assert notifications(callbacks) == [(match_request.pk, "sent")]


def test_no_request_where_the_administrator_pairs(program, learner, mentor):
    assert program.pairing == Program.Pairing.ADMINISTRATOR
    refused(program, learner, mentor, "STATE", "the program administrator does the matching")


def test_no_request_to_oneself_or_from_someone_not_learning_here(
    self_match, learner, mentor, other_mentor, outsider
):
    membership_grant(user=mentor, role=Role.LEARNER, program=self_match)
    refused(self_match, mentor, mentor, "R1", "cannot be their own")
    refused(self_match, outsider, other_mentor, "STATE", "not a current learner")
    refused(self_match, learner, outsider, "ROLE", "is not a mentor in")


def test_no_request_once_paired(self_match, learner, mentor, other_mentor):
    mentoring_services.relationship_start(program=self_match, guide=mentor, learner=learner)
    refused(self_match, learner, other_mentor, "R3", "you already have a mentor")


def test_one_pending_request_at_a_time(self_match, learner, mentor, other_mentor):
    send(self_match, learner, mentor)
    refused(self_match, learner, other_mentor, "STATE", "you have a request waiting")
    refused(self_match, learner, mentor, "STATE", "you have a request waiting")


def test_a_guide_who_declined_is_not_asked_again(self_match, learner, mentor, other_mentor):
    preferences.request_decline(match_request=send(self_match, learner, mentor))
    refused(self_match, learner, mentor, "STATE", "Kenji Ito has already declined")
    assert send(self_match, learner, other_mentor).state == MatchRequest.State.PENDING


def test_no_request_to_a_full_guide(self_match, learner, mentor, make_learner):
    Membership.objects.filter(user=mentor, program=self_match).update(capacity=1)
    mentoring_services.relationship_start(program=self_match, guide=mentor, learner=make_learner())
    refused(self_match, learner, mentor, "R3", "a capacity of 1")


def test_no_request_to_a_guide_sitting_out_the_term(self_match, learner, mentor, term):
    TermOptOut.objects.create(term=term, guide=mentor)
    refused(self_match, learner, mentor, "STATE", "not taking new learners this term")


def test_no_request_to_ones_assessor(self_match, learner, assessor):
    membership_grant(user=assessor, role=Role.MENTOR, program=self_match)
    mentoring_services.assessment_role_add(
        assessor=assessor,
        learner=learner,
        kind="assessor",
        context="OSCE",
        starts_on=timezone.localdate() - datetime.timedelta(days=5),
    )
    refused(self_match, learner, assessor, "R2", "may not assess their own mentee")


def test_no_request_to_the_guide_left_in_a_no_fault_rematch(
    self_match, learner, mentor, other_mentor
):
    relationship = mentoring_services.relationship_start(
        program=self_match, guide=mentor, learner=learner
    )
    mentoring_services.relationship_end(
        relationship=relationship, reason=Relationship.EndReason.NO_FAULT_REMATCH
    )
    refused(self_match, learner, mentor, "STATE", "no-fault rematch away from Kenji Ito")
    assert send(self_match, learner, other_mentor).state == MatchRequest.State.PENDING


def test_the_database_holds_one_pending_request_per_learner_and_program(
    self_match, other_program, learner, mentor, other_mentor, assessor
):
    first = send(self_match, learner, mentor)
    fields = {"program": self_match, "learner": learner, "expires_at": first.expires_at}
    with pytest.raises(IntegrityError), transaction.atomic():
        MatchRequest.objects.create(guide=other_mentor, **fields)
    # Answered requests and other programs do not count.
    MatchRequest.objects.create(guide=other_mentor, state=MatchRequest.State.DECLINED, **fields)
    membership_grant(user=learner, role=Role.LEARNER, program=other_program)
    MatchRequest.objects.create(
        program=other_program, learner=learner, guide=assessor, expires_at=first.expires_at
    )
    assert MatchRequest.objects.pending().filter(learner=learner).count() == 2


# --- Answering -----------------------------------------------------------------------------


def test_withdraw_frees_the_learner_to_ask_someone_else(self_match, learner, mentor, other_mentor):
    match_request = preferences.request_withdraw(match_request=send(self_match, learner, mentor))
    assert match_request.state == MatchRequest.State.WITHDRAWN
    assert match_request.answered_at is not None
    with pytest.raises(RuleViolation) as refusal:
        preferences.request_withdraw(match_request=match_request)
    assert "no longer waiting" in refusal.value.text
    assert send(self_match, learner, other_mentor).state == MatchRequest.State.PENDING


def test_decline_stores_the_reply_and_tells_the_learner(
    self_match, learner, mentor, django_capture_on_commit_callbacks, notifications
):
    match_request = send(self_match, learner, mentor)
    with django_capture_on_commit_callbacks() as callbacks:
        preferences.request_decline(match_request=match_request, reply=f"  {SECRET_REPLY} ")
    match_request.refresh_from_db()
    assert match_request.state == MatchRequest.State.DECLINED
    assert match_request.reply == SECRET_REPLY
    assert match_request.answered_at is not None
    assert notifications(callbacks) == [(match_request.pk, "declined")]
    with pytest.raises(RuleViolation):
        preferences.request_accept(match_request=match_request)
    assert not Relationship.objects.exists()


def test_accept_starts_a_self_matched_relationship(
    self_match, learner, mentor, term, django_capture_on_commit_callbacks, notifications
):
    match_request = send(self_match, learner, mentor)
    with django_capture_on_commit_callbacks() as callbacks:
        match_request = preferences.request_accept(match_request=match_request)
    relationship = Relationship.objects.get()
    assert (relationship.guide, relationship.learner) == (mentor, learner)
    assert relationship.origin == Relationship.Origin.SELF_MATCHED
    assert relationship.status == Relationship.Status.ACTIVE
    assert relationship.term == term
    assert relationship.created_by == mentor
    match_request.refresh_from_db()
    assert match_request.state == MatchRequest.State.ACCEPTED
    assert match_request.relationship == relationship
    assert notifications(callbacks) == [(match_request.pk, "accepted")]


def test_accept_is_refused_when_the_guide_filled_up_meanwhile(
    self_match, learner, mentor, make_learner, django_capture_on_commit_callbacks, notifications
):
    match_request = send(self_match, learner, mentor)
    Membership.objects.filter(user=mentor, program=self_match).update(capacity=1)
    mentoring_services.relationship_start(program=self_match, guide=mentor, learner=make_learner())
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuleViolation) as refusal,
    ):
        preferences.request_accept(match_request=match_request)
    assert refusal.value.rule == "R3"
    assert state_of(match_request) == MatchRequest.State.PENDING
    assert not Relationship.objects.filter(learner=learner).exists()
    assert notifications(callbacks) == []
    preferences.request_decline(match_request=match_request)  # the guide can still answer
    assert state_of(match_request) == MatchRequest.State.DECLINED


def test_accepting_after_the_date_is_refused_and_expires_the_request(
    self_match, learner, mentor, django_capture_on_commit_callbacks, notifications
):
    match_request = overdue(send(self_match, learner, mentor))
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuleViolation) as refusal,
    ):
        preferences.request_accept(match_request=match_request)
    assert "expired before it was answered" in refusal.value.text
    assert state_of(match_request) == MatchRequest.State.EXPIRED
    assert not Relationship.objects.exists()
    # The learner is told once, as the sweep would have; the sweep then finds nothing.
    assert notifications(callbacks) == [(match_request.pk, "expired")]
    assert preferences.requests_expire() == 0


@pytest.mark.parametrize("answer", ["withdraw", "decline"])
def test_other_answers_after_the_date_are_refused_and_expire_it(
    self_match, learner, mentor, answer
):
    match_request = overdue(send(self_match, learner, mentor))
    with pytest.raises(RuleViolation) as refusal:
        getattr(preferences, f"request_{answer}")(match_request=match_request)
    assert "no longer waiting" in refusal.value.text
    assert state_of(match_request) == MatchRequest.State.EXPIRED


def test_an_overdue_request_does_not_stop_the_learner_asking_again(
    self_match, learner, mentor, other_mentor, django_capture_on_commit_callbacks, notifications
):
    # The sweep has not run yet; the choose page already offers "Ask" again.
    first = overdue(send(self_match, learner, mentor))
    with django_capture_on_commit_callbacks() as callbacks:
        second = send(self_match, learner, other_mentor)
    assert state_of(first) == MatchRequest.State.EXPIRED
    assert second.state == MatchRequest.State.PENDING
    assert notifications(callbacks) == [(first.pk, "expired"), (second.pk, "sent")]


# --- Expiry --------------------------------------------------------------------------------


def test_the_sweep_expires_overdue_requests_once(
    self_match,
    learner,
    mentor,
    other_mentor,
    make_learner,
    django_capture_on_commit_callbacks,
    notifications,
):
    late = [overdue(send(self_match, person, mentor)) for person in (learner, make_learner())]
    waiting = send(self_match, make_learner(), other_mentor)
    answered = send(self_match, make_learner(), other_mentor)
    overdue(preferences.request_decline(match_request=answered))  # answered, then past its date
    with django_capture_on_commit_callbacks() as callbacks:
        assert expire_match_requests() == 2
    assert [state_of(r) for r in late] == [MatchRequest.State.EXPIRED] * 2
    assert state_of(waiting) == MatchRequest.State.PENDING
    assert state_of(answered) == MatchRequest.State.DECLINED
    assert sorted(notifications(callbacks)) == sorted((r.pk, "expired") for r in late)
    with django_capture_on_commit_callbacks() as callbacks:
        assert preferences.requests_expire() == 0
    assert notifications(callbacks) == []


def test_the_sweep_is_on_the_beat_schedule():
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "matching.tasks.expire_match_requests" in tasks


# --- Emails --------------------------------------------------------------------------------


def contents(message) -> str:
    return "\n".join([message.subject, message.body, *(c for c, _ in message.alternatives)])


def test_emails_go_to_the_right_person_and_never_carry_the_notes(
    self_match,
    learner,
    mentor,
    other_mentor,
    make_learner,
    eager_tasks,
    django_capture_on_commit_callbacks,
    mailoutbox,
):
    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    # Sent: to the guide, with a link to answer.
    asked = run(lambda: send(self_match, learner, mentor, SECRET_MESSAGE))
    assert [m.to for m in mailoutbox] == [[mentor.email]]
    assert "Lucia Garcia asks you to be their mentor" in mailoutbox[0].subject
    assert reverse("choosing:offer", kwargs={"code": self_match.code}) in mailoutbox[0].body
    # Declined: to the learner.
    run(lambda: preferences.request_decline(match_request=asked, reply=SECRET_REPLY))
    assert mailoutbox[-1].to == [learner.email]
    assert "Kenji Ito cannot be your mentor" in mailoutbox[-1].subject
    # Accepted: to the learner, with the relationship.
    asked = run(lambda: send(self_match, learner, other_mentor, SECRET_MESSAGE))
    accepted = run(lambda: preferences.request_accept(match_request=asked))
    assert mailoutbox[-1].to == [learner.email]
    assert "Funmi Adeyemi is now your mentor" in mailoutbox[-1].subject
    code = accepted.relationship.code
    assert reverse("mentoring:relationship-detail", kwargs={"code": code}) in mailoutbox[-1].body
    # Expired: to the learner.
    other = make_learner()
    overdue(run(lambda: send(self_match, other, mentor, SECRET_MESSAGE)))
    run(preferences.requests_expire)
    assert mailoutbox[-1].to == [other.email]
    assert "Your request to Kenji Ito expired" in mailoutbox[-1].subject

    assert [m.to[0] for m in mailoutbox] == [
        mentor.email,
        learner.email,
        other_mentor.email,
        learner.email,
        mentor.email,
        other.email,
    ]
    for message in mailoutbox:
        text = contents(message).lower()
        assert SECRET_MESSAGE.lower() not in text
        assert SECRET_REPLY.lower() not in text
        assert "cardiology" not in text and "sick leave" not in text


def test_a_stale_event_sends_nothing(self_match, learner, mentor, mailoutbox):
    match_request = send(self_match, learner, mentor)
    notify_match_request(match_request.pk, "declined")  # still pending: not declined
    assert mailoutbox == []
    preferences.request_accept(match_request=match_request)
    notify_match_request(match_request.pk, "sent")  # a late duplicate after the answer
    notify_match_request(match_request.pk, "expired")
    assert mailoutbox == []
    notify_match_request(match_request.pk, "accepted")
    assert [m.to for m in mailoutbox] == [[learner.email]]


# --- Pages ---------------------------------------------------------------------------------


def ask_url(program, guide) -> str:
    return reverse("choosing:request-new", kwargs={"code": program.code, "person": guide.code})


def choose_url(program) -> str:
    return reverse("choosing:choose", kwargs={"code": program.code})


def offer_url(program) -> str:
    return reverse("choosing:offer", kwargs={"code": program.code})


def test_asking_with_a_note_over_the_limit_keeps_what_was_typed(
    client, self_match, learner, mentor
):
    client.force_login(learner)
    assert client.get(ask_url(self_match, mentor)).status_code == 200
    typed = "Hoping to learn about research " + "x" * 1000
    response = client.post(ask_url(self_match, mentor), {"message": typed})
    assert response.status_code == 200
    assert response.context["form"].errors["message"]
    assert typed in _html(response)
    assert not MatchRequest.objects.exists()


def test_asking_from_the_page(client, self_match, learner, mentor):
    client.force_login(learner)
    response = client.post(ask_url(self_match, mentor), {"message": "Hoping to learn research"})
    assert response.status_code == 302
    assert response["Location"] == choose_url(self_match)
    match_request = MatchRequest.objects.get()
    assert (match_request.learner, match_request.guide) == (learner, mentor)
    assert match_request.message == "Hoping to learn research"
    page = client.get(response["Location"])
    html = _html(page)
    assert "Waiting for an answer" in html
    assert reverse("choosing:request-withdraw", kwargs={"code": match_request.code}) in html
    assert "choose/ask/" not in html  # one request at a time: no other "Ask" link


def test_a_refused_request_is_shown_and_keeps_the_note(
    client, self_match, learner, mentor, other_mentor
):
    mentoring_services.relationship_start(program=self_match, guide=other_mentor, learner=learner)
    client.force_login(learner)
    response = client.post(ask_url(self_match, mentor), {"message": "Hoping to learn research"})
    assert response.status_code == 200
    html = _html(response)
    assert "you already have a mentor" in html
    assert "Hoping to learn research" in html
    assert not MatchRequest.objects.exists()


def test_there_is_no_request_page_where_the_administrator_matches(client, program, learner, mentor):
    client.force_login(learner)
    assert client.get(ask_url(program, mentor)).status_code == 404
    assert client.post(ask_url(program, mentor), {"message": "Hi"}).status_code == 404
    assert not MatchRequest.objects.exists()


def test_asking_someone_who_is_not_a_guide_here_is_404(
    client, self_match, learner, outsider, make_learner
):
    client.force_login(learner)
    for person in (outsider, make_learner()):
        assert client.get(ask_url(self_match, person)).status_code == 404


def test_withdrawing_from_the_page(client, self_match, learner, mentor, make_learner):
    match_request = send(self_match, learner, mentor)
    client.force_login(make_learner())  # someone else's request: not found
    url = reverse("choosing:request-withdraw", kwargs={"code": match_request.code})
    assert client.post(url).status_code == 404
    client.force_login(learner)
    response = client.post(url)
    assert response["Location"] == choose_url(self_match)
    assert state_of(match_request) == MatchRequest.State.WITHDRAWN


def test_declining_with_a_reply_over_the_limit_keeps_what_was_typed(
    client, self_match, learner, mentor
):
    match_request = send(self_match, learner, mentor, SECRET_MESSAGE)
    client.force_login(mentor)
    page = _html(client.get(offer_url(self_match)))
    assert SECRET_MESSAGE in page  # the guide reads the note in the app
    url = reverse("choosing:request-decline", kwargs={"code": match_request.code})
    typed = "Not this year, sorry " + "y" * 1000
    response = client.post(url, {f"r{match_request.pk}-reply": typed})
    assert response.status_code == 200  # re-rendered with the error, as every form here
    assert typed in _html(response)
    assert state_of(match_request) == MatchRequest.State.PENDING
    response = client.post(url, {f"r{match_request.pk}-reply": "Not this year, sorry"})
    assert response["Location"] == offer_url(self_match)
    match_request.refresh_from_db()
    assert (match_request.state, match_request.reply) == ("declined", "Not this year, sorry")


def test_accepting_from_the_page_opens_the_relationship(
    client, self_match, learner, mentor, other_mentor
):
    match_request = send(self_match, learner, mentor)
    url = reverse("choosing:request-accept", kwargs={"code": match_request.code})
    client.force_login(other_mentor)  # not the guide asked
    assert client.post(url).status_code == 404
    client.force_login(mentor)
    response = client.post(url)
    relationship = Relationship.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "mentoring:relationship-detail", kwargs={"code": relationship.code}
    )
    assert relationship.origin == Relationship.Origin.SELF_MATCHED


def test_a_refused_accept_is_a_message_on_the_offer_page(
    client, self_match, learner, mentor, make_learner
):
    match_request = send(self_match, learner, mentor)
    Membership.objects.filter(user=mentor, program=self_match).update(capacity=1)
    mentoring_services.relationship_start(program=self_match, guide=mentor, learner=make_learner())
    client.force_login(mentor)
    url = reverse("choosing:request-accept", kwargs={"code": match_request.code})
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == offer_url(self_match)
    assert any(m.startswith("R3 Capacity") for m in _messages(response))
    assert state_of(match_request) == MatchRequest.State.PENDING


def test_home_page_points_learners_to_choose_and_guides_to_requests(
    client, self_match, learner, mentor, other_mentor, make_learner
):
    client.force_login(learner)
    html = _html(client.get(reverse("home")))
    assert f'href="{choose_url(self_match)}"' in html
    assert "Choose your mentor" in html

    send(self_match, learner, mentor)
    overdue(send(self_match, make_learner(), mentor))  # past its date: not counted
    client.force_login(mentor)
    html = _html(client.get(reverse("home")))
    assert "1 learner is asking you to be their mentor" in html
    assert "Answer requests" in html
    client.force_login(other_mentor)
    assert "asking you" not in _html(client.get(reverse("home")))

    preferences.request_accept(match_request=MatchRequest.objects.get(learner=learner))
    client.force_login(learner)
    html = _html(client.get(reverse("home")))
    assert "Choose your mentor" not in html
    assert "With Kenji Ito" in html


def test_an_archived_program_takes_no_new_requests(self_match, learner, mentor):
    self_match.is_active = False
    self_match.save()
    with pytest.raises(RuleViolation, match="archived"):
        send(self_match, learner, mentor)
    assert not MatchRequest.objects.exists()


def test_a_request_cannot_be_accepted_once_the_program_is_archived(self_match, learner, mentor):
    match_request = send(self_match, learner, mentor)
    self_match.is_active = False
    self_match.save()
    with pytest.raises(RuleViolation, match="archived"):
        preferences.request_accept(match_request=match_request)
    assert MatchRequest.objects.get(pk=match_request.pk).state == MatchRequest.State.PENDING
    assert not Relationship.objects.filter(learner=learner).exists()


def test_a_guide_who_left_cannot_reach_the_offer_page_through_a_bad_decline(
    client, self_match, learner, mentor
):
    match_request = send(self_match, learner, mentor)
    membership_end(
        membership=Membership.objects.get(program=self_match, user=mentor, role=Role.MENTOR)
    )
    client.force_login(mentor)
    url = reverse("choosing:request-decline", kwargs={"code": match_request.code})
    response = client.post(url, {f"r{match_request.pk}-reply": "x" * 1001})
    assert response.status_code == 404


def test_the_answer_by_time_is_in_the_guides_own_zone(self_match, learner, mentor):
    """The server keeps UTC; a guide in Tokyo reads the deadline in Tokyo time, named."""

    ParticipantProfile.objects.update_or_create(user=mentor, defaults={"timezone": "Asia/Tokyo"})
    mentor.refresh_from_db()
    asked = send(self_match, learner, mentor)
    MatchRequest.objects.filter(pk=asked.pk).update(
        expires_at=datetime.datetime(2026, 12, 3, 20, 30, tzinfo=datetime.UTC)
    )
    asked.refresh_from_db()
    mail.outbox.clear()
    emails.request_notify(match_request=asked, event="sent")
    (message,) = mail.outbox
    # 20:30 UTC on the 3rd is 05:30 on the 4th in Tokyo.
    assert "by 4 December 2026, 05:30 (Asia/Tokyo)" in message.body
    assert "by 4 December 2026, 05:30 (Asia/Tokyo)" in message.alternatives[0][0]
    assert timezone.get_current_timezone() != zoneinfo.ZoneInfo("Asia/Tokyo")  # restored
