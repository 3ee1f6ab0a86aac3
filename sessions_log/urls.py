"""Meetings (namespace `meetings`, at /meetings/): availability and booking (urls_booking),
meeting pages and logs (urls_log). The calendar feed URL needs no sign-in: its token is the
credential."""

from sessions_log import urls_booking, urls_log

app_name = "meetings"

urlpatterns = [*urls_booking.urlpatterns, *urls_log.urlpatterns]
