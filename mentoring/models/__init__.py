"""The core domain: programs and terms, relationships, assessment roles and conflicts."""

from mentoring.models.assessment import AssessmentRole, Conflict
from mentoring.models.programs import Program, Term, WorkerHeartbeat
from mentoring.models.relationships import Relationship, RematchRequest

__all__ = [
    "AssessmentRole",
    "Conflict",
    "Program",
    "Relationship",
    "RematchRequest",
    "Term",
    "WorkerHeartbeat",
]
