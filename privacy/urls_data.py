"""A person's own data: download (namespace `data`)."""

from django.urls import path

from privacy import views_data

app_name = "data"

urlpatterns = [
    path("", views_data.data_page, name="page"),
    path("download/", views_data.data_download, name="download"),
]
