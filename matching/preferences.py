"""What participants tell the matcher, and self-match.

- Learners rank up to `program.choices_allowed` suggested guides (feeds the ranked-choice
  criterion); guides rank learners the same way (the guide-preference criterion).
- Guides state their capacity (Membership.capacity, the number R3 holds them to) and opt out of
  a term (no new learners in it: the matcher and self-match leave them out).
- Self-match (programs with pairing "self"): a learner asks one suggested guide at a time; the
  guide accepts (the relationship starts through mentoring.services.relationship_start, so
  R1-R3 are checked then) or declines; an unanswered request expires after
  `program.request_expiry_days` (matching.tasks.expire_match_requests).

Suggestions are the matcher's own scores (algorithm.suggest) with the program's current weights
and must-haves, so what a learner is shown is what the matcher would favour.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership, Role, User
from matching import algorithm
from matching.emails import request_queue
from matching.models import Choice, MatchRequest, TermOptOut
from matching.services import (
    criteria_build,
    forbidden_build,
    guides_build,
    learners_build,
    pool,
    program_weights,
    unpaired_learners,
)
from mentoring import rules
from mentoring import services as mentoring_services
from mentoring.models import Program, Relationship, Term
from mentoring.rules import RuleViolation

SUGGESTION_LIMIT = 20


def _noun(program: Program) -> str:
    return program.guide_role


# --- Who may take part -------------------------------------------------------------------


def is_current_learner(program: Program, user) -> bool:
    return (
        Membership.objects.current().filter(program=program, user=user, role=Role.LEARNER).exists()
    )


def guide_membership(program: Program, user) -> Membership | None:
    return (
        Membership.objects.current()
        .filter(program=program, user=user, role=program.guide_role)
        .first()
    )


def current_relationship(program: Program, learner) -> Relationship | None:
    """The learner's current relationship of the program's kind (R3 allows one)."""
    return rules.current_of_kind(program, learner)


# --- Suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    person: User
    score: int
    reasons: list[str]  # the factors in words, best first
    room: int | None = None  # places left (guides only)


def _suggestion_criteria(program: Program) -> algorithm.Criteria:
    """The program's weights without the two rankings: a person's own list must not steer what
    they are shown to rank, and the other side's list is theirs alone."""
    weights = program_weights(program)
    weights["ranked_choice"] = weights["guide_preference"] = 0
    weights["must_have"] = [c for c in weights.get("must_have", []) if c != "ranked_choice"]
    return criteria_build(program, weights)


def _reasons(proposal: algorithm.Proposal) -> list[str]:
    """The scoring factors in words, best first. SECURITY: never the shared-background factor:
    both people gave that for matching only, and its words name what they gave."""
    return [
        f.text
        for f in proposal.factors
        if f.points > 0 and f.criterion is not algorithm.Criterion.BACKGROUND
    ]


def _matches_query(person: algorithm.Learner | algorithm.Guide, name: str, query: str) -> bool:
    if not query:
        return True
    haystack = [name.lower(), *person.specialties, *person.research]
    return any(query in text for text in haystack)


def _names(ids) -> dict[int, str]:
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "full_name"))


def suggested_guides(
    program: Program,
    learner,
    *,
    query: str = "",
    overlap_only: bool = False,
    exclude: frozenset[int] = frozenset(),
    limit: int = SUGGESTION_LIMIT,
) -> list[Suggestion]:
    """The guides the matcher would favour for `learner`, best first: guides with room who have
    not opted out of the matching term, no R1/R2 conflict, must-have filters applied. `query`
    searches names and interests; `overlap_only` keeps guides whose weekly availability shares
    a time with the learner's.

    Ranked in the program's suggestion pool (matching.services.pool); the chosen few are then
    read afresh and explained by the matcher. A learner outside the pool (one who has a
    current relationship of the program's kind) is ranked from the database directly."""
    criteria = _suggestion_criteria(program)
    found = pool.suggestion_pool(program, criteria)
    i = found.learner_position(learner.pk)
    if i is None:
        return suggested_guides_uncached(
            program, learner, query=query, overlap_only=overlap_only, exclude=exclude, limit=limit
        )
    keep = (found.room > 0) & ~found.opted_out
    if exclude:
        keep &= ~np.isin(found.guide_ids, np.array(sorted(exclude), dtype=np.int64))
    if overlap_only:
        keep &= (found.guide_availability & found.learner_availability[i]) != 0
    query = query.strip().lower()
    if query:
        keep &= pool.search_match(found.guide_search, query)
    cols = np.flatnonzero(keep)
    best = cols[found.best(np.full(len(cols), i, dtype=np.int64), cols, limit)]
    ranked_ids = [int(x) for x in found.guide_ids[best]]
    if not ranked_ids:
        return []
    (me,) = learners_build(program, [learner.pk], with_choices=False)
    by_id = {
        g.id: g
        for g in guides_build(
            program, term=program.matching_term(), only=ranked_ids, with_choices=False
        )
    }
    guides = [by_id[x] for x in ranked_ids if x in by_id]
    proposals = algorithm.suggest(
        [me],
        guides,
        criteria,
        [0] * len(guides),
        range(len(guides)),
        forbidden=forbidden_build(program, [learner.pk]),
        limit=limit,
    )
    return _guide_suggestions(proposals, guides)


