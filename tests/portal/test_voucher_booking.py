"""Booking a visit with a voucher in the portal (K4): My coupons and the voucher step lead
into the booking flow with the voucher chosen; the flow offers the clinics and services it
covers and the days it is valid on, books for its holder and reserves it; a voucher the
household cannot book (used up, booked, another family's or organization's) is refused.

The clock stands at Monday 2026-09-14 08:00 in Shanghai (the portal's fixtures)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chairside.billing.models import CatalogueItem, Category, Unit
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.promotions.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    Entitlement,
    ValidityKind,
    VoucherBooking,
)
from chairside.promotions.services.coupons import (
    TemplateData,
    coupon_issue,
    coupon_template_create,
)
from chairside.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from chairside.scheduling.services import appointment_type_create
from tests.portal.conftest import (
    TUESDAY,
    ZHANG_MOBILE,
    Portal,
    at,
    english,
    portal_url,
    sign_in,
)

WEDNESDAY = date(2026, 9, 16)


def html(response: Any) -> str:
    return response.content.decode()  # type: ignore[no-any-return]


@dataclass
class Vouchers:
    portal: Portal
    scaling: CatalogueItem
    filling: CatalogueItem
    cleaning_visit: AppointmentType  # linked to "scaling"
    free_cleaning: CouponTemplate  # service voucher, clinic 1 only, until Tuesday
    family_card: CouponTemplate  # 2 cleanings + 1 filling, any clinic, until year end

    def issue(self, template: CouponTemplate, patient: Patient) -> Coupon:
        world = self.portal.world
        with tenant_scope(world.org, world.clinic1):
            return coupon_issue(
                actor=world.frontdesk, clinic=world.clinic1, template=template, patient=patient
            )

    def entitlement(self, card: Coupon, item: CatalogueItem) -> Entitlement:
        with tenant_scope(self.portal.org):
            return Entitlement.objects.get(template_id=card.template_id, item=item)


@pytest.fixture
def vouchers(portal: Portal) -> Vouchers:
    world = portal.world
    with tenant_scope(world.org, world.clinic1):
        scaling = CatalogueItem.objects.create(
            code="scaling", name="洁治", category=Category.BASIC, price=Decimal(200)
        )
        filling = CatalogueItem.objects.create(
            code="filling",
            name="树脂充填",
            category=Category.RESTORATIVE,
            price=Decimal(300),
            unit=Unit.PER_TOOTH,
        )
        cleaning_visit = appointment_type_create(
            actor=world.boss,
            code="scaling-visit",
            name="洁牙",
            duration_minutes=30,
            service_codes=["scaling"],
        )

        def template(**values: Any) -> CouponTemplate:
            return coupon_template_create(
                actor=world.boss, clinic=world.clinic1, data=TemplateData(**values)
            )

        free_cleaning = template(
            name="免费洁牙券",
            kind=CouponKind.SERVICE_VOUCHER,
            service_items=[scaling],
            clinics=[world.clinic1],
            validity_kind=ValidityKind.FIXED,
            valid_until=TUESDAY,
        )
        family_card = template(
            name="家庭卡",
            kind=CouponKind.COMBO,
            entitlements=[(scaling, 2), (filling, 1)],
            validity_kind=ValidityKind.FIXED,
            valid_until=date(2026, 12, 31),
        )
    return Vouchers(portal, scaling, filling, cleaning_visit, free_cleaning, family_card)


@pytest.fixture
def zhang_client(client: Client, portal: Portal) -> Client:
    return sign_in(english(client), portal.org, ZHANG_MOBILE)


def url(portal: Portal, name: str, *args: Any, **query: Any) -> str:
    return portal_url(portal.org, name, *args, **{k: v for k, v in query.items() if v is not None})


def booked() -> list[VoucherBooking]:
    return list(VoucherBooking.all_tenants.select_related("appointment").order_by("id"))


def appointments() -> list[Appointment]:
    return list(Appointment.all_tenants.order_by("id"))


def confirm_data(v: Vouchers, coupon: Coupon, start: str, **extra: Any) -> dict[str, Any]:
    return {
        "clinic": v.portal.world.clinic1.pk,
        "type": v.cleaning_visit.pk,
        "doctor": "any",
        "voucher": coupon.pk,
        "start": start,
        "patient": coupon.holder_id,
        **extra,
    }


def book_tuesday(client: Client, v: Vouchers, coupon: Coupon) -> Any:
    return client.post(url(v.portal, "book_confirm"), confirm_data(v, coupon, "2026-09-15T10:00"))


# --- the ways in ------------------------------------------------------------------------


def test_my_coupons_offers_to_book_the_voucher_and_each_service_of_a_card(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    card = vouchers.issue(vouchers.family_card, portal.zhang)
    filling = vouchers.entitlement(card, vouchers.filling)
    scaling = vouchers.entitlement(card, vouchers.scaling)

    page = html(zhang_client.get(url(portal, "coupons")))

    book = url(portal, "book", voucher=voucher.pk)
    assert f'href="{book}">Book with this voucher</a>' in page
    for entitlement, name in ((scaling, "洁治"), (filling, "树脂充填")):
        link = url(portal, "book", voucher=card.pk, entitlement=entitlement.pk)
        assert f'href="{link.replace("&", "&amp;")}">Book {name} with this card</a>' in page


def test_a_booked_voucher_shows_its_visit_instead_of_the_button(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    book_tuesday(zhang_client, vouchers, voucher)

    page = html(zhang_client.get(url(portal, "coupons")))

    assert "Booked for 9/15 (Tomorrow) 10:00" in page
    assert "Book with this voucher" not in page


def test_the_booking_flow_leads_to_the_voucher_step(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    clinic = portal.world.clinic1.pk
    without = html(zhang_client.get(url(portal, "book", clinic=clinic)))
    vouchers.issue(vouchers.free_cleaning, portal.zhang)

    services_page = html(zhang_client.get(url(portal, "book", clinic=clinic)))

    assert "Book with my voucher" not in without
    assert "Book with my voucher" in services_page
    assert "You have 1 voucher to book with" in services_page
    assert f'href="{url(portal, "book_voucher")}"' in services_page


def test_the_voucher_step_lists_the_households_vouchers_only(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    mine = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    spouses = vouchers.issue(vouchers.family_card, portal.li)
    vouchers.issue(vouchers.free_cleaning, portal.wang)  # another family
    with tenant_scope(portal.org):
        cash = coupon_template_create(
            actor=portal.world.boss,
            clinic=portal.world.clinic1,
            data=TemplateData(
                name="现金券", kind=CouponKind.CASH_VOUCHER, amount=Decimal(50), valid_until=TUESDAY
            ),
        )
    vouchers.issue(cash, portal.zhang)  # names no service: not bookable

    page = html(zhang_client.get(url(portal, "book_voucher")))

    assert f'href="{url(portal, "book", voucher=mine.pk)}"' in page
    spouse_link = url(
        portal,
        "book",
        voucher=spouses.pk,
        entitlement=vouchers.entitlement(spouses, vouchers.scaling).pk,
    )
    assert f'href="{spouse_link.replace("&", "&amp;")}"' in page
    assert "For 李四" in page
    assert page.count('class="option voucher-option"') == 3  # one voucher, two card services
    assert "现金券" not in page
    assert "王五" not in page


def test_the_voucher_step_reads_in_a_flat_number_of_queries(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            response = zhang_client.get(url(portal, "book_voucher"))
        assert response.status_code == 200
        return len(queries)

    vouchers.issue(vouchers.family_card, portal.zhang)
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    book_tuesday(zhang_client, vouchers, voucher)
    few = count()
    for _n in range(3):
        vouchers.issue(vouchers.family_card, portal.zhang)
        vouchers.issue(vouchers.family_card, portal.li)

    assert count() == few


def test_the_voucher_step_says_when_there_is_nothing_to_book(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    page = html(zhang_client.get(url(vouchers.portal, "book_voucher")))

    assert "You have no vouchers to book a visit with." in page
    assert f'href="{url(vouchers.portal, "book")}"' in page


# --- the flow -----------------------------------------------------------------------------


def test_the_voucher_picks_its_clinic_and_its_service(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)

    response = zhang_client.get(url(portal, "book", voucher=voucher.pk))

    # Valid at clinic 1 only, and only the cleaning visit is linked to what it pays for.
    assert response.status_code == 302
    assert response["Location"] == url(
        portal,
        "book",
        clinic=portal.world.clinic1.pk,
        type=vouchers.cleaning_visit.pk,
        voucher=voucher.pk,
    )
    doctors = html(zhang_client.get(response["Location"]))
    assert "免费洁牙券" in doctors  # the summary names the voucher
    # Back (and "change the service") go to the voucher step: the voucher chose the service.
    assert f'<a class="bar-back" href="{url(portal, "book_voucher")}"' in doctors


def test_a_card_valid_everywhere_asks_for_the_clinic_then_its_services(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    card = vouchers.issue(vouchers.family_card, portal.zhang)
    filling = vouchers.entitlement(card, vouchers.filling).pk

    clinics = html(zhang_client.get(url(portal, "book", voucher=card.pk, entitlement=filling)))
    services = html(
        zhang_client.get(
            url(
                portal,
                "book",
                voucher=card.pk,
                entitlement=filling,
                clinic=portal.world.clinic1.pk,
            )
        )
    )

    assert "Riverside Clinic" in clinics
    assert "Downtown Clinic" in clinics
    # No visit is linked to fillings: the visits not linked to the catalogue are offered.
    assert "Your voucher pays for: 树脂充填" in services
    assert "Cleaning" in services
    assert "Check-up" in services
    assert "洁牙" not in re.sub(r"<dl class=\"summary\">.*?</dl>", "", services, flags=re.S)
    assert "What is bothering you?" not in services


def test_the_times_stop_at_the_vouchers_last_day(zhang_client: Client, vouchers: Vouchers) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)  # until Tuesday

    page = html(
        zhang_client.get(
            url(
                portal,
                "book",
                clinic=portal.world.clinic1.pk,
                type=vouchers.cleaning_visit.pk,
                doctor="any",
                voucher=voucher.pk,
            )
        )
    )

    days = sorted(set(re.findall(r'data-day="([\d-]+)"', page)))
    assert days == ["2026-09-14", "2026-09-15"]
    assert f"voucher={voucher.pk}" in page
    assert "start=2026-09-15T" in page


def test_a_visit_is_booked_with_the_voucher(zhang_client: Client, vouchers: Vouchers) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    data = confirm_data(vouchers, voucher, "2026-09-15T10:00")
    query = {k: v for k, v in data.items() if k != "patient"}

    confirm = html(zhang_client.get(url(portal, "book_confirm", **query)))
    done = zhang_client.post(url(portal, "book_confirm"), {**data, "note": "请轻一点"})

    assert "免费洁牙券" in confirm
    assert "Pays for 洁治, redeemed when you pay at the clinic" in confirm
    assert f'name="voucher" value="{voucher.pk}"' in confirm
    [appointment] = appointments()
    assert done["Location"] == url(portal, "booking", appointment.pk)
    assert (appointment.patient_id, appointment.start, appointment.appointment_type_id) == (
        portal.zhang.pk,
        at(TUESDAY, "10:00"),
        vouchers.cleaning_visit.pk,
    )
    [booking] = booked()
    assert (booking.coupon_id, booking.entitlement_id, booking.appointment_id) == (
        voucher.pk,
        None,
        appointment.pk,
    )
    detail = html(zhang_client.get(done["Location"]))
    assert "Your booking is made with your voucher 免费洁牙券" in detail
    voucher.refresh_from_db()
    assert voucher.status == CouponStatus.UNUSED  # used when the bill redeems it


def test_a_card_service_is_booked_for_the_family_member_who_holds_it(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    card = vouchers.issue(vouchers.family_card, portal.li)
    scaling = vouchers.entitlement(card, vouchers.scaling)
    data = confirm_data(vouchers, card, "2026-09-15T10:00", entitlement=scaling.pk)
    query = {k: v for k, v in data.items() if k != "patient"}

    confirm = html(zhang_client.get(url(portal, "book_confirm", **query)))
    for_zhang = zhang_client.post(url(portal, "book_confirm"), {**data, "patient": portal.zhang.pk})
    assert for_zhang.status_code == 200  # the holder only
    assert appointments() == []
    zhang_client.post(url(portal, "book_confirm"), data)

    assert "李四" in confirm
    assert "张小宝" not in confirm
    assert "张三" not in confirm.split("<fieldset", 1)[1].split("</fieldset>", 1)[0]
    [appointment] = appointments()
    assert appointment.patient_id == portal.li.pk
    [booking] = booked()
    assert (booking.coupon_id, booking.entitlement_id) == (card.pk, scaling.pk)


def test_a_time_outside_the_vouchers_validity_is_explained(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)  # until Tuesday

    response = zhang_client.post(
        url(portal, "book_confirm"), confirm_data(vouchers, voucher, "2026-09-16T10:00")
    )

    assert response.status_code == 200
    assert "This voucher is valid until 2026-09-15. Please choose a time before then." in html(
        response
    )
    assert appointments() == []  # the booking went back with the voucher
    assert booked() == []


def test_a_voucher_already_booked_cannot_be_booked_again(
    zhang_client: Client, vouchers: Vouchers
) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    book_tuesday(zhang_client, vouchers, voucher)

    again = zhang_client.get(url(portal, "book", voucher=voucher.pk))
    second = zhang_client.post(
        url(portal, "book_confirm"), confirm_data(vouchers, voucher, "2026-09-15T15:00")
    )

    assert again["Location"] == url(portal, "book_voucher")
    assert second["Location"] == url(portal, "book_voucher")
    page = html(zhang_client.get(again["Location"]))
    assert "This voucher cannot be booked now" in page
    assert len(appointments()) == 1
    assert len(booked()) == 1


@pytest.mark.parametrize("whose", ["another_family", "another_organization", "unknown"])
def test_a_voucher_outside_the_household_cannot_be_booked(
    zhang_client: Client, vouchers: Vouchers, whose: str
) -> None:
    portal = vouchers.portal
    world = portal.world
    if whose == "another_family":
        coupon_id = vouchers.issue(vouchers.free_cleaning, portal.wang).pk
    elif whose == "another_organization":
        with tenant_scope(world.org_b, world.clinic_b):
            item_b = CatalogueItem.objects.create(
                code="scaling", name="B 洁治", category=Category.BASIC, price=Decimal(150)
            )
            template_b = coupon_template_create(
                actor=world.boss_b,
                clinic=world.clinic_b,
                data=TemplateData(
                    name="B 洁牙券",
                    kind=CouponKind.SERVICE_VOUCHER,
                    service_items=[item_b],
                    valid_until=TUESDAY,
                ),
            )
            patient_b = patient_create(
                actor=world.boss_b, clinic=world.clinic_b, name="钱七", phone=ZHANG_MOBILE
            )
            coupon_id = coupon_issue(
                actor=world.boss_b, clinic=world.clinic_b, template=template_b, patient=patient_b
            ).pk
    else:
        coupon_id = 999_999
    data = {
        "clinic": world.clinic1.pk,
        "type": vouchers.cleaning_visit.pk,
        "doctor": "any",
        "voucher": coupon_id,
        "start": "2026-09-15T10:00",
        "patient": portal.zhang.pk,
    }

    flow = zhang_client.get(url(portal, "book", voucher=coupon_id))
    posted = zhang_client.post(url(portal, "book_confirm"), data)

    assert flow["Location"] == url(portal, "book_voucher")
    assert posted["Location"] == url(portal, "book_voucher")
    assert appointments() == []
    assert booked() == []


def test_cancelling_online_gives_the_voucher_back(zhang_client: Client, vouchers: Vouchers) -> None:
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)
    done = zhang_client.post(
        url(portal, "book_confirm"), confirm_data(vouchers, voucher, "2026-09-15T10:00")
    )
    [appointment] = appointments()
    assert "Book with this voucher" not in html(zhang_client.get(url(portal, "coupons")))

    zhang_client.post(url(portal, "cancel", appointment.pk), {"reason": "busy"})

    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert "Book with this voucher" in html(zhang_client.get(url(portal, "coupons")))
    again = zhang_client.post(
        url(portal, "book_confirm"), confirm_data(vouchers, voucher, "2026-09-15T15:00")
    )
    assert again["Location"] != done["Location"]
    assert [b.appointment.status for b in booked()] == ["cancelled", "booked"]
