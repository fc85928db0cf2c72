"""Flash sales (K3): setting a sale up, claiming within stock and the per-person limit,
expiry and cancellation giving stock back, paying online and issuing the coupon once.

The fixtures here (`flash`, `sale_of`) are shared by the other test_flash_sales* modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import translation

from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.promotions.models import (
    Coupon,
    CouponTemplate,
    FlashSale,
    FlashSaleClaim,
    FlashSaleClaimStatus,
)
from chairside.promotions.payments import (
    FakePaymentProcessor,
    PaymentRejected,
    PaymentResult,
    payment_processor,
)
from chairside.promotions.selectors.flash_sales import flash_sale_stats
from chairside.promotions.services import flash_sales as fs
from tests.clock import SHANGHAI, Clock, stop_clock
from tests.conftest import World

NOW = datetime(2026, 9, 14, 10, 0, tzinfo=SHANGHAI)
D = Decimal
Status = FlashSaleClaimStatus


@dataclass
class Flash:
    template: CouponTemplate  # ¥100 cash voucher, 90 days
    zhang: Patient  # clinic 1
    li: Patient  # clinic 1
    wang: Patient  # clinic 2
    template_b: CouponTemplate  # organization B's
    patient_b: Patient  # organization B's


def make_template(organization_id: int, name: str = "洁牙抵用券") -> CouponTemplate:
    with tenant_scope(organization_id):
        return CouponTemplate.objects.create(
            organization_id=organization_id,
            name=name,
            kind="cash_voucher",
            amount=D("100.00"),
            validity_kind="after_issue",
            valid_days=90,
        )


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return stop_clock(monkeypatch, NOW)


@pytest.fixture
def flash(world: World) -> Flash:
    with tenant_scope(world.org, world.clinic1):
        zhang = patient_create(actor=world.boss, clinic=world.clinic1, name="张三")
        li = patient_create(actor=world.boss, clinic=world.clinic1, name="李四")
        wang = patient_create(actor=world.boss, clinic=world.clinic2, name="王五")
    with tenant_scope(world.org_b, world.clinic_b):
        patient_b = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="赵六")
    return Flash(
        make_template(world.org.pk), zhang, li, wang, make_template(world.org_b.pk), patient_b
    )


SaleOf = Callable[..., FlashSale]


@pytest.fixture
def sale_of(world: World, flash: Flash) -> SaleOf:
    """Make a sale of organization A open around NOW (stock 5, limit 1, ¥9.90 unless said)."""

    def make(**values: object) -> FlashSale:
        fields: dict[str, object] = {
            "title": "9.9元洁牙",
            "template": flash.template,
            "price": D("9.90"),
            "stock": 5,
            "starts_at": NOW - timedelta(hours=1),
            "ends_at": NOW + timedelta(days=1),
            "per_person_limit": 1,
            "payment_minutes": 15,
        }
        fields.update(values)
        with tenant_scope(world.org, world.clinic1):
            return fs.flash_sale_create(actor=world.boss, clinic=world.hq, **fields)  # type: ignore[arg-type]

    return make


def live_claims(sale: FlashSale) -> int:
    return FlashSaleClaim.objects.filter(
        sale=sale, status__in=["reserved", "paid", "issued"]
    ).count()


def sold(sale: FlashSale) -> int:
    return FlashSale.objects.get(pk=sale.pk).sold


# --- setting up -----------------------------------------------------------------------------


def test_a_sale_is_set_up_with_its_clinics_and_audited(
    world: World, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(clinics=[world.clinic2])
    with tenant_scope(world.org):
        assert list(sale.clinics.all()) == [world.clinic2]
        assert sale.sold == 0
        assert sale.price == D("9.90")
        assert AuditEntry.objects.filter(entity_type="promotions.flashsale").count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": "  "}, "title"),
        ({"stock": 0}, "stock"),
        ({"price": D("-1")}, "price"),
        ({"per_person_limit": 0}, "per_person_limit"),
        ({"payment_minutes": 0}, "payment_minutes"),
        ({"ends_at": NOW - timedelta(hours=2)}, "ends_at"),
    ],
)
def test_bad_settings_are_refused_field_by_field(
    sale_of: SaleOf, clock: Clock, values: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sale_of(**values)
    assert field in refused.value.fields


def test_clinics_of_another_organization_are_refused(
    world: World, sale_of: SaleOf, clock: Clock
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sale_of(clinics=[world.clinic_b])
    assert "clinic_ids" in refused.value.fields


def test_the_stock_cannot_go_below_what_is_claimed(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=5)
    with tenant_scope(world.org, world.clinic1):
        fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        fs.flash_sale_claim(sale=sale, patient=flash.li)
        with pytest.raises(ValidationFailed):
            fs.flash_sale_update(actor=world.boss, clinic=world.hq, sale=sale, stock=1)
        updated = fs.flash_sale_update(actor=world.boss, clinic=world.hq, sale=sale, stock=2)
        assert (updated.stock, updated.sold) == (2, 2)


# --- claiming -------------------------------------------------------------------------------


def test_a_claim_reserves_one_unit_for_the_payment_window(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        assert claim.status == Status.RESERVED
        assert claim.amount == D("9.90")
        assert claim.clinic == world.clinic1  # the patient's clinic when none is given
        assert claim.expires_at == NOW + timedelta(minutes=15)
        assert claim.reference.startswith("FS")
        assert len(claim.reference) == 26
        assert sold(sale) == 1 == live_claims(sale)


def test_the_per_person_limit_holds_and_frees_up_when_a_claim_lapses(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(per_person_limit=2)
    with tenant_scope(world.org, world.clinic1):
        first = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        second = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        assert (first.sequence, second.sequence) == (1, 2)
        with pytest.raises(Conflict) as refused:
            fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        assert refused.value.code == fs.FlashSaleError.LIMIT_REACHED
        fs.flash_sale_claim_cancel(actor=world.frontdesk, clinic=world.clinic1, claim=first)
        third = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        assert third.sequence == 1
        assert sold(sale) == 2 == live_claims(sale)


def test_sold_out_is_refused_and_remembered_in_the_cache_until_stock_returns(
    world: World,
    flash: Flash,
    sale_of: SaleOf,
    clock: Clock,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    sale = sale_of(stock=1)
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        with pytest.raises(Conflict) as refused:
            fs.flash_sale_claim(sale=sale, patient=flash.li)
        assert refused.value.code == fs.FlashSaleError.SOLD_OUT
        assert fs.sold_out_hint(sale)
    # Cancelling gives the unit back, and clears the hint once committed.
    with tenant_scope(world.org, world.clinic1), django_capture_on_commit_callbacks(execute=True):
        fs.flash_sale_claim_cancel(actor=None, clinic=None, claim=claim)
    assert not fs.sold_out_hint(sale)
    with tenant_scope(world.org, world.clinic1):
        assert fs.flash_sale_claim(sale=sale, patient=flash.li).status == Status.RESERVED
        assert sold(sale) == 1 == live_claims(sale)


@pytest.mark.parametrize(
    "when", [NOW - timedelta(hours=2), NOW + timedelta(days=2)], ids=["before", "after"]
)
def test_no_claim_outside_the_sale_period_or_when_inactive(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock, when: datetime
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1):
        with pytest.raises(Conflict) as refused:
            fs.flash_sale_claim(sale=sale, patient=flash.zhang, now=when)
        assert refused.value.code == fs.FlashSaleError.NOT_OPEN
        fs.flash_sale_update(actor=world.boss, clinic=world.hq, sale=sale, is_active=False)
        with pytest.raises(Conflict):
            fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        assert sold(sale) == 0


def test_a_sale_for_some_clinics_refuses_claims_elsewhere(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(clinics=[world.clinic1])
    with tenant_scope(world.org, world.clinic1):
        with pytest.raises(Conflict) as refused:
            fs.flash_sale_claim(sale=sale, patient=flash.wang)
        assert refused.value.code == fs.FlashSaleError.NOT_HERE
        assert fs.flash_sale_claim(sale=sale, patient=flash.wang, clinic=world.clinic1)


# --- expiry ---------------------------------------------------------------------------------


def test_unpaid_reservations_expire_and_give_their_stock_back(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=2)
    with tenant_scope(world.org, world.clinic1):
        early = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        clock.set(NOW + timedelta(minutes=10))
        late = fs.flash_sale_claim(sale=sale, patient=flash.li)
        clock.set(NOW + timedelta(minutes=16))
        assert fs.flash_sale_claims_expire() == 1
        early.refresh_from_db()
        late.refresh_from_db()
        assert (early.status, late.status) == (Status.EXPIRED, Status.RESERVED)
        assert sold(sale) == 1 == live_claims(sale)
        assert fs.flash_sale_claims_expire() == 0
        # The freed unit is claimable again.
        fs.flash_sale_claim(sale=sale, patient=flash.wang, clinic=world.clinic1)
        assert sold(sale) == 2


# --- paying ---------------------------------------------------------------------------------


def pay(claim: FlashSaleClaim) -> dict[str, object]:
    """Open the payment and return the fake processor's signed callback."""
    with tenant_scope(claim.organization_id):
        intent = fs.flash_sale_claim_pay(claim=claim)
    assert intent.processor == "fake"
    assert intent.simulated_callback is not None
    return intent.simulated_callback


