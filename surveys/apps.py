from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"

    def ready(self):
        # The survey emails' claim table, registered with the outbox (notify).
        from mentoring.signals import term_dates_changed
        from surveys import delivery  # noqa: F401
        from surveys.campaigns import on_term_dates_changed

        term_dates_changed.connect(on_term_dates_changed, dispatch_uid="surveys.follow_term")
