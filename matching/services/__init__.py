"""Match runs, by sub-domain: `inputs` builds the matcher's input from the database, `runs`
carries a run from queued to approved (and recovers it when a worker is lost), `review` is the
administrator's review of a finished run. The public names are importable from here."""

from matching.services.inputs import (
    DEFAULT_WEIGHTS,
    MatchInput,
    criteria_build,
    forbidden_build,
    guide_loads,
    guides_build,
    learners_build,
    match_input_build,
    program_weights,
    unpaired_learners,
)
from matching.services.review import (
    GuideLoad,
    guide_load_table,
    guides_with_room,
    proposal_assign,
    proposal_set_state,
    proposals_swap,
)
from matching.services.runs import (
    APPROVE_BATCH,
    RUN_LOST,
    match_run_approval_failed,
    match_run_approve,
    match_run_approve_batch,
    match_run_approve_start,
    match_run_create,
    match_run_execute,
    runs_recover,
    runs_stalled_after,
)

__all__ = [
    "APPROVE_BATCH",
    "DEFAULT_WEIGHTS",
    "RUN_LOST",
    "GuideLoad",
    "MatchInput",
    "criteria_build",
    "forbidden_build",
    "guide_load_table",
    "guide_loads",
    "guides_build",
    "guides_with_room",
    "learners_build",
    "match_input_build",
    "match_run_approval_failed",
    "match_run_approve",
    "match_run_approve_batch",
    "match_run_approve_start",
    "match_run_create",
    "match_run_execute",
    "program_weights",
    "proposal_assign",
    "proposal_set_state",
    "proposals_swap",
    "runs_recover",
    "runs_stalled_after",
    "unpaired_learners",
]
