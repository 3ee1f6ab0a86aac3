"""What a person sees when a form holds text that cannot be kept as typed (R12, R13).

A NUL character: a sentence at the top of the page that says what to remove, and everything
typed still in the form. More than a field holds: a sentence naming the limit. Direction
controls (U+202A-U+202E, U+2066-U+2069): refused in names and titles that other people read,
kept in free text. A broken character sent as raw bytes (a lone surrogate): stored as the
replacement character, never a 500. Each case goes through the real page and view as the
person who uses it; the page's own form gives the other fields' values.

tests/test_hostile_text_crawl.py posts every hostile value into every field of every page for
500s; this module checks what the person is told and what is kept.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import resolve, reverse
from django.utils import timezone

from accounts import text
from accounts.models import ImportBatch, User
from mentoring.models import ConfidentialNote, Goal, Program
from mentoring.models.confidential import NOTE_MAX_CHARS
from tests.authz_matrix import MATRIX
from tests.authz_matrix_notes import mark_recently_authenticated
from tests.hostile_forms import HUGE, NUL, RTL, SURROGATE, forms_of, send
from tests.test_authorization_matrix import matrix_world, shared_world  # noqa: F401
from tests.test_hostile_text_crawl import _pair_began_last_month

KEPT = "Kept words"


@pytest.fixture
def hostile_world(matrix_world):  # noqa: F811
    """The authorization matrix's world (its cast, pair, meetings, surveys), for one test."""
    return matrix_world


NUL_SENTENCE = "invisible NUL character"
BIDI_SENTENCE = "change the direction of the text"


@dataclass(frozen=True)
class Case:
    page: str  # URL name of the page that shows the form
    member: str
    action: str  # URL name the form posts to
    field: str  # where the hostile text goes
    kept: str | None = None  # another typed field, which must come back as typed
    kwargs: object = None  # defaults to the matrix row's
    setup: object = None
    choices: object = None  # fields a person must choose (not type): world -> {name: value}


def _page_url(case: Case, world) -> str:
    kwargs = case.kwargs or MATRIX[case.page].kwargs
    return reverse(case.page, kwargs=kwargs(world))


def post_into(client, world, case: Case, value: str, kept_value: str = KEPT):
    """Open the case's page as its member, fill its form as a person would, with `value` in
    the case's field, and post it; returns the response."""
    if case.setup:
        case.setup(world)
    user = world.cast[case.member]
    client.force_login(user)
    mark_recently_authenticated(client, user)
    page_url = _page_url(case, world)
    page = client.get(page_url)
    assert page.status_code == 200, f"{case.page}: {page.status_code}"
    for form in forms_of(page.content.decode()):
        action = form.action or page_url
        if resolve(action.split("?")[0]).view_name != case.action:
            continue
        if case.field not in form.text_fields():
            continue
        overrides = dict(case.choices(world)) if case.choices else {}
        overrides[case.field] = value
        if case.kept:
            overrides[case.kept] = kept_value
        pairs = [(k, overrides.pop(k, v)) for k, v in form.baseline()]
        pairs += list(overrides.items())
        return send(client, form.method, action, pairs)
    raise AssertionError(f"{case.page} has no form to {case.action} with {case.field}")


def alert_of(response) -> str:
    """The error summary at the top of the page (the first role="alert" block)."""
    html = response.content.decode()
    match = re.search(r'role="alert"[^>]*>(.*?)</div>', html, flags=re.S)
    assert match, "the page shows no error summary"
    return match.group(1)


# --- A NUL character: a sentence at the top, what was typed kept --------------------------------

NUL_CASES = {
    "profile": Case("accounts:profile", "learner", "accounts:profile", "languages", "full_name"),
    "agreement": Case(
        "agreements:agreement", "learner", "agreements:agreement", "goals", "boundaries"
    ),
    "goal": Case(
        "agreements:goal-new",
        "learner",
        "agreements:goal-new",
        "description",
        "title",
        choices=lambda w: {
            "domain": Goal.Domain.choices[0][0],
            "target_on": (timezone.localdate() + datetime.timedelta(days=30)).isoformat(),
        },
    ),
    "program": Case(
        "console:program-edit", "program_admin", "console:program-edit", "description", "name"
    ),
    "term": Case("console:term-create", "program_admin", "console:term-create", "name"),
    "meeting-log": Case(
        "meetings:meeting-log",
        "learner",
        "meetings:meeting-log",
        "reflection",
        "action_item",
        kwargs=lambda w: {"code": w.past_meeting.code},
        setup=_pair_began_last_month,
    ),
    "slot": Case(
        "meetings:availability", "mentor", "meetings:slot-add", "slot-location", "slot-video_link"
    ),
    "cancel": Case("meetings:cancel", "learner", "meetings:cancel", "message"),
    "match-request": Case("choosing:request-new", "learner", "choosing:request-new", "message"),
    "campaign": Case(
        "survey_console:campaign-create",
        "program_admin",
        "survey_console:campaign-create",
        "title",
    ),
    "question": Case(
        "survey_console:question-add",
        "program_admin",
        "survey_console:question-add",
        "prompt",
        "help_text",
    ),
    "survey-template": Case(
        "survey_console:template-edit",
        "program_admin",
        "survey_console:template-edit",
        "name",
        "introduction",
    ),
    "survey-section": Case(
        "survey_console:template-edit", "program_admin", "survey_console:sections", "title"
    ),
    "survey-answer": Case(
        "surveys:answer-mine", "learner", "surveys:answer-mine", "q_program_improvement"
    ),
}


