"""Availability, booking, rescheduling, cancelling, time requests and the calendar feed."""

urlpatterns: list = []
