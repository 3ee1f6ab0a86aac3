"""Administrators' survey pages (namespace `survey_console`, under /console/). Every view
fetches the program through get_administered_program_or_404 (R8, R9)."""

from django.urls import path

from surveys import views_console as views

app_name = "survey_console"

S = "programs/<uuid:code>/surveys/"

urlpatterns = [
    # Campaigns, response rates and results
    path(S, views.campaign_list, name="campaign-list"),
    path(S + "rates/", views.rates, name="rates"),
    path(S + "campaigns/new/", views.campaign_create, name="campaign-create"),
    path(S + "campaigns/<uuid:campaign>/", views.campaign_detail, name="campaign-detail"),
    path(S + "campaigns/<uuid:campaign>/edit/", views.campaign_edit, name="campaign-edit"),
    path(S + "campaigns/<uuid:campaign>/close/", views.campaign_close, name="campaign-close"),
    path(
        S + "campaigns/<uuid:campaign>/results.csv",
        views.campaign_export,
        name="campaign-export",
    ),
    # The template editor
    path(S + "templates/", views.template_list, name="template-list"),
    path(S + "templates/install/", views.templates_install, name="templates-install"),
    path(S + "templates/<uuid:template>/", views.template_edit, name="template-edit"),
    path(S + "templates/<uuid:template>/sections/", views.sections, name="sections"),
    path(S + "templates/<uuid:template>/questions/new/", views.question_add, name="question-add"),
    path(S + "questions/<uuid:question>/", views.question_edit, name="question-edit"),
    path(S + "questions/<uuid:question>/move/", views.question_move, name="question-move"),
    path(S + "questions/<uuid:question>/delete/", views.question_delete, name="question-delete"),
]
