from django.apps import AppConfig


class SessionsLogConfig(AppConfig):
    name = "sessions_log"

    def ready(self):
        # The email kinds of meetings, registered with the outbox (notify) in every process.
        from sessions_log import calendar, digests, reminders, time_requests  # noqa: F401
