"""Demo schedules: chairs, appointment types, weekly shifts and two weeks of appointments
around today, for `chairside seed`.

Names are data, so they are Chinese as a clinic's would be. Set-up goes through the
services; appointments are written in bulk, because past visits (arrived, completed,
no-show) cannot be replayed through services that only check patients in on the day.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from chairside.core.clock import clinic_today
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.scheduling.availability import working_time
from chairside.scheduling.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSource,
    AppointmentStatus,
    AppointmentType,
)
from chairside.scheduling.services import appointment_type_create, chair_create, shift_create

# code, name, minutes, colour, department, services
APPOINTMENT_TYPES = (
    ("first_visit", "初诊", 30, "#2563eb", "综合", ["exam", "panoramic-xray"]),
    ("follow_up", "复诊", 30, "#0891b2", "综合", ["exam"]),
    ("cleaning", "洁牙", 45, "#16a34a", "牙周", ["scaling", "polishing"]),
    ("filling", "补牙", 60, "#ca8a04", "牙体牙髓", ["composite-filling"]),
    ("root_canal", "根管治疗", 60, "#dc2626", "牙体牙髓", ["root-canal"]),
    ("extraction", "拔牙", 45, "#9333ea", "口腔外科", ["extraction"]),
    ("ortho_follow_up", "正畸复诊", 30, "#db2777", "正畸", ["ortho-adjustment"]),
    ("implant_consult", "种植咨询", 30, "#0f766e", "种植", ["implant-consult", "cbct"]),
    ("child_fluoride", "儿童涂氟", 20, "#f97316", "儿童口腔", ["fluoride-varnish"]),
)
SHIFTS = ((time(9), time(12)), (time(13, 30), time(18)))
WORKING_WEEKDAYS = range(6)  # Monday to Saturday
DAYS_AROUND_TODAY = 7
CANCEL_REASONS = ("临时有事", "身体不适", "改约其他时间", "出差")
SOURCES = (
    *[AppointmentSource.FRONT_DESK] * 4,
    *[AppointmentSource.PHONE] * 3,
    *[AppointmentSource.PORTAL] * 2,
    AppointmentSource.RECALL,
)


def seed_schedules(organization: Organization, *, seed: int = 7) -> int:
    """Chairs, types, shifts and appointments for every clinic of `organization`.

    Does nothing if the organization already has appointment types. Returns the number of
    appointments made.
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    with tenant_scope(organization), transaction.atomic():
        if AppointmentType.objects.exists():
            return 0
        boss = Staff.objects.filter(role_grants__role__code="boss").first()
        types = [
            appointment_type_create(
                actor=boss,
                code=code,
                name=name,
                duration_minutes=minutes,
                color=color,
                department=department,
                service_codes=services,
            )
            for code, name, minutes, color, department, services in APPOINTMENT_TYPES
        ]
        made = 0
        clinics = Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True).order_by("id")
        for clinic in clinics:
            made += _seed_clinic(organization, clinic, boss, types, rng)
    return made


