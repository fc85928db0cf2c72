"""Background work of the message centre: the deliverer, run by beat every 30 seconds."""

from __future__ import annotations

import dataclasses

from celery import shared_task

from chairside.messaging.services import outbox_deliver_due


@shared_task(name="messaging.deliver_due", ignore_result=True)
def deliver_due(limit: int = 100) -> dict[str, int]:
    """Send what is due in every organization (each message in its own tenant scope)."""
    return dataclasses.asdict(outbox_deliver_due(limit=limit))
