"""Coupons under concurrency, on PostgreSQL with real threads: the per-person limit holds
under 20 simultaneous issues, and a coupon picked on two bills is spent by one only."""

from __future__ import annotations

import pytest
from django.db import connection

from chairside.billing.models import Bill
from chairside.billing.services.bills import bill_confirm, bill_discounts_apply
from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import Coupon, CouponStatus, CouponUse
from chairside.promotions.services.coupons import coupon_issue
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.promotions.conftest import Shop, Templates, make_bill

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def coupon_source(settings: pytest.FixtureRequest) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = [  # type: ignore[attr-defined]
        "chairside.promotions.discounts.CouponDiscountSource"
    ]


def test_twenty_concurrent_issues_with_a_limit_of_two_give_exactly_two(
    world: World, shop: Shop, templates: Templates
) -> None:
    assert connection.vendor == "postgresql"

    def issue(_i: int) -> Coupon:
        with tenant_scope(world.org, world.clinic1):
            return coupon_issue(
                actor=world.frontdesk,
                clinic=world.clinic1,
                template=templates.limited,
                patient=shop.zhang,
            )

    results = run_concurrently(issue, 20)

    issued = [r for r in results if isinstance(r, Coupon)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(issued) == 2
    assert len(refused) == 18, [r for r in results if not isinstance(r, (Coupon, Conflict))]
    with tenant_scope(world.org):
        assert Coupon.objects.filter(template=templates.limited, holder=shop.zhang).count() == 2


def test_two_bills_confirmed_at_once_with_one_coupon_spend_it_once(
    world: World, shop: Shop, templates: Templates
) -> None:
    with tenant_scope(world.org, world.clinic1):
        coupon = coupon_issue(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=templates.cash50,
            patient=shop.zhang,
        )
        bills = []
        for _ in range(2):
            bill = make_bill(world, shop.zhang, [(shop.filling, 2)], confirm=False)
            bill_discounts_apply(
                actor=world.frontdesk,
                clinic=world.clinic1,
                bill=bill,
                selected={"coupon": [f"coupon:{coupon.pk}"]},
                can_approve=False,
            )
            bills.append(bill)

    def confirm(i: int) -> Bill:
        with tenant_scope(world.org, world.clinic1):
            return bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bills[i])

    results = run_concurrently(confirm, 2)

    assert sum(isinstance(r, Bill) for r in results) == 1
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    with tenant_scope(world.org):
        coupon.refresh_from_db()
        assert coupon.status == CouponStatus.USED
        assert CouponUse.objects.filter(coupon=coupon).count() == 1
        statuses = sorted(
            Bill.objects.filter(pk__in=[b.pk for b in bills]).values_list("status", flat=True)
        )
        assert statuses == ["confirmed", "draft"]


def test_two_bills_confirmed_at_once_never_overdraw_a_combo_card(
    world: World, shop: Shop, templates: Templates
) -> None:
    with tenant_scope(world.org, world.clinic1):
        card = coupon_issue(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=templates.family_card,
            patient=shop.zhang,
        )
        bills = []
        for _ in range(2):  # each wants both cleanings of the card
            bill = make_bill(world, shop.zhang, [(shop.cleaning, 2)], confirm=False)
            bill_discounts_apply(
                actor=world.frontdesk,
                clinic=world.clinic1,
                bill=bill,
                selected={"coupon": [f"coupon:{card.pk}"]},
                can_approve=False,
            )
            bills.append(bill)

    def confirm(i: int) -> Bill:
        with tenant_scope(world.org, world.clinic1):
            return bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bills[i])

    results = run_concurrently(confirm, 2)

    assert sum(isinstance(r, Bill) for r in results) == 1, results
    with tenant_scope(world.org):
        assert sum(CouponUse.objects.filter(coupon=card).values_list("count", flat=True)) == 2
        card.refresh_from_db()
        assert card.status == CouponStatus.PARTLY_USED  # the filling is still on it
