"""API of medical records (C1): a patient's records and tooth chart, a record and its
versions, writing, signing and amending, and record templates.

Records are organization-wide medical history: whoever holds clinical.view in the clinic
they act in may read any record of the organization's patients, whichever clinic wrote it
(a doctor at clinic 2 reads the record written at clinic 1). Another organization's
record is the same 404 as a missing one. Writes happen in the acting clinic: a draft is
edited and signed only by its doctor. Every read of a record's content is logged.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from chairside.clinical.models import ClinicalRecord, TreatmentPlan
from chairside.clinical.rendering import version_content
from chairside.clinical.schemas.records import (
    AmendmentIn,
    RecordCreateIn,
    RecordDetailOut,
    RecordDraftIn,
    RecordOut,
    RecordPage,
    RecordTemplateIn,
    RecordTemplateOut,
    RecordTemplateQuery,
    RecordTemplateUpdateIn,
    RecordVersionOut,
    ToothChartOut,
)
from chairside.clinical.selectors import records as selectors
from chairside.clinical.services import record_templates as template_services
from chairside.clinical.services import records as services
from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.schemas import PageParams, PathId
from chairside.core.selectors import get_staff
from chairside.patients.selectors import get_patient
from chairside.scheduling.models import Appointment
from chairside.scheduling.selectors import get_appointment

router = Router(tags=["clinical"])

# Writes that can meet a record in the wrong state (signed already, not signed yet).
STATE_ERRORS = error_responses(400, 401, 403, 404, 409)


def _plan(plan_id: int | None) -> TreatmentPlan | None:
    return None if plan_id is None else selectors.get_linkable_plan(plan_id=plan_id)


def _appointment(access: Access, appointment_id: int | None) -> Appointment | None:
    """An appointment of the acting clinic (where the record is written)."""
    if appointment_id is None:
        return None
    return get_appointment(clinic=access.clinic, appointment_id=appointment_id)


def _detail(access: Access, record: ClinicalRecord, via: str) -> RecordDetailOut:
    services.record_viewed(actor=access.staff, clinic=access.clinic, record=record, via=via)
    detail = selectors.record_detail(record=record)
    return RecordDetailOut.build(record, detail.current)


# --- records --------------------------------------------------------------------------


@router.get(
    "/patients/{int:patient_id}/records",
    response={200: RecordPage, **LOOKUP_ERRORS},
    summary="List a patient's medical records",
)
def patient_record_list(request: HttpRequest, patient_id: PathId, paging: PageParams) -> RecordPage:
    """Newest visit first, from every clinic of the organization (no content: not logged)."""
    access_of(request).require("clinical.view")
    patient = get_patient(patient_id=patient_id)
    page = selectors.patient_records(patient=patient, page=paging.page, page_size=paging.page_size)
    return RecordPage.of(page, [RecordOut.of(r) for r in page.items])


@router.post(
    "/records",
    response={201: RecordDetailOut, **LOOKUP_ERRORS},
    summary="Start a medical record",
)
def record_create(request: HttpRequest, payload: RecordCreateIn) -> Status[RecordDetailOut]:
    """A draft at the acting clinic, filled from the visit type's template."""
    access = access_of(request)
    access.require("clinical.write")
    patient = get_patient(patient_id=payload.patient_id)
    template = (
        None
        if payload.template_id is None
        else selectors.get_template(template_id=payload.template_id)
    )
    doctor = None if payload.doctor_id is None else get_staff(staff_id=payload.doctor_id)
    record = services.record_create(
        actor=access.staff,
        clinic=access.clinic,
        patient=patient,
        visit_type=payload.visit_type.value,
        visit_date=payload.visit_date,
        template=template,
        appointment=_appointment(access, payload.appointment_id),
        plan=_plan(payload.plan_id),
        doctor=doctor,
    )
    record = selectors.get_record(record_id=record.pk)
    return Status(201, _detail(access, record, "api"))


@router.get(
    "/records/{int:record_id}",
    response={200: RecordDetailOut, **LOOKUP_ERRORS},
    summary="Read a medical record",
)
def record_read(request: HttpRequest, record_id: PathId) -> RecordDetailOut:
    """The record with its latest version. The reading is logged."""
    access = access_of(request)
    access.require("clinical.view")
    return _detail(access, selectors.get_record(record_id=record_id), "api")


@router.patch(
    "/records/{int:record_id}",
    response={200: RecordDetailOut, **STATE_ERRORS},
    summary="Edit a draft medical record",
)
def record_update(
    request: HttpRequest, record_id: PathId, payload: RecordDraftIn
) -> RecordDetailOut:
    """Only the record's doctor, only while it is a draft (409 once signed)."""
    access = access_of(request)
    access.require("clinical.write")
    record = selectors.get_record(record_id=record_id)
    current = version_content(selectors.record_versions(record=record)[-1].version)
    sections = (
        payload.sections.merged_into(current.sections) if payload.sections else current.sections
    )
    findings: list[Any] = (
        [f.as_json() for f in payload.findings]
        if payload.findings is not None
        else list(current.findings)
    )
    extra: dict[str, Any] = {}
    if "plan_id" in payload.model_fields_set:
        extra["plan"] = _plan(payload.plan_id)
    services.record_update_draft(
        actor=access.staff,
        clinic=access.clinic,
        record=record,
        sections=sections,
        findings=findings,
        **extra,
    )
    return _detail(access, selectors.get_record(record_id=record_id), "api")