def _seed_clinic(
    organization: Organization,
    clinic: Clinic,
    boss: Staff | None,
    types: list[AppointmentType],
    rng: random.Random,
) -> int:
    chairs = [
        chair_create(actor=boss, clinic=clinic, name=f"{n}号椅", room=f"诊室{n}") for n in (1, 2, 3)
    ]
    doctors = list(
        Staff.objects.filter(
            role_grants__clinic=clinic, role_grants__role__code="doctor", is_active=True
        )
        .distinct()
        .order_by("id")
    )
    for doctor in doctors:
        for weekday in WORKING_WEEKDAYS:
            for shift_start, shift_end in SHIFTS:
                shift_create(
                    actor=boss,
                    clinic=clinic,
                    doctor=doctor,
                    weekday=weekday,
                    start=shift_start,
                    end=shift_end,
                )
    patients = list(
        Patient.objects.filter(first_clinic=clinic, is_archived=False).order_by("id")[:400]
    ) or list(Patient.objects.filter(is_archived=False).order_by("id")[:400])
    if not doctors or not patients:
        return 0
    today = clinic_today(clinic)
    first, last = today - timedelta(DAYS_AROUND_TODAY), today + timedelta(DAYS_AROUND_TODAY)
    windows = working_time(
        clinic=clinic, first=first, last=last, doctor_ids=[d.pk for d in doctors]
    )
    now = timezone.now()
    appointments: list[Appointment] = []
    for (doctor_id, _day), intervals in sorted(windows.items()):
        index = next(i for i, d in enumerate(doctors) if d.pk == doctor_id)
        for interval in intervals:
            start = interval.start
            while True:
                start += timedelta(minutes=rng.choice((0, 0, 15, 30, 60)))
                kind = rng.choice(types)
                end = start + timedelta(minutes=kind.duration_minutes)
                if end > interval.end:
                    break
                appointment = Appointment(
                    organization=organization,
                    clinic=clinic,
                    patient=rng.choice(patients),
                    doctor_id=doctor_id,
                    chair=chairs[index] if index < len(chairs) else None,
                    appointment_type=kind,
                    start=start,
                    end=end,
                    created_at=min(start, now) - timedelta(days=rng.randint(1, 20)),
                )
                _set_outcome(appointment, now, rng)
                appointments.append(appointment)
                start = end
    Appointment.objects.bulk_create(appointments)
    AppointmentEvent.objects.bulk_create(_history(appointments))
    return len(appointments)


def _set_outcome(appointment: Appointment, now: datetime, rng: random.Random) -> None:
    """Past visits happened (mostly); those under way are in treatment; later ones are
    booked or confirmed."""
    start, end = appointment.start, appointment.end
    appointment.source = rng.choice(SOURCES)
    roll = rng.random()
    if end <= now:
        if roll < 0.08:
            appointment.status = AppointmentStatus.NO_SHOW
        elif roll < 0.18:
            appointment.status = AppointmentStatus.CANCELLED
            appointment.cancel_reason = rng.choice(CANCEL_REASONS)
        else:
            appointment.status = AppointmentStatus.COMPLETED
            appointment.arrived_at = start - timedelta(minutes=rng.randint(0, 15))
            appointment.started_at = start + timedelta(minutes=rng.randint(0, 10))
            appointment.completed_at = end
    elif start <= now:
        appointment.status = AppointmentStatus.IN_TREATMENT
        appointment.arrived_at = start - timedelta(minutes=5)
        appointment.started_at = start
    elif roll < 0.05:
        appointment.status = AppointmentStatus.CANCELLED
        appointment.cancel_reason = rng.choice(CANCEL_REASONS)
    elif roll < 0.45:
        appointment.status = AppointmentStatus.CONFIRMED


def _history(appointments: list[Appointment]) -> list[AppointmentEvent]:
    """The booking of each appointment, and the step to its present status."""
    events = []
    for a in appointments:
        common = {
            "organization_id": a.organization_id,
            "clinic_id": a.clinic_id,
            "appointment": a,
        }
        events.append(
            AppointmentEvent(
                **common,
                kind=AppointmentEvent.Kind.CREATED,
                to_status=AppointmentStatus.BOOKED,
                new_start=a.start,
                new_end=a.end,
                new_doctor_id=a.doctor_id,
                new_chair_id=a.chair_id,
                at=a.created_at,
            )
        )
        if a.status != AppointmentStatus.BOOKED:
            changed = a.completed_at or a.started_at or a.created_at + timedelta(hours=1)
            events.append(
                AppointmentEvent(
                    **common,
                    kind=AppointmentEvent.Kind.STATUS_CHANGED,
                    from_status=AppointmentStatus.BOOKED,
                    to_status=a.status,
                    note=a.cancel_reason,
                    at=changed,
                )
            )
    return events
