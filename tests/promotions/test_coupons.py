"""Coupon templates (K1), issuing (K2) and redemption at the cashier through the real bill
services (K4): rules after the tier step, combo cards used in parts, uses reversed on a
void or a full refund."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import pytest

from chairside.billing.discounts import DiscountContext, DiscountOffer, ProposedDiscount
from chairside.billing.models import Bill, BillDiscount
from chairside.billing.services.bills import (
    bill_confirm,
    bill_discounts_apply,
    bill_line_add,
    bill_void,
)
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Staff
from chairside.promotions.discounts import CouponDiscountSource
from chairside.promotions.models import Coupon, CouponKind, CouponStatus, CouponUse
from chairside.promotions.selectors.coupons import (
    CodeCheck,
    code_check,
    coupon_list,
    entitlements_left,
    wallet,
)
from chairside.promotions.services.coupons import (
    coupon_batch_issue,
    coupon_issue,
    coupon_template_create,
    coupon_template_update,
    coupon_void,
)
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.promotions.conftest import Shop, Templates, make_bill, template_data

pytestmark = pytest.mark.usefixtures("in_clinic1")

D = Decimal
COUPONS_ONLY = ["chairside.promotions.discounts.CouponDiscountSource"]
WITH_TIER = ["tests.promotions.test_coupons.TenPercentTier", *COUPONS_ONLY]


class TenPercentTier:
    """A member tier giving 10 % off every line (stands in for membership's source)."""

    step = "tier"

    def offers(self, bill: Bill) -> list[DiscountOffer]:
        return []

    def propose(self, context: DiscountContext) -> list[ProposedDiscount]:
        return [
            ProposedDiscount(
                label="Gold 10%",
                reference="gold",
                shares={line.line_id: line.amount / 10 for line in context.lines},
            )
        ]

    def confirmed(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        pass

    def released(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        pass


@pytest.fixture(autouse=True)
def coupon_source(settings: pytest.FixtureRequest) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = COUPONS_ONLY  # type: ignore[attr-defined]


def draft(
    world: World, shop: Shop, lines: list[tuple[object, int]], patient: object = None
) -> Bill:
    return make_bill(world, patient or shop.zhang, lines, confirm=False)  # type: ignore[arg-type]


def pick(world: World, bill: Bill, *references: str) -> Bill:
    bill = bill_discounts_apply(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        selected={"coupon": list(references)},
        can_approve=False,
    )
    bill.refresh_from_db()
    return bill


def confirm(world: World, bill: Bill) -> Bill:
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    bill.refresh_from_db()
    return bill


def issue(world: World, template: object, patient: object) -> Coupon:
    return coupon_issue(
        actor=world.frontdesk,
        clinic=world.clinic1,
        template=template,  # type: ignore[arg-type]
        patient=patient,  # type: ignore[arg-type]
    )


# --- templates --------------------------------------------------------------------------


def test_a_template_needs_what_its_kind_gives(world: World, shop: Shop) -> None:
    cases = [
        ({"kind": CouponKind.CASH_VOUCHER, "amount": None}, "amount"),
        ({"kind": CouponKind.DISCOUNT, "amount": None, "percent_off": D(120)}, "percent_off"),
        ({"kind": CouponKind.SERVICE_VOUCHER}, "service_items"),
        ({"kind": CouponKind.COMBO}, "entitlements"),
        ({"validity_kind": "after_issue", "valid_days": None}, "valid_days"),
        ({"valid_until": None}, "valid_until"),
        ({"categories": ["nonsense"]}, "categories"),
    ]
    for overrides, field in cases:
        with pytest.raises(ValidationFailed) as caught:
            coupon_template_create(
                actor=world.boss, clinic=world.clinic1, data=template_data(**overrides)
            )
        assert field in caught.value.fields, overrides


def test_a_template_is_created_and_changed_with_an_audit_trail(
    world: World, shop: Shop, templates: Templates
) -> None:
    card = templates.family_card
    assert sorted((e.item.code, e.count) for e in card.entitlements.all()) == [
        ("filling", 1),
        ("scaling", 2),
    ]

    coupon_template_update(
        actor=world.boss,
        clinic=world.clinic1,
        template=card,
        data=template_data(
            name="家庭卡 II", kind=CouponKind.COMBO, entitlements=[(shop.cleaning, 3)]
        ),
    )

    card.refresh_from_db()
    assert card.name == "家庭卡 II"
    assert [(e.item.code, e.count) for e in card.entitlements.all()] == [("scaling", 3)]
    assert AuditEntry.objects.filter(entity_type="promotions.coupontemplate").count() == 6


def test_a_template_with_issued_coupons_keeps_its_kind(
    world: World, shop: Shop, templates: Templates
) -> None:
    issue(world, templates.cash50, shop.zhang)

    with pytest.raises(Conflict):
        coupon_template_update(
            actor=world.boss,
            clinic=world.clinic1,
            template=templates.cash50,
            data=template_data(kind=CouponKind.DISCOUNT, amount=None, percent_off=D(10)),
        )


# --- issuing ----------------------------------------------------------------------------


def test_a_named_coupon_expires_by_its_template(
    world: World, shop: Shop, templates: Templates
) -> None:
    fixed = issue(world, templates.cash50, shop.zhang)
    relative = issue(world, templates.free_cleaning, shop.zhang)

    # Through the clinic's last day: 2026-12-31, and 30 days counting the day of issue.
    assert fixed.expires_at == datetime(2027, 1, 1, tzinfo=SHANGHAI)
    assert relative.expires_at == datetime(2026, 10, 14, tzinfo=SHANGHAI)
    assert fixed.holder == shop.zhang
    assert fixed.status == CouponStatus.UNUSED
    assert fixed.code != relative.code
    assert code_check(fixed.code).result == CodeCheck.VALID


def test_the_per_person_limit_counts_coupons_not_voided(
    world: World, shop: Shop, templates: Templates
) -> None:
    first = issue(world, templates.limited, shop.zhang)
    issue(world, templates.limited, shop.zhang)

    with pytest.raises(Conflict) as caught:
        issue(world, templates.limited, shop.zhang)
    assert caught.value.code == "coupon_limit_reached"
    issue(world, templates.limited, shop.li)  # another person has their own limit

    coupon_void(actor=world.boss, clinic=world.clinic1, coupon=first, reason="printed wrong")
    issue(world, templates.limited, shop.zhang)
    assert Coupon.objects.filter(template=templates.limited, holder=shop.zhang).count() == 3


def test_an_inactive_or_ended_template_issues_nothing(
    world: World, shop: Shop, templates: Templates, clock: Clock
) -> None:
    templates.pct20.is_active = False
    templates.pct20.save()
    with pytest.raises(Conflict):
        issue(world, templates.pct20, shop.zhang)

    clock.set(datetime(2027, 1, 1, 9, 0, tzinfo=SHANGHAI))
    with pytest.raises(Conflict):
        issue(world, templates.cash50, shop.zhang)


def test_a_batch_of_five_thousand_bearer_coupons_has_unique_valid_codes(
    world: World, templates: Templates
) -> None:
    batch = coupon_batch_issue(
        actor=world.boss, clinic=world.clinic1, template=templates.limited, count=5000
    )

    codes = list(Coupon.objects.filter(batch=batch).values_list("code", flat=True))
    assert len(codes) == 5000
    assert len(set(codes)) == 5000
    assert all(code_check(c).result == CodeCheck.VALID for c in codes[:50])
    assert not Coupon.objects.filter(batch=batch, holder__isnull=False).exists()


def test_a_batch_has_a_size_within_limits(world: World, templates: Templates) -> None:
    for count in (0, 20_001):
        with pytest.raises(ValidationFailed):
            coupon_batch_issue(
                actor=world.boss, clinic=world.clinic1, template=templates.cash50, count=count
            )


def test_the_code_check_tells_typos_unknown_used_and_void(
    world: World, shop: Shop, templates: Templates
) -> None:
    coupon = issue(world, templates.cash50, shop.zhang)
    typo = coupon.code[:3] + ("2" if coupon.code[3] != "2" else "3") + coupon.code[4:]
    from chairside.promotions.codes import code_generate

    assert code_check(typo).result == CodeCheck.INVALID_CHECK
    assert code_check("ABC").result == CodeCheck.INVALID
    assert code_check(code_generate()).result == CodeCheck.UNKNOWN
    assert code_check(coupon.code.lower()).coupon == coupon

    coupon_void(actor=world.boss, clinic=world.clinic1, coupon=coupon, reason="lost")
    assert code_check(coupon.code).result == CodeCheck.VOID
    with pytest.raises(Conflict):
        coupon_void(actor=world.boss, clinic=world.clinic1, coupon=coupon, reason="again")


def test_an_expired_coupon_leaves_the_wallet_and_lists_as_expired(
    world: World, shop: Shop, templates: Templates, clock: Clock
) -> None:
    coupon = issue(world, templates.free_cleaning, shop.zhang)
    assert wallet(patient=shop.zhang) == [coupon]

    clock.set(datetime(2026, 10, 14, 0, 0, tzinfo=SHANGHAI))

    assert wallet(patient=shop.zhang) == []
    assert list(coupon_list(status="expired")) == [coupon]
    assert list(coupon_list(status="unused")) == []
    assert code_check(coupon.code).result == CodeCheck.EXPIRED


# --- redemption -------------------------------------------------------------------------


def test_the_cashier_is_offered_the_patients_usable_coupons(
    world: World, shop: Shop, templates: Templates
) -> None:
    own = issue(world, templates.cash50, shop.zhang)
    issue(world, templates.cash50, shop.li)
    void = issue(world, templates.pct20, shop.zhang)
    coupon_void(actor=world.boss, clinic=world.clinic1, coupon=void, reason="x")
    bill = draft(world, shop, [(shop.filling, 1)])

    offers = CouponDiscountSource().offers(bill)

    assert [o.reference for o in offers] == [f"coupon:{own.pk}"]
    assert "满300减50" in offers[0].label
    assert "2026-12-31" in offers[0].label


def test_a_cash_voucher_is_used_once_and_recorded(
    world: World, shop: Shop, templates: Templates
) -> None:
    coupon = issue(world, templates.cash50, shop.zhang)
    bill = draft(world, shop, [(shop.cleaning, 1), (shop.filling, 1)])

    bill = pick(world, bill, f"coupon:{coupon.pk}")
    assert bill.discount_total == D("50.00")
    assert bill.discounts.get().label == "满300减50"
    bill = confirm(world, bill)

    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.USED
    use = CouponUse.objects.get(coupon=coupon)
    assert (use.bill_id, use.amount, use.count, use.reversed_at) == (bill.pk, D("50.00"), 1, None)

    other = draft(world, shop, [(shop.filling, 2)])
    with pytest.raises(ValidationFailed):
        pick(world, other, f"coupon:{coupon.pk}")


def test_minimum_spend_is_tested_after_the_tier_discount(
    world: World, shop: Shop, templates: Templates, settings: pytest.FixtureRequest
) -> None:
    coupon = issue(world, templates.cash50, shop.zhang)
    # ¥320 before the tier, ¥288 after its 10 %: below the ¥300 minimum.
    bill = draft(world, shop, [(shop.filling, 1), (shop.registration, 1)])

    settings.CHAIRSIDE_DISCOUNT_SOURCES = WITH_TIER  # type: ignore[attr-defined]
    bill = pick(world, bill, f"coupon:{coupon.pk}")
    assert [d.step for d in bill.discounts.all()] == ["tier"]
    assert bill.discount_total == D("32.00")

    bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.registration)
    # ¥340 -> ¥306 after the tier: picked again, the coupon now applies.
    bill = pick(world, bill, f"coupon:{coupon.pk}")
    assert [(d.step, d.amount) for d in bill.discounts.all()] == [
        ("tier", D("34.00")),
        ("coupon", D("50.00")),
    ]

    settings.CHAIRSIDE_DISCOUNT_SOURCES = COUPONS_ONLY  # type: ignore[attr-defined]
    plain = draft(world, shop, [(shop.filling, 1), (shop.registration, 1)])
    second = issue(world, templates.cash50, shop.zhang)
    plain = pick(world, plain, f"coupon:{second.pk}")
    assert plain.discount_total == D("50.00")


def test_a_percentage_coupon_applies_to_its_categories_with_a_cap(
    world: World, shop: Shop, templates: Templates
) -> None:
    coupon = issue(world, templates.pct20, shop.zhang)
    bill = draft(world, shop, [(shop.cleaning, 1), (shop.filling, 1)])

    bill = pick(world, bill, f"coupon:{coupon.pk}")
    lines = {line.item_id: line.discount for line in bill.lines.all()}
    assert lines == {shop.cleaning.pk: D("40.00"), shop.filling.pk: D("0.00")}

    bill_line_add(
        actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.cleaning, quantity=3
    )
    bill.refresh_from_db()
    assert bill.discount_total == D("100.00")  # 20 % of ¥800 is ¥160, capped at ¥100


def test_a_service_voucher_pays_one_cleaning_after_the_tier(
    world: World, shop: Shop, templates: Templates, settings: pytest.FixtureRequest
) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = WITH_TIER  # type: ignore[attr-defined]
    coupon = issue(world, templates.free_cleaning, shop.zhang)
    bill = draft(world, shop, [(shop.cleaning, 2), (shop.filling, 1)])

    bill = pick(world, bill, f"coupon:{coupon.pk}")

    coupon_row = bill.discounts.get(step="coupon")
    assert coupon_row.amount == D("180.00")  # one ¥200 cleaning less its 10 %
    assert bill.net_total == D("700.00") - D("70.00") - D("180.00")
    bill = confirm(world, bill)
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.USED


def test_a_combo_card_is_used_in_parts(world: World, shop: Shop, templates: Templates) -> None:
    card = issue(world, templates.family_card, shop.zhang)

    first = pick(world, draft(world, shop, [(shop.cleaning, 1)]), f"coupon:{card.pk}")
    assert first.net_total == D("0.00")
    confirm(world, first)
    card.refresh_from_db()
    assert card.status == CouponStatus.PARTLY_USED
    assert {e.entitlement.item.code: e.left for e in entitlements_left(card)} == {
        "scaling": 1,
        "filling": 1,
    }

    # Two cleanings and two fillings: one of each is left on the card.
    second = draft(world, shop, [(shop.cleaning, 2), (shop.filling, 2)])
    second = pick(world, second, f"coupon:{card.pk}")
    assert second.discount_total == D("500.00")
    confirm(world, second)

    card.refresh_from_db()
    assert card.status == CouponStatus.USED
    uses = CouponUse.objects.filter(coupon=card, bill=second).order_by("entitlement__item__code")
    assert [(u.entitlement.item.code, u.count, u.amount) for u in uses] == [
        ("filling", 1, D("300.00")),
        ("scaling", 1, D("200.00")),
    ]
    assert not any(e.left for e in entitlements_left(card))


def test_a_stale_combo_pick_is_refused_at_confirmation(
    world: World, shop: Shop, templates: Templates
) -> None:
    card = issue(world, templates.family_card, shop.zhang)
    slow = pick(world, draft(world, shop, [(shop.cleaning, 2)]), f"coupon:{card.pk}")
    fast = pick(world, draft(world, shop, [(shop.cleaning, 1)]), f"coupon:{card.pk}")
    confirm(world, fast)

    with pytest.raises(Conflict):
        confirm(world, slow)
    slow.refresh_from_db()
    assert slow.status == "draft"
    assert CouponUse.objects.filter(coupon=card).count() == 1


def test_voiding_the_bill_gives_the_coupon_back(
    world: World, shop: Shop, templates: Templates
) -> None:
    card = issue(world, templates.family_card, shop.zhang)
    first = confirm(
        world, pick(world, draft(world, shop, [(shop.cleaning, 1)]), f"coupon:{card.pk}")
    )
    second = confirm(
        world, pick(world, draft(world, shop, [(shop.cleaning, 1)]), f"coupon:{card.pk}")
    )
    card.refresh_from_db()
    assert card.status == CouponStatus.PARTLY_USED

    bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=second, reason="wrong patient")

    card.refresh_from_db()
    assert card.status == CouponStatus.PARTLY_USED
    reversed_use = CouponUse.objects.get(bill=second)
    assert reversed_use.reversed_at is not None  # kept, stamped
    assert {e.entitlement.item.code: e.left for e in entitlements_left(card)}["scaling"] == 1

    bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=first, reason="duplicate")
    card.refresh_from_db()
    assert card.status == CouponStatus.UNUSED
    assert CouponUse.objects.filter(coupon=card).count() == 2


