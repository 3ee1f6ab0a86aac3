"""Administrators' survey pages (namespace `survey_console`)."""

from django.urls import path  # noqa: F401

app_name = "survey_console"

urlpatterns: list = []
