"""Fifty clerks booking the same doctor or chair at the same moment on PostgreSQL: exactly one
wins, the others are told who has the slot, and the exclusion constraints stand behind it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from chairside.core.errors import Conflict
from chairside.core.models import Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling.models import Appointment, AppointmentEvent
from chairside.scheduling.services import appointment_book, appointment_cancel
from chairside.scheduling.services import appointments as appointment_services
from tests.concurrency import run_concurrently
from tests.conftest import PASSWORD, World
from tests.scheduling.conftest import MONDAY, Sched, at

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50


def _patients(world: World, count: int) -> list[Patient]:
    with tenant_scope(world.org, world.clinic1):
        return [
            patient_create(actor=world.frontdesk, clinic=world.clinic1, name=f"患者{i}")
            for i in range(count)
        ]


def _outcome(results: list[Any]) -> tuple[list[Appointment], list[Any]]:
    booked = [r for r in results if isinstance(r, Appointment)]
    return booked, [r for r in results if not isinstance(r, Appointment)]


def test_fifty_bookings_of_one_doctor_at_one_time_make_one_appointment(
    world: World, sched: Sched
) -> None:
    patients = _patients(world, THREADS)

    def book(i: int) -> Appointment:
        with tenant_scope(world.org, world.clinic1):
            return appointment_book(
                clinic=world.clinic1,
                patient=patients[i],
                doctor=world.doctor,
                start=at(MONDAY, "09:00"),
                end=at(MONDAY, "09:30"),
                actor=world.frontdesk,
            )

    booked, refused = _outcome(run_concurrently(book, THREADS))

    assert len(booked) == 1
    assert len(refused) == THREADS - 1
    assert all(isinstance(r, Conflict) and r.code == "double_booked" for r in refused), refused
    winner = booked[0].patient.name
    assert {str(r.message) for r in refused} == {
        f"Dr. Li already has {winner} from 09:00 to 09:30."
    }
    with tenant_scope(world.org):
        assert Appointment.objects.count() == 1
        assert AppointmentEvent.objects.count() == 1


def test_fifty_bookings_of_one_chair_with_fifty_doctors_make_one_appointment(
    world: World, sched: Sched
) -> None:
    patients = _patients(world, THREADS)
    doctors: list[Staff] = [
        staff_create(
            organization=world.org,
            username=f"dr-{i}",
            display_name=f"Dr. {i}",
            password=PASSWORD,
            roles=[("doctor", world.clinic1)],
        )
        for i in range(THREADS)
    ]

    def book(i: int) -> Appointment:
        with tenant_scope(world.org, world.clinic1):
            return appointment_book(
                clinic=world.clinic1,
                patient=patients[i],
                doctor=doctors[i],
                chair=sched.chair1,
                start=at(MONDAY, "10:00"),
                end=at(MONDAY, "10:45"),
                actor=world.frontdesk,
                allow_outside_hours=True,
            )

    booked, refused = _outcome(run_concurrently(book, THREADS))

    assert len(booked) == 1
    assert len(refused) == THREADS - 1
    assert all(isinstance(r, Conflict) and list(r.fields) == ["chair_id"] for r in refused)
    with tenant_scope(world.org):
        assert Appointment.objects.filter(chair=sched.chair1).count() == 1


def _constraints() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint "
            "WHERE conrelid = 'scheduling_appointment'::regclass AND contype = 'x'"
        )
        return {row[0] for row in cursor.fetchall()}


def test_the_exclusion_constraints_exist(db: None) -> None:
    assert _constraints() == {"appointment_doctor_no_overlap", "appointment_chair_no_overlap"}


def _raw(world: World, sched: Sched, begins: str, ends: str, **kw: Any) -> Appointment:
    values: dict[str, Any] = {"patient": sched.li, "doctor": world.doctor, "chair": None}
    values.update(kw)
    return Appointment.objects.create(
        organization=world.org,
        clinic=world.clinic1,
        start=at(MONDAY, begins),
        end=at(MONDAY, ends),
        **values,
    )


def test_the_constraints_refuse_overlaps_written_past_the_services(
    world: World, sched: Sched
) -> None:
    with tenant_scope(world.org, world.clinic1):
        _raw(world, sched, "09:00", "09:30", chair=sched.chair1)
        other = staff_create(
            organization=world.org,
            username="dr-wang",
            display_name="Dr. Wang",
            password=PASSWORD,
            roles=[("doctor", world.clinic1)],
        )

        doctor_clash = pytest.raises(IntegrityError, match="appointment_doctor_no_overlap")
        with doctor_clash, transaction.atomic():
            _raw(world, sched, "09:15", "09:45")
        chair_clash = pytest.raises(IntegrityError, match="appointment_chair_no_overlap")
        with chair_clash, transaction.atomic():
            _raw(world, sched, "09:15", "09:45", doctor=other, chair=sched.chair1)
        # Touching is not overlapping, and released appointments hold nothing.
        _raw(world, sched, "09:30", "10:00", chair=sched.chair1)
        _raw(world, sched, "09:00", "09:30", status="cancelled", chair=sched.chair1)
        _raw(world, sched, "09:00", "09:30", doctor=other, status="no_show")

        assert Appointment.objects.count() == 4


def test_a_race_past_the_lock_still_answers_409_naming_the_clash(
    world: World, sched: Sched, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tenant_scope(world.org, world.clinic1):
        existing = appointment_book(
            clinic=world.clinic1,
            patient=sched.zhang,
            doctor=world.doctor,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.frontdesk,
        )
        # As if the check had run before the other booking committed: only the constraint
        # is left to catch it.
        real_clash = appointment_services._clash
        calls = {"n": 0}

        def blind_first_time(appointment: Appointment, **resource: Any) -> Appointment | None:
            calls["n"] += 1
            return None if calls["n"] == 1 else real_clash(appointment, **resource)

        monkeypatch.setattr(appointment_services, "_clash", blind_first_time)

        with pytest.raises(Conflict) as refused:
            appointment_book(
                clinic=world.clinic1,
                patient=sched.li,
                doctor=world.doctor,
                start=at(MONDAY, "09:10"),
                end=at(MONDAY, "09:40"),
                actor=world.frontdesk,
            )

        assert str(refused.value.message) == "Dr. Li already has 张三 from 09:00 to 09:30."
        assert Appointment.objects.count() == 1
        # The booking's transaction is still usable after the refused insert.
        appointment_cancel(appointment=existing, actor=world.frontdesk, reason="x")