def test_a_full_refund_gives_the_coupon_back(
    world: World, shop: Shop, templates: Templates
) -> None:
    coupon = issue(world, templates.cash50, shop.zhang)
    bill = confirm(
        world, pick(world, draft(world, shop, [(shop.filling, 2)]), f"coupon:{coupon.pk}")
    )
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender("cash", D("550.00"))],
    )

    refund_request(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        method="cash",
        amount=D("200.00"),
        reason="partly",
        can_approve=True,
    )
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.USED  # a partial refund keeps the use

    refund_request(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        method="cash",
        amount=D("350.00"),
        reason="all of it",
        can_approve=True,
    )
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.UNUSED
    assert CouponUse.objects.get(coupon=coupon).reversed_at is not None


def test_a_not_combinable_coupon_stands_alone(
    world: World, shop: Shop, templates: Templates
) -> None:
    alone = issue(world, templates.limited, shop.zhang)
    other = issue(world, templates.cash50, shop.zhang)
    bill = draft(world, shop, [(shop.filling, 2)])

    with pytest.raises(ValidationFailed) as caught:
        pick(world, bill, f"coupon:{alone.pk}", f"coupon:{other.pk}")
    assert caught.value.code == "coupon_not_combinable"

    assert pick(world, bill, f"coupon:{alone.pk}").discount_total == D("10.00")
    # Two combinable coupons add up.
    both = pick(
        world, bill, f"coupon:{other.pk}", f"coupon:{issue(world, templates.pct20, shop.zhang).pk}"
    )
    assert both.discount_total == D("50.00")  # the 20 % coupon has no basic line here


