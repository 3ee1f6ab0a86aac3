"""The matrix's building blocks (shared by tests/authz_matrix*.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

CAST = (
    "anonymous",
    "learner",
    "mentor",
    "other_mentor",
    "assessor",
    "program_admin",
    "other_admin",
    "dean",
    "outsider",
    "superuser",
)
SIGNED_IN = CAST[1:]


@dataclass(frozen=True)
class Row:
    kwargs: Callable[[object], dict] = lambda world: {}
    method: str = "get"
    who: dict[str, int] = field(default_factory=dict)
    rest: int = 404
    anonymous: int = 302
    data: Callable[[object], dict] = lambda world: {}

    def expected(self, member: str) -> int:
        if member == "anonymous":
            return self.anonymous
        return self.who.get(member, self.rest)


def everyone(status: int = 200, **kwargs) -> Row:
    return Row(rest=status, **kwargs)


def admin_only(status: int = 200, **kwargs) -> Row:
    return Row(who={"program_admin": status}, **kwargs)
