"""Chairs, appointment types, doctors' shifts and leave (S1), appointments and their history (S2).

Times of appointments are aware datetimes stored in UTC; shifts and leave are wall-clock
times of the clinic's zone, because a doctor's Monday morning is 09:00 whatever the offset.
"""

from __future__ import annotations

from datetime import time
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


# --- auto-triage (S6), recall (S7) and doctors' calendar feeds --------------------------


class Symptom(models.TextChoices):
    """What a patient can tick when describing a complaint (online or at the front desk)."""

    TOOTHACHE = "toothache", _("Toothache")
    BLEEDING_GUMS = "bleeding_gums", _("Bleeding gums")
    LOOSE_TOOTH = "loose_tooth", _("Loose tooth")
    MISSING_TOOTH = "missing_tooth", _("Missing tooth")
    CROOKED_TEETH = "crooked_teeth", _("Crooked teeth")
    SENSITIVITY = "sensitivity", _("Sensitive teeth")
    SWELLING = "swelling", _("Swelling")
    CHILD_CHECKUP = "child_checkup", _("Child check-up")
    CLEANING = "cleaning", _("Cleaning")
    WHITENING = "whitening", _("Whitening")


class TriageRule(TenantModel):
    """A rule of auto-triage (自动分诊): words or symptoms of a complaint that point to a
    department, an appointment type and doctors. Organization-wide, or for one clinic."""

    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: every clinic."),
    )
    name = models.CharField(_("name"), max_length=100)
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    symptoms = models.JSONField(_("symptoms"), default=list, blank=True)
    department = models.CharField(_("department"), max_length=50, blank=True)
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    doctors = models.ManyToManyField(Staff, blank=True, related_name="+")
    # Lower first, among rules with as many hits.
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("triage rule")
        verbose_name_plural = _("triage rules")
        ordering: ClassVar[list[str]] = ["priority", "id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "is_active"], name="triage_rule_active_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class RecallRule(TenantModel):
    """When a completed visit calls the patient back (复查召回): e.g. six months after a
    cleaning, book another cleaning. Organization-wide."""

    class Unit(models.TextChoices):
        DAYS = "days", _("days")
        MONTHS = "months", _("months")

    name = models.CharField(_("name"), max_length=100)
    trigger_types = models.ManyToManyField(AppointmentType, blank=True, related_name="+")
    # A visit also triggers when its type leads to one of these services.
    service_codes = models.JSONField(_("services"), default=list, blank=True)
    interval = models.PositiveSmallIntegerField(_("interval"), default=6)
    interval_unit = models.CharField(
        _("unit"), max_length=10, choices=Unit.choices, default=Unit.MONTHS
    )
    recall_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("recall for")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("recall rule")
        verbose_name_plural = _("recall rules")
        ordering: ClassVar[list[str]] = ["name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(interval__gte=1, interval__lte=3660), name="recall_rule_interval"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RecallStatus(models.TextChoices):
    DUE = "due", _("Due")
    CONTACTED = "contacted", _("Contacted")
    BOOKED = "booked", _("Booked")
    DONE = "done", _("Done")
    DISMISSED = "dismissed", _("Dismissed")


# A patient has at most one of these per rule: the one the front desk works on.
OPEN_RECALL_STATUSES = (RecallStatus.DUE, RecallStatus.CONTACTED)


class Recall(TenantModel):
    """A patient due back at a clinic, from a completed visit and a recall rule, tracked to a
    booking. `token` is the unguessable key of the patient's booking link."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(RecallRule, on_delete=models.PROTECT, related_name="recalls")
    source_appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=20, choices=RecallStatus.choices, default=RecallStatus.DUE
    )
    booked_appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    contacted_at = models.DateTimeField(_("contacted"), null=True, blank=True)
    contacted_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        ordering: ClassVar[list[str]] = ["due_date", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "patient", "rule"],
                condition=Q(status__in=["due", "contacted"]),
                name="recall_one_open_per_rule",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "clinic", "status", "due_date"], name="recall_clinic_idx"
            ),
            models.Index(fields=["organization", "patient", "rule"], name="recall_patient_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.due_date:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RECALL_STATUSES


class CalendarFeed(TenantModel):
    """A doctor's appointments as an iCalendar subscription (for a phone's calendar), reached
    by an unguessable token with no sign-in. Revoked feeds answer 404."""

    doctor = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    token = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "doctor"], name="calendar_feed_doctor_idx"),
        ]

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


# --- appointment notices and follow-up (S5) ----------------------------------------------

# Used for a clinic that has no ReminderSettings row.
DEFAULT_REMINDER_TIME = time(18, 0)


class ReminderSettings(TenantModel):
    """What a clinic sends patients about their appointments, and when the day-before
    reminder goes out (S5). A clinic without a row uses the field defaults."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    reminder_enabled = models.BooleanField(_("send a reminder the day before"), default=True)
    reminder_time = models.TimeField(
        _("reminder time of day"),
        default=DEFAULT_REMINDER_TIME,
        help_text=_("On the clinic's clock, the day before the appointment."),
    )
    confirmation_enabled = models.BooleanField(_("confirm new bookings"), default=True)
    change_notices_enabled = models.BooleanField(
        _("tell patients when an appointment is moved or cancelled"), default=True
    )
    no_show_follow_up_enabled = models.BooleanField(
        _("open a follow-up task for a no-show"), default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder settings")
        verbose_name_plural = _("reminder settings")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "clinic"], name="reminder_settings_clinic_unique"
            ),
        ]


class FollowUpTask(TenantModel):
    """Someone at the clinic is to call a patient, e.g. after a no-show (S5)."""

    class Kind(models.TextChoices):
        NO_SHOW = "no_show", _("No-show")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="follow_ups"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    assigned_to = models.ForeignKey(
        Staff,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    due_at = models.DateTimeField(_("due"))
    note = models.TextField(_("note"), blank=True)
    done_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        ordering: ClassVar[list[str]] = ["due_at", "id"]
        constraints: ClassVar[list[Any]] = [
            # One task of a kind per appointment: marking a no-show twice cannot double it.
            models.UniqueConstraint(
                fields=["organization", "appointment", "kind"], name="follow_up_once_per_kind"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "clinic", "status", "due_at"], name="follow_up_clinic_idx"
            ),
        ]
