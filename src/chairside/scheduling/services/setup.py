"""Set-up of the schedule (S1): chairs, appointment types, doctors' shifts and leave."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, time

from django.db import transaction
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import changed_fields, snapshot
from chairside.core.clock import at, check_year, day_bounds, hhmm
from chairside.core.errors import Conflict, ErrorCode, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentType,
    Chair,
    DoctorShift,
    ScheduleException,
)
from chairside.scheduling.services.common import (
    audit,
    audit_deleted,
    check_duration,
    clean_text,
    lock_staff,
    require_current_organization,
    require_open_clinic,
    require_works_in,
)

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


# --- chairs ---------------------------------------------------------------------------


def _chair_name_free(clinic: Clinic, name: str, chair: Chair | None) -> None:
    taken = Chair.objects.filter(clinic=clinic, name=name)
    if chair is not None:
        taken = taken.exclude(pk=chair.pk)
    if taken.exists():
        raise ValidationFailed(
            _("This clinic already has a chair with this name."),
            field="name",
            code=ErrorCode.CONFLICT,
        )


@transaction.atomic
def chair_create(
    *, actor: Staff | None, clinic: Clinic, name: str, room: str = "", is_active: bool = True
) -> Chair:
    require_current_organization(clinic)
    require_open_clinic(clinic)
    name = clean_text(name, field="name", limit=50, required=_("Enter the chair's name."))
    room = clean_text(room, field="room", limit=50)
    _chair_name_free(clinic, name, None)
    chair = Chair.objects.create(clinic=clinic, name=name, room=room, is_active=is_active)
    audit(
        AuditEntry.Action.CREATE,
        chair,
        actor=actor,
        clinic=clinic,
        summary=gettext("Chair added: %(name)s") % {"name": name},
    )
    return chair


@transaction.atomic
def chair_update(
    *,
    actor: Staff | None,
    chair: Chair,
    name: str | None = None,
    room: str | None = None,
    is_active: bool | None = None,
) -> Chair:
    """Rename, move or take a chair out of service; appointments already in it stay."""
    require_current_organization(chair)
    chair = Chair.objects.select_for_update().select_related("clinic").get(pk=chair.pk)
    before = snapshot(chair)
    if name is not None:
        chair.name = clean_text(name, field="name", limit=50, required=_("Enter the chair's name."))
        _chair_name_free(chair.clinic, chair.name, chair)
    if room is not None:
        chair.room = clean_text(room, field="room", limit=50)
    if is_active is not None:
        chair.is_active = is_active
    if changed_fields(before, snapshot(chair)):
        chair.save()
        audit(
            AuditEntry.Action.UPDATE,
            chair,
            actor=actor,
            clinic=chair.clinic,
            before=before,
            summary=gettext("Chair changed: %(name)s") % {"name": chair.name},
        )
    return chair


# --- appointment types ----------------------------------------------------------------


def _color(color: str) -> str:
    if not _COLOR.fullmatch(color):
        raise ValidationFailed(_("Choose a colour such as #2563eb."), field="color")
    return color


def _service_codes(codes: Iterable[str]) -> list[str]:
    cleaned = [code.strip() for code in codes if code.strip()]
    if len(cleaned) > 50 or any(len(code) > 40 for code in cleaned):
        raise ValidationFailed(
            _("List at most 50 service codes of at most 40 characters each."),
            field="service_codes",
        )
    return list(dict.fromkeys(cleaned))


@transaction.atomic
def appointment_type_create(
    *,
    actor: Staff | None,
    code: str,
    name: str,
    duration_minutes: int = 30,
    color: str = "#2563eb",
    department: str = "",
    service_codes: Iterable[str] = (),
    is_active: bool = True,
) -> AppointmentType:
    """An appointment type shared by every clinic of the organization."""
    code = code.strip().lower()
    if not _CODE.fullmatch(code):
        raise ValidationFailed(
            _("Use lower-case letters, digits, - and _ for the code (at most 40)."), field="code"
        )
    if AppointmentType.objects.filter(code=code).exists():
        raise ValidationFailed(
            _("An appointment type with this code already exists."),
            field="code",
            code=ErrorCode.CONFLICT,
        )
    appointment_type = AppointmentType.objects.create(
        code=code,
        name=clean_text(name, field="name", limit=50, required=_("Enter the name.")),
        duration_minutes=check_duration(duration_minutes, field="duration_minutes"),
        color=_color(color),
        department=clean_text(department, field="department", limit=50),
        service_codes=_service_codes(service_codes),
        is_active=is_active,
    )
    audit(
        AuditEntry.Action.CREATE,
        appointment_type,
        actor=actor,
        clinic=None,
        summary=gettext("Appointment type added: %(name)s") % {"name": appointment_type.name},
    )
    return appointment_type


@transaction.atomic
def appointment_type_update(
    *,
    actor: Staff | None,
    appointment_type: AppointmentType,
    name: str | None = None,
    duration_minutes: int | None = None,
    color: str | None = None,
    department: str | None = None,
    service_codes: Iterable[str] | None = None,
    is_active: bool | None = None,
) -> AppointmentType:
    """Change a type; the code stays, since other modules refer to it. Booked appointments
    keep their times."""
    require_current_organization(appointment_type)
    kind = AppointmentType.objects.select_for_update().get(pk=appointment_type.pk)
    before = snapshot(kind)
    if name is not None:
        kind.name = clean_text(name, field="name", limit=50, required=_("Enter the name."))
    if duration_minutes is not None:
        kind.duration_minutes = check_duration(duration_minutes, field="duration_minutes")
    if color is not None:
        kind.color = _color(color)
    if department is not None:
        kind.department = clean_text(department, field="department", limit=50)
    if service_codes is not None:
        kind.service_codes = _service_codes(service_codes)
    if is_active is not None:
        kind.is_active = is_active
    if changed_fields(before, snapshot(kind)):
        kind.save()
        audit(
            AuditEntry.Action.UPDATE,
            kind,
            actor=actor,
            clinic=None,
            before=before,
            summary=gettext("Appointment type changed: %(name)s") % {"name": kind.name},
        )
    return kind


# --- shifts and leave -----------------------------------------------------------------


def _wall_time(value: time, field: str) -> None:
    if value.tzinfo is not None:
        raise ValidationFailed(
            _("Enter a time of day such as 09:00, without a time zone."), field=field
        )


def _times(start: time, end: time) -> None:
    _wall_time(start, "start")
    _wall_time(end, "end")
    if start >= end:
        raise ValidationFailed(_("The end must be after the start."), field="end")


@transaction.atomic
def shift_create(
    *, actor: Staff | None, clinic: Clinic, doctor: Staff, weekday: int, start: time, end: time
) -> DoctorShift:
    """A weekly shift; it may not overlap another shift of the doctor in any clinic."""
    require_current_organization(clinic, doctor)
    require_open_clinic(clinic)
    if not 0 <= weekday <= 6:
        raise ValidationFailed(_("Choose a weekday from 0 (Monday) to 6."), field="weekday")
    _times(start, end)
    require_works_in(doctor, clinic)
    lock_staff(doctor)
    overlap = (
        DoctorShift.objects.filter(doctor=doctor, weekday=weekday, start__lt=end, end__gt=start)
        .select_related("clinic")
        .first()
    )
    if overlap is not None:
        raise Conflict(
            gettext("%(doctor)s already works %(start)s-%(end)s on %(weekday)s at %(clinic)s.")
            % {
                "doctor": doctor,
                "start": overlap.start.strftime("%H:%M"),
                "end": overlap.end.strftime("%H:%M"),
                "weekday": WEEKDAYS[weekday],
                "clinic": overlap.clinic.name,
            },
            field="start",
            code=SchedulingErrorCode.SHIFT_OVERLAP,
        )
    shift = DoctorShift.objects.create(
        clinic=clinic, doctor=doctor, weekday=weekday, start=start, end=end
    )
    audit(
        AuditEntry.Action.CREATE,
        shift,
        actor=actor,
        clinic=clinic,
        summary=gettext("Shift added for %(doctor)s: %(weekday)s %(start)s-%(end)s")
        % {
            "doctor": doctor,
            "weekday": WEEKDAYS[weekday],
            "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"),
        },
    )
    return shift


@transaction.atomic
def shift_delete(*, actor: Staff | None, shift: DoctorShift) -> None:
    """Appointments already booked in the shift stay; they are now outside working hours."""
    require_current_organization(shift)
    before = snapshot(shift)
    clinic = shift.clinic
    shift.delete()
    audit_deleted(
        shift,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=gettext("Shift removed for %(doctor)s") % {"doctor": shift.doctor},
    )


@transaction.atomic
def schedule_exception_create(
    *,
    actor: Staff | None,
    clinic: Clinic,
    doctor: Staff,
    day: date,
    kind: str,
    start: time | None = None,
    end: time | None = None,
    reason: str = "",
) -> ScheduleException:
    """Leave (the whole day when no times are given) or an extra shift on one day.

    Leave over booked appointments is refused until they are moved or cancelled: patients
    must not arrive to find no doctor.
    """
    require_current_organization(clinic, doctor)
    require_open_clinic(clinic)
    check_year(day, "date")
    if kind not in ScheduleException.Kind.values:
        raise ValidationFailed(_("Choose leave or an extra shift."), field="kind")
    if (start is None) != (end is None):
        raise ValidationFailed(_("Give both a start and an end, or neither."), field="end")
    if start is None and kind == ScheduleException.Kind.EXTRA:
        raise ValidationFailed(_("Give the start and end of the extra shift."), field="start")
    if start is not None and end is not None:
        _times(start, end)
    reason = clean_text(reason, field="reason", limit=200)
    require_works_in(doctor, clinic)
    lock_staff(doctor)
    if kind == ScheduleException.Kind.LEAVE:
        _refuse_leave_over_appointments(clinic, doctor, day, start, end)
    exception = ScheduleException.objects.create(
        clinic=clinic,
        doctor=doctor,
        date=day,
        kind=kind,
        start=start,
        end=end,
        reason=reason,
        created_by=actor,
    )
    audit(
        AuditEntry.Action.CREATE,
        exception,
        actor=actor,
        clinic=clinic,
        summary=gettext("%(kind)s for %(doctor)s on %(date)s")
        % {"kind": exception.get_kind_display(), "doctor": doctor, "date": day.isoformat()},
    )
    return exception


def _refuse_leave_over_appointments(
    clinic: Clinic, doctor: Staff, day: date, start: time | None, end: time | None
) -> None:
    if start is None or end is None:
        leave_start, leave_end = day_bounds(day, day, clinic)
    else:
        leave_start, leave_end = at(day, start, clinic), at(day, end, clinic)
    in_the_way = Appointment.objects.filter(
        clinic=clinic,
        doctor=doctor,
        status__in=ACTIVE_STATUSES,
        start__lt=leave_end,
        end__gt=leave_start,
    ).select_related("patient")
    first = in_the_way.order_by("start").first()
    if first is not None:
        count = in_the_way.count()
        raise Conflict(
            ngettext(
                "%(doctor)s has %(patient)s from %(start)s to %(end)s that day "
                "(%(count)d appointment in the leave): move or cancel it first.",
                "%(doctor)s has %(patient)s from %(start)s to %(end)s that day "
                "(%(count)d appointments in the leave): move or cancel them first.",
                count,
            )
            % {
                "doctor": doctor,
                "patient": first.patient.name,
                "start": hhmm(first.start, clinic),
                "end": hhmm(first.end, clinic),
                "count": count,
            },
            code=SchedulingErrorCode.APPOINTMENTS_IN_THE_WAY,
        )


@transaction.atomic
def schedule_exception_delete(*, actor: Staff | None, exception: ScheduleException) -> None:
    require_current_organization(exception)
    before = snapshot(exception)
    clinic = exception.clinic
    exception.delete()
    audit_deleted(
        exception,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=gettext("Schedule exception removed for %(doctor)s on %(date)s")
        % {"doctor": exception.doctor, "date": exception.date.isoformat()},
    )
