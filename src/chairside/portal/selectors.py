"""Reads of the patient portal: the organization behind a portal address, what a patient
may book (clinics, services, doctors, free times) and the household's appointments.

Everything runs inside the organization's tenant scope, set by the portal pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import Clinic, Organization, Staff
from chairside.patients.models import FamilyRelation, Patient
from chairside.portal.models import PortalSettings
from chairside.portal.rules import CHANGEABLE_STATUSES as CHANGEABLE_STATUSES
from chairside.portal.rules import SlotChoice, bookable_slots, booking_days
from chairside.portal.rules import clinic_rules as clinic_rules  # for the pages
from chairside.portal.rules import doctors_free_at as doctors_free_at
from chairside.scheduling.models import Appointment, AppointmentStatus, AppointmentType
from chairside.scheduling.selectors import appointment_type_list, shift_list

PAST_BOOKINGS_SHOWN = 30
# Statuses in which a booking is still ahead of the patient.
UPCOMING_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_TREATMENT,
)


# --- organization, clinics and their rules ------------------------------------------


def organization_by_slug(*, slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise NotFound(_("Not found."))
    return organization


def portal_clinics() -> list[Clinic]:
    """Clinics (not the HQ office) that are open and take online bookings."""
    closed = PortalSettings.objects.filter(portal_enabled=False).values("clinic_id")
    return list(
        Clinic.objects.filter(kind=Clinic.Kind.CLINIC, is_active=True)
        .exclude(pk__in=closed)
        .order_by("id")
    )


def get_portal_clinic(*, clinic_id: int) -> Clinic:
    clinic = next((c for c in portal_clinics() if c.pk == clinic_id), None)
    if clinic is None:
        raise NotFound(_("This clinic does not take online bookings."))
    return clinic


def bookable_types() -> list[AppointmentType]:
    """The services patients may book: the active appointment types, in the clinic's order."""
    return list(appointment_type_list().order_by("id"))


def get_bookable_type(*, appointment_type_id: int) -> AppointmentType:
    found = appointment_type_list().filter(pk=appointment_type_id).first()
    if found is None:
        raise NotFound(_("This service cannot be booked online."))
    return found


# --- who the signed-in person may act for -------------------------------------------


_RELATION_ORDER = [
    FamilyRelation.SELF,
    FamilyRelation.SPOUSE,
    FamilyRelation.CHILD,
    FamilyRelation.PARENT,
    FamilyRelation.GRANDPARENT,
    FamilyRelation.SIBLING,
    FamilyRelation.OTHER,
]


@dataclass(frozen=True)
class Household:
    """The person signed in with a mobile: the patients registered with that mobile
    (`holders`: a parent and the children they registered with their own number), and
    everyone in those patients' families. Holders come first."""

    phone: str
    holders: tuple[Patient, ...]
    members: tuple[Patient, ...]

    @property
    def ids(self) -> set[int]:
        return {p.pk for p in self.members}

    @property
    def default_patient(self) -> Patient:
        return self.holders[0]

    def get(self, patient_id: int | None) -> Patient:
        found = next((p for p in self.members if p.pk == patient_id), None)
        if found is None:
            raise NotFound(_("Patient not found."))
        return found


def _relation_rank() -> Case:
    return Case(
        *[When(family_relation=r, then=Value(i)) for i, r in enumerate(_RELATION_ORDER)],
        default=Value(len(_RELATION_ORDER)),
        output_field=IntegerField(),
    )


def household(*, phone: str, patient_ids: Collection[int]) -> Household | None:
    """The household of a sign-in, as it is now: a patient whose mobile changed since, or
    who was archived, drops out; None when nobody is left."""
    holders = tuple(
        Patient.objects.filter(pk__in=list(patient_ids), phone=phone, is_archived=False)
        .annotate(rank=_relation_rank())
        .order_by("rank", "birth_date", "id")
    )
    if not holders:
        return None
    family_ids = {p.family_id for p in holders if p.family_id is not None}
    relatives = (
        Patient.objects.filter(family_id__in=family_ids, is_archived=False)
        .exclude(pk__in=[p.pk for p in holders])
        .annotate(rank=_relation_rank())
        .order_by("rank", "birth_date", "id")
    )
    return Household(phone=phone, holders=holders, members=holders + tuple(relatives))


