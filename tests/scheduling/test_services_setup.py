"""Setting up the schedule: chairs, appointment types, weekly shifts that never overlap, and
leave that refuses to strand booked patients."""

from __future__ import annotations

from datetime import time

import pytest

from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.scheduling.models import AppointmentType, Chair, DoctorShift, ScheduleException
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_type_create,
    appointment_type_update,
    chair_create,
    chair_update,
    schedule_exception_create,
    schedule_exception_delete,
    shift_create,
    shift_delete,
)
from tests.conftest import World
from tests.scheduling.conftest import MONDAY, Sched, at

pytestmark = pytest.mark.usefixtures("in_clinic1")


def audits(entity_type: str) -> list[str]:
    return list(
        AuditEntry.objects.filter(entity_type=entity_type)
        .order_by("id")
        .values_list("action", flat=True)
    )


# Chairs


def test_chairs_are_named_once_per_clinic(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed) as taken:
        chair_create(actor=world.boss, clinic=world.clinic1, name=" Chair 1 ")
    same_name_elsewhere = chair_create(actor=world.boss, clinic=world.clinic2, name="Chair 2")

    assert list(taken.value.fields) == ["name"]
    assert same_name_elsewhere.clinic == world.clinic2


def test_a_chair_needs_a_name_and_no_chair_at_headquarters(world: World) -> None:
    with pytest.raises(ValidationFailed) as unnamed:
        chair_create(actor=world.boss, clinic=world.clinic1, name="  ")
    with pytest.raises(ValidationFailed):
        chair_create(actor=world.boss, clinic=world.hq, name="Chair 1")

    assert list(unnamed.value.fields) == ["name"]
    assert Chair.objects.count() == 0


def test_editing_a_chair_is_audited_once_per_change(world: World, sched: Sched) -> None:
    chair_update(actor=world.boss, chair=sched.chair1, room="R2", is_active=False)
    chair_update(actor=world.boss, chair=sched.chair1, room="R2")

    chair = Chair.objects.get(pk=sched.chair1.pk)
    assert (chair.room, chair.is_active) == ("R2", False)
    assert audits("scheduling.chair").count("update") == 1


def test_renaming_onto_another_chairs_name_is_refused(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed):
        chair_update(actor=world.boss, chair=sched.chair2, name="Chair 1")


# Appointment types


def test_an_appointment_type_is_shared_by_the_organization(world: World, sched: Sched) -> None:
    stored = AppointmentType.objects.get(code="cleaning")

    assert (stored.duration_minutes, stored.service_codes) == (45, ["scaling"])
    assert audits("scheduling.appointmenttype") == ["create", "create"]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": "Clean Teeth"}, "code"),
        ({"code": "cleaning"}, "code"),
        ({"name": ""}, "name"),
        ({"duration_minutes": 4}, "duration_minutes"),
        ({"duration_minutes": 481}, "duration_minutes"),
        ({"color": "blue"}, "color"),
        ({"service_codes": ["x" * 41]}, "service_codes"),
    ],
)
def test_bad_appointment_types_are_refused_naming_the_field(
    world: World, sched: Sched, values: dict[str, object], field: str
) -> None:
    given: dict[str, object] = {"code": "filling", "name": "Filling", **values}

    with pytest.raises(ValidationFailed) as refused:
        appointment_type_create(actor=world.boss, **given)  # type: ignore[arg-type]

    assert list(refused.value.fields) == [field]


def test_updating_a_type_keeps_its_code(world: World, sched: Sched) -> None:
    updated = appointment_type_update(
        actor=world.boss,
        appointment_type=sched.cleaning,
        name="Deep cleaning",
        duration_minutes=60,
        service_codes=["scaling", "scaling", "polish"],
        is_active=False,
    )

    assert (updated.code, updated.name, updated.duration_minutes) == (
        "cleaning",
        "Deep cleaning",
        60,
    )
    assert updated.service_codes == ["scaling", "polish"]
    assert not updated.is_active


# Shifts


def test_a_doctor_may_work_morning_and_afternoon(world: World, sched: Sched) -> None:
    monday = DoctorShift.objects.filter(doctor=world.doctor, weekday=0).order_by("start")

    assert [(s.start, s.end) for s in monday] == [
        (time(9), time(12)),
        (time(13, 30), time(18)),
    ]


