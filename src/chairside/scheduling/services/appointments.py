"""The appointment lifecycle (S2): book, walk in, confirm, check in, treat, complete,
cancel, no-show and reschedule.

No double booking: a booking locks the doctor's staff row (and the chair's row) before it
looks for clashes, so two clerks booking the same doctor at once queue up and the second
sees the first's appointment. On PostgreSQL, exclusion constraints stop anything that
slips past (a write outside these services); their error becomes the same 409.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import snapshot
from chairside.core.clock import clinic_now, clinic_time, clinic_today, hhmm, local
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.patients.models import Patient
from chairside.patients.services import patient_visit_recorded
from chairside.scheduling import notices
from chairside.scheduling.availability import working_time
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import (
    ACTIVE_STATUSES,
    CHAIR_OVERLAP_CONSTRAINT,
    DOCTOR_OVERLAP_CONSTRAINT,
    Appointment,
    AppointmentEvent,
    AppointmentSource,
    AppointmentStatus,
    AppointmentType,
    Chair,
)
from chairside.scheduling.priority import closed_windows
from chairside.scheduling.services.common import (
    audit,
    check_duration,
    clean_text,
    lock_chair,
    lock_staff,
    require_current_organization,
    require_open_clinic,
    require_works_in,
)
from chairside.scheduling.services.follow_ups import follow_up_open_for_no_show

LONGEST_APPOINTMENT = timedelta(hours=12)
WALK_IN_MINUTES = 30


class Keep(Enum):
    """Marks an argument left as it is (where None means "none")."""

    KEEP = "keep"


KEEP = Keep.KEEP


def _period(
    clinic: Clinic,
    start: datetime,
    end: datetime | None,
    appointment_type: AppointmentType | None,
) -> tuple[datetime, datetime]:
    """Start and end on the clinic's clock; no end means the type's usual duration."""
    start = clinic_time(start, clinic, "start")
    if end is None:
        if appointment_type is None:
            raise ValidationFailed(_("Give an end time or an appointment type."), field="end")
        end = start + timedelta(minutes=appointment_type.duration_minutes)
    end = clinic_time(end, clinic, "end")
    if end <= start:
        raise ValidationFailed(_("The end must be after the start."), field="end")
    if end - start > LONGEST_APPOINTMENT:
        raise ValidationFailed(_("An appointment can last at most 12 hours."), field="end")
    return start, end


def _check_parties(
    clinic: Clinic,
    patient: Patient,
    doctor: Staff,
    chair: Chair | None,
    appointment_type: AppointmentType | None,
) -> None:
    require_current_organization(clinic, patient, doctor, chair, appointment_type)
    require_open_clinic(clinic)
    if patient.is_archived:
        raise ValidationFailed(
            gettext("%(patient)s is archived and cannot be booked.") % {"patient": patient.name},
            field="patient_id",
        )
    require_works_in(doctor, clinic)
    if chair is not None:
        if chair.clinic_id != clinic.pk:
            raise ValidationFailed(
                gettext("%(chair)s is not at %(clinic)s.")
                % {"chair": chair.name, "clinic": clinic.name},
                field="chair_id",
            )
        if not chair.is_active:
            raise ValidationFailed(
                gettext("%(chair)s is out of service.") % {"chair": chair.name}, field="chair_id"
            )
    if appointment_type is not None and not appointment_type.is_active:
        raise ValidationFailed(
            gettext("%(type)s is no longer offered.") % {"type": appointment_type.name},
            field="appointment_type_id",
        )


def _check_working_hours(clinic: Clinic, doctor: Staff, start: datetime, end: datetime) -> None:
    day = start.date()
    windows = working_time(clinic=clinic, first=day, last=day, doctor_ids=[doctor.pk]).get(
        (doctor.pk, day), []
    )
    if any(w.start <= start and end <= w.end for w in windows):
        return
    hours = ", ".join(f"{hhmm(w.start, clinic)}-{hhmm(w.end, clinic)}" for w in windows)
    raise ValidationFailed(
        gettext(
            "%(doctor)s does not work at %(clinic)s from %(start)s to %(end)s on %(date)s "
            "(working hours that day: %(hours)s)."
        )
        % {
            "doctor": doctor,
            "clinic": clinic.name,
            "start": hhmm(start, clinic),
            "end": hhmm(end, clinic),
            "date": day.isoformat(),
            "hours": hours or gettext("none"),
        },
        field="start",
        code=SchedulingErrorCode.OUTSIDE_WORKING_HOURS,
    )


def _check_patient_may_book(
    clinic: Clinic, doctor: Staff, patient: Patient, start: datetime, end: datetime
) -> None:
    """Rules of online self-booking: not in the past, not in time held back for others."""
    if start < timezone.now():
        raise ValidationFailed(
            _("This time has already passed; choose a later one."), field="start"
        )
    for window in closed_windows(clinic=clinic, doctor=doctor, day=start.date(), patient=patient):
        if window.start < end and start < window.end:
            raise Conflict(
                _("This time is reserved; choose another one."),
                field="start",
                code=SchedulingErrorCode.HELD_BACK,
            )


def _clash(appointment: Appointment, **resource: Staff | Chair) -> Appointment | None:
    """The first other active appointment of the doctor or chair overlapping `appointment`.

    Ranges are half-open: one appointment ending at 09:30 and another starting then do not
    clash."""
    clashes = Appointment.objects.filter(
        status__in=ACTIVE_STATUSES,
        start__lt=appointment.end,
        end__gt=appointment.start,
        **resource,
    ).select_related("patient", "doctor", "chair", "clinic")
    if appointment.pk is not None:
        clashes = clashes.exclude(pk=appointment.pk)
    return clashes.order_by("start").first()


def _doctor_busy(clinic: Clinic, doctor: Staff, clash: Appointment | None) -> Conflict:
    if clash is None:
        message = gettext("%(doctor)s is already booked at this time.") % {"doctor": doctor}
    else:
        values = {
            "doctor": doctor,
            "patient": clash.patient.name,
            "start": hhmm(clash.start, clinic),
            "end": hhmm(clash.end, clinic),
            "clinic": clash.clinic.name,
        }
        if clash.clinic_id == clinic.pk:
            text = gettext("%(doctor)s already has %(patient)s from %(start)s to %(end)s.")
        else:
            text = gettext(
                "%(doctor)s already has %(patient)s from %(start)s to %(end)s at %(clinic)s."
            )
        message = text % values
    return Conflict(message, field="doctor_id", code=SchedulingErrorCode.DOUBLE_BOOKED)


def _chair_taken(clinic: Clinic, chair: Chair, clash: Appointment | None) -> Conflict:
    if clash is None:
        message = gettext("%(chair)s is already taken at this time.") % {"chair": chair.name}
    else:
        message = gettext(
            "%(chair)s is already taken by %(patient)s (%(doctor)s) from %(start)s to %(end)s."
        ) % {
            "chair": chair.name,
            "patient": clash.patient.name,
            "doctor": clash.doctor,
            "start": hhmm(clash.start, clinic),
            "end": hhmm(clash.end, clinic),
        }
    return Conflict(message, field="chair_id", code=SchedulingErrorCode.DOUBLE_BOOKED)


def _reserve(appointment: Appointment) -> None:
    """Lock the doctor and the chair, check both are free, and save the appointment."""
    clinic, doctor, chair = appointment.clinic, appointment.doctor, appointment.chair
    lock_staff(doctor)
    if chair is not None:
        lock_chair(chair)
    clash = _clash(appointment, doctor=doctor)
    if clash is not None:
        raise _doctor_busy(clinic, doctor, clash)
    if chair is not None:
        clash = _clash(appointment, chair=chair)
        if clash is not None:
            raise _chair_taken(clinic, chair, clash)
    try:
        with transaction.atomic():
            appointment.save()
    except IntegrityError as e:
        # Only a write that bypassed these services can get here; answer it the same way.
        if DOCTOR_OVERLAP_CONSTRAINT in str(e):
            raise _doctor_busy(clinic, doctor, _clash(appointment, doctor=doctor)) from e
        if CHAIR_OVERLAP_CONSTRAINT in str(e) and chair is not None:
            raise _chair_taken(clinic, chair, _clash(appointment, chair=chair)) from e
        raise


def _record(
    appointment: Appointment,
    *,
    kind: str,
    actor: Staff | None,
    summary: str,
    before: dict[str, Any] | None = None,
    note: str = "",
    **change: Any,
) -> None:
    """Append to the appointment's history and to the audit log."""
    AppointmentEvent.objects.create(
        organization_id=appointment.organization_id,
        clinic_id=appointment.clinic_id,
        appointment=appointment,
        kind=kind,
        actor=actor,
        note=note[:200],
        **change,
    )
    audit(
        AuditEntry.Action.CREATE if before is None else AuditEntry.Action.UPDATE,
        appointment,
        actor=actor,
        clinic=appointment.clinic,
        before=before,
        summary=summary,
    )


