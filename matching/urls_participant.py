"""Participants' side of matching (namespace `choosing`): rank, ask, state capacity, answer."""

from django.urls import path

from matching import views_participant as views

app_name = "choosing"

P = "programs/<uuid:code>/"

urlpatterns = [
    # Learners
    path(P + "choose/", views.choose, name="choose"),
    path(P + "choose/change/", views.choice_change, name="choice-change"),
    path(P + "choose/ask/<uuid:person>/", views.request_new, name="request-new"),
    path("requests/<uuid:code>/withdraw/", views.request_withdraw, name="request-withdraw"),
    # Guides
    path(P + "offer/", views.offer, name="offer"),
    path(P + "offer/change/", views.learner_choice_change, name="learner-choice-change"),
    path("requests/<uuid:code>/accept/", views.request_accept, name="request-accept"),
    path("requests/<uuid:code>/decline/", views.request_decline, name="request-decline"),
]