def _guide_suggestions(proposals, guides) -> list[Suggestion]:
    people = User.objects.select_related("profile").in_bulk([p.guide_id for p in proposals])
    room = {g.id: g.capacity for g in guides}
    return [
        Suggestion(
            person=people[p.guide_id],
            score=p.score,
            reasons=_reasons(p),
            room=room[p.guide_id],
        )
        for p in proposals
    ]


def suggested_learners(
    program: Program, guide, *, query: str = "", limit: int = SUGGESTION_LIMIT
) -> list[Suggestion]:
    """Learners still looking for a guide whom the matcher would favour for `guide` (ranked in
    the program's suggestion pool, then read afresh and explained by the matcher)."""
    criteria = _suggestion_criteria(program)
    found = pool.suggestion_pool(program, criteria)
    j = found.guide_position(guide.pk)
    if j is None:
        return []
    keep = found.learner_ids != guide.pk
    query = query.strip().lower()
    if query:
        keep &= pool.search_match(found.learner_search, query)
    rows = np.flatnonzero(keep)
    best = rows[found.best(rows, np.full(len(rows), j, dtype=np.int64), limit)]
    ranked_ids = [int(x) for x in found.learner_ids[best]]
    if not ranked_ids:
        return []
    me = _offering(program, guide)
    by_id = {p.id: p for p in learners_build(program, ranked_ids, with_choices=False)}
    learners = [by_id[x] for x in ranked_ids]
    proposals = algorithm.suggest(
        learners,
        [me],
        criteria,
        range(len(learners)),
        [0] * len(learners),
        forbidden=forbidden_build(program, ranked_ids, guide=guide),
        limit=limit,
    )
    return _learner_suggestions(proposals)


def _offering(program: Program, guide) -> algorithm.Guide | None:
    """The guide as the matcher sees them, as if they had room: they rank learners for the
    next run either way."""
    found = guides_build(program, only=[guide.pk], with_choices=False)
    return dataclasses.replace(found[0], capacity=1, opted_out=False) if found else None


def _learner_suggestions(proposals) -> list[Suggestion]:
    people = User.objects.select_related("profile").in_bulk([p.learner_id for p in proposals])
    return [
        Suggestion(person=people[p.learner_id], score=p.score, reasons=_reasons(p))
        for p in proposals
    ]


# The same two rankings computed from the database on every call, without the pool: the
# reference the pool is tested against (tests/matching/test_suggestion_pool.py), the
# benchmark's before-figure, and the path of a learner outside the pool.


def suggested_guides_uncached(
    program: Program,
    learner,
    *,
    query: str = "",
    overlap_only: bool = False,
    exclude: frozenset[int] = frozenset(),
    limit: int = SUGGESTION_LIMIT,
) -> list[Suggestion]:
    """`suggested_guides`, read and compiled from the database on every call."""
    criteria = _suggestion_criteria(program)
    # Suggestions weigh neither side's ranking (_suggestion_criteria): the lists are not read.
    (me,) = learners_build(program, [learner.pk], with_choices=False)
    guides = guides_build(program, term=program.matching_term(), with_choices=False)
    query = query.strip().lower()
    names = (
        _names(
            Membership.objects.current()
            .filter(program=program, role=program.guide_role)
            .values("user_id")
        )
        if query
        else {}
    )
    positions = [
        j
        for j, g in enumerate(guides)
        if g.id not in exclude
        and g.capacity > 0
        and not g.opted_out
        and _matches_query(g, names.get(g.id, ""), query)
        and (not overlap_only or me.availability & g.availability)
    ]
    proposals = algorithm.suggest(
        [me],
        guides,
        criteria,
        [0] * len(positions),
        positions,
        forbidden=forbidden_build(program, [learner.pk]),
        limit=limit,
    )
    return _guide_suggestions(proposals, guides)


