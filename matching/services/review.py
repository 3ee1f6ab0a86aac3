"""Review of a finished match run by its administrator: lock, reject, swap and assign pairs by
hand, with the rules (R1-R3, mentoring.rules) checked for every pair made by hand, and each
guide's load against their capacity."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import Membership, User
from matching import algorithm
from matching.models import MatchRun, Proposal
from matching.services.inputs import (
    criteria_build,
    forbidden_build,
    guide_loads,
    guides_build,
    learners_build,
)
from mentoring import rules
from mentoring.rules import RuleViolation

LOAD_BALANCE = algorithm.Criterion.LOAD_BALANCE.value


@transaction.atomic
def proposal_set_state(*, proposal: Proposal, state: str) -> Proposal:
    """Lock, reject, or return to proposed one pair of a run under review."""
    proposal = Proposal.objects.select_for_update().select_related("run").get(pk=proposal.pk)
    if proposal.run.status != MatchRun.Status.DONE:
        raise _not_under_review(proposal.run)
    allowed = {Proposal.State.PROPOSED, Proposal.State.LOCKED, Proposal.State.REJECTED}
    if proposal.state not in allowed or state not in allowed:
        raise RuleViolation("STATE", "an unmatched learner has no pair to lock or reject.")
    proposal.state = state
    proposal.save(update_fields=["state"])
    return proposal


def _check_pair_for_review(run: MatchRun, learner_id: int, guide_id: int) -> None:
    """R1 and R2 (mentoring.rules) for a pair an administrator makes by hand during review; the
    pair would start today, open-ended, as approval will start it."""
    people = User.objects.in_bulk([learner_id, guide_id])
    learner, guide = people[learner_id], people[guide_id]
    rules.check_not_self(guide, learner)
    rules.check_role_separation(
        program=run.program,
        guide=guide,
        learner=learner,
        starts_on=timezone.localdate(),
        ends_on=None,
    )


def superseded_refusal(run: MatchRun) -> RuleViolation:
    newer = run.superseded_by
    which = f"run {newer.number}" if newer is not None else "a newer run"
    return RuleViolation(
        "STATE",
        f"this run was replaced by {which} of {run.program}; review and approve that one instead.",
    )


def _not_under_review(run: MatchRun) -> RuleViolation:
    if run.status == MatchRun.Status.SUPERSEDED:
        return superseded_refusal(run)
    return RuleViolation("STATE", "this run is no longer under review.")


@dataclass(frozen=True)
class PairScore:
    """A pair made by hand during review, scored by the matcher with the run's weights."""

    score: int
    breakdown: dict[str, int]
    explanation: str


def pairs_score(run: MatchRun, pairs: list[tuple[int, int]]) -> dict[tuple[int, int], PairScore]:
    """Score (learner id, guide id) pairs made by hand in `run` with the matcher's own scoring
    (algorithm.suggest) and the run's weights, as approval would start them today. Load balance
    is not charged here (the caller knows what the guide's place costs). A pair that fails one
    of the run's must-haves is scored all the same (the administrator decided, as with a lock)
    and says so; a pair the matcher never makes (a no-fault rematch back to the guide the
    learner left) is refused."""
    program = run.program
    learner_ids = sorted({lid for lid, _ in pairs})
    guide_ids = sorted({gid for _, gid in pairs})
    learners = learners_build(program, learner_ids)
    # Scoring does not depend on room: a guide counts as open for the question.
    guides = [
        dataclasses.replace(g, capacity=max(1, g.capacity), opted_out=False)
        for g in guides_build(program, term=run.term, only=guide_ids)
    ]
    forbidden = forbidden_build(program, learner_ids)
    criteria = criteria_build(program, run.weights)
    open_criteria = dataclasses.replace(criteria, must_have=frozenset())
    l_at = {p.id: k for k, p in enumerate(learners)}
    g_at = {g.id: k for k, g in enumerate(guides)}
    people = User.objects.in_bulk(learner_ids + guide_ids)
    scored = {}
    for learner_id, guide_id in pairs:
        if guide_id not in g_at:
            raise RuleViolation(
                "ROLE", f"{people[guide_id]} is no longer a {program.guide_role} in {program}."
            )
        where = ([l_at[learner_id]], [g_at[guide_id]])
        found = algorithm.suggest(learners, guides, criteria, *where, forbidden=forbidden)
        note = ""
        if not found:
            found = algorithm.suggest(learners, guides, open_criteria, *where, forbidden=forbidden)
            note = " (outside this run's must-haves)"
        if not found:
            raise RuleViolation(
                "STATE",
                f"{people[learner_id]} asked for a no-fault rematch away from "
                f"{people[guide_id]}; the matcher never pairs them again.",
            )
        (proposal,) = found
        scored[(learner_id, guide_id)] = PairScore(
            score=proposal.score,
            breakdown={str(k): v for k, v in proposal.breakdown.items()},
            explanation=proposal.explanation + note,
        )
    return scored


def _total_moves(run: MatchRun, delta: int) -> None:
    if delta:
        MatchRun.objects.filter(pk=run.pk).update(total_score=F("total_score") + delta)


@dataclass(frozen=True)
class GuideLoad:
    """One guide's load for a run under review: `current` relationships in the program (they
    hold a place, R3) plus the run's `pending` proposed or locked pairs, against `capacity`."""

    id: int
    name: str
    capacity: int
    current: int
    pending: int
    in_run: int  # the run's pairs with this guide that are not rejected or refused

    @property
    def load(self) -> int:
        return self.current + self.pending

    @property
    def left(self) -> int:
        return self.capacity - self.load

    @property
    def full(self) -> bool:
        return self.left <= 0


