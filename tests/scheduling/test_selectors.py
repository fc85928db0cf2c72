"""Reads of the schedule: free slots from shifts, leave, extra shifts, bookings, public
holidays and make-up workdays, and priority windows; appointment lists; today's board;
query counts that do not grow with the data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.core.services import staff_create
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from chairside.scheduling import selectors
from chairside.scheduling.priority import Window
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_check_in,
    appointment_complete,
    appointment_start,
    schedule_exception_create,
    shift_create,
)
from tests.conftest import PASSWORD, World
from tests.scheduling.conftest import MONDAY, TUESDAY, Clock, Sched, at

pytestmark = pytest.mark.usefixtures("in_clinic1")


def starts(slots: list[selectors.Slot], day: date | None = None) -> list[str]:
    return [
        s.start.strftime("%H:%M") if day else s.start.strftime("%m-%d %H:%M")
        for s in slots
        if day is None or s.start.date() == day
    ]


def slots(world: World, first: date, last: date | None = None, **kw: Any) -> list[selectors.Slot]:
    values: dict[str, Any] = {"minutes": 60, "step_minutes": 60, "doctor": world.doctor}
    values.update(kw)
    return selectors.free_slots(
        clinic=world.clinic1, date_from=first, date_to=last or first, **values
    )


def book(world: World, patient: Patient, day: date, begins: str, ends: str, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "doctor": world.doctor,
        "clinic": world.clinic1,
        "actor": world.frontdesk,
        "allow_outside_hours": True,
    }
    values.update(kw)
    return appointment_book(patient=patient, start=at(day, begins), end=at(day, ends), **values)


# Free slots


def test_slots_follow_the_shifts_on_a_grid_from_midnight(world: World, sched: Sched) -> None:
    found = slots(world, MONDAY)

    assert starts(found, MONDAY) == ["09:00", "10:00", "11:00", "14:00", "15:00", "16:00", "17:00"]
    assert all(s.end - s.start == timedelta(minutes=60) for s in found)
    assert {s.doctor for s in found} == {world.doctor}


def test_the_types_duration_is_the_length(world: World, sched: Sched) -> None:
    found = slots(world, MONDAY, minutes=None, appointment_type=sched.cleaning, step_minutes=15)

    morning = [s for s in starts(found, MONDAY) if s < "12:00"]
    assert morning[0] == "09:00"
    assert morning[-1] == "11:15"  # 11:15 + 45 minutes ends at 12:00


def test_no_length_at_all_is_refused(world: World, sched: Sched) -> None:
    with pytest.raises(ValidationFailed):
        slots(world, MONDAY, minutes=None)


def test_bookings_take_their_time_in_any_clinic_until_cancelled(world: World, sched: Sched) -> None:
    book(world, sched.zhang, MONDAY, "10:00", "10:30")
    appointment_book(
        clinic=world.clinic2,
        patient=sched.wang,
        doctor=world.boss,
        start=at(MONDAY, "09:00"),
        end=at(MONDAY, "12:00"),
        actor=world.boss,
        allow_outside_hours=True,
    )
    cancelled = book(world, sched.li, MONDAY, "15:00", "16:00")
    appointment_cancel(appointment=cancelled, actor=world.frontdesk, reason="ill")

    found = slots(world, MONDAY, minutes=30, step_minutes=30)

    assert "10:00" not in starts(found, MONDAY)
    assert {"09:30", "10:30", "15:00", "15:30"} <= set(starts(found, MONDAY))


def test_the_past_is_not_offered(world: World, sched: Sched, clock: Clock) -> None:
    clock.set(at(MONDAY, "10:10"))

    found = slots(world, MONDAY, minutes=30, step_minutes=15)

    assert starts(found, MONDAY)[0] == "10:15"


def test_leave_and_extra_shifts_change_the_day(world: World, sched: Sched) -> None:
    schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=MONDAY,
        kind="leave",
        start=time(13, 30),
        end=time(18),
    )
    schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=MONDAY,
        kind="extra",
        start=time(19),
        end=time(21),
    )
    schedule_exception_create(
        actor=world.boss, clinic=world.clinic1, doctor=world.doctor, day=TUESDAY, kind="leave"
    )

    found = slots(world, MONDAY, TUESDAY)

    assert starts(found, MONDAY) == ["09:00", "10:00", "11:00", "19:00", "20:00"]
    assert starts(found, TUESDAY) == []


def test_national_day_closes_the_weekly_shifts_but_the_days_around_it_work(
    world: World, sched: Sched, clock: Clock
) -> None:
    clock.set(at(date(2026, 9, 28), "08:00"))

    found = slots(world, date(2026, 9, 30), date(2026, 10, 8))

    days = sorted({s.start.date() for s in found})
    # Wednesday 30 September and Thursday 8 October work; 1-7 October (including a
    # Saturday and a Monday, when Dr. Li normally works) are the National Day holiday.
    assert days == [date(2026, 9, 30), date(2026, 10, 8)]


def test_a_make_up_workday_is_worked_with_its_weekdays_shifts(
    world: World, sched: Sched, clock: Clock
) -> None:
    shift_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        weekday=6,
        start=time(10),
        end=time(12),
    )
    clock.set(at(date(2026, 9, 19), "08:00"))

    sunday_make_up = slots(world, date(2026, 9, 20))  # 调休上班 for National Day
    saturday_make_up = slots(world, date(2026, 10, 10))
    saturday_holiday = slots(world, date(2026, 10, 3))

    assert starts(sunday_make_up, date(2026, 9, 20)) == ["10:00", "11:00"]
    assert starts(saturday_make_up, date(2026, 10, 10))[:2] == ["09:00", "10:00"]
    assert saturday_holiday == []


def test_an_extra_shift_opens_a_holiday(world: World, sched: Sched, clock: Clock) -> None:
    clock.set(at(date(2026, 9, 28), "08:00"))
    schedule_exception_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=world.doctor,
        day=date(2026, 10, 2),
        kind="extra",
        start=time(9),
        end=time(11),
    )

    found = slots(world, date(2026, 10, 2))

    assert starts(found, date(2026, 10, 2)) == ["09:00", "10:00"]


def test_slots_of_every_doctor_working_in_the_clinic(world: World, sched: Sched) -> None:
    dr_wang = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    shift_create(
        actor=world.boss,
        clinic=world.clinic1,
        doctor=dr_wang,
        weekday=0,
        start=time(9),
        end=time(10),
    )

    found = slots(world, MONDAY, doctor=None)

    at_nine = [s.doctor for s in found if s.start == at(MONDAY, "09:00")]
    assert at_nine == [world.doctor, dr_wang]  # by name


@pytest.mark.parametrize(
    ("first", "last"),
    [(date(2026, 9, 14), date(2026, 10, 15)), (date(2026, 9, 14), date(2026, 9, 13))],
)
def test_slot_ranges_are_bounded(world: World, sched: Sched, first: date, last: date) -> None:
    with pytest.raises(ValidationFailed) as refused:
        slots(world, first, last)

    assert list(refused.value.fields) == ["date_to"]


# Priority windows


class MembersFirstHour:
    """Test double: 09:00-10:00 is kept for members (here: patients named 张三)."""

    def held_back(self, *, clinic: Clinic, doctor: Staff, day: date) -> list[Window]:
        start = datetime.combine(day, time(9), tzinfo=at(day, "09:00").tzinfo)
        return [Window(start, start + timedelta(hours=1), "gold members")]

    def may_use(self, *, patient: Patient, window: Window) -> bool:
        return patient.name == "张三"


@pytest.fixture
def members_first_hour(settings: Any) -> None:
    settings.CHAIRSIDE_PRIORITY_WINDOWS = "tests.scheduling.test_selectors.MembersFirstHour"


@pytest.mark.usefixtures("members_first_hour")
def test_held_back_time_is_offered_only_to_those_who_may_use_it(world: World, sched: Sched) -> None:
    for_member = slots(world, MONDAY, patient=sched.zhang)
    for_other = slots(world, MONDAY, patient=sched.li)
    for_anyone = slots(world, MONDAY)
    for_staff = slots(world, MONDAY, honour_priority=False)

    assert starts(for_member, MONDAY)[0] == "09:00"
    assert starts(for_other, MONDAY)[0] == "10:00"
    assert starts(for_anyone, MONDAY)[0] == "10:00"
    assert starts(for_staff, MONDAY)[0] == "09:00"


@pytest.mark.usefixtures("members_first_hour")
def test_online_booking_in_held_back_time_is_refused_for_others(world: World, sched: Sched) -> None:
    online = {"source": "portal", "actor": None, "allow_outside_hours": False}

    with pytest.raises(Conflict) as refused:
        book(world, sched.li, MONDAY, "09:30", "10:00", **online)
    member = book(world, sched.zhang, MONDAY, "09:00", "09:30", **online)
    by_desk = book(world, sched.li, MONDAY, "09:30", "10:00")

    assert refused.value.code == "held_back"
    assert member.source == "portal"
    assert by_desk.source == "front_desk"


def test_by_default_nothing_is_held_back(world: World, sched: Sched) -> None:
    assert starts(slots(world, MONDAY, patient=sched.li), MONDAY)[0] == "09:00"


# Appointment lists


def test_the_list_covers_the_clinics_days_by_start(world: World, sched: Sched) -> None:
    late = book(world, sched.li, MONDAY, "23:30", "23:50")
    early = book(world, sched.zhang, MONDAY, "00:10", "00:30")
    book(world, sched.zhang, TUESDAY, "09:00", "09:30")
    book(world, sched.wang, MONDAY, "09:00", "09:30", clinic=world.clinic2, doctor=world.boss)

    monday = list(selectors.appointment_list(clinic=world.clinic1, date_from=MONDAY))
    both = selectors.appointment_list(clinic=world.clinic1, date_from=MONDAY, date_to=TUESDAY)

    assert monday == [early, late]
    assert both.count() == 3


def test_the_list_filters_by_doctor_chair_and_status(world: World, sched: Sched) -> None:
    in_chair = book(world, sched.zhang, MONDAY, "09:00", "09:30", chair=sched.chair1)
    other = book(world, sched.li, MONDAY, "10:00", "10:30", doctor=world.boss)
    appointment_cancel(appointment=other, actor=world.frontdesk, reason="x")

    def listed(**kw: Any) -> list[Any]:
        return list(selectors.appointment_list(clinic=world.clinic1, date_from=MONDAY, **kw))

    assert listed(doctor=world.doctor) == [in_chair]
    assert listed(chair=sched.chair1) == [in_chair]
    assert listed(statuses=["cancelled"]) == [other]


def test_list_ranges_are_bounded(world: World) -> None:
    with pytest.raises(ValidationFailed):
        selectors.appointment_list(
            clinic=world.clinic1, date_from=MONDAY, date_to=MONDAY + timedelta(days=62)
        )
    with pytest.raises(ValidationFailed):
        selectors.appointment_list(clinic=world.clinic1, date_from=date(1999, 12, 31))


# Today's board


def test_the_board_counts_visits_and_persons_per_doctor_and_clinic(
    world: World, sched: Sched, clock: Clock
) -> None:
    dr_wang = staff_create(
        organization=world.org,
        username="dr-wang",
        display_name="Dr. Wang",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    idle = staff_create(
        organization=world.org,
        username="dr-zhou",
        display_name="Dr. Zhou",
        password=PASSWORD,
        roles=[("doctor", world.clinic1)],
    )
    shift_create(
        actor=world.boss, clinic=world.clinic1, doctor=idle, weekday=0, start=time(9), end=time(12)
    )
    first = book(world, sched.zhang, MONDAY, "09:00", "09:30")
    book(world, sched.zhang, MONDAY, "15:00", "15:30")  # Zhang again, later
    book(world, sched.li, MONDAY, "10:00", "10:30")
    done = book(world, sched.wang, MONDAY, "09:00", "09:30", doctor=dr_wang)
    gone = book(world, sched.li, MONDAY, "11:00", "11:30", doctor=dr_wang)
    appointment_cancel(appointment=gone, actor=world.frontdesk, reason="x")
    book(world, sched.zhang, TUESDAY, "09:00", "09:30")  # another day
    clock.set(at(MONDAY, "09:00"))
    appointment_check_in(appointment=first, actor=world.frontdesk)
    for step in (appointment_check_in, appointment_start, appointment_complete):
        done = step(appointment=done, actor=world.frontdesk)

    board = selectors.today_board(clinic=world.clinic1, day=MONDAY)

    def counts(column: selectors.BoardColumn) -> tuple[int, int, int, int]:
        return (
            column.arrived.visits,
            column.arrived.persons,
            column.not_arrived.visits,
            column.not_arrived.persons,
        )

    assert counts(board.clinic) == (2, 2, 2, 2)
    assert len(board.clinic.appointments) == 5  # the cancelled one is listed, not counted
    assert [c.doctor for c in board.doctors] == [world.doctor, dr_wang, idle]
    li_column, wang_column, idle_column = board.doctors
    assert counts(li_column) == (1, 1, 2, 2)
    assert counts(wang_column) == (1, 1, 0, 0)
    assert counts(idle_column) == (0, 0, 0, 0)


def test_a_doctors_board_is_only_theirs(world: World, sched: Sched) -> None:
    book(world, sched.zhang, MONDAY, "09:00", "09:30")
    book(world, sched.li, MONDAY, "09:00", "09:30", doctor=world.boss)

    board = selectors.today_board(clinic=world.clinic1, day=MONDAY, doctor=world.doctor)

    assert [c.doctor for c in board.doctors] == [world.doctor]
    assert board.clinic.not_arrived.visits == 1


# Query counts


def _queries(action: Callable[[], object]) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def _patients(world: World, count: int) -> list[Patient]:
    return [
        patient_create(actor=world.boss, clinic=world.clinic1, name=f"患者{i}")
        for i in range(count)
    ]


def _fill(world: World, sched: Sched, patients: list[Patient]) -> None:
    for i, patient in enumerate(patients):
        begins = at(MONDAY, "09:00") + timedelta(minutes=15 * i)
        appointment_book(
            clinic=world.clinic1,
            patient=patient,
            doctor=world.doctor,
            chair=sched.chair1 if i % 2 else None,
            appointment_type=sched.checkup if i % 3 else None,
            start=begins,
            end=begins + timedelta(minutes=15),
            actor=world.frontdesk,
            allow_outside_hours=True,
        )


@pytest.mark.parametrize(
    "read",
    [
        lambda w: [
            (a.patient.name, a.doctor.display_name, a.chair, a.appointment_type, a.booked_by)
            for a in selectors.appointment_list(clinic=w.clinic1, date_from=MONDAY)
        ],
        lambda w: selectors.today_board(clinic=w.clinic1, day=MONDAY),
        lambda w: selectors.free_slots(
            clinic=w.clinic1, minutes=15, date_from=MONDAY, date_to=MONDAY + timedelta(days=6)
        ),
    ],
    ids=["appointment_list", "today_board", "free_slots"],
)
def test_reads_take_as_many_queries_for_twenty_appointments_as_for_one(
    world: World, sched: Sched, read: Callable[[World], object]
) -> None:
    patients = _patients(world, 20)
    _fill(world, sched, patients[:1])
    one = _queries(lambda: read(world))
    for i, patient in enumerate(patients[1:], start=1):
        begins = at(MONDAY, "09:00") + timedelta(minutes=15 * i)
        appointment_book(
            clinic=world.clinic1,
            patient=patient,
            doctor=world.doctor if i % 2 else world.boss,
            chair=sched.chair2 if i % 2 else None,
            appointment_type=sched.cleaning if i % 3 else None,
            start=begins,
            end=begins + timedelta(minutes=15),
            actor=world.frontdesk,
            allow_outside_hours=True,
        )

    twenty = _queries(lambda: read(world))

    assert twenty == one
