"""Scheduling fixtures: a stopped clock, patients, chairs, appointment types and Dr. Li's week.

The clock stands at Monday 2026-09-14 08:00 in Shanghai, a week before the make-up workday
of Sunday 2026-09-20 and the National Day holiday (2026-10-01..07); tests move it with
`clock.set(...)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

import pytest
from django.utils import translation

from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling.models import AppointmentType, Chair
from chairside.scheduling.services import appointment_type_create, chair_create, shift_create
from tests.clock import SHANGHAI, Clock, stop_clock
from tests.conftest import World

MONDAY = date(2026, 9, 14)
TUESDAY = date(2026, 9, 15)
NOW = datetime(2026, 9, 14, 8, 0, tzinfo=SHANGHAI)


def at(day: date, hhmm: str) -> datetime:
    """`hhmm` o'clock on `day` in Shanghai."""
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # Messages are asserted in their English source text, whatever the default language.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return stop_clock(monkeypatch, NOW)


@dataclass
class Sched:
    """Organization A's patients, chairs and types; Dr. Li works Mon-Sat at clinic 1."""

    zhang: Patient
    li: Patient
    wang: Patient
    chair1: Chair
    chair2: Chair
    chair_c2: Chair  # in clinic 2
    cleaning: AppointmentType  # 45 minutes
    checkup: AppointmentType  # 30 minutes
    doctor: Staff
    patient_b: Patient  # organization B
    chair_b: Chair
    type_b: AppointmentType


def week_of_shifts(world: World, doctor: Staff) -> None:
    """Monday to Saturday 09:00-12:00 and 13:30-18:00 at clinic 1."""
    for weekday in range(6):
        for start, end in (("09:00", "12:00"), ("13:30", "18:00")):
            shift_create(
                actor=world.boss,
                clinic=world.clinic1,
                doctor=doctor,
                weekday=weekday,
                start=time.fromisoformat(start),
                end=time.fromisoformat(end),
            )


@pytest.fixture
def sched(world: World) -> Sched:
    with tenant_scope(world.org, world.clinic1):
        zhang = patient_create(actor=world.boss, clinic=world.clinic1, name="张三")
        li = patient_create(actor=world.boss, clinic=world.clinic1, name="李四")
        wang = patient_create(actor=world.boss, clinic=world.clinic2, name="王五")
        chair1 = chair_create(actor=world.boss, clinic=world.clinic1, name="Chair 1", room="R1")
        chair2 = chair_create(actor=world.boss, clinic=world.clinic1, name="Chair 2", room="R1")
        chair_c2 = chair_create(actor=world.boss, clinic=world.clinic2, name="Chair 1")
        cleaning = appointment_type_create(
            actor=world.boss,
            code="cleaning",
            name="Cleaning",
            duration_minutes=45,
            service_codes=["scaling"],
        )
        checkup = appointment_type_create(
            actor=world.boss, code="checkup", name="Check-up", duration_minutes=30
        )
        week_of_shifts(world, world.doctor)
    with tenant_scope(world.org_b, world.clinic_b):
        patient_b = patient_create(actor=world.boss_b, clinic=world.clinic_b, name="赵六")
        chair_b = chair_create(actor=world.boss_b, clinic=world.clinic_b, name="B chair")
        type_b = appointment_type_create(actor=world.boss_b, code="b-type", name="B type")
    return Sched(
        zhang,
        li,
        wang,
        chair1,
        chair2,
        chair_c2,
        cleaning,
        checkup,
        world.doctor,
        patient_b,
        chair_b,
        type_b,
    )


@pytest.fixture
def in_clinic1(world: World) -> Iterator[None]:
    with tenant_scope(world.org, world.clinic1):
        yield
