"""A match run's lifecycle: queued, run, reviewed (matching.services.review), approved in
batches through the one service that applies the rules (mentoring.services.relationship_start),
and recovered when a worker is lost. Approval emails both people of each new pair through the
outbox (`matching.emails.pairing_queue`)."""

from __future__ import annotations

import datetime
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from matching import algorithm
from matching.emails import pairing_queue
from matching.models import MatchRun, Proposal
from matching.services.inputs import DEFAULT_WEIGHTS, match_input_build
from matching.services.review import superseded_refusal
from mentoring import services as mentoring_services
from mentoring.models import Program, Relationship
from mentoring.rules import RuleViolation
from notify.broker import enqueue

logger = logging.getLogger(__name__)


@transaction.atomic
def match_run_create(
    *,
    program: Program,
    by,
    mode: str = MatchRun.Mode.OPTIMAL,
    weights: dict | None = None,
    term=None,
) -> MatchRun:
    """Queue a run; it keeps the locks and rejections of the program's latest reviewed run.

    The new run replaces the program's earlier runs of the same term that are still waiting,
    running or under review: they are marked superseded and can no longer be approved (two
    reviews of one intake would pair the same learners twice; the second approval would only
    be refused pair by pair)."""
    from matching.tasks import execute_match_run

    # The program's row lock numbers runs started at the same moment one after the other.
    Program.objects.select_for_update().filter(pk=program.pk).values_list("pk").first()
    previous = (
        MatchRun.objects.filter(
            program=program,
            status__in=[MatchRun.Status.DONE, MatchRun.Status.SUPERSEDED],
            finished_at__isnull=False,  # a run replaced before it ran has no review to keep
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    run = MatchRun.objects.create(
        program=program,
        term=term,
        mode=mode,
        weights={**DEFAULT_WEIGHTS, **(weights or {})},
        run_by=by,
        previous=previous,
    )
    same_term = Q(term__isnull=True) if term is None else Q(term=term)
    MatchRun.objects.filter(same_term, program=program, status__in=REPLACEABLE).exclude(
        pk=run.pk
    ).update(status=MatchRun.Status.SUPERSEDED, superseded_by=run, touched_at=timezone.now())
    enqueue(execute_match_run, run.pk)  # a lost publish: recover_match_runs queues it again
    return run


# The runs a newer run of the same program and term replaces: not yet approving. A run being
# approved (or approved) has created relationships and stays as it is.
REPLACEABLE = (MatchRun.Status.QUEUED, MatchRun.Status.RUNNING, MatchRun.Status.DONE)


def match_run_execute(*, run: MatchRun) -> MatchRun:
    """Run the matcher and store one proposal per learner (unmatched ones with the reason)."""
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().get(pk=run.pk)
        if run.status != MatchRun.Status.QUEUED:
            return run  # a duplicate delivery of the task: the first one did the work
        run.status = MatchRun.Status.RUNNING
        run.started_at = run.touched_at = timezone.now()
        run.save(update_fields=["status", "started_at", "touched_at"])
    started = time.perf_counter()
    try:
        data = match_input_build(program=run.program, weights=run.weights, term=run.term)
        locks, rejected = [], set()
        if run.previous_id:
            kept = Proposal.objects.filter(run_id=run.previous_id)
            ids = {lr.id for lr in data.learners}
            capacity = {g.id: g.capacity for g in data.guides}
            for learner_id, guide_id in kept.filter(state=Proposal.State.LOCKED).values_list(
                "learner_id", "guide_id"
            ):
                if learner_id in ids and capacity.get(guide_id, 0) > 0:
                    locks.append((learner_id, guide_id))
                    capacity[guide_id] -= 1
            rejected = set(
                kept.filter(state=Proposal.State.REJECTED).values_list("learner_id", "guide_id")
            )
        forbidden = set(data.forbidden) | rejected
        locks = [pair for pair in locks if pair not in forbidden]
        result = algorithm.match(
            data.learners,
            data.guides,
            data.criteria,
            forbidden=forbidden,
            locks=locks,
            mode=algorithm.Mode(run.mode),
            seed=run.seed,
        )
    except Exception as exc:  # a failed run is reported on its page, never lost silently
        MatchRun.objects.filter(pk=run.pk).update(
            status=MatchRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    with transaction.atomic():
        if (
            not MatchRun.objects.select_for_update()
            .filter(pk=run.pk, status=MatchRun.Status.RUNNING)
            .exists()
        ):
            return run  # the sweep gave the run up as failed (runs_recover); keep that word
        Proposal.objects.bulk_create(
            [
                Proposal(
                    run=run,
                    learner_id=p.learner_id,
                    guide_id=p.guide_id,
                    score=p.score,
                    breakdown={str(k): v for k, v in p.breakdown.items()},
                    explanation=p.explanation,
                    state=Proposal.State.LOCKED if p.locked else Proposal.State.PROPOSED,
                )
                for p in result.proposals
            ]
            + [
                Proposal(
                    run=run,
                    learner_id=u.learner_id,
                    explanation=u.text,
                    state=Proposal.State.UNMATCHED,
                )
                for u in result.unmatched
            ]
        )
        run.status = MatchRun.Status.DONE
        run.finished_at = run.touched_at = timezone.now()
        run.seconds = time.perf_counter() - started
        run.learners = len(data.learners)
        run.guides = len(data.guides)
        run.matched = len(result.proposals)
        run.unmatched = len(result.unmatched)
        run.total_score = result.total_score
        run.blocking_pairs = result.blocking_pair_count
        run.certified_optimal = result.stats.certified_optimal
        run.save()
    return run


APPROVE_BATCH = 500
"""Pairs created per transaction (and per task) when a run is approved: a worker holds the
run's lock for a few seconds at a time, well inside the task time limit, and a redelivered or
killed task resumes where the last committed batch ended."""


@transaction.atomic
def _approval_begin(run: MatchRun, by) -> MatchRun:
    run = (
        MatchRun.objects.select_for_update(of=("self",))
        .select_related("program", "superseded_by")
        .get(pk=run.pk)
    )
    if run.status == MatchRun.Status.SUPERSEDED:
        raise superseded_refusal(run)
    if run.status != MatchRun.Status.DONE:
        raise RuleViolation("STATE", "only a finished, unapproved run can be approved.")
    if not run.proposals.filter(
        state__in=[Proposal.State.PROPOSED, Proposal.State.LOCKED]
    ).exists():
        raise RuleViolation(
            "STATE",
            "this run has no proposed or locked pair left to approve (every learner is "
            "rejected or not matched), so approving it would create no relationship. Assign "
            "learners by hand, undo a rejection, or run the matcher again.",
        )
    run.status = MatchRun.Status.APPROVING
    run.approved_by = by
    run.approval_report = []
    run.touched_at = timezone.now()
    run.save(update_fields=["status", "approved_by", "approval_report", "touched_at"])
    return run


def match_run_approve_start(*, run: MatchRun, by) -> MatchRun:
    """Start approving a reviewed run: it becomes "approving" and a worker creates the
    relationships in batches (tasks.approve_match_run), so a 20,000-pair run never ties up a
    request."""
    from matching.tasks import approve_match_run

    with transaction.atomic():
        run = _approval_begin(run, by)
        enqueue(approve_match_run, run.pk)
    return run


def match_run_approve_batch(*, run: MatchRun, limit: int | None = None) -> bool:
    """Create the relationships of up to `limit` proposed or locked pairs of an approving run,
    each through relationship_start so R1-R3 are checked again now. A pair that became invalid
    since the run is marked refused with the rule's words in the report: reported, never
    dropped silently. Both people of each new pair are emailed once the batch has committed.
    Returns True when the run is fully approved (or not approving at all)."""

    limit = limit or APPROVE_BATCH
    with transaction.atomic():
        # The run's lock serialises duplicate deliveries: the second sees the first's work.
        run = MatchRun.objects.select_for_update().select_related("program").get(pk=run.pk)
        if run.status != MatchRun.Status.APPROVING:
            return True
        movable = [Proposal.State.PROPOSED, Proposal.State.LOCKED]
        batch = list(
            run.proposals.filter(state__in=movable)
            .select_related("learner", "guide")
            .order_by("pk")[:limit]
        )
        report = list(run.approval_report)
        for proposal in batch:
            try:
                with transaction.atomic():
                    relationship = mentoring_services.relationship_start(
                        program=run.program,
                        guide=proposal.guide,
                        learner=proposal.learner,
                        origin=Relationship.Origin.MATCHED,
                        term=run.term,
                        created_by=run.approved_by,
                    )
            except RuleViolation as violation:
                proposal.state = Proposal.State.REFUSED
                proposal.save(update_fields=["state"])
                report.append(
                    {
                        "learner": str(proposal.learner),
                        "guide": str(proposal.guide),
                        "rule": violation.rule,
                        "message": violation.text,
                    }
                )
            else:
                proposal.state = Proposal.State.APPROVED
                proposal.relationship = relationship
                proposal.save(update_fields=["state", "relationship"])
                pairing_queue(relationship=relationship)
        run.approval_report = report
        run.touched_at = timezone.now()
        run.error = ""  # a batch that failed before is behind us
        finished = not run.proposals.filter(state__in=movable).exists()
        if finished:
            run.status = MatchRun.Status.APPROVED
            run.approved_at = run.touched_at
        run.save(update_fields=["status", "approved_at", "approval_report", "touched_at", "error"])
    return finished


def match_run_approval_failed(*, run: MatchRun, error: Exception) -> None:
    """Record on the run's page why its last approval batch failed; the run stays approving
    and the sweep (runs_recover) queues the batch again."""
    MatchRun.objects.filter(pk=run.pk, status=MatchRun.Status.APPROVING).update(
        error=str(error)[:2000]
    )


def runs_stalled_after() -> datetime.timedelta:
    """How long a run may sit without a worker moving it before the sweep steps in: longer
    than a task can live (the hard time limit) plus five minutes of queue."""
    return datetime.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 300)


RUN_LOST = (
    "The worker stopped before the run finished (it was interrupted or ran out of time). "
    "Nothing was changed; run the matcher again."
)


def runs_recover(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Periodic: nothing a worker was doing for a run is lost for good.

    - A run still "running" past the task time limit lost its worker (killed, or stopped at
      the hard limit; a redelivered task leaves a running run alone): it is marked failed, in
      words its page shows.
    - A run "queued" or "approving" that no worker moved for runs_stalled_after() lost its
      message (the broker restarted, or a batch failed): its work is queued again. A duplicate
      is harmless, since each task takes the run's lock and checks its state first.
    Returns how many runs of each kind it acted on."""
    from matching.tasks import approve_match_run, execute_match_run

    now = now or timezone.now()
    stalled = now - runs_stalled_after()
    failed = MatchRun.objects.filter(status=MatchRun.Status.RUNNING, touched_at__lt=stalled).update(
        status=MatchRun.Status.FAILED, error=RUN_LOST, finished_at=now, touched_at=now
    )
    requeued = {"queued": 0, "approving": 0}
    for status, task in (
        (MatchRun.Status.QUEUED, execute_match_run),
        (MatchRun.Status.APPROVING, approve_match_run),
    ):
        with transaction.atomic():
            ids = list(
                MatchRun.objects.select_for_update(skip_locked=True)
                .filter(status=status, touched_at__lt=stalled)
                .values_list("pk", flat=True)
            )
            MatchRun.objects.filter(pk__in=ids).update(touched_at=now)
            for pk in ids:
                enqueue(task, pk)
        requeued[status] = len(ids)
    if failed or any(requeued.values()):
        logger.warning(
            "Match runs recovered: %d given up as failed, %d queued again, %d approvals resumed",
            failed,
            requeued["queued"],
            requeued["approving"],
        )
    return {"failed": failed, **requeued}


def match_run_approve(*, run: MatchRun, by) -> MatchRun:
    """Approve a run to the end in this process (the management shell, tests); the console
    starts the same work in a worker with match_run_approve_start."""
    run = _approval_begin(run, by)
    while not match_run_approve_batch(run=run):
        pass
    return MatchRun.objects.get(pk=run.pk)
