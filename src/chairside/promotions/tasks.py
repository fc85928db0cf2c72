"""Background work of promotions: flash-sale reservations that were never paid give their
stock back (every minute), coupons of paid claims are issued if the first try failed, and
the stock counters are checked against the claims (every 10 minutes)."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from chairside.core.models import Organization
from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import FlashSale, FlashSaleClaim, FlashSaleClaimStatus
from chairside.promotions.services.flash_sales import (
    flash_sale_claims_expire,
    flash_sale_claims_issue_pending,
    flash_sale_counters_reconcile,
)

logger = logging.getLogger(__name__)


def _organizations_with(status: str, **filters: object) -> list[int]:
    # Across organizations on purpose: which tenants have work; each is then handled in
    # its own tenant scope.
    return sorted(
        set(
            FlashSaleClaim.all_tenants.filter(status=status, **filters).values_list(
                "organization_id", flat=True
            )
        )
    )


@shared_task(name="promotions.expire_flash_sale_claims", ignore_result=True)
def expire_flash_sale_claims() -> int:
    """Expire unpaid reservations past their payment window in every organization and give
    their stock back; returns how many expired. One failing organization does not stop
    the others."""
    now = timezone.now()
    expired = 0
    for organization_id in _organizations_with(FlashSaleClaimStatus.RESERVED, expires_at__lte=now):
        try:
            with tenant_scope(organization_id):
                expired += flash_sale_claims_expire(now=now)
        except Exception:
            logger.exception("Flash sale claims of organization %s not expired", organization_id)
    return expired


@shared_task(name="promotions.issue_paid_flash_sale_coupons", ignore_result=True)
def issue_paid_flash_sale_coupons() -> int:
    """Issue the coupons of paid claims whose first issue failed."""
    issued = 0
    for organization_id in _organizations_with(FlashSaleClaimStatus.PAID):
        try:
            with tenant_scope(organization_id):
                issued += flash_sale_claims_issue_pending()
        except Exception:
            logger.exception("Flash sale coupons of organization %s not issued", organization_id)
    return issued


@shared_task(name="promotions.reconcile_flash_sale_counters", ignore_result=True)
def reconcile_flash_sale_counters() -> int:
    """Check every running sale's counter against its claims and reset the cached sold-out
    hints; returns how many counters had to be repaired (0 unless something is wrong)."""
    repaired = 0
    now = timezone.now()
    for organization in Organization.objects.order_by("pk"):
        try:
            with tenant_scope(organization):
                sales = FlashSale.objects.filter(ends_at__gt=now - timedelta(days=1))
                repaired += flash_sale_counters_reconcile(sales=list(sales))
        except Exception:
            logger.exception("Flash sale counters of organization %s not checked", organization.pk)
    return repaired
