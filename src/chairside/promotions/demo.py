"""The demo's coupons and flash sale: a cleaning voucher, a child's fluoride voucher and a
family combo card, a few issued to patients, and a week-long ¥99 cleaning flash sale."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from chairside.billing.models import CatalogueItem
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.promotions.models import CouponKind, CouponTemplate, ValidityKind
from chairside.promotions.services.coupons import (
    TemplateData,
    coupon_issue,
    coupon_template_create,
)
from chairside.promotions.services.flash_sales import flash_sale_create


def demo_promotions_install(*, organization: Organization, actor: Staff) -> int:
    """Install the demo coupons (kept as they are when templates exist); `actor` needs the
    promotions permissions. Returns how many coupons were issued."""
    with tenant_scope(organization):
        clinic = Clinic.objects.filter(kind=Clinic.Kind.CLINIC).order_by("id").first()
        items = {i.code: i for i in CatalogueItem.objects.filter(code__in=_CODES)}
        if clinic is None or CouponTemplate.objects.exists() or len(items) < len(_CODES):
            return 0
        cash = coupon_template_create(
            actor=actor,
            clinic=clinic,
            data=TemplateData(
                name="洁牙 50 元代金券",
                kind=CouponKind.CASH_VOUCHER,
                amount=Decimal("50"),
                min_spend=Decimal("200"),
                validity_kind=ValidityKind.AFTER_ISSUE,
                valid_days=90,
                per_person_limit=1,
            ),
        )
        fluoride = coupon_template_create(
            actor=actor,
            clinic=clinic,
            data=TemplateData(
                name="儿童涂氟项目券",
                kind=CouponKind.SERVICE_VOUCHER,
                service_items=[items["fluoride-varnish"]],
                validity_kind=ValidityKind.AFTER_ISSUE,
                valid_days=180,
            ),
        )
        coupon_template_create(
            actor=actor,
            clinic=clinic,
            data=TemplateData(
                name="家庭口腔护理组合卡",
                kind=CouponKind.COMBO,
                entitlements=[(items["scaling"], 2), (items["fluoride-varnish"], 1)],
                validity_kind=ValidityKind.AFTER_ISSUE,
                valid_days=365,
                allow_bearer=True,
            ),
        )
        cleaning = coupon_template_create(
            actor=actor,
            clinic=clinic,
            data=TemplateData(
                name="洁牙项目券（秒杀）",
                kind=CouponKind.SERVICE_VOUCHER,
                service_items=[items["scaling"]],
                validity_kind=ValidityKind.AFTER_ISSUE,
                valid_days=60,
            ),
        )
        now = timezone.now()
        flash_sale_create(
            actor=actor,
            clinic=clinic,
            title="99 元抢全口洁牙",
            template=cleaning,
            price=Decimal("99"),
            stock=50,
            starts_at=now - timedelta(hours=1),
            ends_at=now + timedelta(days=7),
        )
        issued = 0
        for patient in Patient.objects.order_by("id")[:3]:
            coupon_issue(actor=actor, clinic=clinic, template=cash, patient=patient)
            issued += 1
        child = Patient.objects.filter(family__isnull=False).order_by("-birth_date").first()
        if child is not None:
            coupon_issue(actor=actor, clinic=clinic, template=fluoride, patient=child)
            issued += 1
        return issued


_CODES = ("scaling", "fluoride-varnish")