@pytest.mark.parametrize(
    ("start", "end"), [("11:00", "13:00"), ("08:00", "19:00"), ("12:00", "14:00")]
)
def test_overlapping_shifts_are_refused_naming_the_existing_one(
    world: World, sched: Sched, start: str, end: str
) -> None:
    with pytest.raises(Conflict) as refused:
        shift_create(
            actor=world.boss,
            clinic=world.clinic1,
            doctor=world.doctor,
            weekday=0,
            start=time.fromisoformat(start),
            end=time.fromisoformat(end),
        )

    assert refused.value.code == "shift_overlap"
    assert "on Monday at Downtown Clinic" in str(refused.value.message)


def test_a_shift_that_touches_another_is_fine(world: World, sched: Sched) -> None:
    shift = shift_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        weekday=0,
        start=time(12),
        end=time(13, 30),
    )

    assert shift.pk is not None


@pytest.mark.parametrize(
    ("weekday", "start", "end", "field"),
    [(7, "09:00", "10:00", "weekday"), (0, "10:00", "09:00", "end"), (6, "09:00", "09:00", "end")],
)
def test_bad_shifts_are_refused(
    world: World, sched: Sched, weekday: int, start: str, end: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        shift_create(
            actor=world.boss,
            clinic=world.clinic1,
            doctor=world.doctor,
            weekday=weekday,
            start=time.fromisoformat(start),
            end=time.fromisoformat(end),
        )

    assert list(refused.value.fields) == [field]


def test_a_shift_for_someone_not_working_in_the_clinic_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed) as refused:
        shift_create(
            actor=world.boss,
            clinic=world.clinic2,
            doctor=world.doctor,
            weekday=6,
            start=time(9),
            end=time(12),
        )

    assert refused.value.code == "not_working_here"


def test_removing_a_shift_is_audited(world: World, sched: Sched) -> None:
    shift = DoctorShift.objects.filter(doctor=world.doctor).first()
    assert shift is not None

    shift_delete(actor=world.boss, shift=shift)

    assert not DoctorShift.objects.filter(pk=shift.pk).exists()
    entry = AuditEntry.objects.filter(entity_type="scheduling.doctorshift", action="delete").get()
    assert entry.entity_id == str(shift.pk)
    assert entry.before is not None


# Leave and extra shifts


def test_whole_day_leave_and_an_extra_shift(world: World, sched: Sched) -> None:
    leave = schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=MONDAY,
        kind="leave",
        reason="Conference",
    )
    extra = schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=MONDAY,
        kind="extra",
        start=time(19),
        end=time(21),
    )

    assert leave.whole_day
    assert (extra.start, extra.end) == (time(19), time(21))
    assert audits("scheduling.scheduleexception") == ["create", "create"]


@pytest.mark.parametrize(
    ("kind", "start", "end", "field"),
    [
        ("extra", None, None, "start"),
        ("leave", time(9), None, "end"),
        ("leave", time(10), time(9), "end"),
        ("holiday", None, None, "kind"),
    ],
)
def test_bad_exceptions_are_refused(
    world: World, sched: Sched, kind: str, start: time | None, end: time | None, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        schedule_exception_create(
            actor=world.boss,
            clinic=world.clinic1,
            doctor=world.doctor,
            day=MONDAY,
            kind=kind,
            start=start,
            end=end,
        )

    assert list(refused.value.fields) == [field]


def test_leave_over_booked_patients_is_refused_until_they_are_moved(
    world: World, sched: Sched
) -> None:
    booked = appointment_book(
        clinic=world.clinic1,
        patient=sched.zhang,
        doctor=world.doctor,
        start=at(MONDAY, "10:00"),
        end=at(MONDAY, "10:30"),
        actor=world.frontdesk,
    )
    leave = {
        "actor": world.boss,
        "clinic": world.clinic1,
        "doctor": world.doctor,
        "day": MONDAY,
        "kind": "leave",
        "start": time(9),
        "end": time(12),
    }

    with pytest.raises(Conflict) as refused:
        schedule_exception_create(**leave)  # type: ignore[arg-type]
    appointment_cancel(appointment=booked, actor=world.frontdesk, reason="Doctor away")
    created = schedule_exception_create(**leave)  # type: ignore[arg-type]

    assert refused.value.code == "appointments_in_the_way"
    assert str(refused.value.message) == (
        "Dr. Li has 张三 from 10:00 to 10:30 that day (1 appointment in the leave): "
        "move or cancel it first."
    )
    assert created.pk is not None


def test_removing_an_exception_is_audited(world: World, sched: Sched) -> None:
    leave = schedule_exception_create(
        actor=world.boss, clinic=world.clinic1, doctor=world.doctor, day=MONDAY, kind="leave"
    )

    schedule_exception_delete(actor=world.boss, exception=leave)

    assert not ScheduleException.objects.exists()
    assert audits("scheduling.scheduleexception") == ["create", "delete"]
