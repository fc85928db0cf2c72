"""API of forms made for patients (F1, F2): the list, making one from a template, filling a
draft, sending it for signing (rendered to PDF and handed to e-signature), voiding, and the
PDF.

Forms belong to the organization: any clinic of it sees a patient's forms.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.selectors import get_staff
from chairside.core.web import file_response
from chairside.forms.pdf import pdf_filename
from chairside.forms.schemas.instances import (
    DataIn,
    FormVoidIn,
    InstanceIn,
    InstanceOut,
    InstancePage,
    InstanceQuery,
)
from chairside.forms.selectors import instances as selectors
from chairside.forms.selectors.templates import get_template
from chairside.forms.services import instances as services
from chairside.patients.selectors import get_patient

router = Router(tags=["forms"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)
PDF_RESPONSE = {
    "description": "The form as PDF/A-3b: signed so far once sent, else a draft preview.",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


def _out(instance_id: int) -> InstanceOut:
    return InstanceOut.of(selectors.get_instance(instance_id=instance_id))


@router.get(
    "/form-instances",
    response={200: InstancePage, **AUTH_ERRORS},
    summary="List forms made for patients",
)
def instance_list(request: HttpRequest, filters: Query[InstanceQuery]) -> InstancePage:
    access_of(request).require("forms.view")
    page = paginate(
        selectors.instance_list(
            patient_id=filters.patient_id,
            template_id=filters.template_id,
            status=filters.status or "",
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return InstancePage.of(page, [InstanceOut.of(i) for i in page.items])


@router.post(
    "/form-instances",
    response={201: InstanceOut, **WRITE_ERRORS},
    summary="Make a form for a patient",
)
def instance_create(request: HttpRequest, payload: InstanceIn) -> Status[InstanceOut]:
    access = access_of(request)
    access.require("forms.fill")
    template = get_template(template_id=payload.template_id)
    patient = get_patient(patient_id=payload.patient_id)
    doctor = get_staff(staff_id=payload.doctor_id) if payload.doctor_id is not None else None
    instance = services.form_instance_create(
        actor=access.staff,
        clinic=access.clinic,
        template=template,
        patient=patient,
        doctor=doctor,
        plan_item_ids=payload.plan_item_ids,
        treatment_items=payload.treatment_items,
        data=payload.data,
    )
    return Status(201, _out(instance.pk))


@router.get(
    "/form-instances/{int:instance_id}",
    response={200: InstanceOut, **LOOKUP_ERRORS},
    summary="A form",
)
def instance_detail(request: HttpRequest, instance_id: PathId) -> InstanceOut:
    access_of(request).require("forms.view")
    return _out(instance_id)


@router.put(
    "/form-instances/{int:instance_id}/data",
    response={200: InstanceOut, **WRITE_ERRORS},
    summary="Fill in a draft form",
)
def instance_fill(request: HttpRequest, instance_id: PathId, payload: DataIn) -> InstanceOut:
    access = access_of(request)
    access.require("forms.fill")
    instance = selectors.get_instance(instance_id=instance_id)
    services.form_instance_fill(
        actor=access.staff, clinic=access.clinic, instance=instance, data=payload.data
    )
    return _out(instance_id)


@router.post(
    "/form-instances/{int:instance_id}/send",
    response={200: InstanceOut, **WRITE_ERRORS},
    summary="Send a filled form for signing",
)
def instance_send(request: HttpRequest, instance_id: PathId) -> InstanceOut:
    """Renders the form to PDF and makes the e-signature document, one signer per box in
    the template's order (patient, doctor, seal)."""
    access = access_of(request)
    access.require("forms.fill")
    instance = selectors.get_instance(instance_id=instance_id)
    services.form_instance_send(actor=access.staff, clinic=access.clinic, instance=instance)
    return _out(instance_id)


@router.post(
    "/form-instances/{int:instance_id}/void",
    response={200: InstanceOut, **WRITE_ERRORS},
    summary="Void a draft or a form awaiting signatures",
)
def instance_void(request: HttpRequest, instance_id: PathId, payload: FormVoidIn) -> InstanceOut:
    access = access_of(request)
    access.require("forms.fill")
    instance = selectors.get_instance(instance_id=instance_id)
    services.form_instance_void(
        actor=access.staff, clinic=access.clinic, instance=instance, reason=payload.reason
    )
    return _out(instance_id)


@router.get(
    "/form-instances/{int:instance_id}/pdf",
    response={**LOOKUP_ERRORS},
    summary="Download a form as PDF",
    openapi_extra={"responses": {"200": PDF_RESPONSE}},
)
def instance_pdf(request: HttpRequest, instance_id: PathId) -> HttpResponse:
    access = access_of(request)
    access.require("forms.view")
    instance = selectors.get_instance(instance_id=instance_id)
    content = services.form_instance_pdf(actor=access.staff, instance=instance)
    return file_response(content, content_type="application/pdf", filename=pdf_filename(instance))
