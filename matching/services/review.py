"""Review of a finished match run by its administrator: lock, reject, swap and assign pairs by
hand, with the rules (R1-R3, mentoring.rules) checked for every pair made by hand, and each
guide's load against their capacity."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Membership, User
from matching.models import MatchRun, Proposal
from matching.services.inputs import guide_loads
from mentoring import rules
from mentoring.rules import RuleViolation


@transaction.atomic
def proposal_set_state(*, proposal: Proposal, state: str) -> Proposal:
    """Lock, reject, or return to proposed one pair of a run under review."""
    proposal = Proposal.objects.select_for_update().select_related("run").get(pk=proposal.pk)
    if proposal.run.status != MatchRun.Status.DONE:
        raise RuleViolation("STATE", "this run is no longer under review.")
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
    if first.run.status != MatchRun.Status.DONE:
        raise RuleViolation("STATE", "this run is no longer under review.")
    movable = {Proposal.State.PROPOSED, Proposal.State.LOCKED}
    if first.state not in movable or second.state not in movable:
        raise RuleViolation("STATE", "only proposed or locked pairs can be swapped.")
    _check_pair_for_review(first.run, first.learner_id, second.guide_id)
    _check_pair_for_review(first.run, second.learner_id, first.guide_id)
    first.guide_id, second.guide_id = second.guide_id, first.guide_id
    for proposal in (first, second):
        proposal.state = Proposal.State.LOCKED
        proposal.score = 0
        proposal.breakdown = {}
        proposal.explanation = "swapped by the administrator"
        proposal.save(update_fields=["guide", "state", "score", "breakdown", "explanation"])
    return first, second


@transaction.atomic
def proposal_assign(*, proposal: Proposal, guide_id: int) -> Proposal:
    """Assign a learner (unmatched or not) to a guide with room, by hand; R1-R3 applied."""
    proposal = (
        Proposal.objects.select_for_update().select_related("run__program").get(pk=proposal.pk)
    )
    run = proposal.run
    if run.status != MatchRun.Status.DONE:
        raise RuleViolation("STATE", "this run is no longer under review.")
    if proposal.state in (Proposal.State.APPROVED, Proposal.State.REFUSED):
        raise RuleViolation("STATE", "this pair has already been decided.")
    room = {gid: left for gid, _, left in guides_with_room(run)}
    if proposal.guide_id == guide_id:
        return proposal
    if room.get(guide_id, 0) <= 0:
        raise RuleViolation("R3", "that guide has no place left in this program.")
    _check_pair_for_review(run, proposal.learner_id, guide_id)
    proposal.guide_id = guide_id
    proposal.state = Proposal.State.LOCKED
    proposal.score = 0
    proposal.breakdown = {}
    proposal.explanation = "assigned by the administrator"
    proposal.save(update_fields=["guide", "state", "score", "breakdown", "explanation"])
    return proposal
