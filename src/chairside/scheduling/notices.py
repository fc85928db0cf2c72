"""What patients are told about their appointments (S5): a confirmation when booked, a
reminder the day before, a notice when moved or cancelled. The appointment services call
these at the end of each action, inside its transaction, so a rolled-back booking sends
nothing; the messages wait in the outbox until due.

Each message has a dedupe key built from the appointment (and, for the reminder, its start),
so calling twice, or the `scheduling.queue_reminders` sweep finding an appointment whose
reminder is already queued, queues nothing new. A patient without a mobile gets nothing,
and a clinic's missing template is logged, never turned into a failed booking.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from chairside.core.clock import at, local
from chairside.core.errors import DomainError, ValidationFailed
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.phone import normalize_mobile
from chairside.core.tenancy import tenant_scope
from chairside.messaging.models import ChannelType, MessageKind, OutboxMessage
from chairside.messaging.services import message_cancel_by_dedupe_key, message_send
from chairside.scheduling.models import (
    NOT_ARRIVED_STATUSES,
    Appointment,
    AppointmentSource,
    ReminderSettings,
)

logger = logging.getLogger(__name__)

# How far ahead the sweep looks for appointments without a queued reminder.
SWEEP_HORIZON = timedelta(days=2)


# --- settings -------------------------------------------------------------------------


def reminder_settings_for(clinic: Clinic) -> ReminderSettings:
    """The clinic's settings, or the defaults (unsaved) when it has none."""
    found = ReminderSettings.objects.filter(clinic=clinic).first()
    if found is not None:
        return found
    return ReminderSettings(organization_id=clinic.organization_id, clinic=clinic)


def reminder_due_at(appointment: Appointment, settings: ReminderSettings) -> datetime:
    """The day before the appointment's day, at the clinic's reminder time, on its clock."""
    day = local(appointment.start, appointment.clinic).date()
    return at(day - timedelta(days=1), settings.reminder_time, appointment.clinic)


# --- dedupe keys ----------------------------------------------------------------------


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def confirmation_key(appointment: Appointment) -> str:
    return f"appointment:{appointment.pk}:confirmation"


def reminder_key(appointment: Appointment, start: datetime | None = None) -> str:
    """The reminder of the appointment as it starts at `start` (default: now): a moved
    appointment has a new reminder, and the old one is cancelled by its key."""
    return f"appointment:{appointment.pk}:reminder:{_stamp(start or appointment.start)}"


def changed_key(appointment: Appointment, previous_start: datetime) -> str:
    return (
        f"appointment:{appointment.pk}:changed:{_stamp(previous_start)}:{_stamp(appointment.start)}"
    )


def cancelled_key(appointment: Appointment) -> str:
    return f"appointment:{appointment.pk}:cancelled"


# --- sending --------------------------------------------------------------------------


def _mobile(appointment: Appointment) -> str | None:
    try:
        return normalize_mobile(appointment.patient.phone or "")
    except DomainError:
        return None


