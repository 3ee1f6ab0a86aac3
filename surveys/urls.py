"""Answering surveys (namespace `surveys`, mounted at /surveys/)."""

from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.mine, name="mine"),
    # The emailed one-time link: no sign-in, the token is the credential.
    path("answer/<str:token>/", views.answer, name="answer"),
    path("<uuid:code>/", views.answer_mine, name="answer-mine"),
]