@pytest.mark.parametrize("name", sorted(NUL_CASES))
def test_a_nul_character_is_named_at_the_top_and_the_typing_kept(client, hostile_world, name):
    case = NUL_CASES[name]
    response = post_into(client, hostile_world, case, NUL)
    assert response.status_code in (200, 400)
    assert NUL_SENTENCE in alert_of(response)
    page = response.content.decode()
    assert "Follow up next week." in page  # the field's own text
    if case.kept:
        assert KEPT in page


def test_a_nul_character_in_a_search_box_is_no_500(client, hostile_world):
    world = hostile_world
    client.force_login(world.cast["program_admin"])
    for url in (
        reverse("console:people", kwargs={"code": world.program.code}),
        reverse("console:relationships", kwargs={"code": world.program.code}),
        reverse("matching:run", kwargs={"code": world.run.code}),
    ):
        assert send(client, "get", url, [("q", NUL)]).status_code == 200
    client.force_login(world.cast["learner"])
    url = reverse("choosing:choose", kwargs={"code": world.program.code})
    assert send(client, "get", url, [("q", NUL)]).status_code == 200


# --- Direction controls: refused in names and titles, kept in free text --------------------------

LABEL_CASES = {
    "person's name": Case("accounts:profile", "learner", "accounts:profile", "full_name"),
    "program name": Case("console:program-edit", "program_admin", "console:program-edit", "name"),
    "goal title": Case("agreements:goal-new", "learner", "agreements:goal-new", "title"),
    "campaign title": NUL_CASES["campaign"],
    "section title": NUL_CASES["survey-section"],
    "place": Case("meetings:availability", "mentor", "meetings:slot-add", "slot-location"),
}


@pytest.mark.parametrize("name", sorted(LABEL_CASES))
def test_direction_controls_are_refused_in_names_and_titles(client, hostile_world, name):
    response = post_into(client, hostile_world, LABEL_CASES[name], RTL)
    assert response.status_code in (200, 400)
    assert BIDI_SENTENCE in alert_of(response)


def test_a_refused_name_changes_nothing(client, hostile_world):
    learner = hostile_world.cast["learner"]
    before = User.objects.get(pk=learner.pk).full_name
    post_into(client, hostile_world, LABEL_CASES["person's name"], RTL)
    assert User.objects.get(pk=learner.pk).full_name == before
    program = Program.objects.get(pk=hostile_world.program.pk)
    post_into(client, hostile_world, LABEL_CASES["program name"], RTL)
    assert Program.objects.get(pk=program.pk).name == program.name


def test_a_right_to_left_name_without_controls_is_welcome(client, hostile_world):
    learner = hostile_world.cast["learner"]
    response = post_into(client, hostile_world, LABEL_CASES["person's name"], "דנה כהן")
    assert response.status_code == 302
    assert User.objects.get(pk=learner.pk).full_name == "דנה כהן"


def test_free_text_keeps_direction_controls_and_is_shown_in_its_own_direction(
    client, hostile_world
):
    case = NUL_CASES["goal"]
    response = post_into(client, hostile_world, case, RTL)
    assert response.status_code == 302, alert_of(response)
    goal = Goal.objects.latest("pk")
    assert goal.title == KEPT
    assert goal.description == RTL
    page = client.get(response["Location"]).content.decode()
    assert re.search(r'dir="auto"[^>]*>\s*(<p>)?' + re.escape(RTL), page)


# --- 100 kB: a sentence naming the limit where a field has one ----------------------------------

LONG_CASES = {
    "person's name": LABEL_CASES["person's name"],
    "program description": NUL_CASES["program"],
    "goal description": NUL_CASES["goal"],
    "reflection": NUL_CASES["meeting-log"],
    "cancellation message": NUL_CASES["cancel"],
    "match-request message": NUL_CASES["match-request"],
    "survey introduction": Case(
        "survey_console:template-edit",
        "program_admin",
        "survey_console:template-edit",
        "introduction",
    ),
    "survey answer": NUL_CASES["survey-answer"],
    "section title": NUL_CASES["survey-section"],
}


