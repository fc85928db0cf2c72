"""When doctors work and when they are busy: the time arithmetic shared by booking (is this
inside working hours?) and free slots (where is there room?).

Working time of a doctor at a clinic on a day = the shifts of that weekday (unless the day
is a public holiday, see `workdays`) + extra shifts - leave. Each loader is one query for
any number of doctors and days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q

from chairside.core.clock import at, day_bounds
from chairside.core.models import Clinic, StaffRole
from chairside.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    DoctorShift,
    ScheduleException,
)
from chairside.scheduling.workdays import regular_shifts_apply


@dataclass(frozen=True, order=True)
class Interval:
    start: datetime
    end: datetime


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, with overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def subtract(intervals: Iterable[Interval], cuts: Iterable[Interval]) -> list[Interval]:
    """What is left of `intervals` after removing every `cut`."""
    remaining = merge(intervals)
    for cut in merge(cuts):
        pieces: list[Interval] = []
        for piece in remaining:
            if cut.end <= piece.start or cut.start >= piece.end:
                pieces.append(piece)
                continue
            if piece.start < cut.start:
                pieces.append(Interval(piece.start, cut.start))
            if cut.end < piece.end:
                pieces.append(Interval(cut.end, piece.end))
        remaining = pieces
    return remaining


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


WorkingTime = dict[tuple[int, date], list[Interval]]


def working_time(
    *, clinic: Clinic, first: date, last: date, doctor_ids: Collection[int] | None = None
) -> WorkingTime:
    """Working intervals per (doctor id, day) at `clinic`; days with none are left out."""
    shifts = DoctorShift.objects.filter(clinic=clinic, doctor__is_active=True)
    exceptions = ScheduleException.objects.filter(
        clinic=clinic, date__gte=first, date__lte=last, doctor__is_active=True
    )
    if doctor_ids is not None:
        shifts = shifts.filter(doctor_id__in=doctor_ids)
        exceptions = exceptions.filter(doctor_id__in=doctor_ids)
    weekly: dict[tuple[int, int], list[DoctorShift]] = defaultdict(list)
    for shift in shifts:
        weekly[(shift.doctor_id, shift.weekday)].append(shift)
    changes: dict[tuple[int, date], list[ScheduleException]] = defaultdict(list)
    for exception in exceptions:
        changes[(exception.doctor_id, exception.date)].append(exception)
    doctors = {d for d, _weekday in weekly} | {d for d, _day in changes}

    result: WorkingTime = {}
    for day in days(first, last):
        regular = regular_shifts_apply(day)
        for doctor_id in doctors:
            base = [
                Interval(at(day, s.start, clinic), at(day, s.end, clinic))
                for s in (weekly.get((doctor_id, day.weekday()), []) if regular else [])
            ]
            leave: list[Interval] = []
            for change in changes.get((doctor_id, day), []):
                if change.start is None or change.end is None:
                    leave.append(Interval(*day_bounds(day, day, clinic)))
                    continue
                interval = Interval(at(day, change.start, clinic), at(day, change.end, clinic))
                if change.kind == ScheduleException.Kind.EXTRA:
                    base.append(interval)
                else:
                    leave.append(interval)
            windows = subtract(base, leave)
            if windows:
                result[(doctor_id, day)] = windows
    return result


def busy_time(
    *, doctor_ids: Collection[int], start: datetime, end: datetime
) -> dict[int, list[Interval]]:
    """Active appointments of the doctors between `start` and `end`, in any clinic."""
    appointments = Appointment.objects.filter(
        doctor_id__in=doctor_ids, status__in=ACTIVE_STATUSES, start__lt=end, end__gt=start
    )
    busy: dict[int, list[Interval]] = defaultdict(list)
    for doctor_id, busy_start, busy_end in appointments.values_list("doctor_id", "start", "end"):
        busy[doctor_id].append(Interval(busy_start, busy_end))
    return busy


def staff_working_in(*, clinic: Clinic) -> set[int]:
    """Ids of active staff holding a role in `clinic` (or across the organization)."""
    grants = StaffRole.objects.filter(
        Q(clinic=clinic) | Q(clinic__isnull=True) | Q(role__spans_organization=True),
        staff__is_active=True,
    )
    return set(grants.values_list("staff_id", flat=True))
