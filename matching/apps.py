from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "Matching"

    def ready(self):
        # The email kinds of matching, registered with the outbox (notify).
        from matching import emails  # noqa: F401
