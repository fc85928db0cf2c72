"""A clinic's online-booking rules and the free times they leave a patient: shared by the
portal's selectors (what to offer) and services (what to accept)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from chairside.core.clock import clinic_today, local
from chairside.core.models import Clinic, Staff
from chairside.patients.models import Patient
from chairside.portal.models import LONGEST_BOOKING_HORIZON_DAYS, PortalSettings
from chairside.scheduling.models import AppointmentStatus, AppointmentType
from chairside.scheduling.selectors import free_slots

# Patients pick from half-hour steps: finer grids make a phone screen a wall of buttons.
SLOT_STEP_MINUTES = 30
# Statuses in which the patient may still cancel or move a booking.
CHANGEABLE_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)


def clinic_rules(*, clinic: Clinic) -> PortalSettings:
    """The clinic's online-booking rules; the defaults when it has not set any."""
    rules = PortalSettings.objects.filter(clinic=clinic).first()
    if rules is None:
        rules = PortalSettings(organization_id=clinic.organization_id, clinic=clinic)
    return rules


@dataclass(frozen=True)
class SlotChoice:
    start: datetime
    end: datetime
    doctor: Staff


def booking_days(*, clinic: Clinic, rules: PortalSettings) -> tuple[date, date]:
    """The first and last day patients may book at `clinic` (today included)."""
    days = max(1, min(rules.book_days_ahead, LONGEST_BOOKING_HORIZON_DAYS))
    today = clinic_today(clinic)
    return today, today + timedelta(days=days - 1)


def earliest_start(*, rules: PortalSettings) -> datetime:
    return timezone.now() + timedelta(minutes=rules.min_notice_minutes)


def bookable_slots(
    *,
    clinic: Clinic,
    rules: PortalSettings,
    patient: Patient,
    appointment_type: AppointmentType | None,
    minutes: int | None,
    doctor: Staff | None,
    first: date | None = None,
    last: date | None = None,
) -> list[SlotChoice]:
    horizon_first, horizon_last = booking_days(clinic=clinic, rules=rules)
    first = max(first or horizon_first, horizon_first)
    last = min(last or horizon_last, horizon_last)
    if last < first:
        return []
    earliest = earliest_start(rules=rules)
    # The patient is named, so priority windows they may not use stay closed (S4).
    slots = free_slots(
        clinic=clinic,
        date_from=first,
        date_to=last,
        appointment_type=appointment_type,
        minutes=minutes,
        doctor=doctor,
        step_minutes=SLOT_STEP_MINUTES,
        patient=patient,
    )
    return [
        SlotChoice(local(s.start, clinic), local(s.end, clinic), s.doctor)
        for s in slots
        if s.start >= earliest
    ]


def doctors_free_at(
    *,
    clinic: Clinic,
    rules: PortalSettings,
    patient: Patient,
    start: datetime,
    appointment_type: AppointmentType | None = None,
    minutes: int | None = None,
    doctor: Staff | None = None,
) -> list[Staff]:
    """The doctors (or just `doctor`) with a bookable slot for `patient` starting at `start`."""
    day = local(start, clinic).date()
    slots = bookable_slots(
        clinic=clinic,
        rules=rules,
        patient=patient,
        appointment_type=appointment_type,
        minutes=minutes,
        doctor=doctor,
        first=day,
        last=day,
    )
    return [s.doctor for s in slots if s.start == start]
