"""Follow-up tasks (S5): a no-show opens a task to call the patient; the front desk closes it
as done (with what was said) or cancels it. Also the clinic's reminder settings."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import snapshot
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import Appointment, FollowUpTask, ReminderSettings
from chairside.scheduling.notices import reminder_settings_for
from chairside.scheduling.services.common import (
    audit,
    clean_text,
    require_current_organization,
)

# A no-show is called back the next day; the task is due by then.
NO_SHOW_CALL_WITHIN = timedelta(days=1)

REMINDER_SETTINGS_FIELDS = frozenset(
    {
        "reminder_enabled",
        "reminder_time",
        "confirmation_enabled",
        "change_notices_enabled",
        "no_show_follow_up_enabled",
    }
)


def follow_up_open_for_no_show(
    *, appointment: Appointment, actor: Staff | None
) -> FollowUpTask | None:
    """Open the call-back task of a no-show, unless the clinic turned them off. The
    appointment's booker is asked to call; marking the no-show again opens nothing new."""
    if not reminder_settings_for(appointment.clinic).no_show_follow_up_enabled:
        return None
    existing = FollowUpTask.objects.filter(
        appointment=appointment, kind=FollowUpTask.Kind.NO_SHOW
    ).first()
    if existing is not None:
        return existing
    task = FollowUpTask(
        organization_id=appointment.organization_id,
        clinic=appointment.clinic,
        appointment=appointment,
        patient=appointment.patient,
        kind=FollowUpTask.Kind.NO_SHOW,
        assigned_to=appointment.booked_by,
        due_at=timezone.now() + NO_SHOW_CALL_WITHIN,
    )
    try:
        with transaction.atomic():
            task.save()
    except IntegrityError:
        return FollowUpTask.objects.get(appointment=appointment, kind=FollowUpTask.Kind.NO_SHOW)
    audit(
        AuditEntry.Action.CREATE,
        task,
        actor=actor,
        clinic=appointment.clinic,
        summary=gettext("Follow-up opened for %(patient)s (no-show)")
        % {"patient": appointment.patient.name},
    )
    return task


def _close(task: FollowUpTask, status: str, *, actor: Staff | None, note: str) -> FollowUpTask:
    require_current_organization(task)
    note = clean_text(note, field="note", limit=2000)
    locked = (
        FollowUpTask.objects.select_for_update(of=("self",))
        .select_related("clinic", "patient", "appointment", "assigned_to", "done_by")
        .get(pk=task.pk)
    )
    if locked.status != FollowUpTask.Status.OPEN:
        raise Conflict(
            gettext("This follow-up is already %(status)s.")
            % {"status": locked.get_status_display()},
            code=SchedulingErrorCode.INVALID_TRANSITION,
        )
    before = snapshot(locked)
    locked.status = status
    locked.done_by = actor
    locked.done_at = timezone.now()
    if note:
        locked.note = note
    locked.save()
    audit(
        AuditEntry.Action.UPDATE,
        locked,
        actor=actor,
        clinic=locked.clinic,
        before=before,
        summary=gettext("Follow-up of %(patient)s: %(status)s")
        % {"patient": locked.patient.name, "status": locked.get_status_display()},
    )
    return locked


@transaction.atomic
def follow_up_done(*, task: FollowUpTask, actor: Staff | None, note: str = "") -> FollowUpTask:
    """The patient was called; `note` says what came of it."""
    return _close(task, FollowUpTask.Status.DONE, actor=actor, note=note)


@transaction.atomic
def follow_up_cancel(*, task: FollowUpTask, actor: Staff | None, note: str = "") -> FollowUpTask:
    """No call is needed after all (e.g. the patient rebooked on their own)."""
    return _close(task, FollowUpTask.Status.CANCELLED, actor=actor, note=note)


@transaction.atomic
def reminder_settings_update(
    *, clinic: Clinic, actor: Staff | None, **changes: Any
) -> ReminderSettings:
    """Change what the clinic sends and when; the first change stores the clinic's row."""
    unknown = set(changes) - REMINDER_SETTINGS_FIELDS
    if unknown:
        raise TypeError(f"unexpected reminder settings: {sorted(unknown)}")
    require_current_organization(clinic)
    reminder_time = changes.get("reminder_time")
    if reminder_time is not None and not isinstance(reminder_time, time):
        raise TypeError("reminder_time is a datetime.time")
    if reminder_time is not None and reminder_time.tzinfo is not None:
        raise ValidationFailed(
            _("Give the time of day without an offset, e.g. 18:00."), field="reminder_time"
        )
    settings, _created = ReminderSettings.objects.select_for_update().get_or_create(
        organization_id=clinic.organization_id, clinic=clinic
    )
    before = snapshot(settings)
    for key, value in changes.items():
        setattr(settings, key, value)
    settings.save()
    audit(
        AuditEntry.Action.UPDATE,
        settings,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=str(_("Appointment reminder settings changed")),
    )
    return settings
