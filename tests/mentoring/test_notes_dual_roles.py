"""R4 and R8 across every notes and agreements page, for people who hold two roles at once.

The cast (PRODUCT.md: "a PGY-3 is a learner in one program and a peer mentor in another; a
faculty member mentors some learners and assesses others"):
  faculty   Dr. Farah Dual: mentors learner Ana (program 1) and assesses learner Ben (an
            assessment role), whose mentor in program 2 is Dr. Mo Other
  senior    Sam Senior: a learner in program 1 (mentored by Kenji), and a peer mentor in the
            peer program, mentoring the junior Jun
  superuser, the program administrator (of all three programs) and the dean: no note, goal or
            agreement is theirs, ever

The URLs are discovered from the resolver (namespaces `notes` and `agreements`) and reversed
with real codes. Each person asks for each page (GET; POST too where the person has no right
to change anything, so that a refusal is seen to change nothing). Someone with no right to an
object must get exactly the answer they get for an object that does not exist (R8: 404, or
405 where the page does not take that method at all), and never its text.
"""

from __future__ import annotations

import datetime
import time
import uuid
from dataclasses import dataclass

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.internal.userkit import user_id_to_str
from django.urls import get_resolver, reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import membership_grant
from mentoring.models import ConfidentialNote, Goal, MentoringAgreement
from mentoring.notes import Access, note_create, note_share
from mentoring.services import assessment_role_add, relationship_start
from tests.conftest import give_mfa
from tests.factories import ProgramFactory, UserFactory

# allauth's private key naming whose records they are (allauth.account.internal.flows.login).
AUTHENTICATION_METHODS_USER_SESSION_KEY = "account_authentication_methods_user"


