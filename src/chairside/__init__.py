"""Chairside: practice management for dental clinics and chains."""

# Loaded with the package so that tasks declared with @shared_task bind to this app in web
# processes too (sending a task needs the broker settings).
from chairside.celery import app as celery_app

__all__ = ("celery_app",)