# --- free times -----------------------------------------------------------------------


@dataclass
class SlotDay:
    """One of the clinic's days and the times free on it, morning and afternoon apart."""

    day: date
    slots: list[SlotChoice] = field(default_factory=list)

    @property
    def morning(self) -> list[SlotChoice]:
        return [s for s in self.slots if s.start.hour < 12]

    @property
    def afternoon(self) -> list[SlotChoice]:
        return [s for s in self.slots if s.start.hour >= 12]


def slot_days(
    *,
    clinic: Clinic,
    rules: PortalSettings,
    patient: Patient,
    appointment_type: AppointmentType | None = None,
    minutes: int | None = None,
    doctor: Staff | None = None,
) -> list[SlotDay]:
    """Every bookable day with its free times for `patient`. With no `doctor`, each time
    appears once, with the first doctor free then (the booking tries the others too)."""
    first, last = booking_days(clinic=clinic, rules=rules)
    by_day: dict[date, SlotDay] = {
        first + timedelta(days=n): SlotDay(first + timedelta(days=n))
        for n in range((last - first).days + 1)
    }
    seen: set[datetime] = set()
    for slot in bookable_slots(
        clinic=clinic,
        rules=rules,
        patient=patient,
        appointment_type=appointment_type,
        minutes=minutes,
        doctor=doctor,
    ):
        if doctor is None and slot.start in seen:
            continue
        seen.add(slot.start)
        by_day[slot.start.date()].slots.append(slot)
    return list(by_day.values())


@dataclass(frozen=True)
class DoctorChoice:
    doctor: Staff
    next_free: datetime | None
    free_count: int


def doctor_choices(
    *, clinic: Clinic, rules: PortalSettings, patient: Patient, appointment_type: AppointmentType
) -> list[DoctorChoice]:
    """The clinic's doctors with their next free time for the service (None: fully booked),
    those with free times first."""
    doctors: dict[int, Staff] = {s.doctor_id: s.doctor for s in shift_list(clinic=clinic)}
    free: dict[int, list[SlotChoice]] = defaultdict(list)
    for slot in bookable_slots(
        clinic=clinic,
        rules=rules,
        patient=patient,
        appointment_type=appointment_type,
        minutes=None,
        doctor=None,
    ):
        doctors.setdefault(slot.doctor.pk, slot.doctor)
        free[slot.doctor.pk].append(slot)
    choices = [
        DoctorChoice(
            doctor=d,
            next_free=free[d.pk][0].start if free[d.pk] else None,
            free_count=len(free[d.pk]),
        )
        for d in doctors.values()
        if d.is_active
    ]
    return sorted(
        choices,
        key=lambda c: (c.next_free is None, c.next_free, c.doctor.display_name, c.doctor.pk),
    )


# --- the household's appointments -----------------------------------------------------


def household_appointments(*, household: Household) -> tuple[list[Appointment], list[Appointment]]:
    """(upcoming, history): bookings still ahead, soonest first; and the rest (visits done,
    cancelled, missed), latest first."""
    now = timezone.now()
    appointments = Appointment.objects.filter(patient_id__in=household.ids).select_related(
        "clinic", "patient", "doctor", "appointment_type"
    )
    ahead = Q(end__gt=now, status__in=UPCOMING_STATUSES)
    upcoming = list(appointments.filter(ahead).order_by("start", "id"))
    history = list(appointments.exclude(ahead).order_by("-start", "-id")[:PAST_BOOKINGS_SHOWN])
    return upcoming, history


def get_household_appointment(*, household: Household, appointment_id: int) -> Appointment:
    """One of the household's appointments; another family's is "not found" like a missing one."""
    appointment = (
        Appointment.objects.filter(patient_id__in=household.ids, pk=appointment_id)
        .select_related("clinic", "patient", "doctor", "appointment_type")
        .first()
    )
    if appointment is None:
        raise NotFound(_("Booking not found."))
    return appointment
