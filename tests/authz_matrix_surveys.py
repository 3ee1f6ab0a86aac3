"""Authorization matrix rows of answering surveys (namespace `surveys`); merged into MATRIX.

The emailed link's page answers everyone, anonymous visitors included: its token is the
credential (the learner's invitation's token is used). "My surveys" lists each signed-in
person's own (maybe none). An invitation's code answers its own person only; everyone else,
administrators and the operator included, gets 404 (R8)."""

from __future__ import annotations

from surveys.tokens import token_for
from tests.authz_matrix_base import Row, everyone
from tests.surveys.survey_helpers import invite, open_campaign


def _learner_invitation(world):
    return invite(open_campaign(world.program), world.cast["learner"], world.pair)


def token(world) -> dict:
    return {"token": token_for(_learner_invitation(world))}


def invitation(world) -> dict:
    return {"code": _learner_invitation(world).code}


ROWS: dict = {
    "surveys:mine": everyone(),
    "surveys:answer": Row(kwargs=token, rest=200, anonymous=200),
    "surveys:answer-mine": Row(kwargs=invitation, who={"learner": 200}),
}
