"""Match runs and their review (namespace `matching`, under the console)."""

from django.urls import path

from matching import views

app_name = "matching"

urlpatterns = [
    path("programs/<uuid:code>/matching/", views.runs, name="runs"),
    path("matching/runs/<uuid:code>/", views.run_detail, name="run"),
    path("matching/runs/<uuid:code>/status/", views.run_status, name="run-status"),
    path("matching/runs/<uuid:code>/approve/", views.run_approve, name="run-approve"),
    path("matching/runs/<uuid:code>/rerun/", views.run_rerun, name="run-rerun"),
    path("matching/runs/<uuid:code>/export.csv", views.run_export, name="run-export"),
    path("matching/proposals/<uuid:code>/state/", views.proposal_state, name="proposal-state"),
    path("matching/runs/<uuid:code>/swap/", views.proposals_swap, name="proposals-swap"),
    path("matching/proposals/<uuid:code>/assign/", views.proposal_assign, name="proposal-assign"),
]
