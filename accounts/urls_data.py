"""A person's own data: download (namespace `data`)."""

from django.urls import path  # noqa: F401

app_name = "data"

urlpatterns: list = []
