from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Outbox"

    def ready(self):
        # The generic outbox table, and the one kind notify owns itself: the invitation to
        # join (accounts is below notify). Feature apps register their own in their ready().
        from notify import invitations, outbox  # noqa: F401
