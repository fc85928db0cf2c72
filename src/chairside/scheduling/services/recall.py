"""Recall (S7): rules that call patients back after a completed visit, the recalls they
generate each day, and the front desk's work on them up to a booking."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import audit_record, changed_fields, snapshot
from chairside.core.clock import local
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Organization, Staff
from chairside.core.tenancy import current_tenant
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import (
    OPEN_RECALL_STATUSES,
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    AppointmentType,
    Recall,
    RecallRule,
    RecallStatus,
)
from chairside.scheduling.services.common import (
    audit,
    audit_deleted,
    clean_text,
    require_current_organization,
)
from chairside.scheduling.services.setup import _service_codes

# Visits completed longer ago than the interval plus this are history, not a recall to make.
LOOKBACK_DAYS = 366

# Stands in for the token in the audit log.
REDACTED = "*" * 3


def recall_due_date(completed_on: date, rule: RecallRule) -> date:
    """The day a visit completed on `completed_on` is due again under `rule`."""
    if rule.interval_unit == RecallRule.Unit.MONTHS:
        return completed_on + relativedelta(months=rule.interval)
    return completed_on + timedelta(days=rule.interval)


def _audit_recall(
    action: str, recall: Recall, *, actor: Staff | None, summary: str, before: Any = None
) -> None:
    """Audited without the token: the log is read by more people than the link is for."""
    after = snapshot(recall)
    after["token"] = REDACTED
    if before is not None:
        before["token"] = REDACTED
    audit_record(
        action=action,
        instance=recall,
        actor=actor,
        clinic=recall.clinic,
        before=before,
        after=after,
        summary=summary,
    )


# --- rules ----------------------------------------------------------------------------


def _interval(interval: int, unit: str) -> tuple[int, str]:
    if unit not in RecallRule.Unit.values:
        raise ValidationFailed(_("Choose days or months."), field="interval_unit")
    longest = 120 if unit == RecallRule.Unit.MONTHS else 3660
    if not 1 <= interval <= longest:
        raise ValidationFailed(
            gettext("The interval must be between 1 and %(longest)d.") % {"longest": longest},
            field="interval",
        )
    return interval, unit


def _trigger_types(types: Iterable[AppointmentType]) -> list[AppointmentType]:
    types = list({t.pk: t for t in types}.values())
    require_current_organization(*types)
    return types


def _rule_snapshot(rule: RecallRule) -> dict[str, Any]:
    data = snapshot(rule)
    data["trigger_types"] = sorted(t.pk for t in rule.trigger_types.all())
    return data


def _require_trigger(rule: RecallRule, trigger_types: list[AppointmentType]) -> None:
    if not trigger_types and not rule.service_codes:
        raise ValidationFailed(
            _("Choose the appointment types or services that start the recall."),
            field="trigger_type_ids",
        )


@transaction.atomic
def recall_rule_create(
    *,
    actor: Staff | None,
    name: str,
    recall_type: AppointmentType,
    trigger_types: Iterable[AppointmentType] = (),
    service_codes: Iterable[str] = (),
    interval: int = 6,
    interval_unit: str = RecallRule.Unit.MONTHS,
    is_active: bool = True,
) -> RecallRule:
    """E.g. "after a cleaning (or any visit leading to scaling), a cleaning in 6 months"."""
    require_current_organization(recall_type)
    interval, interval_unit = _interval(interval, interval_unit)
    rule = RecallRule(
        name=clean_text(name, field="name", limit=100, required=_("Enter the rule's name.")),
        recall_type=recall_type,
        service_codes=_service_codes(service_codes),
        interval=interval,
        interval_unit=interval_unit,
        is_active=is_active,
    )
    triggers = _trigger_types(trigger_types)
    _require_trigger(rule, triggers)
    rule.save()
    rule.trigger_types.set(triggers)
    audit(
        AuditEntry.Action.CREATE,
        rule,
        actor=actor,
        clinic=None,
        summary=gettext("Recall rule added: %(name)s") % {"name": rule.name},
    )
    return rule


@transaction.atomic
def recall_rule_update(
    *,
    actor: Staff | None,
    rule: RecallRule,
    name: str | None = None,
    recall_type: AppointmentType | None = None,
    trigger_types: Iterable[AppointmentType] | None = None,
    service_codes: Iterable[str] | None = None,
    interval: int | None = None,
    interval_unit: str | None = None,
    is_active: bool | None = None,
) -> RecallRule:
    """Change what is given; recalls already made keep their due dates."""
    require_current_organization(rule, recall_type)
    rule = RecallRule.objects.select_for_update().get(pk=rule.pk)
    before = _rule_snapshot(rule)
    if name is not None:
        rule.name = clean_text(name, field="name", limit=100, required=_("Enter the rule's name."))
    if recall_type is not None:
        rule.recall_type = recall_type
    if service_codes is not None:
        rule.service_codes = _service_codes(service_codes)
    rule.interval, rule.interval_unit = _interval(
        rule.interval if interval is None else interval,
        rule.interval_unit if interval_unit is None else interval_unit,
    )
    if is_active is not None:
        rule.is_active = is_active
    triggers = (
        list(rule.trigger_types.all()) if trigger_types is None else _trigger_types(trigger_types)
    )
    _require_trigger(rule, triggers)
    rule.save()
    if trigger_types is not None:
        rule.trigger_types.set(triggers)
    after = _rule_snapshot(rule)
    if changed_fields(before, after):
        audit(
            AuditEntry.Action.UPDATE,
            rule,
            actor=actor,
            clinic=None,
            before=before,
            summary=gettext("Recall rule changed: %(name)s") % {"name": rule.name},
        )
    return rule


@transaction.atomic
def recall_rule_delete(*, actor: Staff | None, rule: RecallRule) -> None:
    """Only a rule that has made no recalls; otherwise switch it off (is_active false)."""
    require_current_organization(rule)
    if Recall.objects.filter(rule=rule).exists():
        raise Conflict(
            _("This rule has recalls; switch it off instead of removing it."), field="rule"
        )
    before = _rule_snapshot(rule)
    rule.trigger_types.clear()
    rule.delete()
    audit_deleted(
        rule,
        actor=actor,
        clinic=None,
        before=before,
        summary=gettext("Recall rule removed: %(name)s") % {"name": before["name"]},
    )


# --- generating recalls ---------------------------------------------------------------


@dataclass(frozen=True)
class RecallRun:
    """What one run of `recalls_generate` did."""

    created: int = 0
    moved: int = 0  # an open recall moved to a newer visit of the same kind
    done: int = 0  # its booked visit took place
    reopened: int = 0  # its booked visit was cancelled or missed


def _new_token() -> str:
    return secrets.token_urlsafe(24)


def _trigger_type_ids(rule: RecallRule, types: list[AppointmentType]) -> set[int]:
    codes = set(rule.service_codes)
    ids = {t.pk for t in rule.trigger_types.all()}
    ids.update(t.pk for t in types if codes & set(t.service_codes))
    return ids


def _settle_booked() -> tuple[int, int]:
    """Booked recalls whose visit took place are done; those whose visit was cancelled or
    missed are due again (unless the patient already has another open one)."""
    done = reopened = 0
    booked = Recall.objects.filter(status=RecallStatus.BOOKED).select_related(
        "booked_appointment", "clinic"
    )
    for recall in booked:
        visit = recall.booked_appointment
        if visit is None:
            continue
        before = snapshot(recall)
        if visit.status == AppointmentStatus.COMPLETED:
            recall.status = RecallStatus.DONE
            done += 1
        elif visit.status in RELEASED_STATUSES:
            if Recall.objects.filter(
                patient_id=recall.patient_id,
                rule_id=recall.rule_id,
                status__in=OPEN_RECALL_STATUSES,
            ).exists():
                continue
            recall.status = RecallStatus.DUE
            recall.booked_appointment = None
            reopened += 1
        else:
            continue
        recall.save()
        _audit_recall(
            AuditEntry.Action.UPDATE,
            recall,
            actor=None,
            before=before,
            summary=gettext("Recall %(status)s") % {"status": recall.get_status_display()},
        )
    return done, reopened


def _generate_for_rule(
    rule: RecallRule, types: list[AppointmentType], today: date
) -> tuple[int, int]:
    type_ids = _trigger_type_ids(rule, types)
    if not type_ids:
        return 0, 0
    approx_days = rule.interval * (31 if rule.interval_unit == RecallRule.Unit.MONTHS else 1)
    since = timezone.now() - timedelta(days=approx_days + LOOKBACK_DAYS)
    visits = (
        Appointment.objects.filter(
            status=AppointmentStatus.COMPLETED,
            appointment_type_id__in=type_ids,
            completed_at__gte=since,
            patient__is_archived=False,
        )
        .select_related("clinic")
        .order_by("patient_id", "-completed_at", "-id")
    )
    latest: dict[int, Appointment] = {}
    for visit in visits:
        latest.setdefault(visit.patient_id, visit)
    if not latest:
        return 0, 0
    current: dict[int, Recall] = {}
    recalls = (
        Recall.objects.filter(rule=rule)
        .select_related("source_appointment", "clinic")
        .order_by("patient_id", "-created_at", "-id")
    )
    for recall in recalls:
        current.setdefault(recall.patient_id, recall)

    created = moved = 0
    for patient_id, visit in latest.items():
        assert visit.completed_at is not None
        due = recall_due_date(local(visit.completed_at, visit.clinic).date(), rule)
        recall = current.get(patient_id)
        if recall is not None:
            source = recall.source_appointment
            if source.pk == visit.pk or (
                source.completed_at is not None and source.completed_at >= visit.completed_at
            ):
                continue
            if recall.is_open:
                before = snapshot(recall)
                recall.source_appointment = visit
                recall.clinic = visit.clinic
                recall.due_date = due
                recall.status = RecallStatus.DUE
                recall.save()
                _audit_recall(
                    AuditEntry.Action.UPDATE,
                    recall,
                    actor=None,
                    before=before,
                    summary=gettext("Recall moved to %(due)s") % {"due": due.isoformat()},
                )
                moved += 1
                continue
            if (
                recall.status == RecallStatus.BOOKED
                and Recall.objects.filter(
                    patient_id=patient_id, rule=rule, status__in=OPEN_RECALL_STATUSES
                ).exists()
            ):
                continue
        recall = Recall.objects.create(
            clinic=visit.clinic,
            patient_id=patient_id,
            rule=rule,
            source_appointment=visit,
            due_date=due,
            token=_new_token(),
        )
        _audit_recall(
            AuditEntry.Action.CREATE,
            recall,
            actor=None,
            summary=gettext("Recall due %(due)s: %(rule)s")
            % {"due": due.isoformat(), "rule": rule.name},
        )
        created += 1
    return created, moved


@transaction.atomic
def recalls_generate(*, organization: Organization, today: date) -> RecallRun:
    """Bring the organization's recalls up to date with its completed visits; run daily.

    Idempotent: a patient has at most one open recall per rule, made from their latest
    completed visit of the rule's kind; a newer such visit moves the open recall's due date,
    or starts a new recall once the previous one was booked, done or dismissed.
    """
    if current_tenant().organization_id != organization.pk:
        raise NotFound(_("Not found."))
    done, reopened = _settle_booked()
    types = list(AppointmentType.objects.all())
    created = moved = 0
    for rule in RecallRule.objects.filter(is_active=True).prefetch_related("trigger_types"):
        c, m = _generate_for_rule(rule, types, today)
        created += c
        moved += m
    return RecallRun(created=created, moved=moved, done=done, reopened=reopened)


# --- the front desk's work ------------------------------------------------------------


def _locked(recall: Recall) -> Recall:
    require_current_organization(recall)
    return Recall.objects.select_for_update().select_related("clinic").get(pk=recall.pk)


def _require_open(recall: Recall) -> None:
    if not recall.is_open:
        raise Conflict(
            gettext("This recall is no longer open (%(status)s).")
            % {"status": recall.get_status_display()},
            code=SchedulingErrorCode.INVALID_TRANSITION,
        )


@transaction.atomic
def recall_mark_contacted(*, actor: Staff | None, recall: Recall, note: str = "") -> Recall:
    """The patient was called or messaged (again: the latest contact is kept)."""
    recall = _locked(recall)
    _require_open(recall)
    before = snapshot(recall)
    recall.status = RecallStatus.CONTACTED
    recall.contacted_at = timezone.now()
    recall.contacted_by = actor
    if note.strip():
        recall.note = clean_text(note, field="note", limit=500)
    recall.save()
    _audit_recall(
        AuditEntry.Action.UPDATE,
        recall,
        actor=actor,
        before=before,
        summary=gettext("Recall: patient contacted"),
    )
    return recall


@transaction.atomic
def recall_dismiss(*, actor: Staff | None, recall: Recall, note: str = "") -> Recall:
    """No recall this time (moved away, treated elsewhere, declined)."""
    recall = _locked(recall)
    _require_open(recall)
    before = snapshot(recall)
    recall.status = RecallStatus.DISMISSED
    if note.strip():
        recall.note = clean_text(note, field="note", limit=500)
    recall.save()
    _audit_recall(
        AuditEntry.Action.UPDATE,
        recall,
        actor=actor,
        before=before,
        summary=gettext("Recall dismissed"),
    )
    return recall


@transaction.atomic
def recall_link_booking(
    *, recall: Recall, appointment: Appointment, actor: Staff | None = None
) -> Recall:
    """The patient booked `appointment` for this recall (from the portal link, with no
    actor, or at the front desk). Linking the same appointment twice changes nothing."""
    require_current_organization(appointment)
    recall = _locked(recall)
    if recall.status == RecallStatus.BOOKED and recall.booked_appointment_id == appointment.pk:
        return recall
    _require_open(recall)
    if appointment.patient_id != recall.patient_id:
        raise ValidationFailed(_("The appointment is not this patient's."), field="appointment_id")
    if not appointment.is_active:
        raise ValidationFailed(
            _("The appointment has been cancelled or missed."), field="appointment_id"
        )
    before = snapshot(recall)
    recall.status = RecallStatus.BOOKED
    recall.booked_appointment = appointment
    recall.save()
    _audit_recall(
        AuditEntry.Action.UPDATE,
        recall,
        actor=actor,
        before=before,
        summary=gettext("Recall booked"),
    )
    return recall
