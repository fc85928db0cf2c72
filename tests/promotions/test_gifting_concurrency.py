"""Gift links under concurrency, on PostgreSQL with real threads: friends claiming one link
at the same moment get one coupon between them — exactly one claim wins, the others are
told the gift was claimed, and one transfer is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.promotions.models import Coupon, CouponGift, CouponTransfer
from chairside.promotions.services.coupons import coupon_issue, coupon_template_create
from chairside.promotions.services.gifting import coupon_gift_claim, coupon_gift_create
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.promotions.conftest import Shop, template_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FRIENDS = 8


def test_friends_claiming_one_link_at_once_get_one_coupon(world: World, shop: Shop) -> None:
    assert connection.vendor == "postgresql"
    with tenant_scope(world.org, world.clinic1):
        template = coupon_template_create(
            actor=world.boss,
            clinic=world.clinic1,
            data=template_data(name="转赠券", amount=Decimal(50), giftable=True),
        )
        coupon = coupon_issue(
            actor=world.frontdesk, clinic=world.clinic1, template=template, patient=shop.zhang
        )
        gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)
        friends = [
            patient_create(actor=world.frontdesk, clinic=world.clinic1, name=f"朋友{i}")
            for i in range(FRIENDS)
        ]

    def claim(i: int) -> Coupon:
        with tenant_scope(world.org):
            return coupon_gift_claim(gift=gift, recipient=friends[i])

    results = run_concurrently(claim, FRIENDS)

    won = [r for r in results if isinstance(r, Coupon)]
    lost = [r for r in results if isinstance(r, Conflict)]
    assert (len(won), len(lost)) == (1, FRIENDS - 1), results
    assert {str(e.code) for e in lost} == {"gift_closed"}
    with tenant_scope(world.org):
        coupon.refresh_from_db()
        winner = Patient.objects.get(pk=coupon.holder_id)
        assert winner in friends
        [transfer] = CouponTransfer.objects.filter(coupon=coupon)
        assert (transfer.from_patient_id, transfer.to_patient_id) == (shop.zhang.pk, winner.pk)
        gift = CouponGift.objects.get(pk=gift.pk)
        assert (gift.status, gift.claimed_by_id) == ("claimed", winner.pk)
