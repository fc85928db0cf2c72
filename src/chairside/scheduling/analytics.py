"""Booking analytics of a clinic (S5): no-show and cancellation rates, how far ahead patients
book, and how full the doctors' and chairs' working time is, day by day.

Read-only selectors. Counts are grouped in SQL; lead-time percentiles are computed from one
query's rows (percentiles are not portable SQL); utilisation reuses the working-time and
busy-time loaders of booking. Seven queries whatever the range (at most 92 days).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Count

from chairside.core.clock import day_bounds
from chairside.core.models import Clinic
from chairside.scheduling.availability import (
    Interval,
    busy_time,
    days,
    merge,
    working_time,
)
from chairside.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    Chair,
)
from chairside.scheduling.selectors import check_range

MAX_ANALYTICS_DAYS = 92

# Visits that were due to happen: kept (arrived, in treatment, completed) or missed.
DUE_STATUSES = (
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_TREATMENT,
    AppointmentStatus.COMPLETED,
    AppointmentStatus.NO_SHOW,
)


@dataclass(frozen=True)
class Rate:
    count: int
    out_of: int

    @property
    def rate(self) -> float | None:
        """count / out_of, or None when there is nothing to divide by."""
        return self.count / self.out_of if self.out_of else None


@dataclass(frozen=True)
class LeadTime:
    """How long before the visit it was booked: start - created_at, in hours."""

    source: str  # "" for all sources together
    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class DayUtilisation:
    day: date
    doctor_working_minutes: int
    doctor_booked_minutes: int
    chair_open_minutes: int  # active chairs x the hours any doctor works at the clinic
    chair_booked_minutes: int

    @property
    def doctor_rate(self) -> float | None:
        m = self.doctor_working_minutes
        return self.doctor_booked_minutes / m if m else None

    @property
    def chair_rate(self) -> float | None:
        m = self.chair_open_minutes
        return self.chair_booked_minutes / m if m else None


@dataclass
class BookingAnalytics:
    clinic: Clinic
    date_from: date
    date_to: date
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    no_show: Rate = Rate(0, 0)
    cancellation: Rate = Rate(0, 0)
    lead_time: LeadTime = LeadTime("", 0, None, None)
    lead_time_by_source: list[LeadTime] = field(default_factory=list)
    days: list[DayUtilisation] = field(default_factory=list)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """The value below which `fraction` of the values lie, interpolated linearly between
    neighbours (as PostgreSQL's percentile_cont does); None for no values."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _lead_time(source: str, hours: list[float]) -> LeadTime:
    hours = sorted(hours)
    return LeadTime(source, len(hours), percentile(hours, 0.5), percentile(hours, 0.9))


def _minutes(intervals: list[Interval]) -> int:
    return int(sum((i.end - i.start for i in intervals), timedelta()).total_seconds() // 60)


def _overlap(intervals: list[Interval], windows: list[Interval]) -> list[Interval]:
    """The parts of (merged) `intervals` inside (merged) `windows`."""
    inside = []
    for interval in intervals:
        for window in windows:
            start, end = max(interval.start, window.start), min(interval.end, window.end)
            if start < end:
                inside.append(Interval(start, end))
    return inside


def _utilisation(clinic: Clinic, first: date, last: date) -> list[DayUtilisation]:
    working = working_time(clinic=clinic, first=first, last=last)
    start, end = day_bounds(first, last, clinic)
    doctor_busy = {
        doctor_id: merge(intervals)
        for doctor_id, intervals in busy_time(
            doctor_ids={doctor_id for doctor_id, _day in working}, start=start, end=end
        ).items()
    }
    chair_busy: dict[int, list[Interval]] = defaultdict(list)
    in_chairs = Appointment.objects.filter(
        clinic=clinic,
        chair__isnull=False,
        status__in=ACTIVE_STATUSES,
        start__lt=end,
        end__gt=start,
    ).values_list("chair_id", "start", "end")
    for chair_id, busy_start, busy_end in in_chairs:
        chair_busy[chair_id].append(Interval(busy_start, busy_end))
    chairs = Chair.objects.filter(clinic=clinic, is_active=True).count()

    by_day: dict[date, dict[int, list[Interval]]] = defaultdict(dict)
    for (doctor_id, day), windows in working.items():
        by_day[day][doctor_id] = windows
    result = []
    for day in days(first, last):
        doctors = by_day.get(day, {})
        working_minutes = sum(_minutes(w) for w in doctors.values())
        booked = sum(
            _minutes(_overlap(doctor_busy.get(doctor_id, []), windows))
            for doctor_id, windows in doctors.items()
        )
        open_hours = merge(w for windows in doctors.values() for w in windows)
        chair_booked = sum(
            _minutes(_overlap(merge(intervals), open_hours)) for intervals in chair_busy.values()
        )
        result.append(
            DayUtilisation(
                day=day,
                doctor_working_minutes=working_minutes,
                doctor_booked_minutes=booked,
                chair_open_minutes=chairs * _minutes(open_hours),
                chair_booked_minutes=chair_booked,
            )
        )
    return result


def booking_analytics(*, clinic: Clinic, date_from: date, date_to: date) -> BookingAnalytics:
    """The figures of the appointments starting from `date_from` to `date_to` (the clinic's
    days, at most 92). No-show rate: no-shows / visits that were due (arrived, in treatment,
    completed, no-show); cancellation rate: cancelled / all appointments."""
    check_range(date_from, date_to, longest=MAX_ANALYTICS_DAYS)
    start, end = day_bounds(date_from, date_to, clinic)
    appointments = Appointment.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
    result = BookingAnalytics(clinic=clinic, date_from=date_from, date_to=date_to)

    by_status: dict[str, int] = defaultdict(int)
    by_source: dict[str, int] = defaultdict(int)
    for row in appointments.values("source", "status").annotate(n=Count("id")).order_by():
        by_status[row["status"]] += row["n"]
        by_source[row["source"]] += row["n"]
    result.by_status = {s: by_status.get(s, 0) for s in AppointmentStatus.values}
    result.by_source = {s: by_source.get(s, 0) for s in AppointmentSource.values}
    result.total = sum(by_status.values())
    result.no_show = Rate(
        by_status.get(AppointmentStatus.NO_SHOW, 0), sum(by_status.get(s, 0) for s in DUE_STATUSES)
    )
    result.cancellation = Rate(by_status.get(AppointmentStatus.CANCELLED, 0), result.total)

    hours: dict[str, list[float]] = defaultdict(list)
    for source, visit_start, created_at in appointments.values_list(
        "source", "start", "created_at"
    ):
        hours[source].append(max((visit_start - created_at).total_seconds(), 0) / 3600)
    result.lead_time = _lead_time("", [h for values in hours.values() for h in values])
    result.lead_time_by_source = [
        _lead_time(source, hours[source]) for source in AppointmentSource.values if hours[source]
    ]
    result.days = _utilisation(clinic, date_from, date_to)
    return result
