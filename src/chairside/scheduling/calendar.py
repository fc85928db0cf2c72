"""Read-only queries and layout for the schedule pages: the day grid (a column per doctor or
per chair, appointments placed on 15-minute rows, leave and closed time shaded), the week
overview, the doctors a clinic books, and a patient's last visit.

Scoped to the current organization like the selectors, and a fixed number of queries
whatever the number of appointments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from chinese_calendar.constants import Holiday
from django.db.models import Max, Min
from django.utils.translation import get_language, gettext

from chairside.core.clock import at, clinic_now, day_bounds, local
from chairside.core.models import Clinic, Staff, StaffRole
from chairside.patients.models import Patient
from chairside.scheduling import selectors
from chairside.scheduling.availability import Interval, merge, subtract, working_time
from chairside.scheduling.models import (
    ARRIVED_STATUSES,
    RELEASED_STATUSES,
    Appointment,
    Chair,
    DoctorShift,
    ScheduleException,
)
from chairside.scheduling.workdays import public_holiday

SLOT_MINUTES = 15
SLOT = timedelta(minutes=SLOT_MINUTES)
# The grid of a clinic that has no shifts yet.
DEFAULT_OPEN, DEFAULT_CLOSE = time(8), time(18)
BY_DOCTOR, BY_CHAIR = "doctor", "chair"


# --- doctors and visits ---------------------------------------------------------------


def clinic_doctors(*, clinic: Clinic) -> list[Staff]:
    """Who sees patients at `clinic`: staff with shifts there, and staff granted a role
    that treats (schedule.treat) in this clinic; active, by name. Three queries."""
    ids = set(DoctorShift.objects.filter(clinic=clinic).values_list("doctor_id", flat=True))
    for grant in StaffRole.objects.filter(clinic=clinic).select_related("role"):
        if "schedule.treat" in (grant.role.permissions or []):
            ids.add(grant.staff_id)
    return list(Staff.objects.filter(pk__in=ids, is_active=True).order_by("display_name", "id"))


def last_visit(*, patient: Patient, before: datetime) -> datetime | None:
    """When the patient last came (to any clinic of the organization) before `before`."""
    previous = (
        Appointment.objects.filter(patient=patient, status__in=ARRIVED_STATUSES, start__lt=before)
        .order_by("-start")
        .values_list("start", flat=True)
        .first()
    )
    known = [d for d in (previous, patient.last_visit_at) if d is not None]
    return max(known) if known else None


def holiday_name(day: date) -> str | None:
    """The public holiday `day` belongs to, named in Chinese when the page is."""
    name = public_holiday(day)
    if name and (get_language() or "").startswith("zh"):
        return next((h.chinese for h in Holiday if h.value == name), name)
    return name


def hours_text(windows: Iterable[Interval], clinic: Clinic) -> str:
    """Working windows as "09:00-12:00, 13:30-18:00" on the clinic's clock."""
    return ", ".join(
        f"{local(w.start, clinic):%H:%M}–{local(w.end, clinic):%H:%M}" for w in windows
    )


