"""The suggestion pool: a program's unpaired learners and current guides compiled once into the
matcher's arrays, so that a participant's suggestions rank one column (or row) of scores
instead of reading and compiling the whole cohort on every request.

At school scale (20,000 learners, 6,000 guides) reading the cohort costs about half a second
and compiling it for one person another tenth, on every page view; scoring one guide against
every learner in the compiled arrays costs about a millisecond. The pool is built on the first
request after a change and shared:

- in Redis (Django's cache), pickled: a few megabytes of numpy arrays, read back in a few
  milliseconds by the other web processes (a list of `Learner` objects would take hundreds);
- and in each process's memory, so most requests only read two version tokens from Redis.

Its cache key holds everything it depends on: a version token per program, bumped when a
profile, a name, a membership, relationship, term, term opt-out or the program itself changes (the
receivers at the end of this module: on the change and again on commit, so a pool built from
data read before the commit is filed under a token nobody asks for any more), a token for the
assessment roles (R2's forbidden pairs), today's date (R2's dates, the matching term) and the
scoring criteria (the program's latest run's weights). A pool also expires when a membership
of the program ends (memberships end at a time, not by a write) and after `MAX_AGE_SECONDS`,
which bounds how long a write that bypasses the model signals (a queryset `update()`, a Redis
outage that kept the tokens in one process's memory) can leave it stale.

Only ranking uses the pool. The top suggestions are then explained by the matcher itself
(`algorithm.suggest`) from freshly read rows of those few people, so words and scores on the
page always come from the same code the matcher runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Min
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from accounts.models import Membership, ParticipantProfile, User
from matching import algorithm
from matching.algorithm.features import Compiled, compile_instance, score_pairs
from matching.models import TermOptOut
from matching.services.inputs import (
    forbidden_build,
    guides_build,
    learners_build,
    unpaired_learners,
)
from mentoring.models import AssessmentRole, Program, Relationship, Term

MAX_AGE_SECONDS = 600
LOCAL_POOLS = 8  # pools kept in each process's memory (a few MB each at school scale)
FORMAT = 1  # bump when what a pool holds changes meaning: older pickles are then never read

_SEPARATOR = "\x00"  # joins a person's labels for search; a query never holds it


def _prefix() -> str:
    """Keys name the database too: one Redis may serve several (test runs, benchmarks), whose
    programs share ids."""
    return f"matching:pool:{connection.settings_dict['NAME']}"


def _program_key(program_id: int) -> str:
    return f"{_prefix()}:program:{program_id}"


def _roles_key() -> str:
    return f"{_prefix()}:assessment-roles"


@dataclass(frozen=True, slots=True)
class Pool:
    """A program's unpaired learners x current guides, compiled for one set of criteria.
    Learners and guides are referred to by position; ids are sorted ascending, as the matcher's
    input builders return them (so score ties rank by id, as they always have)."""

    learner_ids: np.ndarray  # int64, sorted
    guide_ids: np.ndarray  # int64, sorted
    compiled: Compiled
    room: np.ndarray  # int64 places left per guide (capacity minus current relationships)
    opted_out: np.ndarray  # bool per guide: sits out the matching term
    learner_availability: np.ndarray  # int64 weekly bitmaps
    guide_availability: np.ndarray
    learner_search: tuple[str, ...]  # name, specialties and research (lower case), joined
    guide_search: tuple[str, ...]  # by _SEPARATOR
    expires_at: float  # time.time() after which it is rebuilt

    @staticmethod
    def _position(ids: np.ndarray, person_id: int) -> int | None:
        k = int(np.searchsorted(ids, person_id))
        return k if k < len(ids) and ids[k] == person_id else None

    def learner_position(self, person_id: int) -> int | None:
        return self._position(self.learner_ids, person_id)

    def guide_position(self, person_id: int) -> int | None:
        return self._position(self.guide_ids, person_id)

    def best(self, li: np.ndarray, gj: np.ndarray, limit: int) -> np.ndarray:
        """Indexes k of the best `limit` allowed pairs (li[k], gj[k]), best first, ties in the
        order given: what `algorithm.suggest` would choose among the same pairs (the caller
        has already left out guides without room or opted out)."""
        if not len(li) or limit < 1:
            return np.zeros(0, dtype=np.int64)
        scores, _ = score_pairs(self.compiled, li, gj)
        allowed = np.flatnonzero(scores >= 0)
        return allowed[np.argsort(-scores[allowed], kind="stable")][:limit]


def _search_texts(people, names: dict[int, str]) -> tuple[str, ...]:
    return tuple(
        _SEPARATOR.join([names.get(p.id, "").lower(), *sorted(p.specialties | p.research)])
        for p in people
    )


def search_match(texts: tuple[str, ...], query: str) -> np.ndarray:
    """Whether each person's name, specialties or research interests contain `query` (lower
    case, stripped), as `bool` per person."""
    if _SEPARATOR in query:
        return np.zeros(len(texts), dtype=bool)
    return np.fromiter((query in text for text in texts), dtype=bool, count=len(texts))


def _build(program: Program, criteria: algorithm.Criteria, *, now: float) -> Pool:
    learners = learners_build(program, with_choices=False)
    guides = guides_build(program, term=program.matching_term(), with_choices=False)
    compiled = compile_instance(
        learners,
        guides,
        criteria,
        forbidden_build(program, unpaired_learners(program)),
        {p.id: k for k, p in enumerate(learners)},
        {g.id: k for k, g in enumerate(guides)},
    )
    names = dict(User.objects.filter(memberships__program=program).values_list("pk", "full_name"))
    next_end = Membership.objects.filter(program=program, ended_at__gt=timezone.now()).aggregate(
        first=Min("ended_at")
    )["first"]
    expires_at = now + MAX_AGE_SECONDS
    if next_end is not None:
        expires_at = min(expires_at, next_end.timestamp())
    return Pool(
        learner_ids=np.array([p.id for p in learners], dtype=np.int64),
        guide_ids=np.array([g.id for g in guides], dtype=np.int64),
        compiled=compiled,
        room=np.array([g.capacity for g in guides], dtype=np.int64),
        opted_out=np.array([g.opted_out for g in guides], dtype=bool),
        learner_availability=np.array([p.availability for p in learners], dtype=np.int64),
        guide_availability=np.array([g.availability for g in guides], dtype=np.int64),
        learner_search=_search_texts(learners, names),
        guide_search=_search_texts(guides, names),
        expires_at=expires_at,
    )


_local: OrderedDict[str, Pool] = OrderedDict()
_local_lock = threading.Lock()


def _tokens(program_id: int) -> tuple[str, str]:
    """The program's and the assessment roles' version tokens (one round trip to Redis); a
    token missing (never set, or Redis lost it) is created, which invalidates every pool."""
    keys = [_program_key(program_id), _roles_key()]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, uuid.uuid4().hex, timeout=None)
            found[key] = cache.get(key)
    return found[keys[0]], found[keys[1]]


def _layout() -> str:
    """FORMAT and the fields of the pickled classes: a pool pickled by code with other fields
    (an older release still running during a deploy) is never read."""
    names = [f.name for cls in (Pool, Compiled) for f in dataclasses.fields(cls)]
    return f"{FORMAT}.{hashlib.sha256(repr(names).encode()).hexdigest()[:8]}"


def _key(program: Program, criteria: algorithm.Criteria) -> str:
    program_token, roles_token = _tokens(program.pk)
    digest = hashlib.sha256(repr(criteria).encode()).hexdigest()[:16]
    today = timezone.localdate().isoformat()
    return f"{_prefix()}:{_layout()}:{program.pk}:{program_token}:{roles_token}:{today}:{digest}"


def suggestion_pool(program: Program, criteria: algorithm.Criteria) -> Pool:
    """The program's pool for `criteria`: from this process's memory, else from Redis, else
    built (and shared through Redis)."""
    key = _key(program, criteria)
    now = time.time()
    with _local_lock:
        pool = _local.get(key)
        if pool is not None:
            _local.move_to_end(key)
    if pool is None or pool.expires_at <= now:
        pool = cache.get(key)
        if not isinstance(pool, Pool) or pool.expires_at <= now:
            pool = _build(program, criteria, now=now)
            cache.set(key, pool, timeout=max(1, int(pool.expires_at - now)))
        with _local_lock:
            _local[key] = pool
            while len(_local) > LOCAL_POOLS:
                _local.popitem(last=False)
    return pool


# --- Invalidation ---------------------------------------------------------------------------


def _bump(key: str) -> None:
    cache.set(key, uuid.uuid4().hex, timeout=None)


def pool_invalidate(program_ids) -> None:
    """A new version for each program of `program_ids`: now, so the writing request and the
    rest of its transaction see the change, and again once the transaction commits, so a pool
    another request built from the rows as they were before the commit is never used."""
    keys = {_program_key(pk) for pk in program_ids if pk is not None}
    for key in keys:
        _bump(key)
        transaction.on_commit(lambda key=key: _bump(key))


def _roles_changed(**kwargs) -> None:
    _bump(_roles_key())
    transaction.on_commit(lambda: _bump(_roles_key()))


def _person_changed(user_id: int) -> None:
    pool_invalidate(
        Membership.objects.filter(user_id=user_id, program__isnull=False)
        .values_list("program_id", flat=True)
        .distinct()
    )


def _profile_changed(instance, **kwargs) -> None:
    _person_changed(instance.user_id)


def _user_changed(instance, update_fields=None, **kwargs) -> None:
    # Pools hold names for search; a sign-in saves only last_login.
    if update_fields is None or "full_name" in update_fields:
        _person_changed(instance.pk)


def _program_row_changed(instance, **kwargs) -> None:
    pool_invalidate([instance.program_id])


def _opt_out_changed(instance, **kwargs) -> None:
    pool_invalidate(Term.objects.filter(pk=instance.term_id).values_list("program_id", flat=True))


def _program_changed(instance, **kwargs) -> None:
    pool_invalidate([instance.pk])


def connect() -> None:
    """Connect the receivers that keep pools current (matching's AppConfig.ready). Cache
    invalidation only: no rule is decided here."""
    receivers = (
        (ParticipantProfile, _profile_changed),
        (User, _user_changed),
        (Membership, _program_row_changed),
        (Relationship, _program_row_changed),
        (Term, _program_row_changed),
        (TermOptOut, _opt_out_changed),
        (Program, _program_changed),
        (AssessmentRole, _roles_changed),
    )
    for model, receiver in receivers:
        for signal in (post_save, post_delete):
            signal.connect(
                receiver,
                sender=model,
                weak=False,
                dispatch_uid=f"matching.pool.{model.__name__}.{signal is post_save}",
            )
