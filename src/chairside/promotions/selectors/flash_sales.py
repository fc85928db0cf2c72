"""Reads of flash sales: the list, one sale, its figures and its claims, scoped to the
current organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import Clinic
from chairside.promotions.models import (
    CouponTemplate,
    FlashSale,
    FlashSaleClaim,
    FlashSaleClaimStatus,
)

PHASES = ("upcoming", "running", "ended", "all")


def flash_sale_list(
    *, phase: str = "all", query: str = "", now: datetime | None = None
) -> QuerySet[FlashSale]:
    """Sales by phase (upcoming, running = open now, ended) and title, newest first."""
    now = now or timezone.now()
    sales = FlashSale.objects.select_related("template").prefetch_related(
        Prefetch("clinics", queryset=Clinic.objects.order_by("pk"))
    )
    if phase == "upcoming":
        sales = sales.filter(starts_at__gt=now)
    elif phase == "running":
        sales = sales.filter(starts_at__lte=now, ends_at__gt=now, is_active=True)
    elif phase == "ended":
        sales = sales.filter(Q(ends_at__lte=now) | Q(is_active=False))
    if query.strip():
        sales = sales.filter(title__icontains=query.strip())
    return sales.order_by("-starts_at", "-id")


def flash_sale_open_list(*, clinic: Clinic, now: datetime | None = None) -> QuerySet[FlashSale]:
    """The sales a patient of `clinic` can claim now (for the portal's flash-sale page),
    ending soonest first; sold-out ones included (the page shows them as sold out)."""
    now = now or timezone.now()
    return (
        FlashSale.objects.filter(is_active=True, starts_at__lte=now, ends_at__gt=now)
        .filter(Q(clinics=None) | Q(clinics=clinic))
        .distinct()
        .select_related("template")
        .order_by("ends_at", "pk")
    )


def get_flash_sale(*, sale_id: int) -> FlashSale:
    """The current organization's sale, or the same 404 whether missing or foreign."""
    sale = (
        FlashSale.objects.select_related("template")
        .prefetch_related(Prefetch("clinics", queryset=Clinic.objects.order_by("pk")))
        .filter(pk=sale_id)
        .first()
    )
    if sale is None:
        raise NotFound(_("Flash sale not found."))
    return sale


def get_coupon_template(*, template_id: int) -> CouponTemplate:
    template = CouponTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound(_("Coupon template not found."))
    return template


def coupon_template_choices() -> QuerySet[CouponTemplate]:
    return CouponTemplate.objects.filter(is_active=True).order_by("name", "pk")


@dataclass(frozen=True)
class FlashSaleStats:
    stock: int
    sold: int  # live claims by the counter: reserved + paid + issued
    remaining: int
    reserved: int
    paid: int
    issued: int
    expired: int
    cancelled: int
    claimants: int  # distinct patients with a live claim
    counter_matches: bool  # the counter equals the live claim rows


def flash_sale_stats(*, sale: FlashSale) -> FlashSaleStats:
    sale.refresh_from_db(fields=["stock", "sold"])
    claims = FlashSaleClaim.objects.filter(sale=sale)
    rows = claims.values("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(FlashSaleClaimStatus.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    live = counts["reserved"] + counts["paid"] + counts["issued"]
    claimants = (
        claims.filter(status__in=["reserved", "paid", "issued"])
        .values("patient_id")
        .distinct()
        .count()
    )
    return FlashSaleStats(
        stock=sale.stock,
        sold=sale.sold,
        remaining=sale.stock - sale.sold,
        reserved=counts["reserved"],
        paid=counts["paid"],
        issued=counts["issued"],
        expired=counts["expired"],
        cancelled=counts["cancelled"],
        claimants=claimants,
        counter_matches=live == sale.sold,
    )


def flash_sale_claim_list(
    *, sale: FlashSale | None = None, status: str = "", patient_id: int | None = None
) -> QuerySet[FlashSaleClaim]:
    claims = FlashSaleClaim.objects.select_related("sale", "patient", "clinic", "coupon")
    if sale is not None:
        claims = claims.filter(sale=sale)
    if status:
        claims = claims.filter(status=status)
    if patient_id is not None:
        claims = claims.filter(patient_id=patient_id)
    return claims.order_by("-created_at", "-id")


def get_flash_sale_claim(*, claim_id: int) -> FlashSaleClaim:
    claim = (
        FlashSaleClaim.objects.select_related("sale", "patient", "clinic", "coupon")
        .filter(pk=claim_id)
        .first()
    )
    if claim is None:
        raise NotFound(_("Flash sale claim not found."))
    return claim
