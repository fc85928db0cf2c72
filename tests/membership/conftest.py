"""Membership fixtures: billing's shop (catalogue, patients, stopped clock at Monday
2026-09-14 10:00 Shanghai) plus a club of three tiers, a points rule and two gifts.

- 银卡 silver (rank 1): spend 0, fee ¥100 (item "member-fee"), no discounts;
- 金卡 gold (rank 2): spend ¥1000 over 365 days; basic 0.90, restorative 0.95; member day
  the 18th with an extra 0.95; two free cleanings ("scaling") a year;
- 钻石卡 diamond (rank 3): spend ¥5000; basic 0.80.
Points: 1 point per ¥10 on everything, 2 per ¥10 on restorative.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from chairside.billing.models import Bill, CatalogueItem, Category
from chairside.billing.services.bills import bill_confirm, bill_create, bill_line_add
from chairside.billing.services.payments import Tender, bill_pay
from chairside.core.models import Clinic
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import Member, PointsGift, Tier
from chairside.membership.services.tiers import (
    gift_create,
    points_rule_create,
    tier_benefits_set,
    tier_create,
)
from chairside.patients.models import Patient
from tests.billing import conftest as billing
from tests.billing.conftest import Shop
from tests.conftest import World

D = Decimal

# Billing's fixtures, shared: the stopped clock, English messages, the shop.
clock = billing.clock
_english = billing._english
shop = billing.shop
in_clinic1 = billing.in_clinic1


@dataclass
class Club:
    silver: Tier
    gold: Tier
    diamond: Tier
    fee: CatalogueItem
    towel: PointsGift  # 50 points, stock 3
    brush: PointsGift  # 200 points, unlimited
    tier_b: Tier  # organization B


@pytest.fixture
def club(world: World, shop: Shop) -> Club:
    boss, clinic = world.boss, world.clinic1
    with tenant_scope(world.org, clinic):
        fee = CatalogueItem.objects.create(
            code="member-fee",
            name="会员费",
            category=Category.REGISTRATION,
            price=D("100.00"),
            member_discount_allowed=False,
        )
        silver = tier_create(
            actor=boss,
            clinic=clinic,
            code="silver",
            name="银卡",
            rank=1,
            threshold=D(0),
            fee_item=fee,
        )
        gold = tier_create(
            actor=boss,
            clinic=clinic,
            code="gold",
            name="金卡",
            rank=2,
            threshold=D(1000),
            member_day=18,
            member_day_rate=D("0.95"),
            free_cleanings_per_year=2,
            free_cleaning_codes=["scaling"],
        )
        tier_benefits_set(
            actor=boss,
            clinic=clinic,
            tier=gold,
            rates={"basic": D("0.90"), "restorative": D("0.95")},
        )
        diamond = tier_create(
            actor=boss, clinic=clinic, code="diamond", name="钻石卡", rank=3, threshold=D(5000)
        )
        tier_benefits_set(actor=boss, clinic=clinic, tier=diamond, rates={"basic": D("0.80")})
        points_rule_create(actor=boss, clinic=clinic, name="全部", points_per_yuan=D("0.1"))
        points_rule_create(
            actor=boss, clinic=clinic, name="充填", points_per_yuan=D("0.2"), category="restorative"
        )
        towel = gift_create(actor=boss, clinic=clinic, name="毛巾", points_cost=50, stock=3)
        brush = gift_create(actor=boss, clinic=clinic, name="电动牙刷", points_cost=200)
    with tenant_scope(world.org_b, world.clinic_b):
        tier_b = tier_create(
            actor=world.boss_b,
            clinic=world.clinic_b,
            code="b-gold",
            name="B 金卡",
            rank=1,
            threshold=D(0),
        )
    return Club(silver, gold, diamond, fee, towel, brush, tier_b)


@pytest.fixture
def in_org(world: World) -> Iterator[Clinic]:
    with tenant_scope(world.org, world.clinic1):
        yield world.clinic1


def checkout(
    world: World,
    patient: Patient,
    lines: list[tuple[CatalogueItem, int]],
    *,
    method: str = "cash",
    pay: bool = True,
) -> Bill:
    """A bill through the real services: create, lines, confirm, pay it all by `method`."""
    clinic, actor = world.clinic1, world.frontdesk
    bill = bill_create(actor=actor, clinic=clinic, patient=patient)
    for item, quantity in lines:
        bill_line_add(actor=actor, clinic=clinic, bill=bill, item=item, quantity=quantity)
    bill = bill_confirm(actor=actor, clinic=clinic, bill=bill)
    if pay and bill.arrears > 0:
        bill_pay(
            actor=actor,
            clinic=clinic,
            bill=bill,
            tenders=[Tender(method=method, amount=bill.arrears)],
        )
    bill.refresh_from_db()
    return bill


def fresh(member: Member) -> Member:
    return Member.objects.select_related("tier").get(pk=member.pk)
