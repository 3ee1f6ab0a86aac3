"""A person's own profile: they see and change only their own, bad input keeps what they typed,
and the shared-background preferences they give never reach the other person's pages."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from django.urls import reverse

from accounts.forms import ProfileForm
from accounts.models import ParticipantProfile
from mentoring import services

PROFILE = reverse("accounts:profile")


def _form_data(**overrides) -> dict:
    data = {
        "full_name": "Lucia M. Garcia",
        "level": "MS2",
        "cohort": "Class of 2029",
        "track": "MD-PhD",
        "campus": "North campus",
        "specialty_interests": "Pediatrics; Emergency medicine, pediatrics ,, ",
        "research_interests": "Health equity",
        "languages": "English, Spanish;Portuguese",
        "shared_background": "First-generation college student",
        "timezone": "America/Chicago",
        "contact_preference": "Email first",
    }
    data.update(overrides)
    return data


def test_anonymous_visitor_is_sent_to_sign_in(client, db):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert urlparse(response["Location"]).path == reverse("account_login")


@pytest.mark.parametrize("member", ["learner", "mentor", "program_admin", "dean", "outsider"])
def test_everyone_signed_in_sees_their_own_profile_without_creating_one(client, cast, member):
    client.force_login(cast[member])
    response = client.get(PROFILE)
    assert response.status_code == 200
    assert cast[member].full_name in response.content.decode()
    assert not ParticipantProfile.objects.exists()  # a GET writes nothing


def test_update_creates_the_profile_and_parses_the_lists(client, learner):
    client.force_login(learner)
    response = client.post(PROFILE, _form_data(), follow=True)
    assert response.redirect_chain == [(PROFILE, 302)]
    assert "Your profile is saved." in [str(m) for m in response.context["messages"]]
    profile = ParticipantProfile.objects.get(user=learner)
    assert profile.level == "MS2"
    assert profile.cohort == "Class of 2029"
    assert profile.track == "MD-PhD"
    assert profile.campus == "North campus"
    assert profile.specialty_interests == ["Pediatrics", "Emergency medicine"]
    assert profile.research_interests == ["Health equity"]
    assert profile.languages == ["English", "Spanish", "Portuguese"]
    assert profile.shared_background == ["First-generation college student"]
    assert profile.timezone == "America/Chicago"
    assert profile.contact_preference == "Email first"
    learner.refresh_from_db()
    assert learner.full_name == "Lucia M. Garcia"
    # The saved lists come back as one line each.
    html = response.content.decode()
    assert 'value="English, Spanish, Portuguese"' in html


def test_update_changes_an_existing_profile_and_empty_lists_clear(client, learner):
    ParticipantProfile.objects.create(user=learner, languages=["English"], campus="Old")
    client.force_login(learner)
    client.post(PROFILE, _form_data(languages=" ; ", campus="New"))
    profile = ParticipantProfile.objects.get(user=learner)
    assert profile.languages == []
    assert profile.campus == "New"
    assert ParticipantProfile.objects.count() == 1


def test_bad_timezone_keeps_what_was_typed_and_names_the_field(client, learner):
    client.force_login(learner)
    typed = _form_data(timezone="Mars/Olympus_Mons", specialty_interests="Cardiology; Surgery")
    response = client.post(PROFILE, typed)
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["timezone"]
    assert "Mars/Olympus_Mons" in form.errors["timezone"][0]
    html = response.content.decode()
    assert 'value="Mars/Olympus_Mons"' in html
    assert 'value="Cardiology; Surgery"' in html
    assert 'value="Lucia M. Garcia"' in html
    assert 'aria-invalid="true"' in html
    assert "Time zone" in html
    assert not ParticipantProfile.objects.exists()
    learner.refresh_from_db()
    assert learner.full_name == "Lucia Garcia"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"full_name": "   "}, "full_name"),
        ({"level": "MS9"}, "level"),
        ({"languages": "x" * 101}, "languages"),
        ({"research_interests": ", ".join(f"topic {n}" for n in range(31))}, "research_interests"),
        ({"contact_preference": "y" * 201}, "contact_preference"),
    ],
)
def test_other_bad_input_is_a_form_error(client, learner, overrides, field):
    client.force_login(learner)
    response = client.post(PROFILE, _form_data(**overrides))
    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert not ParticipantProfile.objects.exists()


def test_shared_background_help_says_it_is_optional_private_and_for_matching(client, learner):
    client.force_login(learner)
    html = client.get(PROFILE).content.decode()
    help_text = ProfileForm.base_fields["shared_background"].help_text
    assert "Optional" in help_text
    assert "used only for matching" in help_text.lower()
    assert "never shown to other people" in help_text
    assert help_text in html


def test_shared_background_is_not_shown_on_the_other_persons_pages(
    client, program, learner, mentor
):
    relationship = services.relationship_start(program=program, guide=mentor, learner=learner)
    client.force_login(learner)
    client.post(PROFILE, _form_data(shared_background="Rural upbringing; Veteran"))
    assert ParticipantProfile.objects.get(user=learner).shared_background == [
        "Rural upbringing",
        "Veteran",
    ]
    client.force_login(mentor)
    pages = [
        reverse("mentoring:relationship-list"),
        reverse("mentoring:relationship-detail", kwargs={"code": relationship.code}),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "Spanish" in html, url  # the rest of her profile is there
        assert "Rural upbringing" not in html, url
        assert "Veteran" not in html, url


def test_profile_page_offers_time_zone_suggestions(client, learner):
    client.force_login(learner)
    html = client.get(PROFILE).content.decode()
    assert 'list="timezone-options"' in html
    assert '<option value="Europe/London"></option>' in html


def test_profile_refuses_other_methods(client, learner):
    client.force_login(learner)
    assert client.put(PROFILE).status_code == 405
