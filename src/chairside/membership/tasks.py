"""Background work of membership: the daily review (expiry, downgrades at period end),
points expiry and renewal reminders, per organization, each in its own tenant scope."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from chairside.core.models import Organization
from chairside.core.tenancy import tenant_scope
from chairside.membership.services.members import membership_review
from chairside.membership.services.points import points_expire
from chairside.membership.services.renewals import renewal_reminders_send

logger = logging.getLogger(__name__)


@shared_task(name="membership.daily", ignore_result=True)
def daily() -> int:
    """Review memberships and expire points in every organization; one failing
    organization does not stop the others. Returns how many organizations were done."""
    done = 0
    today = timezone.localdate()
    for organization in Organization.objects.order_by("pk"):
        try:
            with tenant_scope(organization):
                membership_review(organization=organization, today=today)
                points_expire(organization=organization, today=today)
                renewal_reminders_send(organization=organization, today=today)
            done += 1
        except Exception:
            logger.exception("Membership review of organization %s failed", organization.pk)
    return done
