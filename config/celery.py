"""Celery application.

Without REDIS_URL, settings make every task run eagerly in-process, so the embedded
default needs no broker. With REDIS_URL, Redis is the broker and result backend.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("farmgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
