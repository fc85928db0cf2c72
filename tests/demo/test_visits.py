"""The demo chain arrives with its clinical and money side: a price list, record templates,
finished visits (signed record, accepted plan, executed work, a bill paid by two methods or
left with arrears) and a family's stored-value card topped up under a promotion."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from chairside.billing.models import Bill, CatalogueItem, Payment, StoredValueAccount
from chairside.clinical.models import ClinicalRecord, RecordTemplate, TreatmentPlan
from chairside.clinical.rendering import verify
from chairside.core.models import Organization
from chairside.core.tenancy import tenant_scope
from chairside.demo.seeding import seed_demo
from chairside.promotions.models import Coupon, CouponTemplate, FlashSale


@pytest.mark.django_db
def test_the_demo_has_visits_bills_and_a_card() -> None:
    seed_demo(patients=30, patients_b=10, progress=lambda _line: None)
    demo = Organization.objects.get(slug="demo")

    with tenant_scope(demo):
        assert CatalogueItem.objects.count() > 50
        assert RecordTemplate.objects.count() == 6
        records = list(ClinicalRecord.objects.filter(status="signed"))
        assert len(records) == 2
        assert all(verify(r.versions.get()) for r in records)
        assert TreatmentPlan.objects.filter(status="accepted").count() == 2
        bills = list(Bill.objects.filter(status="confirmed").order_by("id"))
        assert len(bills) == 2
        assert bills[0].arrears == 0  # WeChat and cash
        assert bills[1].arrears > 0  # a deposit by Alipay, the rest owed
        for bill in bills:
            assert bill.paid_total + bill.arrears == bill.total - bill.discount_total
        assert set(Payment.objects.filter(bill=bills[0]).values_list("method", flat=True)) == {
            "wechat",
            "cash",
        }
        card = StoredValueAccount.objects.get()
        assert (card.principal_balance, card.bonus_balance) == (Decimal("3000"), Decimal("400"))
        # Coupons to redeem and a flash sale open now.
        assert CouponTemplate.objects.count() == 4
        assert Coupon.objects.filter(holder__isnull=False).count() == 4
        assert FlashSale.objects.filter(starts_at__lte=timezone.now(), ends_at__gt=timezone.now())
