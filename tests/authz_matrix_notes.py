"""Authorization matrix rows of the confidential notes (namespace `notes`) and the privacy
officer's access log (namespace `privacy`); merged into MATRIX.

World objects: world.pair (the mentor and the learner). The note is created lazily by the
kwargs callable: an unshared note the mentor wrote on world.pair. R4: only its author reaches
it; everyone else, the learner, administrators, the dean and the superuser included, gets 404
(and a refused entry in the access log, tested in tests/mentoring/test_notes_pages.py).

Re-authentication: every notes page asks for a recent authentication (allauth's
reauthentication; see mentoring/views/notes.py). `client.force_login` records none, so the
matrix driver calls `mark_recently_authenticated` after signing each member in: the matrix
checks who may see what, with everyone freshly authenticated. What happens to a stale
session (302 to the re-authentication page, then back to the note) is tested in
tests/mentoring/test_notes_pages.py.

The privacy rows: nobody in the cast is a privacy officer, so only the superuser (who holds
every permission) reaches the log; the officer's own answers are in
tests/mentoring/test_privacy_log.py.
"""

from __future__ import annotations

import time

from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.internal.flows.login import _AUTHENTICATION_METHODS_USER_SESSION_KEY
from allauth.account.internal.userkit import user_id_to_str

from mentoring import notes
from tests.authz_matrix_base import Row

# Who has a notes area: guides (the mentors; the assessor mentors in the other program) and
# the learner (notes shared with her, maybe none).
GUIDES = {"mentor": 200, "other_mentor": 200, "assessor": 200}


def mark_recently_authenticated(client, user) -> None:
    """Record in the test client's session that `user` just re-authenticated, the way
    allauth does after the password or authenticator code (account_authentication_methods)."""
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "reauthenticated": True}
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()


def note(world) -> dict:
    """An unshared note of the mentor's on world.pair."""

    written = notes.note_create(
        notes.Access(user=world.cast["mentor"]),
        relationship=world.pair,
        body="Worried about her exam anxiety.",
    )
    return {"code": written.code}


def relationship(world) -> dict:
    return {"code": world.pair.code}


ROWS: dict = {
    # The notes area: guides and learners (the superuser, administrators and the dean have
    # none: 404).
    "notes:my-notes": Row(who={**GUIDES, "learner": 200}),
    # The author's own notes as CSV (a POST from the notes area): guides only.
    "notes:export": Row(method="post", who=GUIDES),
    # A relationship's notes: its two people (the learner sees the shared ones, maybe none).
    "notes:relationship": Row(kwargs=relationship, who={"learner": 200, "mentor": 200}),
    # Writing a note: the relationship's guide only (saved: 302). The learner is refused
    # like an outsider (404), as mentoring.notes.note_create decides.
    "notes:note-new": Row(
        method="post",
        kwargs=relationship,
        who={"mentor": 302},
        data=lambda w: {"body": "Talked about her research plans."},
    ),
    # One unshared note: its author only.
    "notes:note": Row(kwargs=note, who={"mentor": 200}),
    "notes:note-edit": Row(kwargs=note, who={"mentor": 200}),
    "notes:note-share": Row(method="post", kwargs=note, who={"mentor": 302}),
    "notes:note-delete": Row(method="post", kwargs=note, who={"mentor": 302}),
    # The access log: privacy officers (none in the cast) and the superuser.
    "privacy:access-log": Row(who={"superuser": 200}),
    "privacy:access-log-csv": Row(who={"superuser": 200}),
    # Marking the log as reviewed (for the officer's home page): a POST, then back to the log.
    "privacy:access-log-reviewed": Row(method="post", who={"superuser": 302}),
}
