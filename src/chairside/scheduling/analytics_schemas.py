"""API schemas of booking analytics (S5) and follow-up tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field

from chairside.core.clock import local
from chairside.core.schemas import Text
from chairside.scheduling.analytics import BookingAnalytics, DayUtilisation, LeadTime, Rate
from chairside.scheduling.models import FollowUpTask

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]

# --- analytics ------------------------------------------------------------------------


class AnalyticsQuery(Schema):
    date_from: Day | None = Field(None, description="First day (default: 29 days before date_to).")
    date_to: Day | None = Field(None, description="Last day (default: today); at most 92 days.")


class RateOut(Schema):
    count: int
    out_of: int
    rate: float | None = Field(description="count / out_of; null when out_of is 0.")

    @staticmethod
    def of(rate: Rate) -> RateOut:
        return RateOut(count=rate.count, out_of=rate.out_of, rate=rate.rate)


class LeadTimeOut(Schema):
    source: str = Field(description="Where the bookings came from; empty for all together.")
    count: int
    median_hours: float | None
    p90_hours: float | None

    @staticmethod
    def of(lead: LeadTime) -> LeadTimeOut:
        return LeadTimeOut(
            source=lead.source,
            count=lead.count,
            median_hours=lead.median_hours,
            p90_hours=lead.p90_hours,
        )


class DayUtilisationOut(Schema):
    date: date
    doctor_working_minutes: int
    doctor_booked_minutes: int
    doctor_rate: float | None
    chair_open_minutes: int
    chair_booked_minutes: int
    chair_rate: float | None

    @staticmethod
    def of(day: DayUtilisation) -> DayUtilisationOut:
        return DayUtilisationOut(
            date=day.day,
            doctor_working_minutes=day.doctor_working_minutes,
            doctor_booked_minutes=day.doctor_booked_minutes,
            doctor_rate=day.doctor_rate,
            chair_open_minutes=day.chair_open_minutes,
            chair_booked_minutes=day.chair_booked_minutes,
            chair_rate=day.chair_rate,
        )


class BookingAnalyticsOut(Schema):
    clinic_id: int
    date_from: date
    date_to: date
    total: int
    by_status: dict[str, int]
    by_source: dict[str, int]
    no_show: RateOut = Field(
        description="No-shows / (arrived + in treatment + completed + no-show)."
    )
    cancellation: RateOut = Field(description="Cancelled / all appointments.")
    lead_time: LeadTimeOut
    lead_time_by_source: list[LeadTimeOut]
    days: list[DayUtilisationOut]

    @staticmethod
    def of(figures: BookingAnalytics) -> BookingAnalyticsOut:
        return BookingAnalyticsOut(
            clinic_id=figures.clinic.pk,
            date_from=figures.date_from,
            date_to=figures.date_to,
            total=figures.total,
            by_status=figures.by_status,
            by_source=figures.by_source,
            no_show=RateOut.of(figures.no_show),
            cancellation=RateOut.of(figures.cancellation),
            lead_time=LeadTimeOut.of(figures.lead_time),
            lead_time_by_source=[LeadTimeOut.of(lead) for lead in figures.lead_time_by_source],
            days=[DayUtilisationOut.of(day) for day in figures.days],
        )


# --- follow-up tasks ------------------------------------------------------------------


class FollowUpQuery(Schema):
    status: FollowUpTask.Status | None = Field(None, description="Default: every status.")


class FollowUpCloseIn(Schema):
    note: Text = Field("", max_length=2000, description="What came of the call.")


class FollowUpOut(Schema):
    id: int
    kind: str
    status: str
    appointment_id: int
    appointment_start: datetime
    patient_id: int
    patient_name: str
    patient_phone: str
    assigned_to_id: int | None
    due_at: datetime
    note: str
    done_by_id: int | None
    done_at: datetime | None

    @staticmethod
    def of(task: FollowUpTask) -> FollowUpOut:
        clinic = task.clinic
        return FollowUpOut(
            id=task.pk,
            kind=task.kind,
            status=task.status,
            appointment_id=task.appointment_id,
            appointment_start=local(task.appointment.start, clinic),
            patient_id=task.patient_id,
            patient_name=task.patient.name,
            patient_phone=task.patient.phone,
            assigned_to_id=task.assigned_to_id,
            due_at=local(task.due_at, clinic),
            note=task.note,
            done_by_id=task.done_by_id,
            done_at=None if task.done_at is None else local(task.done_at, clinic),
        )
