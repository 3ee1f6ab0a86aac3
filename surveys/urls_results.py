"""Survey results for guides (about themselves) and deans (namespace `survey_results`, at
/surveys/results/). Everyone else gets 404 (R8)."""

from django.urls import path

from surveys import views_results as views

app_name = "survey_results"

urlpatterns = [
    path("about-me/", views.mine, name="about-me"),
    path("about-me/<uuid:campaign>/", views.mine_campaign, name="about-me-campaign"),
    path("institution/", views.institution, name="all-programs"),
    path("institution/<uuid:campaign>/", views.institution_campaign, name="campaign"),
    path(
        "institution/<uuid:campaign>/results.csv",
        views.institution_export,
        name="campaign-export",
    ),
]