def suggested_learners_uncached(
    program: Program, guide, *, query: str = "", limit: int = SUGGESTION_LIMIT
) -> list[Suggestion]:
    """`suggested_learners`, read and compiled from the database on every call."""
    criteria = _suggestion_criteria(program)
    me = _offering(program, guide)
    if me is None:
        return []
    learners = learners_build(program, with_choices=False)
    query = query.strip().lower()
    names = _names(unpaired_learners(program)) if query else {}
    positions = [
        i
        for i, p in enumerate(learners)
        if p.id != guide.pk and _matches_query(p, names.get(p.id, ""), query)
    ]
    proposals = algorithm.suggest(
        learners,
        [me],
        criteria,
        positions,
        [0] * len(positions),
        forbidden=forbidden_build(program, unpaired_learners(program), guide=guide),
        limit=limit,
    )
    return _learner_suggestions(proposals)


# --- Ranked choices ----------------------------------------------------------------------


def choices_of(program: Program, side: str, chooser) -> list[User]:
    """The chooser's ranked list, best first."""
    return [
        c.chosen
        for c in Choice.objects.filter(program=program, side=side, chooser=chooser)
        .select_related("chosen__profile")
        .order_by("rank")
    ]


@transaction.atomic
def choices_set(*, program: Program, side: str, chooser, chosen_ids: list[int]) -> None:
    """Replace the chooser's ranked list with `chosen_ids` (best first).

    Refused (RuleViolation) when ranking is off, the list is too long, repeats someone, or names
    someone who is not on the other side of the program, or the chooser themselves (R1)."""
    limit = program.choices_allowed
    if program.pairing == Program.Pairing.SELF:
        raise RuleViolation(
            "STATE", f"in {program} learners ask a guide directly; there is no ranking."
        )
    if limit < 1:
        raise RuleViolation("STATE", f"{program} does not ask for ranked choices.")
    if len(chosen_ids) > limit:
        raise RuleViolation("STATE", f"you can rank at most {limit} in {program}.")
    if len(set(chosen_ids)) != len(chosen_ids):
        raise RuleViolation("STATE", "each person can be ranked only once.")
    if chooser.pk in chosen_ids:
        raise RuleViolation("R1", "you cannot rank yourself.")
    other_role = program.guide_role if side == Choice.Side.LEARNER else Role.LEARNER
    eligible = set(
        Membership.objects.current()
        .filter(program=program, role=other_role, user_id__in=chosen_ids)
        .values_list("user_id", flat=True)
    )
    if set(chosen_ids) - eligible:
        raise RuleViolation("STATE", f"only current {other_role}s of {program} can be ranked here.")
    Choice.objects.filter(program=program, side=side, chooser=chooser).delete()
    Choice.objects.bulk_create(
        [
            Choice(program=program, side=side, chooser=chooser, chosen_id=chosen, rank=rank)
            for rank, chosen in enumerate(chosen_ids, start=1)
        ]
    )


def choice_change(*, program: Program, side: str, chooser, person_id: int, action: str) -> None:
    """Add `person_id` at the end of the chooser's list, remove them, or move them one place
    up or down (`action`: add, remove, up, down)."""
    if program.choices_allowed < 1 or program.pairing == Program.Pairing.SELF:
        choices_set(program=program, side=side, chooser=chooser, chosen_ids=[])  # refuses
    current = [u.pk for u in choices_of(program, side, chooser)]
    if action == "add":
        if person_id in current:
            return
        if len(current) >= program.choices_allowed:
            raise RuleViolation(
                "STATE",
                f"your list is full ({program.choices_allowed}): remove someone first.",
            )
        current.append(person_id)
    elif action == "remove":
        current = [x for x in current if x != person_id]
    elif action in ("up", "down") and person_id in current:
        k = current.index(person_id)
        other = k - 1 if action == "up" else k + 1
        if 0 <= other < len(current):
            current[k], current[other] = current[other], current[k]
    else:
        raise RuleViolation("STATE", "that person is not on your list.")
    choices_set(program=program, side=side, chooser=chooser, chosen_ids=current)


# --- A guide's capacity and term opt-outs ------------------------------------------------

MAX_CAPACITY = 20


@transaction.atomic
def capacity_set(*, program: Program, guide, capacity: int) -> Membership:
    """The guide states how many learners they take at once in the program (R3's number). It
    cannot go below their current relationships: R3 would then be broken already."""
    membership = rules.guide_membership(program, guide, lock=True)
    if not 0 <= capacity <= MAX_CAPACITY:
        raise RuleViolation("R3", f"capacity must be between 0 and {MAX_CAPACITY}.")
    current = rules.guide_loads(program, [guide.pk]).get(guide.pk, 0)
    rules.check_capacity_floor(
        program=program, guide=guide, capacity=capacity, current=current, to_guide=True
    )
    membership.capacity = capacity
    membership.save(update_fields=["capacity"])
    return membership


