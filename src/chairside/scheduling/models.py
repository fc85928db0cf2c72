"""Chairs, appointment types, doctors' shifts and leave (S1), appointments and their history (S2).

Times of appointments are aware datetimes stored in UTC; shifts and leave are wall-clock
times of the clinic's zone, because a doctor's Monday morning is 09:00 whatever the offset.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient


class Chair(TenantModel):
    """A dental chair (牙椅), or a room used like one, in a clinic."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=50)
    room = models.CharField(_("room"), max_length=50, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("chair")
        verbose_name_plural = _("chairs")
        ordering: ClassVar[list[str]] = ["clinic", "name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "clinic", "name"], name="chair_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AppointmentType(TenantModel):
    """What a visit is for (初诊, 洁牙, 根管治疗 ...) and how long it usually takes.

    Shared by every clinic of the organization. `service_codes` names the services of the
    billing catalogue the visit leads to, until that catalogue can be linked.
    """

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=50)
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"), default=30)
    color = models.CharField(_("colour"), max_length=7, default="#2563eb")
    department = models.CharField(_("department"), max_length=50, blank=True)
    service_codes = models.JSONField(_("services"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering: ClassVar[list[str]] = ["name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="appointment_type_code_unique"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=480),
                name="appointment_type_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DoctorShift(TenantModel):
    """A doctor's regular weekly working time at a clinic (排班): e.g. Monday 09:00-12:00.

    A day may have several (morning and afternoon); shifts of one doctor never overlap,
    in any clinic.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"), help_text=_("0 is Monday."))
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering: ClassVar[list[str]] = ["doctor", "weekday", "start"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(start__lt=F("end")), name="shift_start_before_end"),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="shift_weekday_range"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "clinic", "weekday"], name="shift_clinic_day_idx"),
            models.Index(fields=["organization", "doctor", "weekday"], name="shift_doctor_day_idx"),
        ]


class ScheduleException(TenantModel):
    """A change to one day of a doctor's shifts: leave (all day or a time range), or an
    extra shift."""

    class Kind(models.TextChoices):
        LEAVE = "leave", _("Leave")
        EXTRA = "extra", _("Extra shift")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    # Both empty: leave for the whole day.
    start = models.TimeField(_("start"), null=True, blank=True)
    end = models.TimeField(_("end"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("schedule exception")
        verbose_name_plural = _("schedule exceptions")
        ordering: ClassVar[list[str]] = ["date", "start", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=(
                    Q(start__isnull=True, end__isnull=True, kind="leave")
                    | Q(start__isnull=False, end__isnull=False, start__lt=F("end"))
                ),
                name="schedule_exception_times",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "clinic", "date"], name="exception_clinic_day_idx"
            ),
        ]

    @property
    def whole_day(self) -> bool:
        return self.start is None


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CONFIRMED = "confirmed", _("Confirmed")
    ARRIVED = "arrived", _("Arrived")
    IN_TREATMENT = "in_treatment", _("In treatment")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# Appointments that hold their doctor and chair; the others free the time for someone else.
RELEASED_STATUSES = (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
ACTIVE_STATUSES = tuple(s for s in AppointmentStatus if s not in RELEASED_STATUSES)
ARRIVED_STATUSES = (
    AppointmentStatus.ARRIVED,
    AppointmentStatus.IN_TREATMENT,
    AppointmentStatus.COMPLETED,
)
NOT_ARRIVED_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED)

# PostgreSQL exclusion constraints added by migration 0002 (PostgreSQL only).
DOCTOR_OVERLAP_CONSTRAINT = "appointment_doctor_no_overlap"
CHAIR_OVERLAP_CONSTRAINT = "appointment_chair_no_overlap"


class AppointmentSource(models.TextChoices):
    FRONT_DESK = "front_desk", _("Front desk")
    PORTAL = "portal", _("Online self-booking")
    WALK_IN = "walk_in", _("Walk-in")
    RECALL = "recall", _("Recall")
    PHONE = "phone", _("Phone")


class Appointment(TenantModel):
    """A patient's visit to a doctor at a clinic, possibly in a chair (S2).

    A doctor, and a chair, is never in two active appointments at once: the booking services
    check it under a row lock, and on PostgreSQL exclusion constraints (migration 0002) stop
    anything that slips past them.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.BOOKED,
    )
    source = models.CharField(
        _("source"),
        max_length=20,
        choices=AppointmentSource.choices,
        default=AppointmentSource.FRONT_DESK,
    )
    note = models.TextField(_("note"), blank=True)
    booked_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    arrived_at = models.DateTimeField(_("arrived"), null=True, blank=True)
    started_at = models.DateTimeField(_("treatment started"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering: ClassVar[list[str]] = ["start", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="appointment_start_before_end"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "clinic", "start"], name="appointment_clinic_idx"),
            models.Index(fields=["organization", "doctor", "start"], name="appointment_doctor_idx"),
            models.Index(fields=["organization", "chair", "start"], name="appointment_chair_idx"),
            models.Index(
                fields=["organization", "patient", "start"], name="appointment_patient_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status not in RELEASED_STATUSES


class AppointmentEvent(TenantModel):
    """One line of an appointment's history. Rows are only ever added."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Booked")
        STATUS_CHANGED = "status_changed", _("Status changed")
        RESCHEDULED = "rescheduled", _("Rescheduled")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True)
    old_start = models.DateTimeField(null=True, blank=True)
    old_end = models.DateTimeField(null=True, blank=True)
    old_doctor = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    old_chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_start = models.DateTimeField(null=True, blank=True)
    new_end = models.DateTimeField(null=True, blank=True)
    new_doctor = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    new_chair = models.ForeignKey(
        Chair, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=200, blank=True)
    # Empty when the patient acted (online self-booking) or the system did.
    actor = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment history")
        ordering: ClassVar[list[str]] = ["at", "id"]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise RuntimeError("Appointment history is append-only.")
        super().save(*args, **kwargs)
