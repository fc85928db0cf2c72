"""One voucher booked from several tabs at once, on PostgreSQL with real threads: one tab
books its visit with the voucher; the others are refused as already booked, and their
visits are not made either (the booking and the reservation are one transaction)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from chairside.core.errors import DomainError
from chairside.core.tenancy import tenant_scope
from chairside.portal import services
from chairside.promotions.models import VoucherBooking
from chairside.promotions.services.vouchers import VoucherError
from chairside.scheduling.models import Appointment
from tests.concurrency import run_concurrently
from tests.portal.conftest import TUESDAY, at
from tests.portal.test_voucher_booking import Vouchers
from tests.portal.test_voucher_booking import vouchers as vouchers  # the fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Different free times of Tuesday, one per tab.
TIMES = ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00"]


def test_one_voucher_booked_from_six_tabs_at_once_books_one_visit(vouchers: Vouchers) -> None:
    assert connection.vendor == "postgresql"
    portal = vouchers.portal
    voucher = vouchers.issue(vouchers.free_cleaning, portal.zhang)

    def tab(i: int) -> Any:
        with tenant_scope(portal.org):
            return services.online_appointment_book(
                clinic=portal.world.clinic1,
                patient=portal.zhang,
                appointment_type=vouchers.cleaning_visit,
                start=at(TUESDAY, TIMES[i]),
                doctor=None,
                voucher=voucher,
            )

    results = run_concurrently(tab, len(TIMES))

    made = [r for r in results if isinstance(r, Appointment)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(made) == 1, results
    assert len(refused) == len(TIMES) - 1, results
    assert {str(r.code) for r in refused} == {VoucherError.ALREADY_BOOKED}
    with tenant_scope(portal.org):
        assert list(Appointment.objects.values_list("pk", flat=True)) == [made[0].pk]
        [booking] = VoucherBooking.objects.all()
    assert (booking.coupon_id, booking.appointment_id) == (voucher.pk, made[0].pk)
