"""API of form templates (F1) with their versions, and the export and statistics of their
forms' data (F6).

Saving a template whose latest version already has forms makes a new version (those forms
keep theirs); otherwise the latest version is changed in place.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.web import file_response
from chairside.forms import exports
from chairside.forms.models import FormTemplate
from chairside.forms.schemas.templates import (
    FormTemplateIn,
    FormTemplateOut,
    FormTemplatePage,
    FormTemplateQuery,
    FormVersionOut,
    StatsOut,
    TemplateDetailOut,
)
from chairside.forms.selectors import templates as selectors
from chairside.forms.services import templates as services
from chairside.forms.services.exports import form_data_export

router = Router(tags=["forms"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)
XLSX_RESPONSE = {
    "description": "The forms' data as an Excel workbook.",
    "content": {exports.XLSX: {"schema": {"type": "string", "format": "binary"}}},
}
CSV_RESPONSE = {
    "description": "The forms' data as CSV (UTF-8 with a byte-order mark).",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


def _detail(template: FormTemplate) -> TemplateDetailOut:
    template = selectors.get_template(template_id=template.pk)
    version = selectors.version_list(template).first()
    assert version is not None
    return TemplateDetailOut(
        **FormTemplateOut.of(template).model_dump(), version=FormVersionOut.of(version)
    )


@router.get(
    "/form-templates",
    response={200: FormTemplatePage, **AUTH_ERRORS},
    summary="List form templates",
)
def template_list(request: HttpRequest, filters: Query[FormTemplateQuery]) -> FormTemplatePage:
    access_of(request).require("forms.view")
    page = paginate(
        selectors.template_list(query=filters.q, kind=filters.kind or "", active=filters.active),
        page=filters.page,
        page_size=filters.page_size,
    )
    return FormTemplatePage.of(page, [FormTemplateOut.of(t) for t in page.items])


@router.post(
    "/form-templates",
    response={201: TemplateDetailOut, **WRITE_ERRORS},
    summary="Build a form template",
)
def template_create(request: HttpRequest, payload: FormTemplateIn) -> Status[TemplateDetailOut]:
    access = access_of(request)
    access.require("forms.templates")
    template = services.form_template_create(
        actor=access.staff, clinic=access.clinic, data=payload.data()
    )
    return Status(201, _detail(template))


@router.post(
    "/form-templates/install-defaults",
    response={200: list[FormTemplateOut], **AUTH_ERRORS},
    summary="Add the default templates the organization lacks",
)
def template_install_defaults(request: HttpRequest) -> list[FormTemplateOut]:
    """The implant, extraction and orthodontic consents, the first-visit health questionnaire
    and the prescription; templates that exist (by code) are left as they are."""
    access = access_of(request)
    access.require("forms.templates")
    created = services.form_templates_install_defaults(organization=access.organization)
    return [FormTemplateOut.of(selectors.get_template(template_id=t.pk)) for t in created]


@router.get(
    "/form-templates/{int:template_id}",
    response={200: TemplateDetailOut, **LOOKUP_ERRORS},
    summary="A form template with its latest version",
)
def template_detail(request: HttpRequest, template_id: PathId) -> TemplateDetailOut:
    access_of(request).require("forms.view")
    return _detail(selectors.get_template(template_id=template_id))


@router.put(
    "/form-templates/{int:template_id}",
    response={200: TemplateDetailOut, **WRITE_ERRORS},
    summary="Change a form template (a new version once forms use the latest)",
)
def template_update(
    request: HttpRequest, template_id: PathId, payload: FormTemplateIn
) -> TemplateDetailOut:
    access = access_of(request)
    access.require("forms.templates")
    template = selectors.get_template(template_id=template_id)
    services.form_template_update(
        actor=access.staff, clinic=access.clinic, template=template, data=payload.data()
    )
    return _detail(template)


@router.get(
    "/form-templates/{int:template_id}/versions",
    response={200: list[FormVersionOut], **LOOKUP_ERRORS},
    summary="A form template's versions, newest first",
)
def version_list(request: HttpRequest, template_id: PathId) -> list[FormVersionOut]:
    access_of(request).require("forms.view")
    template = selectors.get_template(template_id=template_id)
    return [FormVersionOut.of(v) for v in selectors.version_list(template)]


@router.get(
    "/form-templates/{int:template_id}/versions/{int:number}",
    response={200: FormVersionOut, **LOOKUP_ERRORS},
    summary="One version of a form template",
)
def version_detail(request: HttpRequest, template_id: PathId, number: PathId) -> FormVersionOut:
    access_of(request).require("forms.view")
    template = selectors.get_template(template_id=template_id)
    return FormVersionOut.of(selectors.get_version(template=template, number=number))


def _export(request: HttpRequest, template_id: int, fmt: str, content_type: str) -> HttpResponse:
    access = access_of(request)
    access.require("forms.export")
    template = selectors.get_template(template_id=template_id)
    content = form_data_export(actor=access.staff, clinic=access.clinic, template=template, fmt=fmt)
    return file_response(
        content, content_type=content_type, filename=exports.export_filename(template, fmt)
    )


@router.get(
    "/form-templates/{int:template_id}/export.xlsx",
    response={**LOOKUP_ERRORS},
    summary="Download the template's form data as Excel",
    openapi_extra={"responses": {"200": XLSX_RESPONSE}},
)
def export_xlsx(request: HttpRequest, template_id: PathId) -> HttpResponse:
    return _export(request, template_id, "xlsx", exports.XLSX)


@router.get(
    "/form-templates/{int:template_id}/export.csv",
    response={**LOOKUP_ERRORS},
    summary="Download the template's form data as CSV",
    openapi_extra={"responses": {"200": CSV_RESPONSE}},
)
def export_csv(request: HttpRequest, template_id: PathId) -> HttpResponse:
    return _export(request, template_id, "csv", exports.CSV)


@router.get(
    "/form-templates/{int:template_id}/stats",
    response={200: StatsOut, **LOOKUP_ERRORS},
    summary="Statistics of the template's form data, per field",
)
def template_stats(request: HttpRequest, template_id: PathId) -> StatsOut:
    access_of(request).require("forms.export")
    template = selectors.get_template(template_id=template_id)
    return StatsOut.of(exports.template_stats(template))