def sign_in_fresh(client, user) -> None:
    """Sign `user` in and record a password re-authentication just now, as allauth does
    after the password form (`record_authentication(..., reauthenticated=True)`), so that
    pages asking for a recent authentication open without the password prompt."""
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "reauthenticated": True, "email": user.email}
    ]
    session[AUTHENTICATION_METHODS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()


# --- Discovering the pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    namespace: str
    name: str
    route: str
    params: tuple[str, ...]

    @property
    def kind(self) -> str:
        """Which object the page's code names: a note, a relationship, a goal, or none."""
        if not self.params:
            return "none"
        if self.namespace == "notes":
            return "relationship" if self.route.startswith("relationship/") else "note"
        return "goal" if self.route.startswith("goals/") else "relationship"

    def url(self, code) -> str:
        kwargs = {self.params[0]: code} if self.params else {}
        return reverse(f"{self.namespace}:{self.name}", kwargs=kwargs)


def pages_of(namespace: str) -> list[Page]:
    entry = get_resolver().namespace_dict.get(namespace)
    if entry is None:
        return []
    _, resolver = entry
    pages = []
    for pattern in resolver.url_patterns:
        if getattr(pattern, "name", None):
            params = tuple(getattr(pattern.pattern, "converters", {}) or ())
            assert len(params) <= 1, f"{namespace}:{pattern.name} takes {params}"
            pages.append(Page(namespace, pattern.name, str(pattern.pattern), params))
    return pages


@pytest.fixture
def pages():
    found = {ns: pages_of(ns) for ns in ("notes", "agreements")}
    empty = [ns for ns, listed in found.items() if not listed]
    if empty:
        pytest.skip(f"no URL in namespace(s) {', '.join(empty)} yet: the pages are not built")
    return found["notes"] + found["agreements"]


# --- The cast and their objects ----------------------------------------------------------------


def person(full_name: str, *, mfa: bool = True):
    user = UserFactory(full_name=full_name, email=f"{full_name.split()[-1].lower()}@school.test")
    if mfa:
        give_mfa(user)
    return user


@pytest.fixture
def world(db):
    today = timezone.localdate()
    program_1 = ProgramFactory(name="MS1 faculty mentoring")
    program_2 = ProgramFactory(name="MS3 faculty mentoring")
    peer = ProgramFactory(name="PGY peer mentoring")

    faculty = person("Farah Dual")
    other_mentor = person("Mo Other")
    kenji = person("Kenji Ito")
    senior = person("Sam Senior")
    ana = person("Ana Alpha", mfa=False)
    ben = person("Ben Beta", mfa=False)
    jun = person("Jun Junior", mfa=False)
    superuser = UserFactory(
        full_name="Site Operator", email="operator@school.test", is_staff=True, is_superuser=True
    )
    give_mfa(superuser)
    admin = person("Rosa Admin")
    dean = person("Helen Dean")

    for user, role, program in [
        (faculty, Role.MENTOR, program_1),
        (kenji, Role.MENTOR, program_1),
        (ana, Role.LEARNER, program_1),
        (senior, Role.LEARNER, program_1),
        (other_mentor, Role.MENTOR, program_2),
        (ben, Role.LEARNER, program_2),
        (senior, Role.MENTOR, peer),
        (jun, Role.LEARNER, peer),
        (admin, Role.PROGRAM_ADMIN, program_1),
        (admin, Role.PROGRAM_ADMIN, program_2),
        (admin, Role.PROGRAM_ADMIN, peer),
    ]:
        membership_grant(user=user, role=role, program=program)
    membership_grant(user=dean, role=Role.DEAN)

    start = today - datetime.timedelta(days=30)
    rel = {
        "faculty-ana": relationship_start(
            program=program_1, guide=faculty, learner=ana, started_on=start
        ),
        "other-ben": relationship_start(
            program=program_2, guide=other_mentor, learner=ben, started_on=start
        ),
        "kenji-senior": relationship_start(
            program=program_1, guide=kenji, learner=senior, started_on=start
        ),
        "senior-jun": relationship_start(program=peer, guide=senior, learner=jun, started_on=start),
    }
    # The faculty member assesses Ben (whose mentor is someone else): accepted, R2 untouched.
    outcome = assessment_role_add(
        assessor=faculty,
        learner=ben,
        kind="assessor",
        context="Medicine clerkship",
        starts_on=start,
    )
    assert not outcome.queued

    def write(key, author, text, shared=False):
        note = note_create(Access(user=author), relationship=rel[key], body=text)
        if shared:
            note_share(Access(user=author), note.code)
        return ConfidentialNote.objects.select_related("relationship").get(pk=note.pk)

    notes = {
        "faculty-on-ana": write("faculty-ana", faculty, "NOTE-FA Ana fears the shelf exam"),
        "other-on-ben": write("other-ben", other_mentor, "NOTE-OB Ben is struggling at home"),
        "kenji-on-senior": write("kenji-senior", kenji, "NOTE-KS Sam seems close to burnout"),
        "kenji-on-senior-shared": write(
            "kenji-senior", kenji, "NOTE-KS-SHARED Sam asked for a research lead", shared=True
        ),
        "senior-on-jun": write("senior-jun", senior, "NOTE-SJ Jun wants to switch specialty"),
    }
    goals = {}
    for key, relationship in rel.items():
        MentoringAgreement.objects.create(
            relationship=relationship,
            goals=f"AGREEMENT-GOALS-{key} of the pair",
            boundaries=f"AGREEMENT-BOUNDS-{key} of the pair",
        )
        goals[key] = Goal.objects.create(
            relationship=relationship,
            title=f"GOAL-TITLE-{key} of the pair",
            description=f"GOAL-DESC-{key}",
            domain=Goal.Domain.CAREER,
        )
    people = {
        "faculty": faculty,
        "other_mentor": other_mentor,
        "kenji": kenji,
        "senior": senior,
        "ana": ana,
        "ben": ben,
        "jun": jun,
        "superuser": superuser,
        "program_admin": admin,
        "dean": dean,
    }
    return {"people": people, "rel": rel, "notes": notes, "goals": goals}


def texts_of(world) -> dict[str, str]:
    """Every confidential text of the world, by a name for the failure message."""
    texts = {f"note {k}": n.body for k, n in world["notes"].items()}
    for key in world["rel"]:
        texts[f"agreement {key}"] = f"AGREEMENT-GOALS-{key}"
        texts[f"goal {key}"] = f"GOAL-TITLE-{key}"
    return texts


def name_of(world, user) -> str:
    return next(k for k, u in world["people"].items() if u.pk == user.pk)


# --- Who may see what (the expectations, written from R4 and R8) -------------------------------


def note_rights(world, who: str, note) -> str:
    """'author', 'reader' (the learner of a shared note) or 'none'."""
    user = world["people"][who]
    if note.author_id == user.pk:
        return "author"
    if note.is_shared and note.relationship.learner_id == user.pk:
        return "reader"
    return "none"


def relationship_rights(world, who: str, relationship) -> str:
    user = world["people"][who]
    if relationship.guide_id == user.pk:
        return "guide"
    if relationship.learner_id == user.pk:
        return "learner"
    return "none"


def readable_texts(world, who: str) -> set[str]:
    """The texts `who` may see on some page: their own notes, notes shared with them, and
    the agreement and goals of their own relationships."""
    allowed = set()
    for key, note in world["notes"].items():
        if note_rights(world, who, note) != "none":
            allowed.add(f"note {key}")
    for key, relationship in world["rel"].items():
        if relationship_rights(world, who, relationship) != "none":
            allowed |= {f"agreement {key}", f"goal {key}"}
    return allowed


def expected_get(world, who: str, page: Page, obj) -> int | None:
    """The answer `who` must get for GET `page` of `obj`; None: "as for no such object"."""
    if page.kind == "note":
        rights = note_rights(world, who, obj)
        if rights == "none":
            return None
        if page.name == "note":
            return 200
        if rights == "reader":
            return 403  # may read it, not change it (R8: 403 only there)
        if page.name == "note-share" and obj.is_shared:
            return 302  # already shared: back to the note
        return 200
    if page.kind == "relationship":
        rights = relationship_rights(world, who, obj)
        if rights == "none":
            return None
        if page.namespace == "notes" and page.name != "relationship" and rights == "learner":
            return None  # only the guide writes notes on a relationship
        return 200
    if page.kind == "goal":
        return 200 if relationship_rights(world, who, obj.relationship) != "none" else None
    return None


def objects_for(world, page: Page) -> list[tuple[str, object]]:
    if page.kind == "note":
        return list(world["notes"].items())
    if page.kind == "relationship":
        return list(world["rel"].items())
    if page.kind == "goal":
        return list(world["goals"].items())
    return [("-", None)]


# --- The walk ----------------------------------------------------------------------------------


def snapshot():
    """What a refused request must not change."""
    return (
        sorted(ConfidentialNote.objects.values_list("code", "shared_at", "updated_at")),
        sorted(Goal.objects.values_list("code", "status", "updated_at")),
        sorted(MentoringAgreement.objects.values_list("pk", "updated_at", "guide_agreed_at")),
    )


def test_every_notes_and_agreements_page_answers_each_role_as_r4_and_r8_say(client, world, pages):
    texts = texts_of(world)
    before = snapshot()
    failures = []
    get_ok = set()
    for who, user in world["people"].items():
        sign_in_fresh(client, user)
        allowed_texts = readable_texts(world, who)
        missing = {}  # (page, method) -> the answer for an object that does not exist
        for page in pages:
            if page.kind == "none":
                continue
            for method in ("get", "post"):
                response = getattr(client, method)(page.url(uuid.uuid4()))
                missing[(page.name, method)] = response.status_code
                assert response.status_code in (404, 405), (who, page.name, method)
        for page in pages:
            if page.kind == "none":
                continue  # the notes area and the export: below
            for key, obj in objects_for(world, page):
                code = obj.code
                url = page.url(code)
                expected = expected_get(world, who, page, obj)
                response = client.get(url)
                if missing[(page.name, "get")] == 405:
                    expected = 405  # a page that takes no GET says so to everyone
                wanted = missing[(page.name, "get")] if expected is None else expected
                if response.status_code != wanted:
                    failures.append(
                        f"{who} GET {page.name} [{key}]: {response.status_code}, expected {wanted}"
                    )
                if response.status_code == 200:
                    get_ok.add((who, page.name, key))
                leaked = _leaked(response, texts, allowed_texts)
                if leaked:
                    failures.append(f"{who} GET {page.name} [{key}] shows {leaked}")
                # POST only where the person may change nothing: nothing must change.
                if expected is None or expected == 403:
                    response = client.post(url, {"body": "overwritten", "title": "x"})
                    wanted = missing[(page.name, "post")] if expected is None else 403
                    if missing[(page.name, "post")] == 405:
                        wanted = 405
                    if response.status_code != wanted:
                        failures.append(
                            f"{who} POST {page.name} [{key}]: "
                            f"{response.status_code}, expected {wanted}"
                        )
                    leaked = _leaked(response, texts, allowed_texts)
                    if leaked:
                        failures.append(f"{who} POST {page.name} [{key}] shows {leaked}")
        client.logout()
    assert not failures, "\n".join(failures)
    assert snapshot() == before, "a refused request changed something"
    # The walk reached what it is about (a page list that came back empty would pass above).
    for expected in [
        ("faculty", "note", "faculty-on-ana"),
        ("senior", "note", "senior-on-jun"),
        ("senior", "note", "kenji-on-senior-shared"),
        ("ana", "goals", "faculty-ana"),
        ("senior", "agreement", "kenji-senior"),
        ("senior", "agreement", "senior-jun"),
    ]:
        assert expected in get_ok, expected


def body_of(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", errors="replace")
    return response.content.decode("utf-8", errors="replace")


def _leaked(response, texts: dict[str, str], allowed: set[str]) -> list[str]:
    content = body_of(response)
    return [name for name, text in texts.items() if name not in allowed and text in content]


# --- The cases the issue names, one by one (clear failures when the walk above fails) ----------


def get(client, user, name: str, code) -> int:
    sign_in_fresh(client, user)
    return client.get(reverse(name, kwargs={"code": code})).status_code


def test_the_dual_role_faculty_member_reads_their_own_notes_not_those_of_the_learner_they_assess(
    client, world, pages
):
    faculty = world["people"]["faculty"]
    assert get(client, faculty, "notes:note", world["notes"]["faculty-on-ana"].code) == 200
    assert get(client, faculty, "notes:note", world["notes"]["other-on-ben"].code) == 404
    assert get(client, faculty, "notes:relationship", world["rel"]["other-ben"].code) == 404
    assert get(client, faculty, "agreements:goals", world["rel"]["other-ben"].code) == 404
    assert get(client, faculty, "agreements:goal", world["goals"]["other-ben"].code) == 404


def test_the_senior_learner_reads_their_peer_mentee_notes_and_only_shared_notes_about_them(
    client, world, pages
):
    senior = world["people"]["senior"]
    notes = world["notes"]
    assert get(client, senior, "notes:note", notes["senior-on-jun"].code) == 200
    assert get(client, senior, "notes:note-edit", notes["senior-on-jun"].code) == 200
    assert get(client, senior, "notes:note", notes["kenji-on-senior"].code) == 404
    assert get(client, senior, "notes:note", notes["kenji-on-senior-shared"].code) == 200
    assert get(client, senior, "notes:note-edit", notes["kenji-on-senior-shared"].code) == 403
    # Jun, the junior, reads nothing his peer mentor wrote (it is not shared).
    assert get(client, world["people"]["jun"], "notes:note", notes["senior-on-jun"].code) == 404


@pytest.mark.parametrize("who", ["superuser", "program_admin", "dean"])
def test_superuser_administrator_and_dean_get_404_on_every_note_goal_and_agreement(
    client, world, pages, who
):
    user = world["people"][who]
    for note in world["notes"].values():
        assert get(client, user, "notes:note", note.code) == 404
    for relationship in world["rel"].values():
        assert get(client, user, "notes:relationship", relationship.code) == 404
        assert get(client, user, "agreements:agreement", relationship.code) == 404
        assert get(client, user, "agreements:goals", relationship.code) == 404
    for goal in world["goals"].values():
        assert get(client, user, "agreements:goal", goal.code) == 404


def test_the_notes_area_and_the_export_show_each_person_only_their_own(client, world, pages):
    texts = texts_of(world)
    for who, user in world["people"].items():
        sign_in_fresh(client, user)
        area = client.get(reverse("notes:my-notes"))
        assert area.status_code in (200, 404), who
        content = body_of(area)
        # The area lists notes (counts, dates), never a body: not even the person's own.
        assert not [name for name, text in texts.items() if text in content], who
        export = client.post(reverse("notes:export"))
        assert export.status_code in (200, 404), who
        exported = body_of(export) if export.status_code == 200 else ""
        own = {f"note {k}" for k, n in world["notes"].items() if n.author_id == user.pk}
        found = {name for name, text in texts.items() if text in exported}
        assert found == own, (who, found, own)
        client.logout()


def test_a_stale_authentication_asks_for_the_password_before_any_note_page(client, world, pages):
    faculty = world["people"]["faculty"]
    client.force_login(faculty)  # signed in long ago: no recent authentication recorded
    response = client.get(
        reverse("notes:note", kwargs={"code": world["notes"]["faculty-on-ana"].code})
    )
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert "NOTE-FA" not in response.content.decode()
