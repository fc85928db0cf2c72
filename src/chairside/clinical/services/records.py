"""Writing medical records (C1): create a draft, edit it, sign it, amend it; log every view.

A record's first version is a draft its doctor edits; signing freezes it (signed_at, and
the SHA-256 digest of its canonical rendering). After that the only change is an
amendment: a new version with its own author, time and reason, signed by that author at
once. No function here edits a signed version. Callers check the permissions
(clinical.write to create, edit and sign one's own records, clinical.amend to amend);
the services enforce who the record's doctor is.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import (
    SECTIONS,
    ClinicalRecord,
    RecordTemplate,
    RecordVersion,
    TreatmentPlan,
    VisitType,
)
from chairside.clinical.rendering import (
    Finding,
    VersionContent,
    clean_findings,
    clean_sections,
    frozen_names,
    rendering_digest,
    version_content,
)
from chairside.core.access import build_access
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import check_year, clinic_today
from chairside.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.tenancy import current_tenant
from chairside.patients.models import Patient
from chairside.scheduling.models import Appointment


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


# "Leave it as it is" for optional arguments where None means "clear it".
UNCHANGED: Final = _Unchanged()
MAX_REASON = 200
SUMMARY_LENGTH = 200


def _same_organization(*objects: Any) -> None:
    """The same 404 as a lookup, for objects a caller resolved outside the current tenant."""
    organization_id = current_tenant().organization_id
    if any(o is not None and o.organization_id != organization_id for o in objects):
        raise NotFound(_("Not found."))


def _version_snapshot(version: RecordVersion) -> dict[str, Any]:
    # The medical text stays encrypted: the audit log keeps only the fact and the digest.
    data = snapshot(version)
    data["content"] = "***"
    return data


def _require_doctor(actor: Staff, record: ClinicalRecord, message: Any) -> None:
    if actor.pk != record.doctor_id:
        raise PermissionDenied(message)


def _lock(record: ClinicalRecord) -> ClinicalRecord:
    """The record row, locked, as it is now (another request may have signed it)."""
    return ClinicalRecord.objects.select_for_update().get(pk=record.pk)  # type: ignore[no-any-return]


def _check_plan(plan: TreatmentPlan | None, patient_id: int) -> None:
    if plan is None:
        return
    _same_organization(plan)
    if plan.patient_id != patient_id:
        raise ValidationFailed(_("The plan belongs to another patient."), field="plan_id")


def _summary(content: VersionContent) -> str:
    lines = [line.strip() for line in content.section("diagnosis").splitlines() if line.strip()]
    return "；".join(lines)[:SUMMARY_LENGTH]


def default_template(visit_type: str) -> RecordTemplate | None:
    """The active template of a visit type (the first by name if there are several)."""
    return RecordTemplate.objects.filter(visit_type=visit_type, is_active=True).first()  # type: ignore[no-any-return]


@transaction.atomic
def record_create(
    *,
    actor: Staff,
    clinic: Clinic,
    patient: Patient,
    visit_type: str,
    visit_date: date | None = None,
    template: RecordTemplate | None = None,
    appointment: Appointment | None = None,
    plan: TreatmentPlan | None = None,
    doctor: Staff | None = None,
) -> ClinicalRecord:
    """A draft record at `clinic`, its version 1 filled from the template's sections.

    Without a template, the active template of the visit type is used (blank if none).
    The doctor (the actor unless given) must be allowed to write records at `clinic`.
    """
    _same_organization(patient, template, appointment, plan, doctor)
    if visit_type not in VisitType.values:
        raise ValidationFailed(_("Choose a visit type from the list."), field="visit_type")
    doctor = doctor or actor
    doctor_access = build_access(doctor, clinic.pk)
    if doctor_access is None or not doctor_access.can("clinical.write"):
        raise ValidationFailed(
            gettext("%(doctor)s does not write medical records at %(clinic)s.")
            % {"doctor": doctor.display_name, "clinic": clinic.name},
            field="doctor_id",
        )
    visit_date = visit_date or clinic_today(clinic)
    check_year(visit_date, "visit_date")
    if visit_date > clinic_today(clinic):
        raise ValidationFailed(_("The visit date cannot be in the future."), field="visit_date")
    if template is None:
        template = default_template(visit_type)
    elif not RecordTemplate.objects.filter(
        pk=template.pk, visit_type=visit_type, is_active=True
    ).exists():
        raise ValidationFailed(
            _("Choose an active template of this visit type."), field="template_id"
        )
    if appointment is not None and appointment.patient_id != patient.pk:
        raise ValidationFailed(
            _("The appointment belongs to another patient."), field="appointment_id"
        )
    _check_plan(plan, patient.pk)
    sections = clean_sections(template.sections if template else {})
    record = ClinicalRecord.objects.create(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        visit_type=visit_type,
        visit_date=visit_date,
        template=template,
        appointment=appointment,
        plan=plan,
        version_count=1,
    )
    version = RecordVersion.objects.create(
        organization_id=clinic.organization_id,
        record=record,
        number=1,
        kind=RecordVersion.Kind.ORIGINAL,
        content=VersionContent(sections=sections).to_json(),
        author=doctor,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=record,
        actor=actor,
        clinic=clinic,
        after=snapshot(record),
        summary=gettext("Medical record started (%(visit_type)s)")
        % {"visit_type": record.get_visit_type_display()},
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=version,
        actor=actor,
        clinic=clinic,
        after=_version_snapshot(version),
        summary=gettext("Version 1 (draft)"),
    )
    return record


def _draft_version(record: ClinicalRecord) -> RecordVersion:
    return RecordVersion.objects.select_for_update().get(record=record, number=1)  # type: ignore[no-any-return]


@transaction.atomic
def record_update_draft(
    *,
    actor: Staff,
    clinic: Clinic,
    record: ClinicalRecord,
    sections: dict[str, Any],
    findings: list[Any] | tuple[Finding, ...],
    plan: TreatmentPlan | _Unchanged | None = UNCHANGED,
) -> ClinicalRecord:
    """Replace the draft's sections and findings (and the linked plan, if given).

    Only the record's doctor edits it, and only while it is a draft.
    """
    _same_organization(record)
    record = _lock(record)
    _require_doctor(actor, record, _("Only the record's doctor can edit it."))
    if record.status != ClinicalRecord.Status.DRAFT:
        raise Conflict(_("This record is signed: change it with an amendment."))
    content = VersionContent(
        sections=clean_sections(sections), findings=clean_findings(list(findings))
    )
    before = snapshot(record)
    if not isinstance(plan, _Unchanged):
        _check_plan(plan, record.patient_id)
        record.plan = plan
    version = _draft_version(record)
    version_before = _version_snapshot(version)
    version.content = content.to_json()
    version.updated_at = timezone.now()
    version.save(update_fields=["content", "updated_at"])
    record.diagnosis_summary = _summary(content)
    record.save(update_fields=["plan", "diagnosis_summary"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=version,
        actor=actor,
        clinic=clinic,
        before=version_before,
        after=_version_snapshot(version),
        summary=gettext("Draft saved"),
    )
    if before != snapshot(record):
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=record,
            actor=actor,
            clinic=clinic,
            before=before,
            after=snapshot(record),
            summary=gettext("Draft saved"),
        )
    return record


# What a template leaves for the doctor to fill in: "…", or a choice such as （有/无）.
_BLANK = re.compile(r"…|（[^（）]*/[^（）]*）|\([^()]*/[^()]*\)")


def _require_diagnosis(content: VersionContent) -> None:
    if not content.section("diagnosis").strip():
        raise ValidationFailed(_("Write a diagnosis before signing."), field="sections.diagnosis")
    # A template's blanks signed as they are would put unexamined findings on the record.
    unfilled = [str(label) for key, label in SECTIONS if _BLANK.search(content.section(key))]
    if unfilled:
        raise ValidationFailed(
            gettext(
                "Fill in or delete the template's blanks (… or a choice such as （有/无）) "
                "before signing: %(sections)s."
            )
            % {"sections": "、".join(unfilled)},
            field="sections",
        )


def _seal(version: RecordVersion, content: VersionContent) -> None:
    """Freeze the names into the content, stamp the time and fix the digest (one save)."""
    version.signed_at = timezone.now()
    frozen = VersionContent(
        sections=content.sections,
        findings=content.findings,
        frozen=frozen_names(version.record, version),
    )
    version.content = frozen.to_json()
    version.digest = rendering_digest(version)


@transaction.atomic
def record_sign(*, actor: Staff, clinic: Clinic, record: ClinicalRecord) -> ClinicalRecord:
    """Sign the draft: it is locked from now on. Only the record's doctor signs it."""
    _same_organization(record)
    record = _lock(record)
    _require_doctor(actor, record, _("Only the record's doctor can sign it."))
    if record.status != ClinicalRecord.Status.DRAFT:
        raise Conflict(_("This record is already signed."))
    version = _draft_version(record)
    content = version_content(version)
    _require_diagnosis(content)
    before = snapshot(record)
    version_before = _version_snapshot(version)
    version.record = record
    _seal(version, content)
    version.save(update_fields=["content", "signed_at", "digest"])
    record.status = ClinicalRecord.Status.SIGNED
    record.signed_at = version.signed_at
    record.diagnosis_summary = _summary(content)
    record.save(update_fields=["status", "signed_at", "diagnosis_summary"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=version,
        actor=actor,
        clinic=clinic,
        before=version_before,
        after=_version_snapshot(version),
        summary=gettext("Version 1 signed"),
    )
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=record,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(record),
        summary=gettext("Medical record signed"),
    )
    return record


