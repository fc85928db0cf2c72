"""The Celery application: workers and beat run the apps' `tasks.py` with Django's settings.

Start both with `chairside` importable: `celery -A chairside worker --beat -l info`.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")

app = Celery("chairside")
# Every CELERY_* Django setting configures Celery (CELERY_BROKER_URL -> broker_url, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
