"""Relationships, meetings, agreements, rematch requests and conflicts."""

from __future__ import annotations

import datetime

from dashboards import years as ay
from devtools.scale.data import (
    DAY,
    Learner,
    Rel,
    new_uuid,
)
from mentoring.models import (
    AssessmentRole,
    Conflict,
    MentoringAgreement,
    Relationship,
    RematchRequest,
)
from sessions_log.models import Meeting


class Pairs:
    """Mixin of ScaleSeed."""

    def _relationships(self) -> None:
        rng = self.rng
        chains: list[list[tuple]] = []
        for learner in self.learners:
            for k, intake in learner.memberships:
                program = self.programs[k]
                pool = self.guides_of.get(k)
                if not pool or not learner.paired:
                    continue
                if program.kind == "advising" and rng.random() < 0.15:
                    continue
                chains.append(self._chain(learner, k, intake, pool))
        rng.shuffle(chains)
        target = self.target["relationships"]
        rows: list[Rel] = []
        first = self.copier.reserve(Relationship, target)
        for chain in chains:
            for started, ends, status, reason, guide, origin, k, learner_id in chain:
                if len(rows) == target:
                    break
                rows.append(
                    Rel(
                        id=first + len(rows),
                        program=k,
                        learner=learner_id,
                        guide=guide,
                        kind=self.programs[k].kind,
                        origin=origin,
                        started=started,
                        ends=ends,
                        status=status,
                        end_reason=reason,
                    )
                )
        self.relationships = rows
        self.counts["relationships"] = self.copier.copy(
            Relationship,
            (
                "id",
                "code",
                "program",
                "guide",
                "learner",
                "kind",
                "status",
                "origin",
                "started_on",
                "ends_on",
                "end_reason",
                "created_at",
                "updated_at",
            ),
            (
                (
                    r.id,
                    new_uuid(rng),
                    self.programs[r.program].pk,
                    r.guide,
                    r.learner,
                    r.kind,
                    r.status,
                    r.origin,
                    r.started,
                    r.ends,
                    r.end_reason,
                    self._at(r.started),
                    self._at(min(r.ends or self.today, self.today)),
                )
                for r in rows
            ),
        )

    def _chain(self, learner: Learner, k: int, intake: datetime.date, pool: list[int]) -> list:
        """A learner's relationships in one program, one after the other: a year at a time
        (advising: a few months), some ended early for a rematch, the last one current."""
        rng = self.rng
        kind = self.programs[k].kind
        out = []
        start = intake + rng.randint(3, 75) * DAY
        stop = min(learner.exit or self.today, self.today)
        while start < stop:
            guide = rng.choice(pool)
            while guide == learner.user_id:
                guide = rng.choice(pool)
            roll = rng.random()
            origin = (
                "self_initiated"
                if roll < 0.15
                else "assigned"
                if roll < 0.35
                else "self_matched"
                if roll < 0.4
                else "matched"
            )
            if kind == "advising":
                planned = start + rng.randint(90, 270) * DAY
            else:
                planned = ay.year_bounds(ay.academic_year(start))[1]
            early = rng.random() < 0.08
            if early:
                planned = min(planned, start + rng.randint(30, 150) * DAY)
            if learner.exit is not None and learner.exit <= planned:
                end, reason = learner.exit, "left"
            else:
                end, reason = planned, "no_fault_rematch" if early else "completed"
            if end >= self.today:
                status = "paused" if rng.random() < 0.04 else "active"
                out.append((start, None, status, "", guide, origin, k, learner.user_id))
                break
            out.append((start, end, "ended", reason, guide, origin, k, learner.user_id))
            if reason == "left":
                break
            if reason == "no_fault_rematch":
                start = end + rng.randint(7, 30) * DAY
            elif kind == "advising":
                if rng.random() < 0.5:
                    break
                start = end + rng.randint(60, 200) * DAY
            else:
                start = end + rng.randint(1, 40) * DAY
        return out

    def _meetings(self) -> None:
        """Meetings spread over each relationship's days in proportion to its length."""

        rng = self.rng
        horizon = self.today + 30 * DAY
        spans = []
        for r in self.relationships:
            last = min(r.ends or horizon, horizon)
            spans.append((r, max(1, (last - r.started).days)))
        total_days = sum(days for _, days in spans)
        target = self.target["meetings"]
        counts = [int(target * days / total_days) for _, days in spans]
        for i in rng.sample(range(len(spans)), target - sum(counts)):
            counts[i] += 1
        first = self.copier.reserve(Meeting, target)
        now = self.now
        status_roll = (
            (0.82, "completed"),
            (0.89, "cancelled"),
            (0.93, "no_show"),
            (0.96, "late_cancel"),
            (1.0, "booked"),
        )

        def rows():
            next_id = first
            for (r, days), count in zip(spans, counts, strict=True):
                for _ in range(count):
                    day = r.started + rng.randint(0, days) * DAY
                    starts = self._at(day, rng.randint(8, 17), rng.choice((0, 30)))
                    ends = starts + datetime.timedelta(minutes=rng.choice((30, 45, 60)))
                    if starts > now:
                        status = "booked"
                    else:
                        roll = rng.random()
                        status = next(s for limit, s in status_roll if roll < limit)
                    yield (
                        next_id,
                        new_uuid(rng),
                        r.id,
                        starts,
                        ends,
                        "",
                        "",
                        status,
                        0,
                        "",
                        starts - 7 * DAY,
                        ends,
                    )
                    next_id += 1

        self.counts["meetings"] = self.copier.copy(
            Meeting,
            (
                "id",
                "code",
                "relationship",
                "starts_at",
                "ends_at",
                "location",
                "video_link",
                "status",
                "sequence",
                "cancel_message",
                "created_at",
                "updated_at",
            ),
            rows(),
        )

    def _agreements_and_requests(self) -> None:
        rng = self.rng
        agreements = []
        requests = []
        for r in self.relationships:
            if rng.random() < 0.9:
                done = rng.random() < (0.93 if r.status == "ended" else 0.8)
                learner_at = self._at(r.started + rng.randint(1, 20) * DAY, 12)
                guide_at = learner_at + rng.randint(0, 5) * DAY if done else None
                learner_at = min(learner_at, self.now)
                guide_at = min(guide_at, self.now) if guide_at else None
                agreements.append(
                    (
                        r.id,
                        "",
                        rng.choice(("fortnightly", "monthly", "termly")),
                        rng.choice(("email", "video", "in_person")),
                        "",
                        learner_at if (done or rng.random() < 0.5) else None,
                        guide_at,
                        self._at(r.started, 12),
                        self._at(r.started, 12),
                    )
                )
            if r.end_reason == "no_fault_rematch":
                requests.append(
                    (
                        new_uuid(rng),
                        r.id,
                        "",
                        "rematched",
                        self._at(r.ends, 10),
                        self._at(r.ends, 16),
                    )
                )
            elif r.status == "active" and rng.random() < 0.003:
                requests.append(
                    (new_uuid(rng), r.id, "", "open", self.now - rng.randint(1, 20) * DAY, None)
                )
        first = self.copier.reserve(MentoringAgreement, len(agreements))
        self.counts["agreements"] = self.copier.copy(
            MentoringAgreement,
            (
                "id",
                "relationship",
                "goals",
                "meeting_frequency",
                "preferred_contact",
                "boundaries",
                "learner_agreed_at",
                "guide_agreed_at",
                "created_at",
                "updated_at",
            ),
            ((first + k, *row) for k, row in enumerate(agreements)),
        )
        first = self.copier.reserve(RematchRequest, len(requests))
        self.counts["rematch_requests"] = self.copier.copy(
            RematchRequest,
            ("id", "code", "relationship", "reason", "status", "created_at", "resolved_at"),
            ((first + k, *row) for k, row in enumerate(requests)),
        )

    def _conflicts(self) -> None:
        rng = self.rng
        chosen = rng.sample(self.relationships, max(1, len(self.relationships) // 200))
        first_role = self.copier.reserve(AssessmentRole, len(chosen))
        first_conflict = self.copier.reserve(Conflict, len(chosen))
        roles, conflicts = [], []
        for k, r in enumerate(chosen):
            assessor = rng.choice(self.faculty)
            while assessor in (r.guide, r.learner):
                assessor = rng.choice(self.faculty)
            starts = self._day_between(r.started, r.ends or self.today)
            raised = self._at(starts, 11)
            open_ = r.status != "ended" and rng.random() < 0.3
            roles.append(
                (
                    first_role + k,
                    new_uuid(rng),
                    assessor,
                    r.learner,
                    "assessor",
                    "Clerkship assessment",
                    starts,
                    starts + 60 * DAY,
                    "pending" if open_ else rng.choice(("active", "rejected")),
                    raised,
                )
            )
            resolved_at = None if open_ else raised + rng.randint(1, 40) * DAY
            conflicts.append(
                (
                    first_conflict + k,
                    new_uuid(rng),
                    self.programs[r.program].pk,
                    r.id,
                    first_role + k,
                    "pending_assessment",
                    "open" if open_ else "resolved",
                    "" if open_ else rng.choice(("ended_relationship", "rejected_assessment")),
                    raised,
                    min(resolved_at, self.now) if resolved_at else None,
                )
            )
        self.counts["assessment_roles"] = self.copier.copy(
            AssessmentRole,
            (
                "id",
                "code",
                "assessor",
                "learner",
                "kind",
                "context",
                "starts_on",
                "ends_on",
                "status",
                "created_at",
            ),
            roles,
        )
        self.counts["conflicts"] = self.copier.copy(
            Conflict,
            (
                "id",
                "code",
                "program",
                "relationship",
                "assessment_role",
                "kind",
                "status",
                "resolution",
                "raised_at",
                "resolved_at",
            ),
            conflicts,
        )
