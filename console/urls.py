"""The program administrator's console (namespace `console`). Every view fetches the
program through get_administered_program_or_404 (R8, R9)."""

from django.urls import path

from console import views_pairing as console_pairing
from console import views_people as console_people
from console import views_programs as console_programs
from roster import views as console_imports

app_name = "console"

P = "programs/<uuid:code>/"

urlpatterns = [
    # Programs and terms
    path("", console_programs.program_list, name="program-list"),
    path(P, console_programs.program_detail, name="program-detail"),
    path(P + "edit/", console_programs.program_edit, name="program-edit"),
    path(P + "terms/new/", console_programs.term_create, name="term-create"),
    path(P + "terms/<uuid:term>/", console_programs.term_edit, name="term-edit"),
    # People
    path(P + "people/", console_people.people, name="people"),
    path(P + "people/export.csv", console_imports.people_export, name="people-export"),
    path(P + "people/import/", console_imports.people_import, name="people-import"),
    path(P + "people/<uuid:person>/", console_people.person_detail, name="person-detail"),
    path(P + "people/<uuid:person>/invite/", console_people.person_invite, name="person-invite"),
    # Assessment roles (the conflict-of-interest registry)
    path(P + "assessment-roles/", console_people.assessments, name="assessments"),
    path(
        P + "assessment-roles/export.csv",
        console_imports.assessments_export,
        name="assessments-export",
    ),
    path(
        P + "assessment-roles/import/",
        console_imports.assessments_import,
        name="assessments-import",
    ),
    # Import batches: preview, then commit all or nothing (R12)
    path(P + "imports/<uuid:batch>/", console_imports.import_preview, name="import-preview"),
    path(P + "imports/<uuid:batch>/commit/", console_imports.import_commit, name="import-commit"),
    # Relationships
    path(P + "relationships/", console_pairing.relationships, name="relationships"),
    path(P + "relationships/new/", console_pairing.relationship_create, name="relationship-create"),
    path(P + "quiet/", console_pairing.quiet, name="quiet"),
    path(
        "relationships/<uuid:code>/",
        console_pairing.relationship_detail,
        name="relationship-detail",
    ),
    path(
        "relationships/<uuid:code>/pause/",
        console_pairing.relationship_pause,
        name="relationship-pause",
    ),
    path(
        "relationships/<uuid:code>/resume/",
        console_pairing.relationship_resume,
        name="relationship-resume",
    ),
    path(
        "relationships/<uuid:code>/end/", console_pairing.relationship_end, name="relationship-end"
    ),
    # Queues
    path(P + "conflicts/", console_pairing.conflicts, name="conflicts"),
    path(
        "conflicts/<uuid:code>/resolve/", console_pairing.conflict_resolve, name="conflict-resolve"
    ),
    path(P + "rematch-requests/", console_pairing.rematch_requests, name="rematch-requests"),
    path(
        "rematch-requests/<uuid:code>/grant/", console_pairing.rematch_grant, name="rematch-grant"
    ),
]