@transaction.atomic
def opt_outs_set(*, program: Program, guide, terms: list[Term]) -> None:
    """The guide takes no new learners in `terms` (and does again in the program's other terms
    that have not ended)."""
    rules.guide_membership(program, guide)
    open_terms = program.terms.filter(ends_on__gte=timezone.localdate())
    chosen = {t.pk for t in terms}
    if chosen - set(open_terms.values_list("pk", flat=True)):
        raise RuleViolation(
            "STATE", "only terms of this program that have not ended can be chosen."
        )
    TermOptOut.objects.filter(term__in=open_terms, guide=guide).exclude(term__in=chosen).delete()
    for term_id in chosen:
        TermOptOut.objects.get_or_create(term_id=term_id, guide=guide)


def is_opted_out(program: Program, guide, *, term: Term | None = None) -> bool:
    """Whether the guide sits out `term` (default: the program's matching term)."""
    term = term or program.matching_term()
    return term is not None and TermOptOut.objects.filter(term=term, guide=guide).exists()


# --- Self-match requests -----------------------------------------------------------------


def _expire_overdue(
    requests, *, now: datetime.datetime | None = None, limit: int | None = None
) -> int:
    """Expire the overdue pending requests among `requests` (at most `limit`), as one
    transaction of its own, queueing each learner's notification on commit; rows another
    transaction holds are left for it. Returns how many expired. Used before any answer (a
    refusal raised afterwards must not roll the expiry back and leave the learner blocked) and
    by the periodic sweep."""
    now = now or timezone.now()
    with transaction.atomic():
        due = requests.select_for_update(skip_locked=True).filter(
            state=MatchRequest.State.PENDING, expires_at__lte=now
        )
        rows = due.values_list("pk", "learner_id")
        due = list(rows[:limit] if limit else rows)
        MatchRequest.objects.filter(pk__in=[pk for pk, _ in due]).update(
            state=MatchRequest.State.EXPIRED
        )
        for pk, learner_id in due:
            request_queue(match_request=MatchRequest(pk=pk, learner_id=learner_id), event="expired")
    return len(due)


def _check_self_match(program: Program) -> None:
    """Requests are sent and accepted only while the program runs and uses self-match."""
    if program.pairing != Program.Pairing.SELF:
        raise RuleViolation("STATE", f"in {program} the program administrator does the matching.")
    if not program.is_active:
        raise RuleViolation("STATE", f"{program} is archived: it takes no new requests.")


def request_send(*, program: Program, learner, guide, message: str = "") -> MatchRequest:
    """A learner of a self-match program asks `guide`. Refused, naming the reason, if the
    program is not self-match, the learner already has a guide of this kind or an open request,
    the guide has no room or opted out of the term, or the pair breaks R1, R2 or a no-fault
    rematch; also if this guide already declined this learner here."""
    _check_self_match(program)
    if not is_current_learner(program, learner):
        raise RuleViolation("STATE", f"you are not a current learner of {program}.")
    rules.check_not_self(guide, learner)
    _expire_overdue(MatchRequest.objects.filter(program=program, learner=learner))
    with transaction.atomic():
        membership = rules.guide_membership(program, guide, lock=True)
        rules.check_one_per_kind(program=program, learner=learner, to_learner=True)
        if MatchRequest.objects.pending().filter(program=program, learner=learner).exists():
            raise RuleViolation(
                "STATE",
                "you have a request waiting for an answer: withdraw it to ask someone else.",
            )
        if MatchRequest.objects.filter(
            program=program, learner=learner, guide=guide, state=MatchRequest.State.DECLINED
        ).exists():
            raise RuleViolation("STATE", f"{guide} has already declined a request from you.")
        rules.check_capacity(program=program, membership=membership)
        if is_opted_out(program, guide):
            raise RuleViolation("STATE", f"{guide} is not taking new learners this term.")
        last = (
            Relationship.objects.filter(program=program, learner=learner, status="ended")
            .order_by("-ends_on")
            .first()
        )
        if (
            last
            and last.guide_id == guide.pk
            and last.end_reason == Relationship.EndReason.NO_FAULT_REMATCH
        ):
            raise RuleViolation(
                "STATE", f"you asked for a no-fault rematch away from {guide}; choose someone else."
            )
        rules.check_role_separation(
            program=program,
            guide=guide,
            learner=learner,
            starts_on=timezone.localdate(),
            ends_on=None,
        )
        try:
            with transaction.atomic():
                match_request = MatchRequest.objects.create(
                    program=program,
                    learner=learner,
                    guide=guide,
                    message=message.strip(),
                    expires_at=timezone.now()
                    + datetime.timedelta(days=program.request_expiry_days),
                )
        except IntegrityError as exc:  # a second request raced the first
            raise RuleViolation(
                "STATE",
                "you have a request waiting for an answer: withdraw it to ask someone else.",
            ) from exc
        request_queue(match_request=match_request, event="sent")
    return match_request