def test_bearer_coupons_are_redeemed_by_code_only(
    world: World, shop: Shop, templates: Templates
) -> None:
    batch = coupon_batch_issue(
        actor=world.boss, clinic=world.clinic1, template=templates.cash50, count=3
    )
    bearer = Coupon.objects.filter(batch=batch).first()
    assert bearer is not None
    bill = draft(world, shop, [(shop.filling, 2)], patient=shop.li)

    with pytest.raises(ValidationFailed):  # an id alone never reaches a coupon not held
        pick(world, bill, f"coupon:{bearer.pk}")
    typo = bearer.code[:-1] + ("2" if bearer.code[-1] != "2" else "3")
    with pytest.raises(ValidationFailed) as caught:
        pick(world, bill, f"code:{typo}")
    assert caught.value.code == "coupon_bad_code"

    from chairside.promotions.codes import code_format

    bill = pick(world, bill, f"code:{code_format(bearer.code).lower()}")
    assert bill.discounts.get().reference == f"code:{bearer.code}"
    assert [o.reference for o in CouponDiscountSource().offers(bill)] == [f"code:{bearer.code}"]
    confirm(world, bill)
    bearer.refresh_from_db()
    assert bearer.status == CouponStatus.USED
    assert bearer.holder is None


def test_a_named_coupon_is_used_by_its_bearer_only_when_allowed(
    world: World, shop: Shop, templates: Templates
) -> None:
    named = issue(world, templates.cash50, shop.zhang)
    lendable = issue(world, templates.limited, shop.zhang)
    bill = draft(world, shop, [(shop.filling, 2)], patient=shop.li)

    with pytest.raises(ValidationFailed) as caught:
        pick(world, bill, f"code:{named.code}")
    assert caught.value.code == "coupon_not_yours"

    bill = pick(world, bill, f"code:{lendable.code}")
    assert bill.discount_total == D("10.00")
