"""Giving a coupon to a friend (转赠): a one-time link, valid 48 hours, one open per coupon,
cancellable; claiming moves the coupon (per-person limit held), records an append-only
transfer, audits it and changes the code, so the giver can no longer use it. A claimed,
expired or taken-back link says so.

The clock stands at Monday 2026-09-14 10:00 in Shanghai (billing's fixtures)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from chairside.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.phone import masked_name
from chairside.patients.models import Patient
from chairside.promotions.models import (
    Coupon,
    CouponGift,
    CouponGiftStatus,
    CouponKind,
    CouponTemplate,
    CouponTransfer,
)
from chairside.promotions.selectors.coupons import usable_coupons
from chairside.promotions.selectors.gifting import (
    coupon_transfers,
    gift_by_token,
    gift_problem,
    gift_status,
)
from chairside.promotions.services.coupons import (
    coupon_for_reference,
    coupon_issue,
    coupon_template_create,
    coupon_void,
)
from chairside.promotions.services.gifting import (
    coupon_gift_cancel,
    coupon_gift_claim,
    coupon_gift_create,
)
from chairside.promotions.services.vouchers import voucher_book
from chairside.scheduling.services import appointment_book, appointment_type_create
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.promotions.conftest import Shop, make_bill, template_data
from tests.promotions.test_coupons import COUPONS_ONLY, confirm, pick

pytestmark = pytest.mark.usefixtures("in_clinic1")
D = Decimal
NOW = datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def coupon_source(settings: pytest.FixtureRequest) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = COUPONS_ONLY  # type: ignore[attr-defined]


def giftable(world: World, **values: object) -> CouponTemplate:
    fields: dict[str, object] = {"name": "满300减50", "amount": D(50), "giftable": True}
    fields.update(values)
    return coupon_template_create(
        actor=world.boss, clinic=world.clinic1, data=template_data(**fields)
    )


def issue(world: World, template: CouponTemplate, patient: Patient) -> Coupon:
    return coupon_issue(
        actor=world.frontdesk, clinic=world.clinic1, template=template, patient=patient
    )


def code_of(error: DomainError) -> str:
    return str(error.code)


@pytest.fixture
def coupon(world: World, shop: Shop) -> Coupon:
    """张三's ¥50 voucher, of a template that may be given."""
    return issue(world, giftable(world), shop.zhang)


# --- the link -----------------------------------------------------------------------------


def test_a_link_is_unguessable_valid_48_hours_and_one_per_coupon(
    world: World, shop: Shop, coupon: Coupon
) -> None:
    gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)

    assert len(gift.token) >= 40
    assert gift.expires_at == NOW + timedelta(hours=48)
    assert gift_status(gift) == CouponGiftStatus.OPEN
    assert gift_by_token(gift.token) == gift
    assert gift_by_token(gift.token[:-1]) is None
    # Asking again while it is open hands back the same link.
    assert coupon_gift_create(coupon=coupon, giver=shop.zhang) == gift
    assert CouponGift.objects.count() == 1
    other = coupon_gift_create(coupon=issue(world, coupon.template, shop.zhang), giver=shop.zhang)
    assert other.token != gift.token


def test_only_an_unused_coupon_of_a_giftable_template_can_be_given(
    world: World, shop: Shop, coupon: Coupon
) -> None:
    plain = issue(world, giftable(world, name="不可转赠", giftable=False), shop.zhang)
    with pytest.raises(Conflict) as refused:
        coupon_gift_create(coupon=plain, giver=shop.zhang)
    assert code_of(refused.value) == "coupon_not_giftable"
    assert "cannot be given" in str(refused.value.message)

    # Someone else's coupon is "not found" to whoever asks.
    with pytest.raises(NotFound):
        coupon_gift_create(coupon=coupon, giver=shop.li)

    coupon_void(actor=world.boss, clinic=world.clinic1, coupon=coupon, reason="作废")
    coupon.refresh_from_db()
    assert gift_problem(coupon) == "This coupon is void."
    with pytest.raises(Conflict):
        coupon_gift_create(coupon=coupon, giver=shop.zhang)
    assert not CouponGift.objects.exists()


def test_a_coupon_booked_for_a_visit_cannot_be_given(world: World, shop: Shop) -> None:
    voucher = issue(
        world,
        giftable(
            world,
            name="免费洁牙",
            kind=CouponKind.SERVICE_VOUCHER,
            amount=None,
            service_items=[shop.cleaning],
        ),
        shop.zhang,
    )
    scaling = appointment_type_create(
        actor=world.boss,
        code="scaling",
        name="洁牙",
        duration_minutes=30,
        service_codes=["scaling"],
    )
    visit = appointment_book(
        clinic=world.clinic1,
        patient=shop.zhang,
        doctor=world.doctor,
        start=NOW + timedelta(days=1),
        appointment_type=scaling,
        actor=world.frontdesk,
        allow_outside_hours=True,
    )
    voucher_book(coupon=voucher, entitlement=None, appointment=visit)

    with pytest.raises(Conflict) as refused:
        coupon_gift_create(coupon=voucher, giver=shop.zhang)

    assert "booked for a visit" in str(refused.value.message)


# --- claiming -----------------------------------------------------------------------------


