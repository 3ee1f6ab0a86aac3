from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "Matching"

    def ready(self):
        # The email kinds of matching, registered with the outbox (notify).
        from matching import emails  # noqa: F401

        # Suggestion pools are rebuilt after the rows they were compiled from change.
        from matching.services import pool

        pool.connect()
