"""Staff see where a given coupon went: the coupon's detail page and API list its transfers
(from whom, to whom, when); another organization sees neither."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import Coupon
from chairside.promotions.services.coupons import coupon_issue, coupon_template_create
from chairside.promotions.services.gifting import coupon_gift_claim, coupon_gift_create
from tests.apiclient import ApiClient
from tests.conftest import World
from tests.promotions.conftest import Shop, template_data


@pytest.fixture
def given(world: World, shop: Shop) -> Coupon:
    """张三 gave his voucher to 李四."""
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
        return coupon_gift_claim(gift=gift, recipient=shop.li)


def test_the_coupon_api_lists_its_transfers(world: World, shop: Shop, given: Coupon) -> None:
    detail = ApiClient(world.frontdesk).get(f"/coupons/{given.pk}")

    assert detail.status == 200, detail
    assert detail.json["holder_id"] == shop.li.pk
    assert [
        (t["from_patient_name"], t["to_patient_name"], t["at"]) for t in detail.json["transfers"]
    ] == [("张三", "李四", "2026-09-14T02:00:00Z")]
    assert ApiClient(world.boss_b).get(f"/coupons/{given.pk}").status == 404


def test_the_coupon_page_shows_who_gave_it_to_whom(world: World, shop: Shop, given: Coupon) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(world.frontdesk)

    page = client.get(reverse("promotions:coupon_detail", args=[given.pk])).content.decode()

    assert "Given to a friend" in page
    assert "张三" in page
    assert "李四" in page
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    other.force_login(world.boss_b)
    assert other.get(reverse("promotions:coupon_detail", args=[given.pk])).status_code == 404