@router.post(
    "/records/{int:record_id}/sign",
    response={200: RecordDetailOut, **STATE_ERRORS},
    summary="Sign a medical record",
)
def record_sign(request: HttpRequest, record_id: PathId) -> RecordDetailOut:
    """The record's doctor signs the draft; it is locked from then on. Needs a diagnosis."""
    access = access_of(request)
    access.require("clinical.write")
    record = selectors.get_record(record_id=record_id)
    services.record_sign(actor=access.staff, clinic=access.clinic, record=record)
    return _detail(access, selectors.get_record(record_id=record_id), "api")


@router.post(
    "/records/{int:record_id}/amendments",
    response={201: RecordVersionOut, **STATE_ERRORS},
    summary="Amend a signed medical record",
)
def record_amend(
    request: HttpRequest, record_id: PathId, payload: AmendmentIn
) -> Status[RecordVersionOut]:
    """A new version, written and signed by the caller, with the reason for the change."""
    access = access_of(request)
    access.require("clinical.amend")
    record = selectors.get_record(record_id=record_id)
    latest = version_content(selectors.record_versions(record=record)[-1].version)
    sections = (
        payload.sections.merged_into(latest.sections) if payload.sections else latest.sections
    )
    findings: list[Any] = (
        [f.as_json() for f in payload.findings]
        if payload.findings is not None
        else list(latest.findings)
    )
    version = services.record_amend(
        actor=access.staff,
        clinic=access.clinic,
        record=record,
        sections=sections,
        findings=findings,
        reason=payload.reason,
    )
    views = selectors.record_versions(record=record)
    return Status(201, RecordVersionOut.of(next(v for v in views if v.version.pk == version.pk)))


@router.get(
    "/records/{int:record_id}/versions",
    response={200: list[RecordVersionOut], **LOOKUP_ERRORS},
    summary="A medical record's version history",
)
def record_version_list(request: HttpRequest, record_id: PathId) -> list[RecordVersionOut]:
    """Every version, oldest first, with author, time, reason and changed sections. Logged."""
    access = access_of(request)
    access.require("clinical.view")
    record = selectors.get_record(record_id=record_id)
    services.record_viewed(
        actor=access.staff, clinic=access.clinic, record=record, via="api:versions"
    )
    return [RecordVersionOut.of(v) for v in selectors.record_versions(record=record)]


@router.get(
    "/patients/{int:patient_id}/tooth-chart",
    response={200: ToothChartOut, **LOOKUP_ERRORS},
    summary="A patient's current tooth chart",
)
def patient_tooth_chart(request: HttpRequest, patient_id: PathId) -> ToothChartOut:
    """Per tooth, the findings of the signed records (the newest visit wins). Logged."""
    access = access_of(request)
    access.require("clinical.view")
    patient = get_patient(patient_id=patient_id)
    services.patient_chart_viewed(
        actor=access.staff, clinic=access.clinic, patient=patient, via="api"
    )
    return ToothChartOut.of(patient.pk, selectors.patient_tooth_chart(patient=patient))


# --- templates ------------------------------------------------------------------------


@router.get(
    "/record-templates",
    response={200: list[RecordTemplateOut], **AUTH_ERRORS},
    summary="List medical record templates",
)
def template_list(
    request: HttpRequest, filters: Query[RecordTemplateQuery]
) -> list[RecordTemplateOut]:
    access = access_of(request)
    if not access.can("clinical.templates"):
        access.require("clinical.write")
    templates = selectors.template_list(
        visit_type=filters.visit_type.value if filters.visit_type else None,
        include_inactive=filters.include_inactive,
    )
    return [RecordTemplateOut.of(t) for t in templates]


@router.post(
    "/record-templates",
    response={201: RecordTemplateOut, **AUTH_ERRORS},
    summary="Add a medical record template",
)
def template_create(request: HttpRequest, payload: RecordTemplateIn) -> Status[RecordTemplateOut]:
    access = access_of(request)
    access.require("clinical.templates")
    template = template_services.record_template_create(
        actor=access.staff,
        clinic=access.clinic,
        visit_type=payload.visit_type.value,
        name=payload.name,
        sections=payload.sections.model_dump(exclude_none=True),
        is_active=payload.is_active,
    )
    return Status(201, RecordTemplateOut.of(template))


@router.patch(
    "/record-templates/{int:template_id}",
    response={200: RecordTemplateOut, **LOOKUP_ERRORS},
    summary="Edit a medical record template",
)
def template_update(
    request: HttpRequest, template_id: PathId, payload: RecordTemplateUpdateIn
) -> RecordTemplateOut:
    """Records already written from it keep their text."""
    access = access_of(request)
    access.require("clinical.templates")
    template = selectors.get_template(template_id=template_id)
    changes: dict[str, Any] = {}
    for name in ("name", "is_active"):
        value = getattr(payload, name)
        if name in payload.model_fields_set and value is not None:
            changes[name] = value
    if payload.visit_type is not None:
        changes["visit_type"] = payload.visit_type.value
    if payload.sections is not None:
        changes["sections"] = payload.sections.model_dump(exclude_none=True)
    template = template_services.record_template_update(
        actor=access.staff, clinic=access.clinic, template=template, **changes
    )
    return RecordTemplateOut.of(template)