@transaction.atomic
def record_amend(
    *,
    actor: Staff,
    clinic: Clinic,
    record: ClinicalRecord,
    sections: dict[str, Any],
    findings: list[Any] | tuple[Finding, ...],
    reason: str,
) -> RecordVersion:
    """A signed amendment: version n+1, written and signed by `actor` with `reason`.

    The record must be signed; earlier versions stay as they were.
    """
    _same_organization(record)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for the amendment."), field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            gettext("This is too long (at most %(limit)d characters).") % {"limit": MAX_REASON},
            field="reason",
        )
    content = VersionContent(
        sections=clean_sections(sections), findings=clean_findings(list(findings))
    )
    _require_diagnosis(content)
    record = _lock(record)
    if record.status != ClinicalRecord.Status.SIGNED:
        raise Conflict(_("Only a signed record is amended; edit the draft instead."))
    latest = RecordVersion.objects.filter(record=record).order_by("-number").first()
    assert latest is not None
    previous = version_content(latest)
    if previous.sections == content.sections and previous.findings == content.findings:
        raise ValidationFailed(_("The amendment changes nothing."))
    before = snapshot(record)
    version = RecordVersion(
        organization_id=record.organization_id,
        record=record,
        number=latest.number + 1,
        kind=RecordVersion.Kind.AMENDMENT,
        reason=reason,
        author=actor,
    )
    _seal(version, content)
    version.save()
    record.version_count = version.number
    record.diagnosis_summary = _summary(content)
    record.save(update_fields=["version_count", "diagnosis_summary"])
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=version,
        actor=actor,
        clinic=clinic,
        after=_version_snapshot(version),
        summary=gettext("Amendment %(number)d: %(reason)s")
        % {"number": version.number, "reason": reason},
    )
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=record,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(record),
        summary=gettext("Medical record amended"),
    )
    return version


def record_viewed(*, actor: Staff, clinic: Clinic, record: ClinicalRecord, via: str) -> None:
    """Log that `actor` read the record (a page, the API, a print): every read is logged."""
    _same_organization(record)
    audit_record(
        action=AuditEntry.Action.VIEW,
        instance=record,
        actor=actor,
        clinic=clinic,
        after={"via": via[:50]},
        summary=gettext("Medical record viewed (%(via)s)") % {"via": via[:50]},
    )


def patient_chart_viewed(*, actor: Staff, clinic: Clinic, patient: Patient, via: str) -> None:
    """Log that `actor` read the patient's tooth chart (findings from every signed record)."""
    _same_organization(patient)
    audit_record(
        action=AuditEntry.Action.VIEW,
        instance=patient,
        actor=actor,
        clinic=clinic,
        after={"via": via[:50]},
        summary=gettext("Tooth chart viewed (%(via)s)") % {"via": via[:50]},
    )