@pytest.mark.parametrize("name", sorted(LONG_CASES))
def test_100_kb_of_text_gets_a_sentence_naming_the_limit(client, hostile_world, name):
    response = post_into(client, hostile_world, LONG_CASES[name], HUGE)
    assert response.status_code in (200, 400)
    summary = alert_of(response)
    assert "characters" in summary
    assert re.search(r"100,?000", summary), summary


def test_a_long_note_round_trips_up_to_its_limit(client, hostile_world):
    case = Case(
        "notes:note-new",
        "mentor",
        "notes:note-new",
        "body",
        kwargs=lambda w: {"code": w.pair.code},
    )
    body = HUGE[:NOTE_MAX_CHARS]
    response = post_into(client, hostile_world, case, body)
    assert response.status_code == 302
    assert ConfidentialNote.objects.get().body == body


# --- A broken character sent as raw bytes --------------------------------------------------------


def test_a_lone_surrogate_in_the_body_is_stored_as_the_replacement_character(client, hostile_world):
    # %ED%A0%80 (U+D800 as UTF-8 would spell it) is not UTF-8: Django decodes the form body
    # with errors="replace", so the view sees U+FFFD, which PostgreSQL stores.
    response = post_into(client, hostile_world, NUL_CASES["goal"], SURROGATE)
    assert response.status_code == 302
    goal = Goal.objects.latest("pk")
    assert goal.title == KEPT
    description = goal.description
    assert "\ufffd" in description and "Before" in description and "after" in description
    assert client.get(response["Location"]).status_code == 200


# --- The rule itself (accounts/text.py) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "storable", "label"),
    [
        ("Amina Yusuf", True, True),
        ("דנה כהן", True, True),  # a right-to-left script is welcome
        ("أمينة يوسف", True, True),
        ("a\x00b", False, False),
        ("broken \ud800 char", False, False),
        ("Dr \u202eevil", True, False),
        ("\u2066isolate\u2069", True, False),
        ("\u202a\u202b\u202c\u202d", True, False),
        ("mark \u200f only", True, True),  # a right-to-left mark reorders nothing around it
    ],
)
def test_the_text_rule(value, storable, label):
    assert (text.storable_problem(value) is None) is storable
    assert (text.label_problem(value) is None) is label
    for validator, ok in ((text.validate_storable, storable), (text.validate_label, label)):
        if ok:
            validator(value)
            validator([value, "plain"])
        else:
            with pytest.raises(ValidationError):
                validator(value)
            with pytest.raises(ValidationError):
                validator(["plain", value])


def test_every_sentence_is_plain_words():
    for sentence in (text.NUL_MESSAGE, text.BROKEN_MESSAGE, text.BIDI_MESSAGE):
        rendered = sentence.format(what="This text")
        assert rendered[0].isupper() and rendered.endswith(".")
        assert not re.search(r"\bR\d+\b|U\+|0x", rendered)


# --- CSV import cells: named per row and field, nothing imported ---------------------------------


def _upload(client, world, data: bytes):
    client.force_login(world.cast["program_admin"])
    return client.post(
        reverse("console:people-import", kwargs={"code": world.program.code}),
        {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv")},
    )


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("Dr \u202eevil\u202c Smith".encode(), BIDI_SENTENCE),
        (("Long " * 20_000).encode(), "At most 200 characters"),
    ],
    ids=["direction-controls", "100kB"],
)
def test_a_hostile_name_cell_is_named_and_nothing_imported(client, hostile_world, cell, says):
    before = User.objects.count()
    data = b"email,full_name,role\r\nnew.one@school.test," + cell + b",learner\r\n"
    response = _upload(client, hostile_world, data)
    assert response.status_code == 302
    batch = ImportBatch.objects.latest("pk")
    assert [(e["row"], e["field"]) for e in batch.errors] == [(2, "full_name")]
    page = client.get(response["Location"]).content.decode()
    assert says in page
    assert User.objects.count() == before


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"email,full_name,role\r\nnew.one@school.test,A\x00B,learner\r\n", "not a CSV"),
        (b"email,full_name,role\r\nnew.one@school.test,A\xed\xa0\x80B,learner\r\n", "UTF-8"),
    ],
    ids=["nul", "surrogate-bytes"],
)
def test_a_file_with_a_nul_or_a_broken_character_is_refused_on_the_form(
    client, hostile_world, data, says
):
    before = User.objects.count()
    response = _upload(client, hostile_world, data)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert User.objects.count() == before
