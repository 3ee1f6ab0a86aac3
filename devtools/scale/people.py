"""Learners with their status history, profiles and memberships; faculty guides; peers."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.contrib.auth.hashers import make_password

from accounts.models import Membership, ParticipantProfile, StatusChange, User
from dashboards import years as ay
from devtools.scale.data import (
    ADVISING,
    DAY,
    EMAIL_DOMAIN,
    GUIDE_ROLE,
    PEER_PROGRAM,
    PROGRAMS,
    Learner,
    new_uuid,
)


class People:
    """Mixin of ScaleSeed."""

    def _people(self) -> None:
        """Learners (with statuses, profiles, memberships) and faculty guides."""

        rng = self.rng
        n_learners = self.target["learners"]
        n_peers = self.target["peer_guides"]
        n_faculty = self.target["guides"] - n_peers
        first_day, _ = ay.year_bounds(self.first_year)
        password = make_password(None)
        user_first = self.copier.reserve(User, n_learners + n_faculty)
        self.learners: list[Learner] = []
        statuses = []
        profiles = []
        users = []
        # Learners: entries spread over the years before the window (so the first year has a
        # full school) and through it.
        for i in range(n_learners):
            user_id = user_first + i
            track = "ms" if rng.random() < 0.65 else "pgy"
            length = 4 if track == "ms" else rng.choice((3, 3, 4, 5))
            entry_year = rng.randint(self.first_year - length + 1, self.current_year)
            entry = min(datetime.date(entry_year, 8, 1) + rng.randint(0, 20) * DAY, self.today)
            learner = Learner(user_id=user_id, track=track, entry=entry)
            graduation = datetime.date(entry_year + length, 5, 31)
            changes = [(entry, "enrolled")]
            # Whether the learner will be paired decides part of their chance to withdraw.
            paired = rng.random() < 0.8
            withdraw_chance = 0.035 if paired else 0.08
            end = min(graduation, self.today)
            if rng.random() < withdraw_chance and (end - entry).days > 60:
                learner.exit = self._day_between(entry + 30 * DAY, end)
                if learner.exit <= self.today:
                    changes.append((learner.exit, "withdrawn"))
                else:
                    learner.exit = None
            elif graduation <= self.today:
                learner.exit = graduation
                changes.append((graduation, "graduated"))
            if rng.random() < 0.05:
                leave = self._day_between(entry + 60 * DAY, (learner.exit or end) - 200 * DAY)
                back = leave + rng.randint(90, 180) * DAY
                if entry < leave and back < (learner.exit or self.today):
                    changes.extend([(leave, "leave"), (back, "enrolled")])
            for day, status in sorted(dict(sorted(changes)).items()):  # one a day
                statuses.append((user_id, "learner", status, day, self.now))
            users.append(
                (
                    user_id,
                    password,
                    False,
                    new_uuid(rng),
                    f"l{i:05d}.{self.tag}@{EMAIL_DOMAIN}",
                    f"Learner {i:05d}",
                    True,
                    False,
                    self._at(entry),
                    "each",
                )
            )
            years_in = max(0, self.current_year - entry_year)
            if track == "ms":
                level, cohort = f"MS{min(4, years_in + 1)}", f"Class of {entry_year + 4}"
            else:
                level, cohort = f"PGY{min(7, years_in + 1)}", ""
            profiles.append((user_id, level, cohort))
            learner.paired = paired
            self.learners.append(learner)
        # Faculty guides: most joined before the window; about 4% leave each year.
        self.faculty: list[int] = []
        self.faculty_left: dict[int, datetime.date] = {}
        for j in range(n_faculty):
            user_id = user_first + n_learners + j
            joined = self._day_between(first_day - 3650 * DAY, self.today - 30 * DAY)
            statuses.append((user_id, "faculty", "active", joined, self.now))
            if rng.random() < 0.04 * (self.today - max(joined, first_day)).days / 365:
                left = self._day_between(max(joined, first_day) + 60 * DAY, self.today)
                if left > joined:
                    statuses.append((user_id, "faculty", "left", left, self.now))
                    self.faculty_left[user_id] = left
            users.append(
                (
                    user_id,
                    password,
                    False,
                    new_uuid(rng),
                    f"f{j:05d}.{self.tag}@{EMAIL_DOMAIN}",
                    f"Dr. Faculty {j:05d}",
                    True,
                    False,
                    self._at(joined),
                    "each",
                )
            )
            profiles.append((user_id, "faculty", ""))
            self.faculty.append(user_id)
        self.counts["users"] = self.copier.copy(
            User,
            (
                "id",
                "password",
                "is_superuser",
                "code",
                "email",
                "full_name",
                "is_active",
                "is_staff",
                "date_joined",
                "nudge_emails",
            ),
            users,
        )
        first_profile = self.copier.reserve(ParticipantProfile, len(profiles))
        self.counts["profiles"] = self.copier.copy(
            ParticipantProfile,
            (
                "id",
                "user",
                "level",
                "cohort",
                "track",
                "campus",
                "specialty_interests",
                "research_interests",
                "languages",
                "shared_background",
                "timezone",
                "availability",
                "contact_preference",
                "updated_at",
            ),
            (
                (
                    first_profile + k,
                    uid,
                    level,
                    cohort,
                    "",
                    "",
                    [],
                    [],
                    [],
                    [],
                    "UTC",
                    0,
                    "",
                    self.now,
                )
                for k, (uid, level, cohort) in enumerate(profiles)
            ),
        )
        first_status = self.copier.reserve(StatusChange, len(statuses))
        self.counts["status_changes"] = self.copier.copy(
            StatusChange,
            ("id", "user", "population", "status", "effective_on", "recorded_at"),
            ((first_status + k, *row) for k, row in enumerate(statuses)),
        )
        # Memberships: each learner in one program of their track, some in an advising one.
        memberships = []
        # By the data set's own names: a program may be called otherwise in the database.
        index = {name: k for k, (name, *_rest) in enumerate(PROGRAMS)}
        by_track = {
            track: [
                (k, share)
                for k, (name, _kind, share, for_track) in enumerate(PROGRAMS)
                if share and for_track in (track, "both")
            ]
            for track in ("ms", "pgy")
        }
        for learner in self.learners:
            choices = by_track[learner.track]
            k = rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
            programs = [k]
            if rng.random() < 0.45:
                advising = (
                    ADVISING[0]
                    if learner.track == "ms" and rng.random() < 0.6
                    else rng.choice(ADVISING[1:])
                )
                programs.append(index[advising])
            for k in programs:
                intake = min(learner.entry + rng.randint(0, 45) * DAY, self.today)
                learner.memberships.append((k, intake))
                ended = None
                if learner.exit is not None:
                    ended = self._at(max(learner.exit, intake + DAY), 17)
                memberships.append(
                    (learner.user_id, self.programs[k].pk, "learner", None, self._at(intake), ended)
                )
        # Faculty guides: one program (30%: two), capacity 2-6; peers mentor in the peer program.
        self.guides_of: dict[int, list[int]] = defaultdict(list)
        guide_programs = [k for k, (name, *_rest) in enumerate(PROGRAMS) if name != PEER_PROGRAM]
        weights = [max(PROGRAMS[k][2], 0.06) for k in guide_programs]
        for user_id in self.faculty:
            chosen = {rng.choices(guide_programs, weights=weights)[0]}
            if rng.random() < 0.3:
                chosen.add(rng.choices(guide_programs, weights=weights)[0])
            for k in sorted(chosen):
                program = self.programs[k]
                left = self.faculty_left.get(user_id)
                memberships.append(
                    (
                        user_id,
                        program.pk,
                        GUIDE_ROLE[program.kind],
                        rng.randint(2, 6),
                        self._at(first_day - 400 * DAY),
                        self._at(left, 17) if left else None,
                    )
                )
                self.guides_of[k].append(user_id)
        seniors = [
            learner
            for learner in self.learners
            if learner.track == "pgy"
            and learner.exit is None
            and learner.entry.year < self.today.year
        ]
        rng.shuffle(seniors)
        peer_k = index[PEER_PROGRAM]
        self.peers = set()
        for learner in seniors[:n_peers]:
            memberships.append(
                (
                    learner.user_id,
                    self.programs[peer_k].pk,
                    "mentor",
                    rng.randint(1, 3),
                    self._at(max(learner.entry, first_day)),
                    None,
                )
            )
            self.guides_of[peer_k].append(learner.user_id)
            self.peers.add(learner.user_id)
        first_membership = self.copier.reserve(Membership, len(memberships))
        self.counts["memberships"] = self.copier.copy(
            Membership,
            ("id", "user", "program", "role", "capacity", "started_at", "ended_at"),
            ((first_membership + k, *row) for k, row in enumerate(memberships)),
        )
        self.counts["learners"] = n_learners
        self.counts["guides"] = n_faculty + len(self.peers)
