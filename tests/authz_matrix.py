"""The authorization matrix: every project URL x every member of the cast -> expected status.

One row per URL name. `who` maps cast members to the status they must get; `rest` is what
everyone else signed in gets; anonymous visitors are sent to sign in (302) unless the row says
otherwise. Every later issue adds its URLs here; tests/test_authorization_matrix.py fails when a
project URL has no row.
"""

from __future__ import annotations

from tests.authz_matrix_base import CAST, SIGNED_IN, Row, admin_only, everyone  # noqa: F401


def program(world) -> dict:
    return {"code": world.program.code}


def relationship(world) -> dict:
    return {"code": world.pair.code}


def run(world) -> dict:
    return {"code": world.run.code}


def batch(world) -> dict:
    return {"code": world.program.code, "batch": world.batch.code}


def proposed(world) -> dict:
    return {"code": world.proposed.code}


def match_request(world) -> dict:
    return {"code": world.match_request.code}


MATRIX: dict[str, Row] = {
    # --- core -------------------------------------------------------------------------------
    "home": everyone(),
    "healthz": everyone(anonymous=200),
    "accounts:profile": everyone(),
    "accounts:keep-alive": everyone(method="post"),  # "Stay signed in": anyone signed in
    # --- a learner's and a guide's own pages: the two participants only ----------------------
    "mentoring:relationship-list": everyone(),  # each person's own relationships (maybe none)
    "mentoring:informal-new": Row(who={"learner": 200}),  # learners only
    "mentoring:relationship-detail": Row(kwargs=relationship, who={"learner": 200, "mentor": 200}),
    # other_mentor is asked to confirm an informal relationship a third learner recorded.
    "mentoring:relationship-confirm": Row(
        method="post", kwargs=proposed, who={"other_mentor": 302}
    ),
    "mentoring:relationship-decline": Row(
        method="post", kwargs=proposed, who={"other_mentor": 302}
    ),
    # The learner's own action: her mentor may see the relationship but not do this (403).
    # The world's learner has asked already, so she is sent back to the relationship (302).
    "mentoring:rematch-request": Row(kwargs=relationship, who={"learner": 302, "mentor": 403}),
    "mentoring:rematch-withdraw": Row(
        method="post", kwargs=relationship, who={"learner": 302, "mentor": 403}
    ),
    # --- console (program administrators of this program only: R8, R9) ---------------------
    "console:program-list": everyone(),  # lists only what each person administers (maybe none)
    "console:program-detail": admin_only(kwargs=program),
    "console:program-edit": admin_only(kwargs=program),
    "console:term-create": admin_only(kwargs=program),
    "console:term-edit": admin_only(kwargs=lambda w: {"code": w.program.code, "term": w.term.code}),
    "console:people": admin_only(kwargs=program),
    "console:person-detail": admin_only(
        kwargs=lambda w: {"code": w.program.code, "person": w.cast["learner"].code}
    ),
    "console:person-invite": admin_only(
        302,
        method="post",
        kwargs=lambda w: {"code": w.program.code, "person": w.cast["learner"].code},
    ),
    "console:assessments": admin_only(kwargs=program),
    "console:people-export": admin_only(kwargs=program),
    "console:people-import": admin_only(kwargs=program),
    "console:assessments-export": admin_only(kwargs=program),
    "console:assessments-import": admin_only(kwargs=program),
    "console:import-preview": admin_only(kwargs=batch),
    "console:import-commit": admin_only(302, method="post", kwargs=batch),
    "console:relationships": admin_only(kwargs=program),
    "console:relationship-create": admin_only(kwargs=program),
    "console:quiet": admin_only(kwargs=program),
    "console:relationship-detail": admin_only(kwargs=relationship),
    "console:relationship-pause": admin_only(302, method="post", kwargs=relationship),
    "console:relationship-resume": admin_only(302, method="post", kwargs=relationship),
    "console:relationship-end": admin_only(kwargs=relationship),
    "console:conflicts": admin_only(kwargs=program),
    "console:conflict-resolve": admin_only(
        302,
        method="post",
        kwargs=lambda w: {"code": w.conflict.code},
        data=lambda w: {"action": "reject_assessment"},
    ),
    "console:rematch-requests": admin_only(kwargs=program),
    # --- matching (program administrators of this program only) ---------------------------
    "matching:runs": admin_only(kwargs=program),
    "matching:run": admin_only(kwargs=run),
    "matching:run-status": admin_only(kwargs=run),
    "matching:run-export": admin_only(kwargs=run),
    "matching:run-approve": admin_only(302, method="post", kwargs=run),
    "matching:run-rerun": admin_only(302, method="post", kwargs=run),
    "matching:proposals-swap": admin_only(302, method="post", kwargs=run),
    "matching:proposal-assign": admin_only(
        302,
        method="post",
        kwargs=lambda w: {"code": w.proposal.code},
        data=lambda w: {"guide": w.proposal.guide_id},
    ),
    "matching:proposal-state": admin_only(
        302,
        method="post",
        kwargs=lambda w: {"code": w.proposal.code},
        data=lambda w: {"state": "locked"},
    ),
    "console:rematch-grant": admin_only(
        302, method="post", kwargs=lambda w: {"code": w.rematch.code}
    ),
    # --- matching, participants' side: the program's own learners or guides only -----------
    "choosing:choose": Row(kwargs=program, who={"learner": 200}),
    # Refused with a message in a self-match program (no ranking), but only to its learners.
    "choosing:choice-change": Row(
        method="post",
        kwargs=program,
        who={"learner": 302},
        data=lambda w: {"person": w.cast["other_mentor"].code, "action": "add"},
    ),
    "choosing:request-new": Row(
        kwargs=lambda w: {"code": w.program.code, "person": w.cast["other_mentor"].code},
        who={"learner": 200},
    ),
    "choosing:offer": Row(kwargs=program, who={"mentor": 200, "other_mentor": 200}),
    "choosing:learner-choice-change": Row(
        method="post",
        kwargs=program,
        who={"mentor": 302, "other_mentor": 302},
        data=lambda w: {"person": w.cast["learner"].code, "action": "add"},
    ),
    # The world's request: the learner asked other_mentor. Only she withdraws it, only he
    # answers it (accepting is refused by R3, she is paired already: a message and 302).
    "choosing:request-withdraw": Row(method="post", kwargs=match_request, who={"learner": 302}),
    "choosing:request-accept": Row(method="post", kwargs=match_request, who={"other_mentor": 302}),
    "choosing:request-decline": Row(method="post", kwargs=match_request, who={"other_mentor": 302}),
}

