"""Tier benefits at checkout through the real bill services: category rates on lines that
allow member discounts, the member day's extra rate, free cleanings counted on confirm and
given back on void, the family's shared tier, and the labels that say which benefit gave
what."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.utils import translation

from chairside.billing.discounts import discount_sources
from chairside.billing.models import Bill, BillDiscount, BillLine
from chairside.billing.services.bills import (
    bill_confirm,
    bill_create,
    bill_discounts_apply,
    bill_line_add,
    bill_void,
)
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.errors import Conflict
from chairside.membership.discounts import TierDiscountSource, rate_label
from chairside.membership.models import BenefitUse, FamilyTierMode
from chairside.membership.services.members import member_enrol
from chairside.membership.services.tiers import membership_settings_update
from chairside.patients.models import Patient
from chairside.patients.services import family_link
from tests.billing.conftest import Shop
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.membership.conftest import Club

D = Decimal
pytestmark = pytest.mark.usefixtures("in_org")


def _draft(world: World, patient: Patient, lines: list) -> Bill:  # type: ignore[type-arg]
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=patient)
    for item, quantity in lines:
        bill_line_add(
            actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=item, quantity=quantity
        )
    bill_discounts_apply(actor=world.frontdesk, clinic=world.clinic1, bill=bill, can_approve=False)
    bill.refresh_from_db()
    return bill


def _discounts(bill: Bill) -> list[tuple[str, str, Decimal]]:
    return [
        (d.step, d.label, d.amount)
        for d in BillDiscount.objects.filter(bill=bill).order_by("position")
    ]


def test_the_tier_source_is_registered() -> None:
    assert any(isinstance(s, TierDiscountSource) for s in discount_sources())


def test_rates_are_named_the_chinese_way_and_the_english_way() -> None:
    with translation.override("zh-hans"):
        assert [rate_label(D(r)) for r in ("0.90", "0.95", "0.85", "0.80")] == [
            "九折",
            "九五折",
            "八五折",
            "八折",
        ]
    assert [rate_label(D(r)) for r in ("0.90", "0.95")] == ["10% off", "5% off"]


def test_a_gold_member_gets_the_category_rates_at_checkout_with_labels(
    world: World, shop: Shop, club: Club
) -> None:
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold)
    # A non-member pays list price.
    plain = _draft(world, shop.zhang, [(shop.filling, 1)])
    assert plain.discount_total == D("0.00")

    bill = _draft(world, shop.li, [(shop.filling, 2), (shop.implant, 1), (shop.xray, 1)])

    # Filling ¥600 at 0.95 = ¥30; implant allows no member discount; imaging has no rate.
    assert _discounts(bill) == [("tier", "金卡 Restorative 5% off", D("30.00"))]
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    assert (bill.total, bill.discount_total, bill.arrears) == (
        D("8650.00"),
        D("30.00"),
        D("8620.00"),
    )
    implant = BillLine.objects.get(bill=bill, item=shop.implant)
    assert implant.discount == D("0.00")


def test_free_cleaning_first_then_the_rate_then_the_member_day(
    world: World, shop: Shop, club: Club, clock: Clock
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold
    )
    clock.set(datetime(2026, 9, 18, 10, 0, tzinfo=SHANGHAI))  # the 18th: member day

    bill = _draft(world, shop.li, [(shop.cleaning, 1), (shop.cleaning, 1), (shop.filling, 1)])

    assert _discounts(bill) == [
        ("tier", "金卡 free cleaning (1 left this year)", D("200.00")),
        ("tier", "金卡 free cleaning (0 left this year)", D("200.00")),
        ("tier", "金卡 Restorative 5% off", D("15.00")),
        # 5 % of what is left of the filling (¥285).
        ("tier", "Member day: extra 5% off", D("14.25")),
    ]
    assert BenefitUse.objects.count() == 0  # counted when confirmed, not before

    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    assert bill.arrears == D("270.75")
    uses = BenefitUse.objects.filter(member=member, released_at__isnull=True)
    assert (uses.count(), {u.year for u in uses}) == (2, {2026})

    # The allowance is used up: the next bill pays for its cleaning (at the gold rate).
    later = _draft(world, shop.li, [(shop.cleaning, 1)])
    assert _discounts(later) == [
        ("tier", "金卡 Basic treatment 10% off", D("20.00")),
        ("tier", "Member day: extra 5% off", D("9.00")),
    ]


def test_voiding_the_bill_gives_the_free_cleaning_back(
    world: World, shop: Shop, club: Club
) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold
    )
    bill = _draft(world, shop.li, [(shop.cleaning, 1)])
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    assert BenefitUse.objects.filter(member=member, released_at__isnull=True).count() == 1
    assert _draft(world, shop.li, [(shop.cleaning, 1)]).discount_total == D("200.00")

    bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=bill, reason="录错")

    assert BenefitUse.objects.filter(member=member, released_at__isnull=True).count() == 0
    assert BenefitUse.objects.filter(member=member).count() == 1  # kept, marked released
    again = _draft(world, shop.li, [(shop.cleaning, 1), (shop.cleaning, 1)])
    assert [label for _s, label, _a in _discounts(again)] == [
        "金卡 free cleaning (1 left this year)",
        "金卡 free cleaning (0 left this year)",
    ]


def test_a_full_refund_gives_the_free_cleaning_back(world: World, shop: Shop, club: Club) -> None:
    member = member_enrol(
        actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold
    )
    bill = _draft(world, shop.li, [(shop.cleaning, 1), (shop.filling, 1)])
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender(method="cash", amount=bill.arrears)],
    )
    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method="cash",
        amount=D("285.00"),
        reason="退费",
        can_approve=True,
    )
    assert BenefitUse.objects.filter(member=member, released_at__isnull=True).count() == 0


def test_confirming_refuses_a_free_cleaning_used_up_meanwhile(
    world: World, shop: Shop, club: Club
) -> None:
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold)
    first = _draft(world, shop.li, [(shop.cleaning, 1), (shop.cleaning, 1)])
    second = _draft(world, shop.li, [(shop.cleaning, 1)])  # both drafts see two left
    bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=first)

    with pytest.raises(Conflict) as refused:
        bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=second)

    assert refused.value.code == "allowance_used"
    second.refresh_from_db()
    assert second.status == Bill.Status.DRAFT
    assert BenefitUse.objects.filter(released_at__isnull=True).count() == 2


def test_a_family_member_gets_the_shared_tier_when_the_setting_says_so(
    world: World, shop: Shop, club: Club
) -> None:
    family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=shop.li,
        relative=shop.zhang,
        relation="child",
    )
    member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.gold)
    shop.zhang.refresh_from_db()
    assert _draft(world, shop.zhang, [(shop.filling, 1)]).discount_total == D("0.00")

    membership_settings_update(
        actor=world.boss, clinic=world.clinic1, family_tier_mode=FamilyTierMode.FAMILY_BEST
    )

    bill = _draft(world, shop.zhang, [(shop.filling, 1)])
    assert _discounts(bill) == [("tier", "金卡 Restorative 5% off", D("15.00"))]