# --- the day grid ---------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """An appointment in a column: rows from the top of the grid, and its lane when
    appointments overlap (a cancelled one under a new booking)."""

    appointment: Appointment
    start: datetime
    end: datetime
    top: float
    span: float
    lane: int = 0
    lanes: int = 1


@dataclass(frozen=True)
class Shade:
    """Time in a column nobody works ("off") or the doctor is away ("leave")."""

    top: float
    span: float
    kind: str
    label: str = ""


@dataclass
class DayColumn:
    key: str
    title: str
    detail: str = ""
    doctor: Staff | None = None
    chair: Chair | None = None
    placed: list[Placed] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    booked: int = 0


@dataclass
class DayGrid:
    day: date
    by: str
    start: datetime
    end: datetime
    rows: list[datetime]
    columns: list[DayColumn]
    holiday: str | None = None
    now_top: float | None = None
    hidden: int = 0  # cancelled and no-show appointments left out

    @property
    def row_count(self) -> int:
        return len(self.rows)


def _rows_between(start: datetime, end: datetime) -> float:
    return (end - start) / SLOT


def _floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(value: datetime) -> datetime:
    floored = _floor_hour(value)
    return floored if floored == value else floored + timedelta(hours=1)


def _axis(
    clinic: Clinic, day: date, windows: Iterable[Interval], appointments: list[Appointment]
) -> tuple[datetime, datetime]:
    """From the clinic's earliest shift start to its latest end (of any weekday, so the grid
    keeps its shape from day to day), widened to that day's extra shifts and appointments,
    on whole hours and within the day."""
    opening = DoctorShift.objects.filter(clinic=clinic).aggregate(
        first=Min("start"), last=Max("end")
    )
    starts = [local(w.start, clinic) for w in windows]
    ends = [local(w.end, clinic) for w in windows]
    if opening["first"] is not None:
        starts.append(at(day, opening["first"], clinic))
        ends.append(at(day, opening["last"], clinic))
    starts += [local(a.start, clinic) for a in appointments]
    ends += [local(a.end, clinic) for a in appointments]
    midnight, next_midnight = (
        at(day, time.min, clinic),
        at(day + timedelta(days=1), time.min, clinic),
    )
    if not starts:
        return at(day, DEFAULT_OPEN, clinic), at(day, DEFAULT_CLOSE, clinic)
    begin = max(_floor_hour(min(starts)), midnight)
    finish = min(_ceil_hour(max(ends)), next_midnight)
    return begin, max(finish, begin + timedelta(hours=1))


def _place(
    appointments: list[Appointment], clinic: Clinic, top: datetime, bottom: datetime
) -> list[Placed]:
    """Appointments on rows, side by side in lanes where they overlap."""
    placed: list[Placed] = []
    cluster: list[tuple[Appointment, datetime, datetime, int]] = []
    lane_ends: list[datetime] = []
    cluster_end: datetime | None = None

    def flush() -> None:
        for appointment, start, end, lane in cluster:
            shown_start, shown_end = max(start, top), min(end, bottom)
            placed.append(
                Placed(
                    appointment=appointment,
                    start=start,
                    end=end,
                    top=_rows_between(top, shown_start),
                    span=max(_rows_between(shown_start, shown_end), 1.0),
                    lane=lane,
                    lanes=len(lane_ends),
                )
            )
        cluster.clear()
        lane_ends.clear()

    for appointment in sorted(appointments, key=lambda a: (a.start, a.end, a.pk)):
        start, end = local(appointment.start, clinic), local(appointment.end, clinic)
        if cluster_end is not None and start >= cluster_end:
            flush()
            cluster_end = None
        lane = next((i for i, e in enumerate(lane_ends) if e <= start), None)
        if lane is None:
            lane_ends.append(end)
            lane = len(lane_ends) - 1
        else:
            lane_ends[lane] = end
        cluster.append((appointment, start, end, lane))
        cluster_end = end if cluster_end is None else max(cluster_end, end)
    flush()
    return placed


def _shades(
    pieces: Iterable[Interval], kind: str, label: str, top: datetime, bottom: datetime
) -> list[Shade]:
    shades = []
    for piece in pieces:
        start, end = max(piece.start, top), min(piece.end, bottom)
        if start < end:
            shades.append(Shade(_rows_between(top, start), _rows_between(start, end), kind, label))
    return shades


def _leave_interval(exception: ScheduleException, clinic: Clinic) -> Interval:
    if exception.start is None or exception.end is None:
        return Interval(*day_bounds(exception.date, exception.date, clinic))
    return Interval(
        at(exception.date, exception.start, clinic), at(exception.date, exception.end, clinic)
    )


def _leave_of_day(
    clinic: Clinic, first: date, last: date, doctor: Staff | None
) -> list[ScheduleException]:
    return [
        e
        for e in selectors.schedule_exception_list(
            clinic=clinic, date_from=first, date_to=last, doctor=doctor
        )
        if e.kind == ScheduleException.Kind.LEAVE
    ]


def _staff_by_id(known: Iterable[Staff], wanted: set[int]) -> dict[int, Staff]:
    found = {s.pk: s for s in known if s.pk in wanted}
    missing = wanted - set(found)
    if missing:
        found.update({s.pk: s for s in Staff.objects.filter(pk__in=missing)})
    return found


def _by_name(staff: Iterable[Staff]) -> list[Staff]:
    return sorted(staff, key=lambda s: (s.display_name, s.pk))


def day_grid(
    *,
    clinic: Clinic,
    day: date,
    by: str = BY_DOCTOR,
    doctor: Staff | None = None,
    show_released: bool = False,
) -> DayGrid:
    """The day at `clinic`: a column per doctor working (or on leave, or with appointments)
    that day, or per chair; only `doctor`'s when given. Cancelled and no-show appointments
    only with `show_released`. Seven queries at most."""
    everything = list(selectors.appointment_list(clinic=clinic, date_from=day, doctor=doctor))
    shown = [a for a in everything if show_released or a.status not in RELEASED_STATUSES]
    working = working_time(
        clinic=clinic, first=day, last=day, doctor_ids=None if doctor is None else [doctor.pk]
    )
    windows = {doctor_id: w for (doctor_id, _day), w in working.items()}
    leave = _leave_of_day(clinic, day, day, doctor)
    top, bottom = _axis(clinic, day, [w for ws in windows.values() for w in ws], shown)
    rows = [top + n * SLOT for n in range(int(_rows_between(top, bottom)))]
    grid = DayGrid(
        day=day,
        by=by,
        start=top,
        end=bottom,
        rows=rows,
        columns=[],
        holiday=holiday_name(day),
        hidden=len(everything) - len(shown),
    )
    now = clinic_now(clinic)
    if top <= now < bottom:
        grid.now_top = _rows_between(top, now)
    if by == BY_CHAIR:
        grid.columns = _chair_columns(clinic, shown, windows, top, bottom)
        if not windows and not shown:
            grid.columns = []
    else:
        grid.columns = _doctor_columns(clinic, shown, windows, leave, top, bottom, doctor)
    return grid


def _doctor_columns(
    clinic: Clinic,
    appointments: list[Appointment],
    windows: dict[int, list[Interval]],
    leave: list[ScheduleException],
    top: datetime,
    bottom: datetime,
    only: Staff | None,
) -> list[DayColumn]:
    ids = set(windows) | {e.doctor_id for e in leave} | {a.doctor_id for a in appointments}
    known = [a.doctor for a in appointments] + [e.doctor for e in leave]
    if only is not None:
        ids &= {only.pk}
        known.append(only)
    staff = _staff_by_id(known, ids)
    away: dict[int, list[ScheduleException]] = {}
    for exception in leave:
        away.setdefault(exception.doctor_id, []).append(exception)
    columns = []
    for doctor in _by_name(staff.values()):
        work = windows.get(doctor.pk, [])
        gone = [_leave_interval(e, clinic) for e in away.get(doctor.pk, [])]
        whole_day = any(e.whole_day for e in away.get(doctor.pk, []))
        mine = [a for a in appointments if a.doctor_id == doctor.pk]
        shades = []
        for exception in away.get(doctor.pk, []):
            label = gettext("Leave")
            if exception.reason:
                label = f"{label} · {exception.reason}"
            shades += _shades([_leave_interval(exception, clinic)], "leave", label, top, bottom)
        shades += _shades(subtract([Interval(top, bottom)], [*work, *gone]), "off", "", top, bottom)
        if whole_day:
            detail = gettext("On leave")
        elif work:
            detail = hours_text(work, clinic)
        else:
            detail = gettext("Not on shift")
        columns.append(
            DayColumn(
                key=f"doctor-{doctor.pk}",
                title=str(doctor),
                detail=detail,
                doctor=doctor,
                placed=_place(mine, clinic, top, bottom),
                shades=shades,
                booked=sum(1 for a in mine if a.status not in RELEASED_STATUSES),
            )
        )
    return columns


def _chair_columns(
    clinic: Clinic,
    appointments: list[Appointment],
    windows: dict[int, list[Interval]],
    top: datetime,
    bottom: datetime,
) -> list[DayColumn]:
    chairs = {c.pk: c for c in selectors.chair_list(clinic=clinic)}
    for appointment in appointments:
        if appointment.chair is not None:
            chairs.setdefault(appointment.chair.pk, appointment.chair)
    open_time = merge(w for ws in windows.values() for w in ws)
    closed = _shades(subtract([Interval(top, bottom)], open_time), "off", "", top, bottom)
    columns = []
    for chair in sorted(chairs.values(), key=lambda c: (c.name, c.pk)):
        seated = [a for a in appointments if a.chair_id == chair.pk]
        columns.append(
            DayColumn(
                key=f"chair-{chair.pk}",
                title=chair.name,
                detail=chair.room,
                chair=chair,
                placed=_place(seated, clinic, top, bottom),
                shades=list(closed),
                booked=sum(1 for a in seated if a.status not in RELEASED_STATUSES),
            )
        )
    unseated = [a for a in appointments if a.chair_id is None]
    if unseated or not columns:
        columns.append(
            DayColumn(
                key="chair-none",
                title=gettext("No chair"),
                placed=_place(unseated, clinic, top, bottom),
                shades=list(closed),
                booked=sum(1 for a in unseated if a.status not in RELEASED_STATUSES),
            )
        )
    return columns


# --- the week -------------------------------------------------------------------------


@dataclass
class DoctorDay:
    """One doctor's day in the week overview."""

    doctor: Staff
    hours: str
    on_leave: bool
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class WeekDay:
    day: date
    holiday: str | None
    doctors: list[DoctorDay]
    booked: int = 0