# Meetings: rows kept in their own files (booking, meeting pages and logs).
from tests.authz_matrix_booking import ROWS as _BOOKING  # noqa: E402
from tests.authz_matrix_meetings import ROWS as _MEETINGS  # noqa: E402

MATRIX.update(_BOOKING)
MATRIX.update(_MEETINGS)

# Confidential notes and the privacy officer's access log (R4).
from tests.authz_matrix_notes import ROWS as _NOTES  # noqa: E402

MATRIX.update(_NOTES)

# The mentoring agreement and goals (the pair only).
from tests.authz_matrix_agreements import ROWS as _AGREEMENTS  # noqa: E402

MATRIX.update(_AGREEMENTS)

# A person's own data (everyone signed in, their own only).
from tests.authz_matrix_data import ROWS as _DATA  # noqa: E402

MATRIX.update(_DATA)

# Surveys: the administrators' console and the guides' and deans' results pages (R6-R9).
from tests.authz_matrix_survey_console import ROWS as _SURVEY_CONSOLE  # noqa: E402

MATRIX.update(_SURVEY_CONSOLE)

# Surveys: answering (the emailed one-time link and each person's own surveys, R6, R8).
from tests.authz_matrix_surveys import ROWS as _SURVEYS  # noqa: E402

MATRIX.update(_SURVEYS)

# Dashboards: deans' institution figures, evaluation and export, administrators' programs (R7-R9).
from tests.authz_matrix_dashboards import ROWS as _DASHBOARDS  # noqa: E402

MATRIX.update(_DASHBOARDS)