def test_the_configured_processor_is_the_fake_by_default() -> None:
    assert isinstance(payment_processor(), FakePaymentProcessor)


def test_payment_issues_the_coupon_once_however_often_the_callback_comes(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    callback = pay(claim)

    first = fs.flash_sale_payment_callback(payload=callback)
    again = fs.flash_sale_payment_callback(payload=callback)

    with tenant_scope(world.org):
        claim.refresh_from_db()
        assert claim.status == Status.ISSUED == first.status == again.status
        assert claim.payment_reference == callback["transaction_id"]
        assert claim.coupon is not None
        coupons = Coupon.objects.filter(holder=flash.zhang, template=flash.template)
        assert list(coupons) == [claim.coupon]
        assert claim.coupon.source == "flash_sale"
        stats = flash_sale_stats(sale=sale)
        assert (stats.sold, stats.issued, stats.reserved, stats.counter_matches) == (1, 1, 0, True)


def test_a_forged_or_altered_callback_is_rejected(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    callback = pay(claim)
    for forged in (
        {**callback, "amount": "0.01"},
        {**callback, "signature": "0" * 64},
        {**callback, "signature": "签名"},
        {**callback, "status": "failed"},
        {k: v for k, v in callback.items() if k != "signature"},
    ):
        with pytest.raises(PaymentRejected):
            fs.flash_sale_payment_callback(payload=forged)
    with tenant_scope(world.org):
        claim.refresh_from_db()
        assert claim.status == Status.RESERVED
        assert claim.payment_reference == ""


def test_a_second_payment_of_the_same_order_is_refused(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    fs.flash_sale_payment_callback(payload=pay(claim))
    other = FakePaymentProcessor().simulate_callback(claim.reference, claim.amount)
    with pytest.raises(Conflict):
        fs.flash_sale_payment_callback(payload=other)
    with pytest.raises(Conflict), tenant_scope(world.org):
        fs.flash_sale_payment_confirm(
            result=PaymentResult("fake", claim.reference, "OTHER", D("1.00"))
        )
    with tenant_scope(world.org):
        assert Coupon.objects.filter(holder=flash.zhang).count() == 1


def test_an_unknown_order_is_not_found(world: World) -> None:
    callback = FakePaymentProcessor().simulate_callback("FSNOSUCHORDER", D("9.90"))
    with pytest.raises(NotFound):
        fs.flash_sale_payment_callback(payload=callback)


def test_an_expired_reservation_cannot_start_a_payment(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        clock.set(NOW + timedelta(minutes=20))
        with pytest.raises(Conflict):
            fs.flash_sale_claim_pay(claim=claim)


def test_a_payment_after_expiry_takes_a_free_unit_again(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=1)
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    callback = pay(claim)
    clock.set(NOW + timedelta(minutes=20))
    with tenant_scope(world.org):
        assert fs.flash_sale_claims_expire() == 1
        assert sold(sale) == 0
    fs.flash_sale_payment_callback(payload=callback)
    with tenant_scope(world.org):
        claim.refresh_from_db()
        assert claim.status == Status.ISSUED
        assert sold(sale) == 1 == live_claims(sale)


def test_a_payment_after_expiry_with_the_stock_gone_is_kept_for_refund(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=1)
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    callback = pay(claim)
    clock.set(NOW + timedelta(minutes=20))
    cache.clear()
    with tenant_scope(world.org, world.clinic1):
        fs.flash_sale_claims_expire()
        fs.flash_sale_claim(sale=sale, patient=flash.li)
    fs.flash_sale_payment_callback(payload=callback)
    with tenant_scope(world.org):
        claim.refresh_from_db()
        assert claim.status == Status.EXPIRED
        assert claim.payment_reference == callback["transaction_id"]
        assert claim.coupon is None
        assert sold(sale) == 1 == live_claims(sale)
        assert AuditEntry.objects.filter(summary__contains="refund it").count() == 1


def test_reconcile_repairs_a_counter_that_drifted(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of(stock=3)
    with tenant_scope(world.org, world.clinic1):
        fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        FlashSale.objects.filter(pk=sale.pk).update(sold=3)  # as a manual edit might
        assert fs.flash_sale_counters_reconcile() == 1
        assert sold(sale) == 1
        assert fs.flash_sale_counters_reconcile() == 0


def test_the_beat_tasks_expire_reconcile_and_issue_in_every_organization(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    from chairside.promotions import tasks

    sale = sale_of(stock=3)
    with tenant_scope(world.org, world.clinic1):
        fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        paid = fs.flash_sale_claim(sale=sale, patient=flash.li)
        FlashSaleClaim.objects.filter(pk=paid.pk).update(
            status=Status.PAID, payment_reference="T1", paid_at=NOW
        )
    clock.set(NOW + timedelta(minutes=30))

    assert tasks.expire_flash_sale_claims() == 1
    assert tasks.issue_paid_flash_sale_coupons() == 1
    assert tasks.reconcile_flash_sale_counters() == 0
    with tenant_scope(world.org):
        paid.refresh_from_db()
        assert paid.status == Status.ISSUED
        assert sold(sale) == 1 == live_claims(sale)


def test_the_open_list_shows_what_a_clinics_patients_can_claim_now(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    from chairside.promotions.selectors.flash_sales import flash_sale_open_list

    everywhere = sale_of(title="everywhere")
    only_2 = sale_of(title="clinic 2", clinics=[world.clinic2])
    sale_of(title="later", starts_at=NOW + timedelta(hours=1))
    off = sale_of(title="off")
    with tenant_scope(world.org, world.clinic1):
        fs.flash_sale_update(actor=world.boss, clinic=world.hq, sale=off, is_active=False)
        assert list(flash_sale_open_list(clinic=world.clinic1)) == [everywhere]
        assert set(flash_sale_open_list(clinic=world.clinic2)) == {everywhere, only_2}
    with tenant_scope(world.org_b):
        assert list(flash_sale_open_list(clinic=world.clinic_b)) == []


def test_a_patient_of_another_organization_cannot_claim(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    with tenant_scope(world.org, world.clinic1), pytest.raises(NotFound):
        fs.flash_sale_claim(sale=sale, patient=flash.patient_b)
    with tenant_scope(world.org):
        assert sold(sale) == 0