def _send(
    appointment: Appointment,
    template_code: str,
    *,
    dedupe_key: str,
    send_after: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> OutboxMessage | None:
    """Queue one SMS about `appointment`; None when the patient has no mobile or the
    organization has no usable template (logged: a booking never fails over a message)."""
    mobile = _mobile(appointment)
    if mobile is None:
        return None
    doctor: Staff = appointment.doctor
    organization = Organization.objects.get(pk=appointment.organization_id)
    try:
        return message_send(
            organization=organization,
            channel=ChannelType.SMS,
            recipient=mobile,
            template_code=template_code,
            kind=MessageKind.NOTIFICATION,
            context={
                "start": appointment.start,
                "end": appointment.end,
                "doctor_name": str(doctor),
                **(extra or {}),
            },
            clinic=appointment.clinic,
            patient=appointment.patient,
            dedupe_key=dedupe_key,
            send_after=send_after,
            # A notice about a visit that has begun is of no use to anyone.
            expires_at=appointment.start,
        )
    except ValidationFailed:
        logger.warning("no %s SMS for appointment %s", template_code, appointment.pk, exc_info=True)
        return None


def _cancel(appointment: Appointment, dedupe_key: str, actor: Staff | None) -> None:
    organization = Organization.objects.get(pk=appointment.organization_id)
    message_cancel_by_dedupe_key(organization=organization, dedupe_key=dedupe_key, actor=actor)


def reminder_queue(
    appointment: Appointment, *, settings: ReminderSettings | None = None
) -> OutboxMessage | None:
    """Queue the day-before reminder to go out at the clinic's reminder time (at once if that
    moment has passed and the appointment has not begun). Queuing it twice changes nothing."""
    settings = settings or reminder_settings_for(appointment.clinic)
    if not settings.reminder_enabled or appointment.status not in NOT_ARRIVED_STATUSES:
        return None
    now = timezone.now()
    if appointment.start <= now:
        return None
    due = reminder_due_at(appointment, settings)
    return _send(
        appointment,
        "appointment.reminder",
        dedupe_key=reminder_key(appointment),
        send_after=due if due > now else None,
    )


# --- called by the appointment services -----------------------------------------------


def notice_booked(appointment: Appointment) -> None:
    """A new booking: the confirmation now and the reminder for the day before. Walk-ins
    are already in the clinic and get neither."""
    if appointment.source == AppointmentSource.WALK_IN:
        return
    settings = reminder_settings_for(appointment.clinic)
    if settings.confirmation_enabled and appointment.start > timezone.now():
        _send(appointment, "appointment.confirmation", dedupe_key=confirmation_key(appointment))
    reminder_queue(appointment, settings=settings)


def notice_rescheduled(
    appointment: Appointment, *, previous_start: datetime, actor: Staff | None
) -> None:
    """Moved: the old reminder is withdrawn, a new one queued, and the patient told when the
    time changed (a new doctor or chair alone is not worth an SMS)."""
    if previous_start == appointment.start:
        return
    _cancel(appointment, reminder_key(appointment, previous_start), actor)
    settings = reminder_settings_for(appointment.clinic)
    if settings.change_notices_enabled and appointment.start > timezone.now():
        _send(
            appointment,
            "appointment.changed",
            dedupe_key=changed_key(appointment, previous_start),
            extra={"previous_start": previous_start},
        )
    reminder_queue(appointment, settings=settings)


def notice_cancelled(appointment: Appointment, *, actor: Staff | None) -> None:
    """Cancelled: the pending reminder is withdrawn and the patient told."""
    _cancel(appointment, reminder_key(appointment), actor)
    settings = reminder_settings_for(appointment.clinic)
    if settings.change_notices_enabled and appointment.start > timezone.now():
        _send(appointment, "appointment.cancelled", dedupe_key=cancelled_key(appointment))


def notice_no_show(appointment: Appointment, *, actor: Staff | None) -> None:
    """A no-show's reminder, if it is somehow still waiting, is withdrawn."""
    _cancel(appointment, reminder_key(appointment), actor)


# --- the sweep (beat task) ------------------------------------------------------------


def reminders_queue_upcoming(*, now: datetime | None = None) -> int:
    """Queue any missing reminder of the appointments of the next two days, in every
    organization: those imported, or booked before the clinic turned reminders on or
    changed its time. Returns how many appointments were looked at."""
    now = now or timezone.now()
    upcoming = {
        "status__in": NOT_ARRIVED_STATUSES,
        "start__gt": now,
        "start__lte": now + SWEEP_HORIZON,
    }
    organization_ids = sorted(
        set(Appointment.all_tenants.filter(**upcoming).values_list("organization_id", flat=True))
    )
    seen = 0
    for organization_id in organization_ids:
        try:
            with tenant_scope(organization_id), transaction.atomic():
                appointments = list(
                    Appointment.objects.filter(**upcoming).select_related(
                        "clinic", "patient", "doctor"
                    )
                )
                settings = {
                    s.clinic_id: s
                    for s in ReminderSettings.objects.filter(
                        clinic_id__in={a.clinic_id for a in appointments}
                    )
                }
                for appointment in appointments:
                    reminder_queue(
                        appointment,
                        settings=settings.get(appointment.clinic_id)
                        or ReminderSettings(
                            organization_id=organization_id, clinic=appointment.clinic
                        ),
                    )
                seen += len(appointments)
        except Exception:  # one organization's trouble must not stop the others' reminders
            logger.exception("queuing reminders of organization %s failed", organization_id)
    return seen
