"""The core domain: programs and terms, relationships, assessment roles and conflicts,
the mentoring agreement and goals, confidential notes and their access log."""

from mentoring.models.agreements import (
    AgreementReminder,
    Goal,
    GoalProgress,
    MentoringAgreement,
)
from mentoring.models.assessment import AssessmentRole, Conflict
from mentoring.models.confidential import AccessLogEntry, ConfidentialNote
from mentoring.models.programs import Program, Term, WorkerHeartbeat
from mentoring.models.relationships import Relationship, RematchRequest

__all__ = [
    "AccessLogEntry",
    "AgreementReminder",
    "AssessmentRole",
    "ConfidentialNote",
    "Conflict",
    "Goal",
    "GoalProgress",
    "MentoringAgreement",
    "Program",
    "Relationship",
    "RematchRequest",
    "Term",
    "WorkerHeartbeat",
]
