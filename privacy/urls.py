"""The privacy officer's pages (namespace `privacy`): the access log, read-only."""

from django.urls import path

from privacy import views as privacy

app_name = "privacy"

urlpatterns = [
    path("access-log/", privacy.access_log, name="access-log"),
    path("access-log.csv", privacy.access_log_csv, name="access-log-csv"),
    path("access-log/reviewed/", privacy.access_log_reviewed, name="access-log-reviewed"),
]
