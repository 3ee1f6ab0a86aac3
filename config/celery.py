"""The Celery application: worker and beat read their configuration from Django settings.

Settings with the CELERY_ prefix (late acknowledgement, worker-lost rejection, prefetch 1,
time limits, broker timeouts, the beat schedule) live in config/settings.py so there is one
place to read them.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("mentoring")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
