"""R4 after any sequence of pairings, endings, assessment roles, notes written, shared and
read (hypothesis state machine over `mentoring.notes` and `mentoring.services`).

The model kept here in plain Python says who wrote which note on which relationship and
whether it was shared. Every read is checked against it exactly: the author reads, the
learner reads a shared note, and nobody else (the program administrator, the dean, the
superuser, assessors, other guides and learners) ever does. Every attempt, allowed or
refused, must add exactly one access-log row, with the right person and outcome.

Each example runs in a savepoint that is rolled back in `teardown` (the pattern of
tests/mentoring/test_rules_property.py), inside one pytest-django test transaction.
"""

from __future__ import annotations

import datetime
from collections import Counter

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.models import Membership, Role, User
from accounts.services import membership_grant
from mentoring import services
from mentoring.models import AccessLogEntry, ConfidentialNote, Program, Relationship
from mentoring.notes import (
    Access,
    NoteNotFound,
    NoteReadOnly,
    note_create,
    note_read,
    note_share,
)
from mentoring.rules import RuleViolation

CURRENT = ("active", "paused")
# People, by name. Two programs: faculty mentoring (P0) and peer mentoring (P1), where the
# senior learner L0 is a peer mentor of the juniors while being a learner in P0.
GUIDES = {0: ["G0", "G1", "G2"], 1: ["L0", "G1"]}
LEARNERS = {0: ["L0", "L1", "L2", "L3"], 1: ["L1", "L2", "L3"]}
FACULTY_ASSESSORS = ["A0", "A1"]
OTHERS = ["admin", "dean", "superuser"]
PEOPLE = sorted({*GUIDES[0], *GUIDES[1], *LEARNERS[0], *FACULTY_ASSESSORS})
EVERYONE = PEOPLE + OTHERS
# Who an assessment role may name: faculty who assess only, and guides (so roles collide).
ASSESSORS = [*FACULTY_ASSESSORS, "G0", "G1", "G2"]

SEEN: Counter = Counter()

picks = st.integers(0, 50)
bodies = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
    min_size=1,
    max_size=30,
)


def _pick(rows: list, index: int):
    return rows[index % len(rows)]


class NotesMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.person: dict[str, User] = {}
        self.name: dict[int, str] = {}
        # code -> {"author": name, "relationship": pk, "shared": bool, "body": str}
        self.notes: dict = {}
        self.expected_log_rows = 0
        self.serial = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- The world ---------------------------------------------------------------------

    @initialize(conflict=st.sampled_from(["queue", "refuse"]), capacity=st.sampled_from([1, 2]))
    def build_world(self, conflict, capacity):
        self.programs = Program.objects.bulk_create(
            [
                Program(name="Faculty mentoring", kind="mentoring", assessment_conflict=conflict),
                Program(name="Peer mentoring", kind="mentoring", assessment_conflict="queue"),
            ]
        )
        users = User.objects.bulk_create(
            User(
                email=f"{name.lower()}@school.test",
                full_name=f"Person {name}",
                is_superuser=name == "superuser",
                is_staff=name == "superuser",
            )
            for name in EVERYONE
        )
        self.person = dict(zip(EVERYONE, users, strict=True))
        self.name = {user.pk: name for name, user in self.person.items()}
        memberships = []
        for p, program in enumerate(self.programs):
            memberships += [
                Membership(
                    user=self.person[g], program=program, role=Role.MENTOR, capacity=capacity
                )
                for g in GUIDES[p]
            ]
            memberships += [
                Membership(user=self.person[n], program=program, role=Role.LEARNER)
                for n in LEARNERS[p]
            ]
        Membership.objects.bulk_create(memberships)
        # Through the service: the administrator gets the django-guardian grant on both.
        for program in self.programs:
            membership_grant(user=self.person["admin"], role=Role.PROGRAM_ADMIN, program=program)
        membership_grant(user=self.person["dean"], role=Role.DEAN)

    # --- Helpers -----------------------------------------------------------------------

    def _relationships(
        self, current_only: bool = False, ended_only: bool = False
    ) -> list[Relationship]:
        if not self.person:
            return []
        qs = Relationship.objects.filter(program__in=self.programs).order_by("pk")
        if current_only:
            qs = qs.filter(status__in=CURRENT)
        if ended_only:
            qs = qs.filter(status="ended")
        return list(qs)

    def _logged(self, before: int, *, actor: str, action: str, allowed: bool) -> None:
        """Exactly one new log row, by `actor`, for `action`, with the outcome expected."""
        rows = list(AccessLogEntry.objects.order_by("id")[before:])
        assert len(rows) == 1, rows
        [entry] = rows
        assert entry.actor_id == self.person[actor].pk
        assert entry.action == action
        assert entry.outcome == ("allowed" if allowed else "refused")
        self.expected_log_rows += 1

    # --- Operations ---------------------------------------------------------------------

    @rule(p=st.integers(0, 1), g=picks, learner=picks)
    def pair(self, p, g, learner):
        try:
            services.relationship_start(
                program=self.programs[p],
                guide=self.person[_pick(GUIDES[p], g)],
                learner=self.person[_pick(LEARNERS[p], learner)],
            )
        except RuleViolation as refusal:
            SEEN[f"pair:{refusal.rule}"] += 1
        else:
            SEEN["pair:ok"] += 1

    @precondition(lambda self: self._relationships(current_only=True))
    @rule(index=picks)
    def end(self, index):
        relationship = _pick(self._relationships(current_only=True), index)
        services.relationship_end(relationship=relationship, reason="completed")
        SEEN["end:ok"] += 1

    @rule(
        assessor=st.sampled_from(ASSESSORS),
        learner=picks,
        kind=st.sampled_from(["assessor", "supervisor"]),
    )
    def assign_assessor(self, assessor, learner, kind):
        """R2 may refuse the role or queue it; either way it grants no access to notes."""

        try:
            outcome = services.assessment_role_add(
                assessor=self.person[assessor],
                learner=self.person[_pick(LEARNERS[0], learner)],
                kind=kind,
                context="Clerkship",
                starts_on=timezone.localdate() - datetime.timedelta(days=1),
            )
        except RuleViolation as refusal:
            SEEN[f"assess:{refusal.rule}"] += 1
        else:
            SEEN["assess:queued" if outcome.queued else "assess:in_force"] += 1

    @precondition(lambda self: self._relationships(current_only=True))
    @rule(index=picks, body=bodies)
    def guide_writes(self, index, body):
        relationship = _pick(self._relationships(current_only=True), index)
        self._write(relationship, self.name[relationship.guide_id], body)

    @precondition(lambda self: self._relationships(ended_only=True))
    @rule(index=picks, body=bodies)
    def guide_writes_after_the_end(self, index, body):
        relationship = _pick(self._relationships(ended_only=True), index)
        self._write(relationship, self.name[relationship.guide_id], body)

    @precondition(lambda self: self._relationships())
    @rule(index=picks, writer=st.sampled_from(EVERYONE), body=bodies)
    def someone_writes(self, index, writer, body):
        self._write(_pick(self._relationships(), index), writer, body)

    def _write(self, relationship, writer: str, body: str) -> None:
        self.serial += 1
        text = f"note {self.serial}: {body}"
        is_guide = self.name[relationship.guide_id] == writer
        allowed = is_guide and relationship.status in CURRENT
        before = AccessLogEntry.objects.count()
        try:
            note = note_create(
                Access(user=self.person[writer]), relationship=relationship, body=text
            )
        except NoteReadOnly:
            assert is_guide and not allowed
            SEEN["write:read-only"] += 1
        except NoteNotFound:
            assert not is_guide
            SEEN["write:not-guide"] += 1
        else:
            assert allowed
            self.notes[note.code] = {
                "author": writer,
                "relationship": relationship.pk,
                "learner": self.name[relationship.learner_id],
                "shared": False,
                "body": text.strip(),
            }
            SEEN["write:ok"] += 1
        self._logged(before, actor=writer, action="create", allowed=allowed)

    @precondition(lambda self: self.notes)
    @rule(index=picks)
    def author_shares(self, index):
        code = _pick(sorted(self.notes), index)
        self._share(code, self.notes[code]["author"])

    @precondition(lambda self: self.notes)
    @rule(index=picks, actor=st.sampled_from(EVERYONE))
    def someone_shares(self, index, actor):
        self._share(_pick(sorted(self.notes), index), actor)

    def _share(self, code, actor: str) -> None:
        known = self.notes[code]
        current = Relationship.objects.get(pk=known["relationship"]).status in CURRENT
        is_author = actor == known["author"]
        is_reader = is_author or (known["shared"] and actor == known["learner"])
        allowed = is_author and current and not known["shared"]
        before = AccessLogEntry.objects.count()
        try:
            note_share(Access(user=self.person[actor]), code)
        except NoteReadOnly:
            assert is_reader and not allowed
            SEEN["share:read-only"] += 1
        except NoteNotFound:
            assert not is_reader
            SEEN["share:not-found"] += 1
        else:
            assert allowed
            known["shared"] = True
            SEEN["share:ok"] += 1
        self._logged(before, actor=actor, action="share", allowed=allowed)

    def _read(self, code, reader: str) -> None:
        known = self.notes[code]
        allowed = reader == known["author"] or (known["shared"] and reader == known["learner"])
        before = AccessLogEntry.objects.count()
        try:
            note = note_read(Access(user=self.person[reader]), code)
        except NoteNotFound:
            assert not allowed, f"{reader} was refused a note they may read"
            SEEN[f"read-refused:{reader if reader in OTHERS else 'person'}"] += 1
        else:
            assert allowed, f"{reader} read a note that is not theirs: R4 broken"
            assert note.body == known["body"]
            role = "author" if reader == known["author"] else "learner"
            SEEN[f"read-ok:{role}"] += 1
        self._logged(before, actor=reader, action="read", allowed=allowed)

    @precondition(lambda self: self.notes)
    @rule(index=picks, reader=st.sampled_from(EVERYONE))
    def read(self, index, reader):
        self._read(_pick(sorted(self.notes), index), reader)

    @precondition(lambda self: any(n["shared"] for n in self.notes.values()))
    @rule(index=picks)
    def learner_reads_a_shared_note(self, index):
        code = _pick(sorted(c for c, n in self.notes.items() if n["shared"]), index)
        self._read(code, self.notes[code]["learner"])

    @precondition(lambda self: any(not n["shared"] for n in self.notes.values()))
    @rule(index=picks, reader=st.sampled_from([*OTHERS, *FACULTY_ASSESSORS, "learner"]))
    def someone_else_tries_an_unshared_note(self, index, reader):
        code = _pick(sorted(c for c, n in self.notes.items() if not n["shared"]), index)
        if reader == "learner":
            reader = self.notes[code]["learner"]
        self._read(code, reader)

    @precondition(lambda self: self.notes)
    @rule(index=picks)
    def the_author_reads(self, index):
        code = _pick(sorted(self.notes), index)
        self._read(code, self.notes[code]["author"])

    @precondition(lambda self: any(not n["shared"] for n in self.notes.values()))
    @rule(index=picks)
    def every_outsider_tries_an_unshared_note(self, index):
        """The administrator, the dean, the superuser and each assessor in turn: the outcomes
        the run must reach do not hang on which readers the random draw happened to pick."""
        code = _pick(sorted(c for c, n in self.notes.items() if not n["shared"]), index)
        for reader in [*OTHERS, *FACULTY_ASSESSORS]:
            self._read(code, reader)

    # --- Invariants ---------------------------------------------------------------------

    @invariant()
    def one_log_row_per_attempt(self):
        if self.person:
            assert AccessLogEntry.objects.count() == self.expected_log_rows

    @invariant()
    def nobody_but_the_author_or_the_shared_learner_ever_read(self):
        """From the log itself: every allowed read is by the author, or by the learner of a
        note that is shared (sharing cannot be undone, so "shared now" is enough)."""
        notes = {n.code: n for n in ConfidentialNote.objects.select_related("relationship")}
        for entry in AccessLogEntry.objects.filter(action="read", outcome="allowed"):
            note = notes[entry.object_code]
            assert entry.actor_id == note.author_id or (
                note.is_shared and entry.actor_id == note.relationship.learner_id
            ), entry

    @invariant()
    def the_readable_queryset_agrees_with_the_model(self):
        """Parity for every person: `readable_by` returns exactly the notes the model says."""
        if not self.person:
            return
        for name, user in self.person.items():
            expected = {
                code
                for code, n in self.notes.items()
                if n["author"] == name or (n["shared"] and n["learner"] == name)
            }
            got = set(ConfidentialNote.objects.readable_by(user).values_list("code", flat=True))
            assert got == expected, name


@pytest.mark.django_db(transaction=False)
def test_nobody_but_the_author_ever_reads_an_unshared_note():
    SEEN.clear()
    run_state_machine_as_test(
        NotesMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    # A property never put to the test proves nothing: the run must have reached every kind
    # of outcome (with derandomize=True the run is the same every time).
    for outcome in (
        "pair:ok",
        "end:ok",
        "write:ok",
        "write:read-only",
        "write:not-guide",
        "share:ok",
        "share:not-found",
        "share:read-only",
        "read-ok:author",
        "read-ok:learner",
        "read-refused:admin",
        "read-refused:dean",
        "read-refused:superuser",
        "read-refused:person",
    ):
        assert SEEN[outcome], f"{outcome} never happened: {dict(SEEN)}"
    assert SEEN["assess:in_force"] + SEEN["assess:queued"] + SEEN["assess:R2"], dict(SEEN)
