"""Who may see and change what in the core domain.

The QuerySets are the source of truth (`Relationship.objects.visible_to(user)`, `.for_participant`,
`.administered_by`); the `can_*` functions delegate to them, and views fetch through the
`get_*_or_404` helpers so an outsider gets 404, the same answer as for a missing object (R8).
Everything an administrator opens is fetched through `get_administered_or_404`: the object's
program-scoped QuerySet (R9, mentoring.models.programs.ProgramScopedQuerySet) decides, and
anyone outside it gets 404 (R8).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from mentoring.models import Conflict, Program, Relationship, RematchRequest


def get_administered_or_404(user, queryset, **lookup):
    """The row of `queryset` matching `lookup` if `user` administers its program (R9: the
    queryset's `administered_by`); 404 otherwise, the same answer as for a row that does not
    exist (R8)."""
    return get_object_or_404(queryset.administered_by(user), **lookup)


def can_administer(user, obj) -> bool:
    """Whether `user` administers the program of `obj` (R9); the same answer as
    get_administered_or_404."""
    return type(obj).objects.administered_by(user).filter(pk=obj.pk).exists()


# --- Programs -------------------------------------------------------------------------------
def can_administer_program(user, program: Program) -> bool:
    return can_administer(user, program)


def get_administered_program_or_404(user, code) -> Program:
    """The program with `code` if `user` administers it (R9); 404 otherwise (R8)."""
    return get_administered_or_404(user, Program.objects.all(), code=code)


# --- Relationships --------------------------------------------------------------------------
def can_view_relationship(user, relationship: Relationship) -> bool:
    return Relationship.objects.visible_to(user).filter(pk=relationship.pk).exists()


def can_administer_relationship(user, relationship: Relationship) -> bool:
    return can_administer(user, relationship)


def can_participate_in_relationship(user, relationship: Relationship) -> bool:
    return Relationship.objects.for_participant(user).filter(pk=relationship.pk).exists()


def get_own_relationship_or_404(user, code) -> Relationship:
    """A relationship `user` is the guide or learner of."""
    return get_object_or_404(
        Relationship.objects.for_participant(user).select_related(
            "program", "guide", "learner", "guide__profile", "learner__profile"
        ),
        code=code,
    )


def get_administered_relationship_or_404(user, code) -> Relationship:
    """A relationship in a program `user` administers."""
    return get_administered_or_404(
        user, Relationship.objects.select_related("program", "guide", "learner"), code=code
    )


# --- Conflicts and rematch requests ---------------------------------------------------------
def get_administered_conflict_or_404(user, code) -> Conflict:
    return get_administered_or_404(
        user,
        Conflict.objects.select_related(
            "program", "relationship__guide", "relationship__learner", "assessment_role"
        ),
        code=code,
    )


def get_administered_rematch_request_or_404(user, code) -> RematchRequest:
    return get_administered_or_404(
        user,
        RematchRequest.objects.select_related(
            "relationship__program", "relationship__guide", "relationship__learner"
        ),
        code=code,
    )