def test_claiming_moves_the_coupon_and_the_giver_can_no_longer_use_it(
    world: World, shop: Shop, coupon: Coupon
) -> None:
    old_code = coupon.code
    gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)

    claimed = coupon_gift_claim(gift=gift, recipient=shop.li)

    assert claimed.holder_id == shop.li.pk
    assert claimed.code != old_code
    gift.refresh_from_db()
    assert (gift.status, gift.claimed_by_id, gift.closed_at) == ("claimed", shop.li.pk, NOW)
    [transfer] = coupon_transfers(coupon)
    assert (transfer.from_patient_id, transfer.to_patient_id, transfer.gift_id, transfer.at) == (
        shop.zhang.pk,
        shop.li.pk,
        gift.pk,
        NOW,
    )
    audit = AuditEntry.objects.filter(entity_type="promotions.coupon", entity_id=str(coupon.pk))
    assert audit.filter(summary="Coupon 满300减50 given by 张三 to 李四").exists()
    # The giver: not in the wallet, not by id, not by the old code.
    assert coupon.pk not in [c.pk for c in usable_coupons(patient=shop.zhang, clinic=world.clinic1)]
    assert coupon.pk in [c.pk for c in usable_coupons(patient=shop.li, clinic=world.clinic1)]
    with pytest.raises(ValidationFailed):
        coupon_for_reference(f"coupon:{coupon.pk}", shop.zhang)
    with pytest.raises(ValidationFailed):
        coupon_for_reference(f"code:{old_code}", shop.zhang)
    # The recipient uses it on a bill.
    bill = make_bill(world, shop.li, [(shop.filling, 1)], confirm=False)
    bill = confirm(world, pick(world, bill, f"coupon:{coupon.pk}"))
    assert bill.discount_total == D("50.00")


def test_a_claimed_taken_back_or_expired_link_says_so(
    world: World, shop: Shop, coupon: Coupon, clock: Clock
) -> None:
    gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)
    coupon_gift_claim(gift=gift, recipient=shop.li)
    with pytest.raises(Conflict) as twice:
        coupon_gift_claim(gift=gift, recipient=shop.wang)
    assert (code_of(twice.value), str(twice.value.message)) == (
        "gift_closed",
        "This gift has already been claimed.",
    )

    second = coupon_gift_create(coupon=issue(world, coupon.template, shop.zhang), giver=shop.zhang)
    with pytest.raises(NotFound):
        coupon_gift_cancel(gift=second, giver=shop.li)  # only the giver takes it back
    coupon_gift_cancel(gift=second, giver=shop.zhang)
    with pytest.raises(Conflict) as cancelled:
        coupon_gift_claim(gift=second, recipient=shop.wang)
    assert str(cancelled.value.message) == "The giver took this gift back."
    with pytest.raises(Conflict):
        coupon_gift_cancel(gift=second, giver=shop.zhang)

    third = coupon_gift_create(coupon=second.coupon, giver=shop.zhang)
    clock.set(NOW + timedelta(hours=48, seconds=1))
    assert gift_status(third) == CouponGiftStatus.EXPIRED
    with pytest.raises(Conflict) as expired:
        coupon_gift_claim(gift=third, recipient=shop.wang)
    assert str(expired.value.message) == "This gift link has expired."
    # A new link replaces the expired one (which is stamped so).
    fourth = coupon_gift_create(coupon=second.coupon, giver=shop.zhang)
    third.refresh_from_db()
    assert (third.status, fourth.status) == ("expired", "open")
    assert second.coupon.holder_id == shop.zhang.pk
    assert CouponTransfer.objects.count() == 1


def test_the_per_person_limit_holds_for_the_recipient(world: World, shop: Shop) -> None:
    template = giftable(world, name="每人一张", per_person_limit=1)
    mine = issue(world, template, shop.zhang)
    issue(world, template, shop.li)
    gift = coupon_gift_create(coupon=mine, giver=shop.zhang)

    with pytest.raises(Conflict) as refused:
        coupon_gift_claim(gift=gift, recipient=shop.li)

    assert code_of(refused.value) == "coupon_limit_reached"
    mine.refresh_from_db()
    assert mine.holder_id == shop.zhang.pk
    gift.refresh_from_db()
    assert gift.status == "open"  # someone else may still claim it
    assert coupon_gift_claim(gift=gift, recipient=shop.wang).holder_id == shop.wang.pk


def test_the_giver_cannot_claim_their_own_link(shop: Shop, coupon: Coupon) -> None:
    gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)
    with pytest.raises(Conflict) as refused:
        coupon_gift_claim(gift=gift, recipient=shop.zhang)
    assert code_of(refused.value) == "gift_own_coupon"


def test_a_coupon_used_after_the_link_was_made_is_not_given(
    world: World, shop: Shop, coupon: Coupon
) -> None:
    gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)
    confirm(world, pick(world, bill, f"coupon:{coupon.pk}"))

    with pytest.raises(Conflict) as refused:
        coupon_gift_claim(gift=gift, recipient=shop.li)

    assert str(refused.value.message) == "Only an unused coupon can be given."
    coupon.refresh_from_db()
    assert coupon.holder_id == shop.zhang.pk


def test_a_members_only_coupon_goes_to_members_only(world: World, shop: Shop) -> None:
    mine = issue(world, giftable(world, name="会员专享", members_only=True), shop.zhang)
    gift = coupon_gift_create(coupon=mine, giver=shop.zhang)
    with pytest.raises(Conflict) as refused:
        coupon_gift_claim(gift=gift, recipient=shop.li)
    assert code_of(refused.value) == "coupon_members_only"


def test_a_link_is_not_claimed_across_organizations(
    world: World, shop: Shop, coupon: Coupon
) -> None:
    gift = coupon_gift_create(coupon=coupon, giver=shop.zhang)
    with pytest.raises(NotFound):
        coupon_gift_claim(gift=gift, recipient=shop.patient_b)
    coupon.refresh_from_db()
    assert coupon.holder_id == shop.zhang.pk


def test_names_are_masked() -> None:
    assert (masked_name("张三"), masked_name("欧阳娜娜"), masked_name(" ")) == (
        "张**",
        "欧**",
        "**",
    )
