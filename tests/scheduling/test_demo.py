"""The demo schedules: set-up per clinic and two weeks of appointments that never clash."""

from __future__ import annotations

from itertools import pairwise

from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_create
from chairside.scheduling.demo import seed_schedules
from chairside.scheduling.models import (
    RELEASED_STATUSES,
    Appointment,
    AppointmentType,
    Chair,
    DoctorShift,
)
from tests.conftest import World
from tests.scheduling.conftest import NOW


def test_seed_schedules_fills_two_weeks_without_a_clash(world: World) -> None:
    with tenant_scope(world.org, world.clinic1):
        for i in range(30):
            patient_create(actor=world.boss, clinic=world.clinic1, name=f"患者{i}")

    made = seed_schedules(world.org)

    with tenant_scope(world.org):
        assert Chair.objects.filter(clinic=world.clinic1).count() == 3
        assert Chair.objects.filter(clinic=world.clinic2).count() == 3
        names = set(AppointmentType.objects.values_list("name", flat=True))
        assert {"初诊", "洁牙", "根管治疗", "儿童涂氟"} <= names
        assert len(names) == 9
        assert DoctorShift.objects.filter(doctor=world.doctor).count() == 12
        appointments = list(Appointment.objects.order_by("doctor_id", "start"))
        assert made == len(appointments) > 50
        active = [a for a in appointments if a.status not in RELEASED_STATUSES]
        for before, after in pairwise(active):
            assert before.doctor_id != after.doctor_id or before.end <= after.start
        past = {a.status for a in appointments if a.end <= NOW}
        future = {a.status for a in appointments if a.start > NOW}
        assert {"completed", "no_show", "cancelled"} <= past
        assert future <= {"booked", "confirmed", "cancelled"}
        assert all(a.events.exists() for a in appointments[:5])

    assert seed_schedules(world.org) == 0
