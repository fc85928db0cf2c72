"""Checks and locks shared by the scheduling services."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.tenancy import current_tenant
from chairside.scheduling.availability import staff_working_in
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import Chair


def require_current_organization(*objects: Any) -> None:
    """The same 404 as a lookup, for objects a caller resolved outside the current tenant."""
    organization_id = current_tenant().organization_id
    if any(o is not None and o.organization_id != organization_id for o in objects):
        raise NotFound(_("Not found."))


def clean_text(value: str, *, field: str, limit: int, required: Any = None) -> str:
    """`value` stripped; `required` is the message when it may not be empty."""
    value = (value or "").strip()
    if required is not None and not value:
        raise ValidationFailed(required, field=field)
    if len(value) > limit:
        raise ValidationFailed(
            gettext("This is too long (at most %(limit)d characters).") % {"limit": limit},
            field=field,
        )
    return value


def check_duration(minutes: int, *, field: str) -> int:
    if not 5 <= minutes <= 480:
        raise ValidationFailed(_("The duration must be between 5 and 480 minutes."), field=field)
    return minutes


def require_open_clinic(clinic: Clinic) -> None:
    """Patients are seen at active clinics, not at the headquarters office."""
    if clinic.kind != Clinic.Kind.CLINIC or not clinic.is_active:
        raise ValidationFailed(
            gettext("%(clinic)s does not see patients.") % {"clinic": clinic.name}
        )


def require_works_in(doctor: Staff, clinic: Clinic) -> None:
    if not doctor.is_active or doctor.pk not in staff_working_in(clinic=clinic):
        raise ValidationFailed(
            gettext("%(doctor)s does not work at %(clinic)s.")
            % {"doctor": doctor, "clinic": clinic.name},
            field="doctor_id",
            code=SchedulingErrorCode.NOT_WORKING_HERE,
        )


def lock_staff(staff: Staff) -> None:
    """Serialise schedule changes of one doctor: the staff row is the lock."""
    list(Staff.objects.select_for_update().filter(pk=staff.pk).values_list("pk", flat=True))


def lock_chair(chair: Chair) -> None:
    list(Chair.objects.select_for_update().filter(pk=chair.pk).values_list("pk", flat=True))


def audit(
    action: str,
    instance: Any,
    *,
    actor: Staff | None,
    clinic: Clinic | None,
    summary: str,
    before: dict[str, Any] | None = None,
) -> None:
    """Audit a create or update with the row as it is now (and as it was, if given)."""
    audit_record(
        action=action,
        instance=instance,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(instance),
        summary=summary,
    )


def audit_deleted(
    instance: Any,
    *,
    actor: Staff | None,
    clinic: Clinic | None,
    before: dict[str, Any],
    summary: str,
) -> None:
    """Audit a deleted row (its pk restored from `before`: Django clears it on delete)."""
    instance.pk = before["id"]
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=instance,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=summary,
    )
