"""Promotions fixtures: billing's stopped clock (Monday 2026-09-14 10:00 Shanghai), its
small catalogue and patients (`shop`), English messages, and coupon templates of org A.

Shared by the coupon tests (K1, K2, K4) and the flash-sale tests (K3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import CouponKind, CouponTemplate, ValidityKind
from chairside.promotions.services.coupons import TemplateData, coupon_template_create
from tests.billing.conftest import (  # noqa: F401 - fixtures re-exported for this package
    Shop,
    _english,
    clock,
    in_clinic1,
    make_bill,
    shop,
)
from tests.conftest import World


@dataclass
class Templates:
    """Org A's coupon templates (valid through 2026-12-31 unless said otherwise)."""

    cash50: CouponTemplate  # ¥50 off, minimum spend ¥300
    pct20: CouponTemplate  # 20 % off, at most ¥100, basic treatment only
    free_cleaning: CouponTemplate  # one free cleaning, 30 days after issue
    family_card: CouponTemplate  # combo: 2 cleanings + 1 filling
    limited: CouponTemplate  # ¥10 off, at most 2 per person, not combinable, bearer use


def template_data(**overrides: object) -> TemplateData:
    values: dict[str, object] = {
        "name": "券",
        "kind": CouponKind.CASH_VOUCHER,
        "amount": Decimal("10.00"),
        "validity_kind": ValidityKind.FIXED,
        "valid_until": date(2026, 12, 31),
    }
    values.update(overrides)
    return TemplateData(**values)  # type: ignore[arg-type]


@pytest.fixture
def templates(world: World, shop: Shop) -> Templates:  # noqa: F811 - the fixture above
    with tenant_scope(world.org, world.clinic1):

        def make(**kw: object) -> CouponTemplate:
            return coupon_template_create(
                actor=world.boss, clinic=world.clinic1, data=template_data(**kw)
            )

        return Templates(
            cash50=make(name="满300减50", amount=Decimal(50), min_spend=Decimal(300)),
            pct20=make(
                name="洁牙八折",
                kind=CouponKind.DISCOUNT,
                amount=None,
                percent_off=Decimal(20),
                max_discount=Decimal(100),
                categories=["basic"],
            ),
            free_cleaning=make(
                name="免费洁牙",
                kind=CouponKind.SERVICE_VOUCHER,
                service_items=[shop.cleaning],
                validity_kind=ValidityKind.AFTER_ISSUE,
                valid_until=None,
                valid_days=30,
            ),
            family_card=make(
                name="家庭卡",
                kind=CouponKind.COMBO,
                entitlements=[(shop.cleaning, 2), (shop.filling, 1)],
            ),
            limited=make(
                name="限领两张",
                amount=Decimal(10),
                per_person_limit=2,
                combinable=False,
                allow_bearer=True,
            ),
        )
