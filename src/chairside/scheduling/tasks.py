"""Background work of scheduling: the sweep that queues missing day-before reminders, run by
beat every 15 minutes."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from chairside.core.models import Organization
from chairside.core.tenancy import tenant_scope
from chairside.scheduling.notices import reminders_queue_upcoming
from chairside.scheduling.services import recalls_generate

logger = logging.getLogger(__name__)


@shared_task(name="scheduling.queue_reminders", ignore_result=True)
def queue_reminders() -> int:
    """Queue the reminders of the next two days' appointments that have none yet, in every
    organization (each in its own tenant scope); returns how many appointments were seen."""
    return reminders_queue_upcoming()


@shared_task(name="scheduling.generate_recalls", ignore_result=True)
def generate_recalls() -> int:
    """Bring every organization's recalls up to date with its completed visits (S7), each in
    its own tenant scope and transaction; one failing organization does not stop the others.
    Returns how many recalls were made."""
    created = 0
    today = timezone.localdate()
    for organization in Organization.objects.order_by("pk"):
        try:
            with tenant_scope(organization):
                created += recalls_generate(organization=organization, today=today).created
        except Exception:
            logger.exception("Recalls of organization %s could not be generated", organization.pk)
    return created
