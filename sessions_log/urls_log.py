"""Meeting lists, a meeting's page, its log and action items, ad-hoc meetings."""

from django.urls import path

from sessions_log import views_log

urlpatterns = [
    path("", views_log.meetings, name="meetings"),
    path("<uuid:code>/", views_log.meeting_detail, name="meeting"),
    path("<uuid:code>/log/", views_log.meeting_log, name="meeting-log"),
    path("<uuid:code>/action-items/", views_log.action_item_add, name="action-item-add"),
    path("action-items/<uuid:code>/done/", views_log.action_item_done, name="action-item-done"),
    path("with/<uuid:code>/log-past/", views_log.adhoc_new, name="adhoc-new"),
]
