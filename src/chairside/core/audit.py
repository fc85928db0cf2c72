"""The audit trail: services call `audit_record` for every change of patient data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from chairside.core.models import AuditEntry, Clinic, Staff

# Never copied into the audit log in the clear.
SECRET_FIELDS = frozenset({"id_number", "id_number_digest", "totp_secret", "password"})


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The row's concrete field values as JSON-safe data, secrets replaced by a marker."""
    data: dict[str, Any] = {}
    for f in instance._meta.concrete_fields:
        value = getattr(instance, f.attname)
        if f.name in SECRET_FIELDS:
            data[f.name] = "***" if value else ""
        else:
            data[f.name] = _plain(value)
    return data


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in after if before.get(k) != after.get(k)]


def audit_record(
    *,
    action: str,
    instance: models.Model,
    actor: Staff | None,
    clinic: Clinic | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        organization_id=instance.organization_id,  # type: ignore[attr-defined]
        clinic=clinic,
        actor=actor,
        action=action,
        entity_type=instance._meta.label_lower,
        entity_id=str(instance.pk),
        before=before,
        after=after,
        summary=summary[:200],
    )
