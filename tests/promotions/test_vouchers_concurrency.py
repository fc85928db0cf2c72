"""Booking one voucher from several places at once, on PostgreSQL with real threads: a
service voucher booked for ten visits at once is reserved for one; a combo card's two
cleanings booked for ten visits at once are reserved for exactly two."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection

from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import Coupon, Entitlement, VoucherBooking
from chairside.promotions.services.coupons import coupon_issue
from chairside.promotions.services.vouchers import VoucherError, voucher_book
from chairside.scheduling.models import Appointment
from chairside.scheduling.services import appointment_book, appointment_type_create
from tests.clock import SHANGHAI
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.promotions.conftest import Shop, Templates

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 10


def _visits(world: World, shop: Shop) -> list[Appointment]:
    """Ten visits of 张三 on ten days, at clinic 1."""
    with tenant_scope(world.org, world.clinic1):
        kind = appointment_type_create(
            actor=world.boss, code="scaling", name="洁牙", service_codes=["scaling"]
        )
        first = date(2026, 9, 15)
        return [
            appointment_book(
                clinic=world.clinic1,
                patient=shop.zhang,
                doctor=world.doctor,
                start=datetime.combine(first + timedelta(days=n), datetime.min.time()).replace(
                    hour=10, tzinfo=SHANGHAI
                ),
                appointment_type=kind,
                actor=world.frontdesk,
                allow_outside_hours=True,
            )
            for n in range(THREADS)
        ]


def _race(
    world: World, coupon: Coupon, entitlement: Entitlement | None, visits: list[Appointment]
) -> list[object]:
    def book(i: int) -> object:
        with tenant_scope(world.org, world.clinic1):
            return voucher_book(coupon=coupon, entitlement=entitlement, appointment=visits[i])

    return run_concurrently(book, THREADS)


def test_ten_bookings_of_one_service_voucher_at_once_reserve_it_once(
    world: World, shop: Shop, templates: Templates
) -> None:
    assert connection.vendor == "postgresql"
    visits = _visits(world, shop)
    with tenant_scope(world.org, world.clinic1):
        voucher = coupon_issue(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=templates.free_cleaning,
            patient=shop.zhang,
        )

    results = _race(world, voucher, None, visits)

    booked = [r for r in results if isinstance(r, VoucherBooking)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(booked) == 1, results
    assert len(refused) == THREADS - 1, results
    assert {r.code for r in refused} == {VoucherError.ALREADY_BOOKED}
    with tenant_scope(world.org):
        assert VoucherBooking.objects.filter(coupon=voucher).count() == 1


def test_ten_bookings_of_a_cards_two_cleanings_at_once_reserve_two(
    world: World, shop: Shop, templates: Templates
) -> None:
    visits = _visits(world, shop)
    with tenant_scope(world.org, world.clinic1):
        card = coupon_issue(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=templates.family_card,
            patient=shop.zhang,
        )
        cleaning = card.template.entitlements.get(item=shop.cleaning)
        assert cleaning.count == 2

    results = _race(world, card, cleaning, visits)

    booked = [r for r in results if isinstance(r, VoucherBooking)]
    assert len(booked) == 2, results
    assert all(isinstance(r, Conflict) for r in results if r not in booked), results
    with tenant_scope(world.org):
        assert VoucherBooking.objects.filter(coupon=card, entitlement=cleaning).count() == 2
