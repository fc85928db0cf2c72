"""Races on PostgreSQL: a sign-in code checked by many requests at once signs in once, and a
booking button tapped many times books once, even with two doctors free."""

from __future__ import annotations

from typing import Any

import pytest

from chairside.core.errors import DomainError
from chairside.core.tenancy import tenant_scope
from chairside.portal import services
from chairside.portal.services import SignIn
from chairside.scheduling.models import Appointment
from tests.concurrency import run_concurrently
from tests.portal.conftest import MONDAY, ZHANG_MOBILE, Portal, at, last_code

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 10


def test_one_code_checked_ten_times_at_once_signs_in_once(portal: Portal) -> None:
    with tenant_scope(portal.org):
        services.login_code_request(organization=portal.org, phone=ZHANG_MOBILE, client_ip="a")
    code = last_code(portal.org, ZHANG_MOBILE)

    def verify(i: int) -> Any:
        with tenant_scope(portal.org):
            return services.login_code_verify(
                organization=portal.org, phone=ZHANG_MOBILE, code=code, client_ip=f"ip-{i}"
            )

    results = run_concurrently(verify, THREADS)

    assert len([r for r in results if isinstance(r, SignIn)]) == 1
    assert all(isinstance(r, DomainError) for r in results if not isinstance(r, SignIn)), results


def test_ten_taps_on_book_make_one_appointment(portal: Portal) -> None:
    def tap(i: int) -> Any:
        with tenant_scope(portal.org):
            return services.online_appointment_book(
                clinic=portal.world.clinic1,
                patient=portal.zhang,
                appointment_type=portal.cleaning,
                start=at(MONDAY, "10:00"),
                doctor=None,  # two doctors are free: only the patient's lock stops a second
            )

    results = run_concurrently(tap, THREADS)

    booked = [r for r in results if isinstance(r, Appointment)]
    assert len(booked) == 1, results
    assert all(isinstance(r, DomainError) for r in results if not isinstance(r, Appointment))
    with tenant_scope(portal.org):
        assert Appointment.objects.count() == 1