def _locked(match_request: MatchRequest) -> MatchRequest:
    """The request, locked. One whose date passed after _expire_overdue ran (a moment ago) is
    treated as expired: the caller refuses, and the sweep records it."""
    match_request = (
        MatchRequest.objects.select_for_update(of=("self",))
        .select_related("program", "learner", "guide")
        .get(pk=match_request.pk)
    )
    if match_request.state == MatchRequest.State.PENDING and match_request.expires_at <= (
        timezone.now()
    ):
        match_request.state = MatchRequest.State.EXPIRED  # not saved: the refusal rolls back
    return match_request


def request_withdraw(*, match_request: MatchRequest) -> MatchRequest:
    _expire_overdue(MatchRequest.objects.filter(pk=match_request.pk))
    with transaction.atomic():
        match_request = _locked(match_request)
        if match_request.state != MatchRequest.State.PENDING:
            raise RuleViolation("STATE", "this request is no longer waiting for an answer.")
        match_request.state = MatchRequest.State.WITHDRAWN
        match_request.answered_at = timezone.now()
        match_request.save(update_fields=["state", "answered_at"])
    return match_request


def request_accept(*, match_request: MatchRequest) -> MatchRequest:
    """The guide accepts: the relationship starts today through relationship_start (R1-R3
    checked now). A refusal leaves the request pending, so the guide can still decline it."""
    _expire_overdue(MatchRequest.objects.filter(pk=match_request.pk))
    with transaction.atomic():
        match_request = _locked(match_request)
        if match_request.state != MatchRequest.State.PENDING:
            expired = match_request.state == MatchRequest.State.EXPIRED
            raise RuleViolation(
                "STATE",
                "this request expired before it was answered."
                if expired
                else "this request is no longer waiting for an answer.",
            )
        program = match_request.program
        _check_self_match(program)
        with transaction.atomic():
            relationship = mentoring_services.relationship_start(
                program=program,
                guide=match_request.guide,
                learner=match_request.learner,
                origin=Relationship.Origin.SELF_MATCHED,
                term=program.matching_term(),
                created_by=match_request.guide,
            )
        match_request.state = MatchRequest.State.ACCEPTED
        match_request.answered_at = timezone.now()
        match_request.relationship = relationship
        match_request.save(update_fields=["state", "answered_at", "relationship"])
        request_queue(match_request=match_request, event="accepted")
    return match_request


def request_decline(*, match_request: MatchRequest, reply: str = "") -> MatchRequest:
    _expire_overdue(MatchRequest.objects.filter(pk=match_request.pk))
    with transaction.atomic():
        match_request = _locked(match_request)
        if match_request.state != MatchRequest.State.PENDING:
            raise RuleViolation("STATE", "this request is no longer waiting for an answer.")
        match_request.state = MatchRequest.State.DECLINED
        match_request.answered_at = timezone.now()
        match_request.reply = reply.strip()
        match_request.save(update_fields=["state", "answered_at", "reply"])
        request_queue(match_request=match_request, event="declined")
    return match_request


def requests_expire(*, now: datetime.datetime | None = None) -> int:
    """Expire every pending request past its date and tell each learner once, 500 at a time
    (a second sweep finds nothing)."""
    now = now or timezone.now()
    expired = 0
    while True:
        batch = _expire_overdue(MatchRequest.objects.all(), now=now, limit=500)
        expired += batch
        if batch < 500:
            return expired


def requests_for_guide(program: Program, guide) -> tuple[list, list]:
    """(requests waiting for the guide's answer, oldest first; the last 20 others)."""
    mine = MatchRequest.objects.filter(program=program, guide=guide).select_related(
        "learner__profile"
    )
    waiting = [r for r in mine.pending().order_by("created_at") if r.expires_at > timezone.now()]
    others = list(
        mine.exclude(state=MatchRequest.State.PENDING)
        .exclude(state=MatchRequest.State.WITHDRAWN)
        .order_by("-created_at")[:20]
    )
    return waiting, others
