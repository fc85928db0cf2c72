"""Vouchers booked for a visit (K4, redemption by booking): a booking reserves a service
voucher or one unit of a combo card's entitlement, a cancelled or missed visit releases it
without any write, the cashier is offered the voucher of the day's visit first, and the bill
that redeems it marks the booking (a void gives it back).

The clock stands at Monday 2026-09-14 10:00 in Shanghai (billing's fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.billing.models import Bill
from chairside.core.errors import Conflict, DomainError, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.patients.models import Patient
from chairside.promotions.discounts import CouponDiscountSource
from chairside.promotions.models import Coupon, CouponKind, CouponStatus, VoucherBooking
from chairside.promotions.selectors.coupons import wallet
from chairside.promotions.selectors.vouchers import (
    VoucherOption,
    appointment_voucher,
    household_vouchers,
    vouchers_booked_for_bill,
)
from chairside.promotions.services.coupons import coupon_issue, coupon_template_create
from chairside.promotions.services.vouchers import VoucherError, voucher_book
from chairside.scheduling.models import Appointment, AppointmentType
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_start,
    appointment_type_create,
)
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.promotions.conftest import Shop, Templates, make_bill, template_data
from tests.promotions.test_coupons import COUPONS_ONLY, confirm, pick

pytestmark = pytest.mark.usefixtures("in_clinic1")

D = Decimal
MONDAY = date(2026, 9, 14)


@pytest.fixture(autouse=True)
def coupon_source(settings: pytest.FixtureRequest) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = COUPONS_ONLY  # type: ignore[attr-defined]


def at(day: date, hhmm: str, days: int = 0) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    day = day + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Visits:
    world: World
    scaling: AppointmentType  # linked to the catalogue's cleaning ("scaling")
    implant: AppointmentType  # linked to the implant only
    checkup: AppointmentType  # not linked to the catalogue

    def book(
        self, patient: Patient, start: datetime, kind: AppointmentType | None = None
    ) -> Appointment:
        return appointment_book(
            clinic=self.world.clinic1,
            patient=patient,
            doctor=self.world.doctor,
            start=start,
            appointment_type=kind or self.scaling,
            actor=self.world.frontdesk,
            allow_outside_hours=True,
        )


@pytest.fixture
def visits(world: World, shop: Shop) -> Visits:
    def kind(code: str, codes: list[str]) -> AppointmentType:
        return appointment_type_create(
            actor=world.boss, code=code, name=code, duration_minutes=30, service_codes=codes
        )

    return Visits(world, kind("scaling", ["scaling"]), kind("implant", ["implant"]), kind("c", []))


def issue(world: World, template: object, patient: Patient) -> Coupon:
    return coupon_issue(
        actor=world.frontdesk,
        clinic=world.clinic1,
        template=template,  # type: ignore[arg-type]
        patient=patient,
    )


def options_of(patient: Patient) -> dict[tuple[int, int | None], VoucherOption]:
    return {o.key: o for o in household_vouchers(patients=[patient])}


def code_of(error: DomainError) -> str:
    return str(error.code)


# --- reserving ----------------------------------------------------------------------------


def test_a_service_voucher_is_booked_once_while_its_visit_is_ahead(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    tuesday = visits.book(shop.zhang, at(MONDAY, "10:00", days=1))
    wednesday = visits.book(shop.zhang, at(MONDAY, "10:00", days=2))

    booking = voucher_book(coupon=voucher, entitlement=None, appointment=tuesday)

    assert appointment_voucher(appointment_id=tuesday.pk) == booking
    option = options_of(shop.zhang)[(voucher.pk, None)]
    assert (option.left, option.available) == (1, 0)
    assert [b.appointment_id for b in option.reserved] == [tuesday.pk]
    with pytest.raises(Conflict) as refused:
        voucher_book(coupon=voucher, entitlement=None, appointment=wednesday)
    assert code_of(refused.value) == VoucherError.ALREADY_BOOKED
    assert "already booked" in str(refused.value.message)
    assert VoucherBooking.objects.count() == 1
    # Booking is not using: the coupon stays unused until a bill redeems it.
    voucher.refresh_from_db()
    assert voucher.status == CouponStatus.UNUSED


def test_booking_is_audited(world: World, shop: Shop, templates: Templates, visits: Visits) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "10:00", days=1))

    booking = voucher_book(coupon=voucher, entitlement=None, appointment=visit)

    entry = AuditEntry.objects.get(entity_type="promotions.voucherbooking", entity_id=booking.pk)
    assert entry.action == AuditEntry.Action.CREATE
    assert voucher.code in entry.summary


def test_a_cancelled_visit_releases_the_voucher(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    first = visits.book(shop.zhang, at(MONDAY, "10:00", days=1))
    second = visits.book(shop.zhang, at(MONDAY, "10:00", days=2))
    voucher_book(coupon=voucher, entitlement=None, appointment=first)

    appointment_cancel(appointment=first, actor=world.frontdesk, reason="sick")

    assert options_of(shop.zhang)[(voucher.pk, None)].available == 1
    booking = voucher_book(coupon=voucher, entitlement=None, appointment=second)
    assert booking.appointment_id == second.pk
    # The cancelled visit keeps its record of the voucher it was booked with.
    assert VoucherBooking.objects.filter(coupon=voucher).count() == 2


def test_a_no_show_releases_the_voucher(
    world: World, shop: Shop, templates: Templates, visits: Visits, clock: Clock
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "14:00"))
    voucher_book(coupon=voucher, entitlement=None, appointment=visit)
    assert options_of(shop.zhang)[(voucher.pk, None)].available == 0

    clock.set(at(MONDAY, "15:00"))
    appointment_mark_no_show(appointment=visit, actor=world.frontdesk)

    assert options_of(shop.zhang)[(voucher.pk, None)].available == 1


def test_a_visit_that_took_place_without_using_the_voucher_releases_it(
    world: World, shop: Shop, templates: Templates, visits: Visits, clock: Clock
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "10:30"))
    voucher_book(coupon=voucher, entitlement=None, appointment=visit)

    visit = appointment_check_in(appointment=visit, actor=world.frontdesk)
    visit = appointment_start(appointment=visit, actor=world.doctor)
    assert options_of(shop.zhang)[(voucher.pk, None)].available == 0  # still at the clinic
    appointment_complete(appointment=visit, actor=world.doctor)

    assert options_of(shop.zhang)[(voucher.pk, None)].available == 1


def test_a_rescheduled_visit_keeps_its_voucher(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "10:00", days=1))
    booking = voucher_book(coupon=voucher, entitlement=None, appointment=visit)

    appointment_reschedule(
        appointment=visit,
        start=at(MONDAY, "11:00", days=3),
        actor=world.frontdesk,
        allow_outside_hours=True,
    )

    option = options_of(shop.zhang)[(voucher.pk, None)]
    assert [b.pk for b in option.reserved] == [booking.pk]
    assert option.reserved[0].appointment.start == at(MONDAY, "11:00", days=3)


def test_a_combo_card_reserves_one_unit_per_visit(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    card = issue(world, templates.family_card, shop.zhang)  # 2 cleanings + 1 filling
    cleaning, filling = (e for e in card.template.entitlements.order_by("item__code").reverse())
    assert (cleaning.item.code, filling.item.code) == ("scaling", "filling")
    days = [visits.book(shop.zhang, at(MONDAY, "10:00", days=n)) for n in (1, 2, 3)]

    voucher_book(coupon=card, entitlement=cleaning, appointment=days[0])
    voucher_book(coupon=card, entitlement=cleaning, appointment=days[1])
    with pytest.raises(Conflict) as refused:
        voucher_book(coupon=card, entitlement=cleaning, appointment=days[2])

    assert code_of(refused.value) == VoucherError.ALREADY_BOOKED
    assert "洁治" in str(refused.value.message)
    # The card's other service is still free to book (a visit not linked to the catalogue).
    checkup = visits.book(shop.zhang, at(MONDAY, "15:00", days=3), visits.checkup)
    voucher_book(coupon=card, entitlement=filling, appointment=checkup)
    options = options_of(shop.zhang)
    assert (options[(card.pk, cleaning.pk)].left, options[(card.pk, cleaning.pk)].available) == (
        2,
        0,
    )
    assert options[(card.pk, filling.pk)].available == 0


@pytest.mark.parametrize(
    "case",
    [
        "someone_else",
        "cash_voucher",
        "combo_without_service",
        "service_voucher_with_entitlement",
        "other_cards_service",
        "used",
        "void",
        "other_clinic",
    ],
)
def test_vouchers_that_cannot_pay_for_the_visit_are_refused(
    world: World, shop: Shop, templates: Templates, visits: Visits, case: str
) -> None:
    visit = visits.book(shop.zhang, at(MONDAY, "10:00", days=1))
    entitlement = None
    if case == "someone_else":
        coupon = issue(world, templates.free_cleaning, shop.li)
    elif case == "cash_voucher":
        coupon = issue(world, templates.cash50, shop.zhang)
    elif case == "combo_without_service":
        coupon = issue(world, templates.family_card, shop.zhang)
    elif case == "service_voucher_with_entitlement":
        coupon = issue(world, templates.free_cleaning, shop.zhang)
        entitlement = templates.family_card.entitlements.first()
    elif case == "other_cards_service":
        coupon = issue(world, templates.family_card, shop.zhang)
        other = coupon_template_create(
            actor=world.boss,
            clinic=world.clinic1,
            data=template_data(
                name="另一张卡",
                kind=CouponKind.COMBO,
                amount=None,
                entitlements=[(shop.cleaning, 1)],
            ),
        )
        entitlement = other.entitlements.get()
    elif case in ("used", "void"):
        coupon = issue(world, templates.free_cleaning, shop.zhang)
        Coupon.objects.filter(pk=coupon.pk).update(status=case)
    else:
        only_clinic2 = coupon_template_create(
            actor=world.boss,
            clinic=world.clinic1,
            data=template_data(
                name="二店洁牙券",
                kind=CouponKind.SERVICE_VOUCHER,
                amount=None,
                service_items=[shop.cleaning],
                clinics=[world.clinic2],
            ),
        )
        coupon = issue(world, only_clinic2, shop.zhang)

    with pytest.raises(ValidationFailed) as refused:
        voucher_book(coupon=coupon, entitlement=entitlement, appointment=visit)

    assert code_of(refused.value) == VoucherError.NOT_BOOKABLE
    assert not VoucherBooking.objects.exists()


def test_a_voucher_for_another_service_is_refused(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    implant = visits.book(shop.zhang, at(MONDAY, "10:00", days=1), visits.implant)
    checkup = visits.book(shop.zhang, at(MONDAY, "10:00", days=2), visits.checkup)

    with pytest.raises(ValidationFailed) as refused:
        voucher_book(coupon=voucher, entitlement=None, appointment=implant)

    assert code_of(refused.value) == VoucherError.NOT_FOR_SERVICE
    # A visit type not linked to the catalogue may be booked with any voucher.
    voucher_book(coupon=voucher, entitlement=None, appointment=checkup)


def test_a_visit_after_the_voucher_expires_is_refused(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)  # 30 days: until 2026-10-13
    late = visits.book(shop.zhang, at(MONDAY, "10:00", days=30))
    last = visits.book(shop.zhang, at(MONDAY, "17:00", days=29))

    with pytest.raises(ValidationFailed) as refused:
        voucher_book(coupon=voucher, entitlement=None, appointment=late)

    assert code_of(refused.value) == VoucherError.OUTSIDE_VALIDITY
    assert "2026-10-13" in str(refused.value.message)
    voucher_book(coupon=voucher, entitlement=None, appointment=last)


def test_a_visit_before_the_voucher_is_valid_is_refused(
    world: World, shop: Shop, visits: Visits
) -> None:
    later = coupon_template_create(
        actor=world.boss,
        clinic=world.clinic1,
        data=template_data(
            name="国庆洁牙券",
            kind=CouponKind.SERVICE_VOUCHER,
            amount=None,
            service_items=[shop.cleaning],
            valid_from=date(2026, 10, 1),
            valid_until=date(2026, 10, 7),
        ),
    )
    voucher = issue(world, later, shop.zhang)
    early = visits.book(shop.zhang, datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    inside = visits.book(shop.zhang, datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))

    with pytest.raises(ValidationFailed) as refused:
        voucher_book(coupon=voucher, entitlement=None, appointment=early)

    assert code_of(refused.value) == VoucherError.OUTSIDE_VALIDITY
    voucher_book(coupon=voucher, entitlement=None, appointment=inside)


# --- the household's options ----------------------------------------------------------


def test_the_options_are_the_open_service_vouchers_and_card_services(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    service = issue(world, templates.free_cleaning, shop.zhang)
    card = issue(world, templates.family_card, shop.zhang)
    issue(world, templates.cash50, shop.zhang)  # not bookable: no service named
    used = issue(world, templates.free_cleaning, shop.zhang)
    Coupon.objects.filter(pk=used.pk).update(status=CouponStatus.USED)
    issue(world, templates.free_cleaning, shop.li)  # someone else's

    options = household_vouchers(patients=[shop.zhang])

    assert sorted((o.coupon.pk, o.service_names) for o in options) == sorted(
        [(service.pk, "洁治"), (card.pk, "洁治"), (card.pk, "树脂充填")]
    )
    assert {o.key: o.query() for o in options}[(service.pk, None)] == {
        "voucher": service.pk,
        "entitlement": None,
    }


def test_an_expired_voucher_is_no_option(
    world: World, shop: Shop, templates: Templates, clock: Clock
) -> None:
    issue(world, templates.free_cleaning, shop.zhang)

    clock.set(at(MONDAY, "10:00", days=31))

    assert household_vouchers(patients=[shop.zhang]) == []


def test_the_options_are_read_in_a_flat_number_of_queries(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            options = household_vouchers(patients=[shop.zhang])
            for option in options:
                _ = (option.service_names, option.available)
                for booking in option.reserved:
                    _ = booking.appointment.start
        return len(queries)

    card = issue(world, templates.family_card, shop.zhang)
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    voucher_book(
        coupon=voucher,
        entitlement=None,
        appointment=visits.book(shop.zhang, at(MONDAY, "10:00", days=1)),
    )
    few = count()
    for n in range(3):
        more = issue(world, templates.free_cleaning, shop.zhang)
        voucher_book(
            coupon=more,
            entitlement=None,
            appointment=visits.book(shop.zhang, at(MONDAY, "10:00", days=2 + n)),
        )
        issue(world, templates.family_card, shop.zhang)
    pick(
        world,
        make_bill(world, shop.zhang, [(shop.cleaning, 1)], confirm=False),
        f"coupon:{card.pk}",
    )

    assert count() == few


# --- at the cashier ---------------------------------------------------------------------


def draft(world: World, shop: Shop, patient: Patient | None = None) -> Bill:
    return make_bill(world, patient or shop.zhang, [(shop.cleaning, 1)], confirm=False)


def test_the_cashier_is_offered_the_voucher_of_todays_visit_first(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    cash = issue(world, templates.cash50, shop.zhang)
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "14:00"))
    voucher_book(coupon=voucher, entitlement=None, appointment=visit)
    bill = draft(world, shop)

    offers = CouponDiscountSource().offers(bill)

    assert [o.reference for o in offers] == [f"coupon:{voucher.pk}", f"coupon:{cash.pk}"]
    assert offers[0].label.startswith("Booked with this voucher for the 14:00 visit · 免费洁牙")
    assert "Booked" not in offers[1].label


def test_a_combo_card_offer_names_the_booked_service(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    card = issue(world, templates.family_card, shop.zhang)
    cleaning = card.template.entitlements.get(item=shop.cleaning)
    voucher_book(
        coupon=card, entitlement=cleaning, appointment=visits.book(shop.zhang, at(MONDAY, "09:00"))
    )

    [offer] = CouponDiscountSource().offers(draft(world, shop))

    assert offer.label.startswith("Booked with this voucher for the 09:00 visit (洁治) · 家庭卡")


@pytest.mark.parametrize("when", ["tomorrow", "cancelled", "other_clinic", "other_patient"])
def test_no_voucher_is_suggested_without_a_visit_booked_with_it_that_day(
    world: World, shop: Shop, templates: Templates, visits: Visits, when: str
) -> None:
    patient = shop.li if when == "other_patient" else shop.zhang
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "14:00", days=1 if when == "tomorrow" else 0))
    voucher_book(coupon=voucher, entitlement=None, appointment=visit)
    if when == "cancelled":
        appointment_cancel(appointment=visit, actor=world.frontdesk, reason="busy")
    clinic = world.clinic2 if when == "other_clinic" else world.clinic1
    bill = make_bill(world, patient, [(shop.cleaning, 1)], clinic=clinic, confirm=False)

    assert vouchers_booked_for_bill(bill) == {}
    assert not any("Booked" in o.label for o in CouponDiscountSource().offers(bill))


def test_redeeming_the_booked_voucher_marks_the_booking_and_a_void_gives_it_back(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    visit = visits.book(shop.zhang, at(MONDAY, "10:30"))
    booking = voucher_book(coupon=voucher, entitlement=None, appointment=visit)
    visit = appointment_check_in(appointment=visit, actor=world.frontdesk)
    bill = pick(world, draft(world, shop), f"coupon:{voucher.pk}")
    assert bill.net_total == D("0.00")

    bill = confirm(world, bill)

    booking.refresh_from_db()
    assert booking.bill_id == bill.pk
    assert booking.redeemed_at is not None
    voucher.refresh_from_db()
    assert voucher.status == CouponStatus.USED
    assert (voucher.pk, None) not in options_of(shop.zhang)
    assert vouchers_booked_for_bill(draft(world, shop)) == {}  # not suggested again

    from chairside.billing.services.bills import bill_void

    bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=bill, reason="wrong patient")

    booking.refresh_from_db()
    assert (booking.bill_id, booking.redeemed_at) == (None, None)
    voucher.refresh_from_db()
    assert voucher.status == CouponStatus.UNUSED
    # The visit is still under way: the voucher is held for it again.
    assert options_of(shop.zhang)[(voucher.pk, None)].available == 0


def test_a_bill_using_one_unit_of_a_card_redeems_one_of_the_days_bookings(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    card = issue(world, templates.family_card, shop.zhang)
    cleaning = card.template.entitlements.get(item=shop.cleaning)
    morning = voucher_book(
        coupon=card, entitlement=cleaning, appointment=visits.book(shop.zhang, at(MONDAY, "11:00"))
    )
    evening = voucher_book(
        coupon=card, entitlement=cleaning, appointment=visits.book(shop.zhang, at(MONDAY, "17:00"))
    )

    confirm(world, pick(world, draft(world, shop), f"coupon:{card.pk}"))

    morning.refresh_from_db()
    evening.refresh_from_db()
    assert morning.bill_id is not None
    assert evening.bill_id is None
    option = options_of(shop.zhang)[(card.pk, cleaning.pk)]
    # One cleaning used, one held by the evening visit: none left to book, none counted twice.
    assert (option.left, [b.pk for b in option.reserved], option.available) == (
        1,
        [evening.pk],
        0,
    )


def test_a_bill_not_using_the_voucher_leaves_the_booking(
    world: World, shop: Shop, templates: Templates, visits: Visits
) -> None:
    voucher = issue(world, templates.free_cleaning, shop.zhang)
    cash = issue(world, templates.cash50, shop.zhang)
    booking = voucher_book(
        coupon=voucher, entitlement=None, appointment=visits.book(shop.zhang, at(MONDAY, "11:00"))
    )
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)

    confirm(world, pick(world, bill, f"coupon:{cash.pk}"))

    booking.refresh_from_db()
    assert booking.bill_id is None
    assert [c.pk for c in wallet(patient=shop.zhang)] == [voucher.pk]