def guide_load_table(run: MatchRun) -> dict[int, GuideLoad]:
    """Every current guide of the run's program and every guide the run names, in three
    queries whatever the size of the run."""
    program = run.program
    members = {
        user_id: (name, capacity or 0)
        for user_id, name, capacity in Membership.objects.current()
        .filter(program=program, role=program.guide_role)
        .values_list("user_id", "user__full_name", "capacity")
    }
    current = guide_loads(program)
    counted = {
        row["guide_id"]: row
        for row in run.proposals.exclude(guide__isnull=True)
        .values("guide_id", "guide__full_name")
        .annotate(
            pending=Count(
                "pk", filter=Q(state__in=[Proposal.State.PROPOSED, Proposal.State.LOCKED])
            ),
            in_run=Count(
                "pk", filter=~Q(state__in=[Proposal.State.REJECTED, Proposal.State.REFUSED])
            ),
        )
        .order_by()
    }
    table = {}
    for guide_id in members.keys() | counted.keys():
        row = counted.get(guide_id, {})
        # A guide no longer a member of the program has no place (capacity 0).
        name, capacity = members.get(guide_id, (row.get("guide__full_name", ""), 0))
        table[guide_id] = GuideLoad(
            id=guide_id,
            name=name,
            capacity=capacity,
            current=current.get(guide_id, 0),
            pending=row.get("pending", 0),
            in_run=row.get("in_run", 0),
        )
    return table


def guides_with_room(run: MatchRun, *, table=None) -> list[tuple[int, str, int]]:
    """(guide id, name, places left) for the run's program, by name: capacity minus current
    relationships minus the pairs this run proposes or locks. Only current guides have places
    (a guide who left has capacity 0)."""
    table = guide_load_table(run) if table is None else table
    return sorted(
        ((g.id, g.name, g.left) for g in table.values() if g.left > 0), key=lambda r: r[1]
    )


@transaction.atomic
def proposals_swap(*, first: Proposal, second: Proposal) -> tuple[Proposal, Proposal]:
    """Swap the guides of two learners in a run under review; both pairs become locked (an
    administrator's decision survives a re-run). Loads do not change, so capacity holds."""
    first, second = (
        Proposal.objects.select_for_update().select_related("run__program").get(pk=p.pk)
        for p in sorted((first, second), key=lambda p: p.pk)
    )
    if first.run_id != second.run_id or first.pk == second.pk:
        raise RuleViolation("STATE", "choose two different learners of the same run.")
    run = first.run
    if run.status != MatchRun.Status.DONE:
        raise _not_under_review(run)
    movable = {Proposal.State.PROPOSED, Proposal.State.LOCKED}
    if first.state not in movable or second.state not in movable:
        raise RuleViolation("STATE", "only proposed or locked pairs can be swapped.")
    if first.guide_id == second.guide_id:
        raise RuleViolation("STATE", "these two learners have the same guide already.")
    _check_pair_for_review(run, first.learner_id, second.guide_id)
    _check_pair_for_review(run, second.learner_id, first.guide_id)
    scores = pairs_score(
        run, [(first.learner_id, second.guide_id), (second.learner_id, first.guide_id)]
    )
    # Each guide keeps the same number of learners, so each keeps the load-balance charge of
    # the place the other learner leaves: the run's balance part does not change.
    places = {p.guide_id: (p.breakdown or {}).get(LOAD_BALANCE, 0) for p in (first, second)}
    old_total = first.score + second.score
    first.guide_id, second.guide_id = second.guide_id, first.guide_id
    for proposal in (first, second):
        pair = scores[(proposal.learner_id, proposal.guide_id)]
        breakdown = {**pair.breakdown, LOAD_BALANCE: places[proposal.guide_id]}
        proposal.state = Proposal.State.LOCKED
        proposal.score = sum(breakdown.values())
        proposal.breakdown = breakdown
        proposal.explanation = f"swapped by the administrator; {pair.explanation}"
        proposal.save(update_fields=["guide", "state", "score", "breakdown", "explanation"])
    _total_moves(run, first.score + second.score - old_total)
    return first, second


@transaction.atomic
def proposal_assign(*, proposal: Proposal, guide_id: int) -> Proposal:
    """Assign a learner (unmatched or not) to a guide with room, by hand; R1-R3 applied."""
    proposal = (
        Proposal.objects.select_for_update().select_related("run__program").get(pk=proposal.pk)
    )
    run = proposal.run
    if run.status != MatchRun.Status.DONE:
        raise _not_under_review(run)
    if proposal.state in (Proposal.State.APPROVED, Proposal.State.REFUSED):
        raise RuleViolation("STATE", "this pair has already been decided.")
    room = {gid: left for gid, _, left in guides_with_room(run)}
    if proposal.guide_id == guide_id:
        return proposal
    if room.get(guide_id, 0) <= 0:
        raise RuleViolation("R3", "that guide has no place left in this program.")
    _check_pair_for_review(run, proposal.learner_id, guide_id)
    pair = pairs_score(run, [(proposal.learner_id, guide_id)])[(proposal.learner_id, guide_id)]
    old_score = proposal.score  # 0 for a learner the matcher left unmatched
    proposal.guide_id = guide_id
    proposal.state = Proposal.State.LOCKED
    proposal.score = pair.score
    proposal.breakdown = pair.breakdown
    proposal.explanation = f"assigned by the administrator; {pair.explanation}"
    proposal.save(update_fields=["guide", "state", "score", "breakdown", "explanation"])
    _total_moves(run, proposal.score - old_score)
    return proposal
