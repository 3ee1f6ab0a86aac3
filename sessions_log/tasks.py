"""Celery tasks of meetings; the beat schedule (config/settings.py) names them. Each module
registers its own tasks when imported here (Celery autodiscovers this module)."""

from sessions_log.tasks_booking import *  # noqa: F403
from sessions_log.tasks_reminders import *  # noqa: F403
