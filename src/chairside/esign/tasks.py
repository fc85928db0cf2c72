"""Background work of esign: the evidence log's root is time-stamped (a signed tree head)
every ten minutes in every organization whose log grew (F4)."""

from __future__ import annotations

import logging

from celery import shared_task

from chairside.core.models import Organization
from chairside.core.tenancy import tenant_scope
from chairside.esign.evidence import sign_tree_head
from chairside.esign.models import EvidenceLog

logger = logging.getLogger(__name__)


@shared_task(name="esign.sign_tree_heads", ignore_result=True)
def sign_tree_heads() -> int:
    """Sign a tree head for every organization with an evidence log; one failing
    organization (its TSA down, its log tampered with) does not stop the others.
    Returns how many organizations were done."""
    done = 0
    organization_ids = EvidenceLog.all_tenants.values_list("organization_id", flat=True)
    for organization in Organization.objects.filter(pk__in=organization_ids).order_by("pk"):
        try:
            with tenant_scope(organization):
                sign_tree_head(organization)
            done += 1
        except Exception:
            logger.exception(
                "Signing the evidence tree head of organization %s failed", organization.pk
            )
    return done
