"""Registrations, tags and families racing each other on PostgreSQL: numbers stay unique."""

from __future__ import annotations

from datetime import date

import pytest

from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.resident_id import make_resident_id
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient, PatientTag
from chairside.patients.services import patient_create, patient_tag_add, tag_create
from tests.concurrency import run_concurrently
from tests.conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_simultaneous_registrations_get_distinct_consecutive_record_numbers(world: World) -> None:
    def register(i: int) -> str:
        with tenant_scope(world.org, world.clinic1):
            return patient_create(
                actor=world.frontdesk, clinic=world.clinic1, name=f"患者{i}"
            ).record_no

    numbers = run_concurrently(register, 8)

    assert all(isinstance(n, str) for n in numbers), numbers
    assert sorted(numbers) == [f"{n:08d}" for n in range(1, 9)]


def test_the_same_id_number_registered_twice_at_once_is_stored_once(world: World) -> None:
    id_number = make_resident_id("110101", date(1990, 3, 7), 451)

    def register(i: int) -> Patient:
        with tenant_scope(world.org, world.clinic1):
            return patient_create(
                actor=world.frontdesk, clinic=world.clinic1, name="张三", id_number=id_number
            )

    results = run_concurrently(register, 4)

    assert sum(isinstance(r, Patient) for r in results) == 1
    failures = [r for r in results if not isinstance(r, Patient)]
    assert all(isinstance(f, ValidationFailed) and "id_number" in f.fields for f in failures)
    with tenant_scope(world.org):
        assert Patient.objects.count() == 1
        assert AuditEntry.objects.filter(action=AuditEntry.Action.CREATE).count() == 1


def test_one_tag_added_by_several_clerks_at_once_links_once(world: World) -> None:
    with tenant_scope(world.org, world.clinic1):
        patient = patient_create(actor=world.frontdesk, clinic=world.clinic1, name="李四")
        tag = tag_create(actor=world.boss, name="VIP")

    def add(i: int) -> None:
        with tenant_scope(world.org, world.clinic1):
            patient_tag_add(actor=world.frontdesk, clinic=world.clinic1, patient=patient, tag=tag)

    results = run_concurrently(add, 6)

    assert results == [None] * 6
    with tenant_scope(world.org):
        assert PatientTag.objects.filter(patient=patient, tag=tag).count() == 1
