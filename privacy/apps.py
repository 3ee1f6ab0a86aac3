from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class PrivacyConfig(AppConfig):
    name = "privacy"

    def ready(self):
        # Each app's sections of a person's data download (<app>/privacy.py) register
        # themselves when imported (accounts/privacy_registry.py).
        autodiscover_modules("privacy")
