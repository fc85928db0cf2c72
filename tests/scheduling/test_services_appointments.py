"""The appointment lifecycle: booking rules, double-booking refused with the clash named,
every step kept in the history and the audit log, rescheduling that remembers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from chairside.patients.services import patient_archive
from chairside.scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSource,
    AppointmentStatus,
    ScheduleException,
)
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_confirm,
    appointment_mark_no_show,
    appointment_reschedule,
    appointment_start,
    appointment_walk_in,
    chair_update,
    schedule_exception_create,
)
from tests.conftest import PASSWORD, World
from tests.scheduling.conftest import MONDAY, TUESDAY, Clock, Sched, at

pytestmark = pytest.mark.usefixtures("in_clinic1")


def book(world: World, sched: Sched, begins: str = "09:00", ends: str = "09:30", **kw: Any) -> Any:
    """Book Zhang with Dr. Li on Monday from `begins` to `ends` (keywords override)."""
    values: dict[str, Any] = {
        "clinic": world.clinic1,
        "patient": sched.zhang,
        "doctor": world.doctor,
        "start": at(MONDAY, begins),
        "end": at(MONDAY, ends),
        "actor": world.frontdesk,
    }
    values.update(kw)
    return appointment_book(**values)


def history(appointment: Appointment) -> list[tuple[str, str, str]]:
    return [
        (e.kind, e.from_status, e.to_status)
        for e in AppointmentEvent.objects.filter(appointment=appointment).order_by("id")
    ]


# Booking


def test_a_booking_is_stored_in_utc_with_its_history_and_audit(world: World, sched: Sched) -> None:
    appointment = book(world, sched, chair=sched.chair1, appointment_type=sched.checkup)

    stored = Appointment.objects.get(pk=appointment.pk)
    assert stored.start == at(MONDAY, "09:00")
    assert stored.start.utcoffset() == timedelta(0)
    assert (stored.status, stored.source, stored.booked_by) == (
        "booked",
        "front_desk",
        world.frontdesk,
    )
    assert history(stored) == [("created", "", "booked")]
    entry = AuditEntry.objects.get(entity_type="scheduling.appointment", entity_id=str(stored.pk))
    assert entry.action == "create"
    assert entry.actor == world.frontdesk
    assert "张三" in entry.summary


def test_no_end_takes_the_types_duration_and_naive_times_are_the_clinics_clock(
    world: World, sched: Sched
) -> None:
    naive = at(MONDAY, "10:00").replace(tzinfo=None)

    appointment = appointment_book(
        clinic=world.clinic1,
        patient=sched.zhang,
        doctor=world.doctor,
        start=naive,
        appointment_type=sched.cleaning,
        actor=world.frontdesk,
    )

    assert appointment.start == at(MONDAY, "10:00")
    assert appointment.end == at(MONDAY, "10:45")


def test_the_same_doctor_at_an_overlapping_time_is_refused_naming_the_clash(
    world: World, sched: Sched
) -> None:
    book(world, sched, "09:00", "09:30")

    with pytest.raises(Conflict) as refused:
        book(world, sched, "09:15", "09:45", patient=sched.li)

    assert str(refused.value.message) == "Dr. Li already has 张三 from 09:00 to 09:30."
    assert refused.value.code == "double_booked"
    assert refused.value.fields == {"doctor_id": [refused.value.message]}
    assert Appointment.objects.count() == 1


def test_a_booking_inside_a_longer_one_is_refused(world: World, sched: Sched) -> None:
    book(world, sched, "09:00", "11:00")

    with pytest.raises(Conflict):
        book(world, sched, "09:30", "10:00", patient=sched.li)


def test_back_to_back_bookings_touch_without_overlapping(world: World, sched: Sched) -> None:
    first = book(world, sched, "09:00", "09:30", chair=sched.chair1)

    second = book(world, sched, "09:30", "10:00", patient=sched.li, chair=sched.chair1)
    before = book(world, sched, "08:30", "09:00", patient=sched.wang, allow_outside_hours=True)

    assert first.end == second.start
    assert before.end == first.start
    assert Appointment.objects.count() == 3


def test_a_taken_chair_is_refused_even_with_another_doctor(world: World, sched: Sched) -> None:
    other = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    book(world, sched, "09:00", "10:00", chair=sched.chair1)

    with pytest.raises(Conflict) as refused:
        book(
            world,
            sched,
            "09:30",
            "10:30",
            patient=sched.li,
            doctor=other,
            chair=sched.chair1,
            allow_outside_hours=True,
        )

    assert str(refused.value.message) == (
        "Chair 1 is already taken by 张三 (Dr. Li) from 09:00 to 10:00."
    )
    assert list(refused.value.fields) == ["chair_id"]
    # The other chair is free.
    book(
        world,
        sched,
        "09:30",
        "10:30",
        patient=sched.li,
        doctor=other,
        chair=sched.chair2,
        allow_outside_hours=True,
    )


def test_a_clash_in_another_clinic_names_that_clinic(world: World, sched: Sched) -> None:
    staff_create(
        organization=world.org,
        username="dr-li-2",
        display_name="Dr. Li 2",
        password=PASSWORD,
        roles=[("doctor", world.clinic2)],
    )
    boss_doctor = world.boss  # the owner treats patients in every clinic
    appointment_book(
        clinic=world.clinic2,
        patient=sched.wang,
        doctor=boss_doctor,
        start=at(MONDAY, "09:00"),
        end=at(MONDAY, "10:00"),
        actor=world.boss,
        allow_outside_hours=True,
    )

    with pytest.raises(Conflict) as refused:
        book(world, sched, "09:30", "10:00", doctor=boss_doctor, allow_outside_hours=True)

    assert str(refused.value.message) == (
        "Boss already has 王五 from 09:00 to 10:00 at Riverside Clinic."
    )


def test_cancelled_and_no_show_appointments_free_their_time(
    world: World, sched: Sched, clock: Clock
) -> None:
    cancelled = book(world, sched, "09:00", "09:30", chair=sched.chair1)
    appointment_cancel(appointment=cancelled, actor=world.frontdesk, reason="Patient is ill")
    missed = book(world, sched, "10:00", "10:30", chair=sched.chair1)
    clock.set(at(MONDAY, "10:20"))
    appointment_mark_no_show(appointment=missed, actor=world.frontdesk)
    clock.set(at(MONDAY, "08:00"))

    book(world, sched, "09:00", "09:30", patient=sched.li, chair=sched.chair1)
    book(world, sched, "10:00", "10:30", patient=sched.li, chair=sched.chair1)

    assert Appointment.objects.filter(status="booked").count() == 2


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("09:30", "09:00", "end"),
        ("09:30", "09:30", "end"),
    ],
)
def test_an_end_not_after_the_start_is_refused(
    world: World, sched: Sched, start: str, end: str, field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        book(world, sched, start, end)

    assert list(refused.value.fields) == [field]


def test_longer_than_twelve_hours_and_far_years_are_refused(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed):
        book(world, sched, "09:00", "09:00", end=at(TUESDAY, "09:30"), allow_outside_hours=True)
    with pytest.raises(ValidationFailed) as refused:
        book(world, sched, start=at(MONDAY, "09:00").replace(year=1999))
    assert list(refused.value.fields) == ["start"]


def test_outside_working_hours_is_refused_with_the_hours_of_the_day(
    world: World, sched: Sched
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        book(world, sched, "11:45", "12:15")

    assert refused.value.code == "outside_working_hours"
    assert str(refused.value.message) == (
        "Dr. Li does not work at Downtown Clinic from 11:45 to 12:15 on 2026-09-14 "
        "(working hours that day: 09:00-12:00, 13:30-18:00)."
    )


def test_the_front_desk_may_book_outside_hours_on_purpose(world: World, sched: Sched) -> None:
    appointment = book(world, sched, "19:00", "19:30", allow_outside_hours=True)

    assert appointment.start == at(MONDAY, "19:00")


def test_leave_takes_the_time_out_of_working_hours(world: World, sched: Sched) -> None:
    schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=MONDAY,
        kind=ScheduleException.Kind.LEAVE,
    )

    with pytest.raises(ValidationFailed) as refused:
        book(world, sched, "09:00", "09:30")

    assert "working hours that day: none" in str(refused.value.message)


def test_a_doctor_without_a_role_in_the_clinic_cannot_be_booked_there(
    world: World, sched: Sched
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        appointment_book(
            clinic=world.clinic2,
            patient=sched.zhang,
            doctor=world.doctor,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.boss,
            allow_outside_hours=True,
        )

    assert refused.value.code == "not_working_here"
    assert str(refused.value.message) == "Dr. Li does not work at Riverside Clinic."


def test_a_chair_of_another_clinic_or_out_of_service_is_refused(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed) as elsewhere:
        book(world, sched, chair=sched.chair_c2)
    chair_update(actor=world.boss, chair=sched.chair2, is_active=False)
    sched.chair2.refresh_from_db()
    with pytest.raises(ValidationFailed) as retired:
        book(world, sched, chair=sched.chair2)

    assert list(elsewhere.value.fields) == ["chair_id"]
    assert str(retired.value.message) == "Chair 2 is out of service."


def test_headquarters_does_not_take_appointments(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed):
        book(world, sched, clinic=world.hq, doctor=world.boss, allow_outside_hours=True)


def test_an_archived_patient_cannot_be_booked(world: World, sched: Sched) -> None:
    patient_archive(actor=world.boss, clinic=world.clinic1, patient=sched.li)
    sched.li.refresh_from_db()

    with pytest.raises(ValidationFailed) as refused:
        book(world, sched, patient=sched.li)

    assert list(refused.value.fields) == ["patient_id"]


def test_a_patient_of_another_organization_is_not_found(world: World, sched: Sched) -> None:
    with pytest.raises(NotFound):
        book(world, sched, patient=sched.patient_b)
    assert Appointment.objects.count() == 0


def test_online_bookings_cannot_be_in_the_past_or_outside_hours(
    world: World, sched: Sched, clock: Clock
) -> None:
    clock.set(at(MONDAY, "10:00"))
    online = {"source": AppointmentSource.PORTAL, "actor": None}

    with pytest.raises(ValidationFailed) as past:
        book(world, sched, "09:00", "09:30", **online)
    with pytest.raises(ValidationFailed) as late:
        book(world, sched, "19:00", "19:30", allow_outside_hours=True, **online)
    booked = book(world, sched, "10:30", "11:00", **online)

    assert str(past.value.message) == "This time has already passed; choose a later one."
    assert late.value.code == "outside_working_hours"
    assert (booked.source, booked.booked_by) == ("portal", None)
    assert history(booked) == [("created", "", "booked")]


def test_an_unknown_source_is_refused(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed) as refused:
        book(world, sched, source="fax")

    assert list(refused.value.fields) == ["source"]


def test_the_check_constraint_refuses_an_end_before_the_start(world: World, sched: Sched) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(
            clinic=world.clinic1,
            patient=sched.zhang,
            doctor=world.doctor,
            start=at(MONDAY, "10:00"),
            end=at(MONDAY, "09:00"),
        )


# Lifecycle


def test_the_whole_visit_is_kept_in_the_history(world: World, sched: Sched, clock: Clock) -> None:
    appointment = book(world, sched, "09:00", "09:30")
    appointment = appointment_confirm(appointment=appointment, actor=None)
    clock.set(at(MONDAY, "08:55"))
    appointment = appointment_check_in(appointment=appointment, actor=world.frontdesk)
    clock.set(at(MONDAY, "09:02"))
    appointment = appointment_start(appointment=appointment, actor=world.doctor)
    clock.set(at(MONDAY, "09:31"))
    appointment = appointment_complete(appointment=appointment, actor=world.doctor)

    stored = Appointment.objects.get(pk=appointment.pk)
    assert stored.status == "completed"
    assert (stored.arrived_at, stored.started_at, stored.completed_at) == (
        at(MONDAY, "08:55"),
        at(MONDAY, "09:02"),
        at(MONDAY, "09:31"),
    )
    assert history(stored) == [
        ("created", "", "booked"),
        ("status_changed", "booked", "confirmed"),
        ("status_changed", "confirmed", "arrived"),
        ("status_changed", "arrived", "in_treatment"),
        ("status_changed", "in_treatment", "completed"),
    ]
    actors = [e.actor for e in AppointmentEvent.objects.filter(appointment=stored).order_by("id")]
    assert actors == [world.frontdesk, None, world.frontdesk, world.doctor, world.doctor]
    audits = AuditEntry.objects.filter(entity_type="scheduling.appointment").order_by("id")
    assert [a.action for a in audits] == ["create"] + ["update"] * 4
    assert audits.last().before["status"] == "in_treatment"  # type: ignore[union-attr]
    assert audits.last().after["status"] == "completed"  # type: ignore[union-attr]


def test_a_completed_visit_is_the_patients_last_visit(
    world: World, sched: Sched, clock: Clock
) -> None:
    later = book(world, sched, "10:00", "10:30")
    earlier = book(world, sched, "09:00", "09:30")
    for appointment, arrives in ((later, "09:58"), (earlier, "08:57")):
        clock.set(at(MONDAY, arrives))
        appointment_check_in(appointment=appointment, actor=world.frontdesk)
        appointment_start(appointment=appointment, actor=world.doctor)

    appointment_complete(appointment=later, actor=world.doctor)
    appointment_complete(appointment=earlier, actor=world.doctor)  # finished last, seen first

    sched.zhang.refresh_from_db()
    assert sched.zhang.last_visit_at == at(MONDAY, "09:58")


def test_check_in_is_one_step_from_booked(world: World, sched: Sched) -> None:
    appointment = book(world, sched)

    arrived = appointment_check_in(appointment=appointment, actor=world.frontdesk)

    assert arrived.status == "arrived"


@pytest.mark.parametrize(
    ("steps", "action", "message"),
    [
        ([], appointment_start, "Treatment starts after the patient has arrived; "),
        ([], appointment_complete, "Only an appointment in treatment can be completed; "),
        (["confirm"], appointment_confirm, "Only a booked appointment can be confirmed; "),
        (["check_in"], appointment_check_in, "Only a booked or confirmed appointment can be "),
        (["cancel"], appointment_check_in, "Only a booked or confirmed appointment can be "),
        (["check_in"], appointment_mark_no_show, "Only a booked or confirmed appointment can "),
    ],
)
def test_steps_the_status_does_not_allow_are_409_saying_why(
    world: World, sched: Sched, steps: list[str], action: Any, message: str
) -> None:
    appointment = book(world, sched)
    for step in steps:
        if step == "confirm":
            appointment = appointment_confirm(appointment=appointment, actor=world.frontdesk)
        elif step == "check_in":
            appointment = appointment_check_in(appointment=appointment, actor=world.frontdesk)
        else:
            appointment = appointment_cancel(
                appointment=appointment, actor=world.frontdesk, reason="x"
            )
    events_before = AppointmentEvent.objects.count()

    with pytest.raises(Conflict) as refused:
        action(appointment=appointment, actor=world.frontdesk)

    assert refused.value.code == "invalid_transition"
    assert str(refused.value.message).startswith(message)
    assert AppointmentEvent.objects.count() == events_before


def test_a_stale_copy_cannot_repeat_a_step(world: World, sched: Sched) -> None:
    appointment = book(world, sched)
    appointment_check_in(appointment=appointment, actor=world.frontdesk)

    with pytest.raises(Conflict):
        appointment_check_in(appointment=appointment, actor=world.frontdesk)  # still "booked"

    assert history(appointment).count(("status_changed", "booked", "arrived")) == 1


def test_check_in_happens_on_the_appointments_day(world: World, sched: Sched) -> None:
    tomorrow = book(world, sched, start=at(TUESDAY, "09:00"), end=at(TUESDAY, "09:30"))

    with pytest.raises(Conflict) as refused:
        appointment_check_in(appointment=tomorrow, actor=world.frontdesk)

    assert "2026-09-15" in str(refused.value.message)


def test_a_no_show_only_once_the_time_has_come(world: World, sched: Sched, clock: Clock) -> None:
    appointment = book(world, sched, "09:00", "09:30")

    with pytest.raises(Conflict):
        appointment_mark_no_show(appointment=appointment, actor=world.frontdesk)
    clock.set(at(MONDAY, "09:20"))
    missed = appointment_mark_no_show(appointment=appointment, actor=world.frontdesk)

    assert missed.status == "no_show"


def test_cancelling_needs_a_reason_and_keeps_it(world: World, sched: Sched) -> None:
    appointment = book(world, sched)

    with pytest.raises(ValidationFailed) as refused:
        appointment_cancel(appointment=appointment, actor=world.frontdesk, reason="  ")
    cancelled = appointment_cancel(
        appointment=appointment, actor=world.frontdesk, reason="Moved to another city"
    )

    assert list(refused.value.fields) == ["reason"]
    assert cancelled.cancel_reason == "Moved to another city"
    event = AppointmentEvent.objects.filter(appointment=appointment).last()
    assert event is not None
    assert (event.to_status, event.note) == ("cancelled", "Moved to another city")


# Walk-ins


def test_a_walk_in_is_booked_from_now_and_arrived(world: World, sched: Sched, clock: Clock) -> None:
    clock.set(at(MONDAY, "19:10").replace(second=42))

    walk_in = appointment_walk_in(
        clinic=world.clinic1,
        patient=sched.zhang,
        doctor=world.doctor,
        appointment_type=sched.cleaning,
        actor=world.frontdesk,
    )

    assert (walk_in.start, walk_in.end) == (at(MONDAY, "19:10"), at(MONDAY, "19:55"))
    assert (walk_in.status, walk_in.source) == ("arrived", "walk_in")
    assert walk_in.arrived_at == at(MONDAY, "19:10").replace(second=42)
    assert history(walk_in) == [
        ("created", "", "booked"),
        ("status_changed", "booked", "arrived"),
    ]


def test_a_walk_in_with_a_busy_doctor_is_refused(world: World, sched: Sched, clock: Clock) -> None:
    book(world, sched, "09:00", "10:00")
    clock.set(at(MONDAY, "09:20"))

    with pytest.raises(Conflict) as refused:
        appointment_walk_in(
            clinic=world.clinic1, patient=sched.li, doctor=world.doctor, actor=world.frontdesk
        )

    assert "张三" in str(refused.value.message)


# Rescheduling


def test_rescheduling_moves_time_doctor_and_chair_and_remembers_them(
    world: World, sched: Sched
) -> None:
    other = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    appointment = book(world, sched, "09:00", "09:30", chair=sched.chair1)
    appointment = appointment_confirm(appointment=appointment, actor=world.frontdesk)

    moved = appointment_reschedule(
        appointment=appointment,
        start=at(TUESDAY, "19:00"),
        doctor=other,
        chair=sched.chair2,
        actor=world.frontdesk,
        allow_outside_hours=True,
        reason="Patient asked for the evening",
    )

    stored = Appointment.objects.get(pk=moved.pk)
    assert (stored.start, stored.end) == (at(TUESDAY, "19:00"), at(TUESDAY, "19:30"))
    assert (stored.doctor, stored.chair, stored.status) == (other, sched.chair2, "confirmed")
    event = AppointmentEvent.objects.filter(appointment=stored, kind="rescheduled").get()
    assert (event.old_start, event.old_end) == (at(MONDAY, "09:00"), at(MONDAY, "09:30"))
    assert (event.old_doctor, event.old_chair) == (world.doctor, sched.chair1)
    assert (event.new_doctor, event.new_chair) == (other, sched.chair2)
    assert event.note == "Patient asked for the evening"
    # The old time is free again.
    book(world, sched, "09:00", "09:30", patient=sched.li, chair=sched.chair1)


def test_rescheduling_keeps_or_frees_the_chair(world: World, sched: Sched) -> None:
    appointment = book(world, sched, "09:00", "09:30", chair=sched.chair1)

    kept = appointment_reschedule(
        appointment=appointment, start=at(MONDAY, "10:00"), actor=world.frontdesk
    )
    freed = appointment_reschedule(
        appointment=kept, start=at(MONDAY, "10:00"), chair=None, actor=world.frontdesk
    )

    assert kept.chair == sched.chair1
    assert freed.chair is None


def test_rescheduling_onto_a_clash_is_refused_and_changes_nothing(
    world: World, sched: Sched
) -> None:
    book(world, sched, "10:00", "10:30", patient=sched.li)
    appointment = book(world, sched, "09:00", "09:30")

    with pytest.raises(Conflict) as refused:
        appointment_reschedule(
            appointment=appointment, start=at(MONDAY, "10:15"), actor=world.frontdesk
        )

    assert str(refused.value.message) == "Dr. Li already has 李四 from 10:00 to 10:30."
    assert Appointment.objects.get(pk=appointment.pk).start == at(MONDAY, "09:00")
    assert not AppointmentEvent.objects.filter(kind="rescheduled").exists()


def test_moving_an_appointment_within_its_own_time_is_no_clash(world: World, sched: Sched) -> None:
    appointment = book(world, sched, "09:00", "10:00")

    moved = appointment_reschedule(
        appointment=appointment, start=at(MONDAY, "09:30"), actor=world.frontdesk
    )

    assert (moved.start, moved.end) == (at(MONDAY, "09:30"), at(MONDAY, "10:30"))


def test_rescheduling_to_the_same_time_writes_nothing(world: World, sched: Sched) -> None:
    appointment = book(world, sched, "09:00", "09:30", chair=sched.chair1)

    appointment_reschedule(appointment=appointment, start=at(MONDAY, "09:00"), actor=None)

    assert history(appointment) == [("created", "", "booked")]


def test_a_completed_appointment_cannot_be_moved(world: World, sched: Sched) -> None:
    appointment = book(world, sched)
    appointment = appointment_check_in(appointment=appointment, actor=world.frontdesk)

    with pytest.raises(Conflict) as refused:
        appointment_reschedule(
            appointment=appointment, start=at(TUESDAY, "09:00"), actor=world.frontdesk
        )

    assert "this one is Arrived" in str(refused.value.message)


def test_objects_of_another_organization_are_not_found(world: World, sched: Sched) -> None:
    with tenant_scope(world.org_b, world.clinic_b):
        foreign = appointment_book(
            clinic=world.clinic_b,
            patient=sched.patient_b,
            doctor=world.boss_b,
            start=at(MONDAY, "09:00"),
            end=at(MONDAY, "09:30"),
            actor=world.boss_b,
            allow_outside_hours=True,
        )

    with pytest.raises(NotFound):
        appointment_confirm(appointment=foreign, actor=world.frontdesk)
    with pytest.raises(NotFound):
        book(world, sched, chair=sched.chair_b)

    assert Appointment.all_tenants.get(pk=foreign.pk).status == AppointmentStatus.BOOKED
