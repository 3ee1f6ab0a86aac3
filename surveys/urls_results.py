"""Survey results for guides (about themselves) and deans (namespace `survey_results`)."""

from django.urls import path  # noqa: F401

app_name = "survey_results"

urlpatterns: list = []
