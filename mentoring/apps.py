from django.apps import AppConfig


class MentoringConfig(AppConfig):
    name = "mentoring"
    verbose_name = "Programs"

    def ready(self):
        # The agreement reminder's claim table, registered with the outbox (notify).
        from mentoring import agreement_reminders  # noqa: F401
