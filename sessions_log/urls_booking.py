"""Availability, booking, rescheduling, cancelling, time requests and the calendar feed."""

from django.urls import path

from sessions_log import views_booking as views

urlpatterns: list = [
    # The guide's availability.
    path("availability/", views.availability_page, name="availability"),
    path("availability/slots/add/", views.slot_add, name="slot-add"),
    path("availability/slots/<uuid:code>/withdraw/", views.slot_withdraw, name="slot-withdraw"),
    path("availability/weekly/add/", views.pattern_add, name="pattern-add"),
    path("availability/weekly/<uuid:code>/", views.pattern_edit, name="pattern-edit"),
    path("availability/weekly/<uuid:code>/end/", views.pattern_end, name="pattern-end"),
    # The learner's booking (code: the relationship's, the slot's, the meeting's).
    path("book/<uuid:code>/", views.book, name="book"),
    path("book/<uuid:code>/ask/", views.time_request, name="time-request"),
    path("slots/<uuid:code>/book/", views.book_slot, name="book-slot"),
    path("<uuid:code>/reschedule/", views.reschedule, name="reschedule"),
    path("<uuid:code>/cancel/", views.cancel, name="cancel"),
    # The private calendar feed: no sign-in, the token is the credential.
    path("feed/", views.feed_settings, name="feed-settings"),
    path("feed/<slug:token>.ics", views.feed, name="feed"),
]
