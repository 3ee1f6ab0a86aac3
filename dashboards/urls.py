"""Dashboard pages (namespace `dashboards`, at /dashboards/): the dean's institution
dashboard, the program evaluation and research export, the administrators' program
dashboards. Everyone without a right to a page gets 404 (R8, R9); see dashboards/views.py."""

from django.urls import path

from dashboards import views

app_name = "dashboards"

P = "programs/<uuid:code>/"

urlpatterns = [
    # Deans: every program, aggregates only (R7)
    path("institution/", views.institution, name="institution"),
    path("institution/<slug:table>.csv", views.institution_csv, name="institution-csv"),
    # Deans, and administrators for their programs
    path("evaluation/", views.evaluation, name="evaluation"),
    path("evaluation/comparisons.csv", views.evaluation_csv, name="evaluation-csv"),
    path(
        "evaluation/research-export/",
        views.research_export_download,
        name="research-export",
    ),
    # Administrators: their programs only (R9)
    path("programs/", views.program_list, name="programs"),
    path(P, views.program_dashboard, name="program"),
    path(P + "<slug:table>.csv", views.program_csv, name="program-csv"),
    path(P + "lists/<slug:key>.csv", views.program_list_csv, name="program-list-csv"),
]
