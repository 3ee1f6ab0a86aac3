"""The availability page's refusals are where the eye is: one error summary at the top of the
page (above the heading, not 2,500 px down by the form), focusable and marked for focus,
naming the clashing slot in the guide's time zone, with what was typed kept; the place fields
say truthfully that one of the two is required. The browser half (focus and position) is in
tests/browser/test_form_errors.py."""

from __future__ import annotations

import datetime
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_log.models import Slot
from tests.sessions_log.booking_helpers import set_zone, slot_of, start_pair
from tests.sessions_log.test_meeting_pages import make_meeting

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def _summary(page: str) -> str:
    pattern = r'<div class="error-summary"[^>]*data-error-summary[^>]*>.*?</div>'
    found = re.search(pattern, page, re.S)
    assert found, "no error summary on the page"
    return found.group(0)


def _post_slot(client, **values):
    data = {
        "slot-date": "2026-12-17",
        "slot-start_time": "17:30",
        "slot-duration_minutes": "30",
        "slot-location": "",
        "slot-video_link": "",
    }
    data.update({f"slot-{k}": v for k, v in values.items()})
    return client.post(reverse("meetings:slot-add"), data)


@pytest.mark.today("2026-12-07")
def test_a_refused_slot_is_summarised_at_the_top_naming_the_clash_in_the_guides_zone(
    client, mentor
):
    set_zone(mentor, "America/Chicago")
    slot_of(mentor, at=datetime.datetime(2026, 12, 17, 17, 0, tzinfo=CHICAGO), minutes=60)
    client.force_login(mentor)

    response = _post_slot(client, location="Typed room 12", video_link="https://v.example/t")

    page = response.content.decode()
    assert response.status_code == 200
    summary = _summary(page)
    # At the top: before the page's heading and before every other part of the page.
    assert page.index("data-error-summary") < page.index("<h1") < page.index('id="add-slot"')
    assert page.count("data-error-summary") == 1  # not repeated inside the form
    # Focusable, focused on load, and it puts the page's address back in the address bar.
    assert 'tabindex="-1"' in summary and "autofocus" in summary and 'role="alert"' in summary
    assert f'data-page-url="{reverse("meetings:availability")}"' in summary
    # It names the slot in the way, its day and time in the guide's zone.
    assert "This time was not added" in summary
    clash = "Thursday 17 December 2026, 17:00-18:00 (America/Chicago)"
    assert f"overlaps your free slot on {clash}" in summary
    # What was typed is still in the form, and nothing was added.
    assert 'value="Typed room 12"' in page and 'value="https://v.example/t"' in page
    assert 'value="17:30"' in page and 'value="2026-12-17"' in page
    assert Slot.objects.filter(guide=mentor).count() == 1
    assert "<title>Error: Your availability" in page


@pytest.mark.today("2026-12-07")
def test_room_and_video_link_say_one_of_the_two_is_required(client, mentor):
    client.force_login(mentor)
    page = client.get(reverse("meetings:availability")).content.decode()
    note = '<span class="muted">({})</span>'
    assert "Room " + note.format("this or a video link is required") in page
    assert "Video link " + note.format("this or a place to meet in person is required") in page
    assert not re.search(r"(Room|Video link) <span class=\"muted\">\(optional\)", page)

    response = _post_slot(client)  # neither given

    summary = _summary(response.content.decode())
    assert "Give a room or a video link: one of the two is required" in summary
    assert 'href="#id_slot-location"' in summary
    assert not Slot.objects.filter(guide=mentor).exists()


def test_a_refused_weekly_time_is_summarised_at_the_top(client, mentor):
    client.force_login(mentor)
    response = client.post(
        reverse("meetings:pattern-add"),
        {
            "pattern-weekday": "2",
            "pattern-start_time": "08:30",
            "pattern-duration_minutes": "30",
            "pattern-timezone": "Mars/Olympus",
            "pattern-location": "Typed room 5",
        },
    )
    page = response.content.decode()
    summary = _summary(page)
    assert page.index("data-error-summary") < page.index("<h1")
    assert "This weekly time was not added" in summary and "Mars/Olympus" in summary
    assert 'value="Typed room 5"' in page


def test_reloading_a_refused_forms_address_shows_the_availability_page(client, mentor):
    client.force_login(mentor)
    response = client.get(reverse("meetings:slot-add"))
    assert response.status_code == 302
    assert response["Location"] == reverse("meetings:availability") + "#add-slot"
    response = client.get(reverse("meetings:pattern-add"))
    assert response["Location"] == reverse("meetings:availability") + "#weekly"


def test_a_learner_reloading_the_address_gets_404(client, learner):
    client.force_login(learner)
    assert client.get(reverse("meetings:slot-add")).status_code == 404


# --- The same summary on the other pages whose form is at the foot ---------------------------


def _top_summary(page: str) -> str:
    assert page.count("data-error-summary") == 1
    assert page.index("data-error-summary") < page.index("<h1")
    return _summary(page)


def test_a_refused_action_item_is_summarised_at_the_top_of_the_meeting_page(
    client, program, mentor, learner
):
    pair = start_pair(program, mentor, learner)
    meeting = make_meeting(pair, at=timezone.now() - datetime.timedelta(days=7))
    client.force_login(learner)
    typed = "Plan " + "x" * 400
    response = client.post(
        reverse("meetings:action-item-add", kwargs={"code": meeting.code}), {"text": typed}
    )
    page = response.content.decode()
    summary = _top_summary(page)
    assert "The action item was not added" in summary and 'href="#id_text"' in summary
    assert reverse("meetings:meeting", kwargs={"code": meeting.code}) in summary
    assert typed in page


def test_a_refused_time_request_is_summarised_at_the_top_of_the_booking_page(
    client, program, mentor, learner
):
    pair = start_pair(program, mentor, learner)
    client.force_login(learner)
    typed = "x" * 5000
    response = client.post(
        reverse("meetings:time-request", kwargs={"code": pair.code}), {"message": typed}
    )
    page = response.content.decode()
    summary = _top_summary(page)
    assert "Your request was not sent" in summary
    assert typed in page