@transaction.atomic
def appointment_book(
    *,
    clinic: Clinic,
    patient: Patient,
    doctor: Staff,
    start: datetime,
    end: datetime | None = None,
    chair: Chair | None = None,
    appointment_type: AppointmentType | None = None,
    source: str = AppointmentSource.FRONT_DESK,
    note: str = "",
    actor: Staff | None,
    allow_outside_hours: bool = False,
) -> Appointment:
    """Book `patient` with `doctor` (and `chair`) at `clinic`; the doctor and chair must be free.

    A naive `start`/`end` is the clinic's wall-clock time; no `end` means the type's
    duration. Staff may book outside working hours with `allow_outside_hours`; online
    self-bookings (`source="portal"`, `actor=None`) never can, nor in the past, nor in
    windows held back for other patients.
    """
    if source not in AppointmentSource.values:
        raise ValidationFailed(_("Choose where the booking came from."), field="source")
    start, end = _period(clinic, start, end, appointment_type)
    _check_parties(clinic, patient, doctor, chair, appointment_type)
    note = clean_text(note, field="note", limit=2000)
    by_patient = source == AppointmentSource.PORTAL
    if by_patient or not allow_outside_hours:
        _check_working_hours(clinic, doctor, start, end)
    if by_patient:
        _check_patient_may_book(clinic, doctor, patient, start, end)
    appointment = Appointment(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        chair=chair,
        appointment_type=appointment_type,
        start=start,
        end=end,
        status=AppointmentStatus.BOOKED,
        source=source,
        note=note,
        booked_by=actor,
    )
    _reserve(appointment)
    _record(
        appointment,
        kind=AppointmentEvent.Kind.CREATED,
        actor=actor,
        summary=gettext("Booked %(patient)s with %(doctor)s at %(start)s")
        % {"patient": patient.name, "doctor": doctor, "start": f"{start:%Y-%m-%d %H:%M}"},
        to_status=AppointmentStatus.BOOKED,
        new_start=start,
        new_end=end,
        new_doctor=doctor,
        new_chair=chair,
    )
    notices.notice_booked(appointment)
    return appointment


