"""Learners' and guides' own relationships (namespace `mentoring`)."""

from django.urls import path

from mentoring.views import participant

app_name = "mentoring"

urlpatterns = [
    path("", participant.relationship_list, name="relationship-list"),
    path("informal/new/", participant.informal_new, name="informal-new"),
    path("<uuid:code>/", participant.relationship_detail, name="relationship-detail"),
    path("<uuid:code>/confirm/", participant.relationship_confirm, name="relationship-confirm"),
    path("<uuid:code>/decline/", participant.relationship_decline, name="relationship-decline"),
    path("<uuid:code>/rematch/", participant.rematch_request, name="rematch-request"),
    path("<uuid:code>/rematch/withdraw/", participant.rematch_withdraw, name="rematch-withdraw"),
]