@dataclass
class WeekGrid:
    first: date
    last: date
    days: list[WeekDay]
    hidden: int = 0


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday around `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def week_grid(
    *, clinic: Clinic, day: date, doctor: Staff | None = None, show_released: bool = False
) -> WeekGrid:
    """The week (Monday to Sunday) of `day`: per day, per doctor who works, is away or has
    appointments, their hours and appointments. Five queries at most."""
    first, last = week_of(day)
    everything = list(
        selectors.appointment_list(clinic=clinic, date_from=first, date_to=last, doctor=doctor)
    )
    shown = [a for a in everything if show_released or a.status not in RELEASED_STATUSES]
    working = working_time(
        clinic=clinic, first=first, last=last, doctor_ids=None if doctor is None else [doctor.pk]
    )
    leave = _leave_of_day(clinic, first, last, doctor)
    ids = {d for d, _day in working} | {e.doctor_id for e in leave} | {a.doctor_id for a in shown}
    staff = _staff_by_id([a.doctor for a in shown] + [e.doctor for e in leave], ids)
    by_day: dict[date, list[Appointment]] = {}
    for appointment in shown:
        by_day.setdefault(local(appointment.start, clinic).date(), []).append(appointment)
    days = []
    for offset in range(7):
        current = first + timedelta(days=offset)
        todays = by_day.get(current, [])
        away = {e.doctor_id for e in leave if e.date == current and e.whole_day}
        partly_away = {e.doctor_id for e in leave if e.date == current}
        doctors = []
        for person in _by_name(staff.values()):
            work = working.get((person.pk, current), [])
            theirs = [a for a in todays if a.doctor_id == person.pk]
            if not (work or theirs or person.pk in partly_away):
                continue
            doctors.append(
                DoctorDay(
                    doctor=person,
                    hours=hours_text(work, clinic),
                    on_leave=person.pk in away,
                    appointments=theirs,
                )
            )
        days.append(
            WeekDay(
                day=current,
                holiday=holiday_name(current),
                doctors=doctors,
                booked=sum(1 for a in todays if a.status not in RELEASED_STATUSES),
            )
        )
    return WeekGrid(first=first, last=last, days=days, hidden=len(everything) - len(shown))