@transaction.atomic
def appointment_walk_in(
    *,
    clinic: Clinic,
    patient: Patient,
    doctor: Staff,
    actor: Staff | None,
    appointment_type: AppointmentType | None = None,
    chair: Chair | None = None,
    minutes: int | None = None,
    note: str = "",
) -> Appointment:
    """A patient who came in without an appointment: booked from now, already arrived.

    Working hours do not apply (walk-ins come when they come); a busy doctor or chair does.
    """
    now = clinic_now(clinic).replace(second=0, microsecond=0)
    if minutes is None:
        minutes = appointment_type.duration_minutes if appointment_type else WALK_IN_MINUTES
    appointment = appointment_book(
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        start=now,
        end=now + timedelta(minutes=check_duration(minutes, field="minutes")),
        chair=chair,
        appointment_type=appointment_type,
        source=AppointmentSource.WALK_IN,
        note=note,
        actor=actor,
        allow_outside_hours=True,
    )
    return appointment_check_in(appointment=appointment, actor=actor)


# What each step requires of the appointment's status, and what a clerk is told otherwise.
_STEPS: dict[str, tuple[tuple[str, ...], Any]] = {
    "confirm": (
        (AppointmentStatus.BOOKED,),
        _("Only a booked appointment can be confirmed; this one is %(status)s."),
    ),
    "check_in": (
        (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
        _("Only a booked or confirmed appointment can be checked in; this one is %(status)s."),
    ),
    "start": (
        (AppointmentStatus.ARRIVED,),
        _("Treatment starts after the patient has arrived; this appointment is %(status)s."),
    ),
    "complete": (
        (AppointmentStatus.IN_TREATMENT,),
        _("Only an appointment in treatment can be completed; this one is %(status)s."),
    ),
    "cancel": (
        (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
        _("Only a booked or confirmed appointment can be cancelled; this one is %(status)s."),
    ),
    "no_show": (
        (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
        _("Only a booked or confirmed appointment can be a no-show; this one is %(status)s."),
    ),
    "reschedule": (
        (AppointmentStatus.BOOKED, AppointmentStatus.CONFIRMED),
        _("Only a booked or confirmed appointment can be moved; this one is %(status)s."),
    ),
}


def _locked(appointment: Appointment, step: str) -> Appointment:
    """The appointment re-read under a row lock, refused unless `step` may follow its status."""
    require_current_organization(appointment)
    locked = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("clinic", "patient", "doctor", "chair", "appointment_type")
        .get(pk=appointment.pk)
    )
    allowed, message = _STEPS[step]
    if locked.status not in allowed:
        raise Conflict(
            message % {"status": locked.get_status_display()},
            code=SchedulingErrorCode.INVALID_TRANSITION,
        )
    return locked


def _move_to(
    appointment: Appointment,
    status: str,
    *,
    actor: Staff | None,
    stamp: str | None = None,
    note: str = "",
) -> Appointment:
    before = snapshot(appointment)
    previous = appointment.status
    appointment.status = status
    if stamp is not None:
        setattr(appointment, stamp, timezone.now())
    appointment.save()
    _record(
        appointment,
        kind=AppointmentEvent.Kind.STATUS_CHANGED,
        actor=actor,
        before=before,
        note=note,
        summary=gettext("%(patient)s: %(status)s")
        % {"patient": appointment.patient.name, "status": appointment.get_status_display()},
        from_status=previous,
        to_status=status,
    )
    return appointment


@transaction.atomic
def appointment_confirm(*, appointment: Appointment, actor: Staff | None) -> Appointment:
    """The patient said they will come (by phone, message or online)."""
    locked = _locked(appointment, "confirm")
    return _move_to(locked, AppointmentStatus.CONFIRMED, actor=actor)


@transaction.atomic
def appointment_check_in(*, appointment: Appointment, actor: Staff | None) -> Appointment:
    """The patient is here; only on the appointment's day, so yesterday's list stays true."""
    locked = _locked(appointment, "check_in")
    day = local(locked.start, locked.clinic).date()
    if day != clinic_today(locked.clinic):
        raise Conflict(
            gettext("This appointment is on %(date)s; patients are checked in on the day.")
            % {"date": day.isoformat()},
            code=SchedulingErrorCode.INVALID_TRANSITION,
        )
    return _move_to(locked, AppointmentStatus.ARRIVED, actor=actor, stamp="arrived_at")


@transaction.atomic
def appointment_start(*, appointment: Appointment, actor: Staff | None) -> Appointment:
    locked = _locked(appointment, "start")
    return _move_to(locked, AppointmentStatus.IN_TREATMENT, actor=actor, stamp="started_at")


@transaction.atomic
def appointment_complete(*, appointment: Appointment, actor: Staff | None) -> Appointment:
    locked = _locked(appointment, "complete")
    completed = _move_to(locked, AppointmentStatus.COMPLETED, actor=actor, stamp="completed_at")
    patient_visit_recorded(
        patient=completed.patient, visited_at=completed.arrived_at or completed.start
    )
    return completed


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, actor: Staff | None, reason: str
) -> Appointment:
    """Cancel with a reason (kept for the cancellation figures); the time is free again."""
    reason = clean_text(
        reason, field="reason", limit=200, required=_("Say why the appointment is cancelled.")
    )
    locked = _locked(appointment, "cancel")
    locked.cancel_reason = reason
    cancelled = _move_to(locked, AppointmentStatus.CANCELLED, actor=actor, note=reason)
    notices.notice_cancelled(cancelled, actor=actor)
    return cancelled


@transaction.atomic
def appointment_mark_no_show(*, appointment: Appointment, actor: Staff | None) -> Appointment:
    """The patient did not come; only once the appointment's time has begun."""
    locked = _locked(appointment, "no_show")
    if timezone.now() < locked.start:
        raise Conflict(
            gettext("The appointment starts at %(start)s; it cannot be a no-show before then.")
            % {"start": f"{local(locked.start, locked.clinic):%Y-%m-%d %H:%M}"},
            code=SchedulingErrorCode.INVALID_TRANSITION,
        )
    no_show = _move_to(locked, AppointmentStatus.NO_SHOW, actor=actor)
    notices.notice_no_show(no_show, actor=actor)
    follow_up_open_for_no_show(appointment=no_show, actor=actor)
    return no_show


@transaction.atomic
def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    end: datetime | None = None,
    doctor: Staff | None = None,
    chair: Chair | Keep | None = KEEP,
    actor: Staff | None,
    allow_outside_hours: bool = False,
    by_patient: bool = False,
    reason: str = "",
) -> Appointment:
    """Move an appointment to a new time, doctor or chair; the history keeps the old ones.

    No `end` keeps the length; no `doctor` keeps the doctor; `chair=None` frees the chair,
    leaving it out keeps it. The status stays (a confirmed appointment stays confirmed).
    `by_patient`: the patient moves it online, with the rules of online self-booking.
    """
    reason = clean_text(reason, field="reason", limit=200)
    locked = _locked(appointment, "reschedule")
    clinic = locked.clinic
    new_doctor = locked.doctor if doctor is None else doctor
    new_chair = locked.chair if chair is KEEP else chair
    new_start = clinic_time(start, clinic, "start")
    new_end = end if end is not None else new_start + (locked.end - locked.start)
    new_start, new_end = _period(clinic, new_start, new_end, None)
    unchanged = (new_start, new_end, new_doctor.pk, getattr(new_chair, "pk", None)) == (
        locked.start,
        locked.end,
        locked.doctor_id,
        locked.chair_id,
    )
    if unchanged:
        return locked
    _check_parties(clinic, locked.patient, new_doctor, new_chair, None)
    if by_patient or not allow_outside_hours:
        _check_working_hours(clinic, new_doctor, new_start, new_end)
    if by_patient:
        _check_patient_may_book(clinic, new_doctor, locked.patient, new_start, new_end)
    before = snapshot(locked)
    previous_start = locked.start
    old = {
        "old_start": locked.start,
        "old_end": locked.end,
        "old_doctor": locked.doctor,
        "old_chair": locked.chair,
    }
    locked.start, locked.end = new_start, new_end
    locked.doctor, locked.chair = new_doctor, new_chair
    _reserve(locked)
    _record(
        locked,
        kind=AppointmentEvent.Kind.RESCHEDULED,
        actor=actor,
        before=before,
        note=reason,
        summary=gettext("%(patient)s moved to %(start)s with %(doctor)s")
        % {
            "patient": locked.patient.name,
            "start": f"{new_start:%Y-%m-%d %H:%M}",
            "doctor": new_doctor,
        },
        new_start=new_start,
        new_end=new_end,
        new_doctor=new_doctor,
        new_chair=new_chair,
        **old,
    )
    notices.notice_rescheduled(locked, previous_start=previous_start, actor=actor)
    return locked
