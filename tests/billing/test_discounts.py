"""The discount pipeline: fixed order tier -> coupon -> manual, each step seeing what the
earlier left, allocation over lines never below zero, manual approval above the limit, and
the plug-in interface (sources registered in CHAIRSIDE_DISCOUNT_SOURCES)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from chairside.billing.discounts import (
    DiscountContext,
    DiscountOffer,
    DiscountSource,
    ManualDiscount,
    PricedLine,
    ProposedDiscount,
    discount_sources,
    pipeline_run,
)
from chairside.billing.models import Bill, BillDiscount, BillingSettings, BillLine
from chairside.billing.services.bills import (
    bill_confirm,
    bill_create,
    bill_discount_approve,
    bill_discounts_apply,
    bill_line_add,
    bill_line_update,
    bill_void,
)
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import Staff
from tests.billing.conftest import Shop, make_bill
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

# What the test sources saw and were told, per test.
JOURNAL: list[tuple[str, str, list[str]]] = []


class BasicTierDiscount:
    """10 % off basic-treatment lines that allow member discounts (a tier discount)."""

    step = "tier"

    def offers(self, bill: Bill) -> list[DiscountOffer]:
        return []

    def propose(self, context: DiscountContext) -> list[ProposedDiscount]:
        lines = [
            line
            for line in context.lines
            if line.category == "basic" and line.member_discount_allowed
        ]
        base = sum((line.amount for line in lines), Decimal(0))
        if not base:
            return []
        return [
            ProposedDiscount(
                label="Gold member 10%",
                reference="gold",
                amount=base / 10,
                line_ids=tuple(line.line_id for line in lines),
            )
        ]

    def confirmed(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        JOURNAL.append(("tier.confirmed", bill.number, [d.reference for d in discounts]))

    def released(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        JOURNAL.append(("tier.released", bill.number, [d.reference for d in discounts]))


class ThresholdCoupon:
    """Coupon "C50": ¥50 off when what is left reaches ¥300; the cashier must pick it."""

    step = "coupon"

    def offers(self, bill: Bill) -> list[DiscountOffer]:
        return [DiscountOffer(step="coupon", reference="C50", label="¥50 off ¥300")]

    def propose(self, context: DiscountContext) -> list[ProposedDiscount]:
        JOURNAL.append(("coupon.saw", str(context.total), list(context.selected)))
        if "C50" in context.selected and context.total >= 300:
            return [ProposedDiscount(label="¥50 off ¥300", reference="C50", amount=Decimal(50))]
        return []

    def confirmed(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        JOURNAL.append(("coupon.confirmed", bill.number, [d.reference for d in discounts]))

    def released(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        JOURNAL.append(("coupon.released", bill.number, [d.reference for d in discounts]))


@pytest.fixture
def sources(settings: pytest.FixtureRequest) -> None:
    JOURNAL.clear()
    # Named coupon first on purpose: the pipeline orders sources by step, not by setting.
    settings.CHAIRSIDE_DISCOUNT_SOURCES = [  # type: ignore[attr-defined]
        "tests.billing.test_discounts.ThresholdCoupon",
        "tests.billing.test_discounts.BasicTierDiscount",
    ]


def test_the_test_sources_implement_the_protocol(sources: None) -> None:
    loaded = discount_sources()

    assert [s.step for s in loaded] == ["tier", "coupon"]
    assert all(isinstance(s, DiscountSource) for s in loaded)


def _draft(world: World, shop: Shop) -> Bill:
    """Cleaning ¥200 (basic) and a filling ¥300 (restorative): ¥500."""
    return make_bill(world, shop.zhang, [(shop.cleaning, 1), (shop.filling, 1)], confirm=False)


def test_tier_applies_by_itself_and_coupons_see_what_is_left(
    world: World, shop: Shop, sources: None
) -> None:
    bill = _draft(world, shop)
    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        selected={"coupon": ["C50"]},
        can_approve=False,
    )
    bill.refresh_from_db()
    discounts = list(BillDiscount.objects.filter(bill=bill).order_by("position"))

    assert [(d.step, d.position, d.amount) for d in discounts] == [
        ("tier", 1, Decimal("20.00")),
        ("coupon", 2, Decimal("50.00")),
    ]
    # The coupon's threshold was tested on 500 - 20, not on the list price.
    assert ("coupon.saw", "480.00", ["C50"]) in JOURNAL
    assert (bill.total, bill.discount_total, bill.arrears) == (
        Decimal("500.00"),
        Decimal("70.00"),
        Decimal("430.00"),
    )
    cleaning, filling = BillLine.objects.filter(bill=bill).order_by("id")
    # The coupon splits 180:300 over what was left of each line.
    assert cleaning.discount == Decimal("20.00") + Decimal("18.75")
    assert filling.discount == Decimal("31.25")
    assert discounts[1].allocation == {str(cleaning.pk): "18.75", str(filling.pk): "31.25"}


def test_a_coupon_below_its_threshold_after_the_tier_gives_nothing(
    world: World, shop: Shop, sources: None
) -> None:
    bill = make_bill(world, shop.zhang, [(shop.cleaning, 1)], confirm=False)
    bill_line_add(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        item=shop.filling,
        unit_price=Decimal("110.00"),
    )
    # 310 at list price, 290 after 10 % off the cleaning: under the coupon's 300.
    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        selected={"coupon": ["C50"]},
        can_approve=False,
    )

    assert list(BillDiscount.objects.filter(bill=bill).values_list("step", flat=True)) == ["tier"]


def test_picks_and_manual_discount_survive_a_change_of_lines(
    world: World, shop: Shop, sources: None
) -> None:
    bill = _draft(world, shop)
    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        selected={"coupon": ["C50"]},
        manual=ManualDiscount(reason="Regular", percent=Decimal(5)),
        can_approve=False,
    )
    line = BillLine.objects.filter(bill=bill).order_by("id").first()
    assert line is not None

    bill_line_update(actor=world.frontdesk, clinic=world.clinic1, line=line, quantity=2)

    rows = list(BillDiscount.objects.filter(bill=bill).order_by("position"))
    # 700 list; tier 40; coupon 50 on 660; manual 5 % of 610.
    assert [(d.step, d.amount) for d in rows] == [
        ("tier", Decimal("40.00")),
        ("coupon", Decimal("50.00")),
        ("manual", Decimal("30.50")),
    ]


def test_confirm_tells_the_sources_and_void_releases(
    world: World, shop: Shop, sources: None
) -> None:
    bill = _draft(world, shop)
    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        selected={"coupon": ["C50"]},
        can_approve=False,
    )

    bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=bill, reason="Patient left")

    calls = [entry for entry in JOURNAL if entry[0] != "coupon.saw"]
    assert calls == [
        ("tier.confirmed", bill.number, ["gold"]),
        ("coupon.confirmed", bill.number, ["C50"]),
        ("tier.released", bill.number, ["gold"]),
        ("coupon.released", bill.number, ["C50"]),
    ]


def test_manual_discount_within_the_limit_applies_at_once(world: World, shop: Shop) -> None:
    bill = _draft(world, shop)

    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        manual=ManualDiscount(reason="Friend", amount=Decimal("50.00")),
        can_approve=False,
    )
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)

    assert (bill.discount_total, bill.arrears) == (Decimal("50.00"), Decimal("450.00"))
    discount = BillDiscount.objects.get(bill=bill)
    assert (discount.status, discount.approved_by, discount.reason) == (
        "approved",
        None,
        "Friend",
    )


def test_manual_discount_above_the_limit_waits_for_approval(world: World, shop: Shop) -> None:
    bill = _draft(world, shop)
    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        manual=ManualDiscount(reason="Complaint", percent=Decimal(20)),
        can_approve=False,
    )
    discount = BillDiscount.objects.get(bill=bill)

    with pytest.raises(Conflict) as pending:
        bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    bill_discount_approve(actor=shop.manager, clinic=world.clinic1, discount=discount)
    with pytest.raises(Conflict) as twice:
        bill_discount_approve(actor=shop.manager, clinic=world.clinic1, discount=discount)
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)

    assert pending.value.code == "discount_pending"
    assert twice.value.code == "discount_not_pending"
    discount.refresh_from_db()
    assert (discount.amount, discount.status, discount.approved_by) == (
        Decimal("100.00"),
        "approved",
        shop.manager,
    )
    assert bill.arrears == Decimal("400.00")


def test_an_approver_gives_a_large_manual_discount_directly(world: World, shop: Shop) -> None:
    bill = _draft(world, shop)

    bill_discounts_apply(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        manual=ManualDiscount(reason="Complaint", amount=Decimal("200")),
        can_approve=True,
    )

    discount = BillDiscount.objects.get(bill=bill)
    assert (discount.status, discount.approved_by) == ("approved", shop.manager)


def test_the_limit_is_the_organizations_setting(world: World, shop: Shop) -> None:
    BillingSettings.objects.update_or_create(
        organization=world.org, defaults={"manual_discount_limit_percent": Decimal(25)}
    )
    bill = _draft(world, shop)

    bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        manual=ManualDiscount(reason="Loyal", percent=Decimal(20)),
        can_approve=False,
    )

    assert BillDiscount.objects.get(bill=bill).status == "approved"


def test_an_approved_manual_discount_stays_approved_when_it_does_not_grow(
    world: World, shop: Shop
) -> None:
    bill = _draft(world, shop)
    bill_discounts_apply(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        manual=ManualDiscount(reason="Complaint", percent=Decimal(30)),
        can_approve=True,
    )
    line = BillLine.objects.filter(bill=bill).order_by("id").first()
    assert line is not None

    bill_line_update(actor=world.frontdesk, clinic=world.clinic1, line=line, quantity=3)

    discount = BillDiscount.objects.get(bill=bill)
    # 30 % of 900 is more than the 150 approved: back to awaiting approval.
    assert (discount.amount, discount.status) == (Decimal("270.00"), "pending")


def test_a_manual_discount_needs_a_reason_and_one_kind_of_amount() -> None:
    with pytest.raises(ValidationFailed):
        ManualDiscount(reason="", amount=Decimal(5))
    with pytest.raises(ValidationFailed):
        ManualDiscount(reason="x", amount=Decimal(5), percent=Decimal(5))
    with pytest.raises(ValidationFailed):
        ManualDiscount(reason="x")
    with pytest.raises(ValidationFailed):
        ManualDiscount(reason="x", percent=Decimal(101))


def test_discounts_change_only_on_drafts(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])

    with pytest.raises(Conflict):
        bill_discounts_apply(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            manual=ManualDiscount(reason="Late", amount=Decimal(1)),
            can_approve=True,
        )


def test_a_manual_discount_cannot_take_a_bill_below_zero(world: World, shop: Shop) -> None:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)
    bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.registration)

    bill_discounts_apply(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        manual=ManualDiscount(reason="Free", amount=Decimal(500)),
        can_approve=True,
    )
    bill.refresh_from_db()

    assert (bill.discount_total, bill.arrears) == (Decimal("20.00"), Decimal("0.00"))


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5000"), places=2)


@given(
    line_amounts=st.lists(amounts, min_size=1, max_size=8),
    wanted=st.lists(amounts, min_size=1, max_size=4),
)
def test_allocation_is_exact_and_never_makes_a_line_negative(
    line_amounts: list[Decimal], wanted: list[Decimal]
) -> None:
    lines = [PricedLine(i + 1, "basic", True, a) for i, a in enumerate(line_amounts)]
    bill = Bill(number="X")
    # Repeated manual discounts stand in for any number of steps; the installed sources
    # (tiers, coupons) are left out, as this bill has no patient for them to look at.
    left = dict(zip([line.line_id for line in lines], line_amounts, strict=True))
    for amount in wanted:
        with override_settings(CHAIRSIDE_DISCOUNT_SOURCES=[]):
            result = pipeline_run(
                bill=bill,
                lines=[PricedLine(i, "basic", True, a) for i, a in left.items()],
                selected={},
                manual=ManualDiscount(reason="x", amount=amount),
                manual_limit_percent=Decimal(10),
                can_approve=True,
            )
        for discount in result.discounts:
            assert sum(discount.allocation.values()) == discount.amount
        assert result.total == min(amount, sum(left.values()))
        for line_id, share in result.line_discounts.items():
            assert Decimal(0) <= share <= left[line_id]
            left[line_id] -= share
