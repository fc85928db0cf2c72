"""Pages of medical records (C1): the patient's chart (tooth chart, records, plans), the
record editor, the record with its version history, amendments, printing and templates.

Records are the organization's medical history: a doctor holding clinical.view at clinic 2
reads a record written at clinic 1. Every page that shows a record's content logs the view.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.clinical.forms.records import (
    AmendForm,
    RecordEditForm,
    RecordNewForm,
    TemplateForm,
    attach_errors,
)
from chairside.clinical.models import SECTIONS, ClinicalRecord, RecordTemplate, TreatmentPlan
from chairside.clinical.rendering import (
    FINDING_COLOURS,
    Finding,
    ToothFinding,
    VersionContent,
    verify,
)
from chairside.clinical.selectors import records as selectors
from chairside.clinical.selectors.plans import patient_plans
from chairside.clinical.selectors.records import ToothChart
from chairside.clinical.services import record_templates as template_services
from chairside.clinical.services import records as services
from chairside.core.clock import clinic_zone
from chairside.core.console import ConsoleRequest, console_page, forbidden, page_number
from chairside.core.errors import DomainError
from chairside.patients.models import Patient
from chairside.patients.selectors import get_patient

PLANS_PANEL = "clinical/_patient_plans.html"

# FDI charts as a dentist reads them, facing the patient: upper right to upper left, then
# lower right to lower left. Each row is [patient's right quadrant, patient's left quadrant].
TOOTH_ROWS: list[tuple[str, list[list[list[int]]]]] = [
    (
        "permanent",
        [
            [list(range(18, 10, -1)), list(range(21, 29))],
            [list(range(48, 40, -1)), list(range(31, 39))],
        ],
    ),
    (
        "primary",
        [
            [list(range(55, 50, -1)), list(range(61, 66))],
            [list(range(85, 80, -1)), list(range(71, 76))],
        ],
    ),
]


def _render(
    request: ConsoleRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    # Times are shown on the clinic's clock, whatever the server's zone.
    with timezone.override(clinic_zone(request.access.clinic)):
        return render(request, template, context, status=status)


def _vocabulary() -> list[dict[str, str]]:
    return [
        {"value": value, "label": str(label), "colour": FINDING_COLOURS[value]}
        for value, label in ToothFinding.choices
    ]


def _chart_context(
    *, mode: str, marks: dict[str, Any] | None = None, content: VersionContent | None = None
) -> dict[str, Any]:
    findings = [f.as_json() for f in content.findings] if content else []
    codes = [int(code) for code in (marks or {})] + [t for f in findings for t in f["teeth"]]
    only_primary = bool(codes) and all(code >= 50 for code in codes)
    return {
        "tooth_rows": TOOTH_ROWS,
        "finding_legend": _vocabulary(),
        "chart_mode": mode,
        "findings_json": json.dumps(findings, ensure_ascii=False),
        "chart_data": {
            "mode": mode,
            "dentition": "primary" if only_primary else "permanent",
            "marks": marks or {},
            "findings": findings,
            "vocabulary": _vocabulary(),
        },
    }


def _plans(request: ConsoleRequest, patient: Patient) -> list[TreatmentPlan]:
    if not request.access.can("plans.view"):
        return []
    return list(patient_plans(patient))


def _plans_panel() -> str | None:
    try:
        get_template(PLANS_PANEL)
    except TemplateDoesNotExist:
        return None
    return PLANS_PANEL


def _templates_for_new() -> list[RecordTemplate]:
    return selectors.template_list()


# --- the patient's chart ----------------------------------------------------------------


@require_safe
@console_page("clinical.view")
def chart(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    """The tooth chart (findings of signed records), the records list and the plans."""
    patient = get_patient(patient_id=patient_id)
    access = request.access
    page_no = page_number(request.GET.get("page"))
    page = selectors.patient_records(patient=patient, page=page_no, page_size=20)
    tooth_chart: ToothChart = selectors.patient_tooth_chart(patient=patient)
    services.patient_chart_viewed(
        actor=access.staff, clinic=access.clinic, patient=patient, via="page:chart"
    )
    plans = _plans(request, patient)
    context = {
        "patient": patient,
        "page": page,
        "records": page.items,
        "tooth_chart": tooth_chart,
        "new_form": RecordNewForm(templates=_templates_for_new()),
        "can_write": access.can("clinical.write"),
        "plans": plans,
        "patient_plans": plans,
        "plans_panel_template": _plans_panel() if access.can("plans.view") else None,
        **_chart_context(mode="view", marks=tooth_chart.as_json()),
    }
    return _render(request, "clinical/chart.html", context)


# --- a new record -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@console_page("clinical.write")
def record_new(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = get_patient(patient_id=patient_id)
    templates = _templates_for_new()
    form = RecordNewForm(request.POST or None, templates=templates)
    if request.method == "POST" and form.is_valid():
        template = next((t for t in templates if t.pk == form.cleaned_data["template"]), None)
        try:
            record = services.record_create(
                actor=request.access.staff,
                clinic=request.access.clinic,
                patient=patient,
                visit_type=form.cleaned_data["visit_type"],
                visit_date=form.cleaned_data["visit_date"],
                template=template,
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            return redirect("clinical:record_edit", record_id=record.pk)
    status = 400 if form.is_bound else 200
    return _render(
        request, "clinical/record_new.html", {"patient": patient, "form": form}, status=status
    )


# --- the editor -------------------------------------------------------------------------


def _editor_page(
    request: ConsoleRequest,
    template: str,
    record: ClinicalRecord,
    form: RecordEditForm | AmendForm,
    content: VersionContent,
    *,
    status: int = 200,
) -> HttpResponse:
    """The draft editor or the amendment page: the form next to the chart to pick teeth on."""
    context = {
        "record": record,
        "patient": record.patient,
        "form": form,
        **_chart_context(mode="pick", content=content),
    }
    return _render(request, template, context, status=status)


def _posted_content(form: RecordEditForm | AmendForm, fallback: VersionContent) -> VersionContent:
    """What the page showed, to show again after an error (findings as posted if readable)."""
    sections = {key: str(form.data.get(key, fallback.section(key))) for key, _label in SECTIONS}
    findings = fallback.findings
    cleaned = getattr(form, "cleaned_data", {}).get("findings")
    if isinstance(cleaned, list):
        try:
            findings = tuple(
                Finding(
                    teeth=tuple(int(t) for t in f["teeth"]),
                    finding=str(f["finding"]),
                    note=str(f.get("note", "")),
                )
                for f in cleaned
                if isinstance(f, dict) and f.get("finding") in ToothFinding.values
            )
        except (KeyError, TypeError, ValueError):
            findings = fallback.findings
    return VersionContent(sections=sections, findings=findings)


@require_http_methods(["GET", "POST"])
@console_page("clinical.write")
def record_edit(request: ConsoleRequest, record_id: int) -> HttpResponse:
    """The draft's sections and findings; Save draft, or Sign (after a confirmation)."""
    access = request.access
    record = selectors.get_record(record_id=record_id)
    if record.status != ClinicalRecord.Status.DRAFT:
        messages.info(request, _("This record is signed: change it with an amendment."))
        return redirect("clinical:record_detail", record_id=record.pk)
    if record.doctor_id != access.staff.pk:
        return forbidden(request, "clinical.write")
    plans = _plans(request, record.patient)
    current = selectors.record_versions(record=record)[-1].content
    if request.method != "POST":
        services.record_viewed(
            actor=access.staff, clinic=access.clinic, record=record, via="page:edit"
        )
        initial = {
            **current.sections,
            "findings": VersionContent(sections={}, findings=current.findings).to_json(),
            "plan": record.plan_id,
        }
        form = RecordEditForm(initial=initial, plans=plans)
        return _editor_page(request, "clinical/record_edit.html", record, form, current)
    form = RecordEditForm(request.POST, plans=plans)
    if form.is_valid():
        plan = next((p for p in plans if p.pk == form.cleaned_data["plan"]), None)
        extra: dict[str, Any] = {"plan": plan} if "plan" in request.POST else {}
        try:
            services.record_update_draft(
                actor=access.staff,
                clinic=access.clinic,
                record=record,
                sections=form.section_values(),
                findings=form.cleaned_data["findings"],
                **extra,
            )
            if request.POST.get("action") == "sign":
                services.record_sign(actor=access.staff, clinic=access.clinic, record=record)
                messages.success(request, _("The record is signed and locked."))
                return redirect("clinical:record_detail", record_id=record.pk)
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("clinical:record_edit", record_id=record.pk)
    return _editor_page(
        request,
        "clinical/record_edit.html",
        record,
        form,
        _posted_content(form, current),
        status=400,
    )


# --- reading ----------------------------------------------------------------------------


@require_safe
@console_page("clinical.view")
def record_detail(request: ConsoleRequest, record_id: int) -> HttpResponse:
    """The latest version, the signature's digest, and every version with what it changed."""
    access = request.access
    record = selectors.get_record(record_id=record_id)
    services.record_viewed(
        actor=access.staff, clinic=access.clinic, record=record, via="page:detail"
    )
    detail = selectors.record_detail(record=record)
    current = detail.current
    context = {
        "record": record,
        "patient": record.patient,
        "detail": detail,
        "current": current,
        "history": list(reversed(detail.versions)),
        "verified": verify(current.version),
        "can_edit": (
            record.status == ClinicalRecord.Status.DRAFT
            and record.doctor_id == access.staff.pk
            and access.can("clinical.write")
        ),
        "can_amend": record.status == ClinicalRecord.Status.SIGNED and access.can("clinical.amend"),
        **_chart_context(
            mode="view",
            marks=_marks_of(current.content),
        ),
    }
    return _render(request, "clinical/record_detail.html", context)


def _marks_of(content: VersionContent) -> dict[str, Any]:
    marks: dict[str, list[dict[str, str]]] = {}
    for finding in content.findings:
        for tooth in finding.teeth:
            marks.setdefault(str(tooth), []).append(
                {
                    "finding": finding.finding,
                    "label": finding.label,
                    "colour": finding.colour,
                    "note": finding.note,
                }
            )
    return marks


@require_safe
@console_page("clinical.view")
def record_print(request: ConsoleRequest, record_id: int) -> HttpResponse:
    """One version (the latest unless ?version=n) laid out for paper. Logged."""
    access = request.access
    record = selectors.get_record(record_id=record_id)
    versions = selectors.record_versions(record=record)
    wanted = request.GET.get("version", "")
    view = next((v for v in versions if str(v.version.number) == wanted), versions[-1])
    services.record_viewed(
        actor=access.staff, clinic=access.clinic, record=record, via="page:print"
    )
    context = {
        "record": record,
        "patient": record.patient,
        "view": view,
        "verified": verify(view.version),
    }
    return _render(request, "clinical/record_print.html", context)


# --- amendments -------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@console_page("clinical.amend")
def record_amend(request: ConsoleRequest, record_id: int) -> HttpResponse:
    access = request.access
    record = selectors.get_record(record_id=record_id)
    if record.status != ClinicalRecord.Status.SIGNED:
        messages.info(request, _("A draft is edited, not amended."))
        return redirect("clinical:record_detail", record_id=record.pk)
    latest = selectors.record_versions(record=record)[-1]
    if request.method != "POST":
        services.record_viewed(
            actor=access.staff, clinic=access.clinic, record=record, via="page:amend"
        )
        initial = {
            **latest.content.sections,
            "findings": VersionContent(sections={}, findings=latest.content.findings).to_json(),
        }
        return _editor_page(
            request,
            "clinical/record_amend.html",
            record,
            AmendForm(initial=initial),
            latest.content,
        )
    form = AmendForm(request.POST)
    if form.is_valid():
        try:
            version = services.record_amend(
                actor=access.staff,
                clinic=access.clinic,
                record=record,
                sections=form.section_values(),
                findings=form.cleaned_data["findings"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(
                request,
                _("Amendment %(number)d is signed.") % {"number": version.number},
            )
            return redirect("clinical:record_detail", record_id=record.pk)
    content = _posted_content(form, latest.content)
    return _editor_page(request, "clinical/record_amend.html", record, form, content, status=400)


# --- templates --------------------------------------------------------------------------


@require_safe
@console_page("clinical.templates")
def templates(request: ConsoleRequest) -> HttpResponse:
    rows = selectors.template_list(include_inactive=True)
    return _render(request, "clinical/templates_list.html", {"templates": rows})


def _template_form_page(
    request: ConsoleRequest, form: TemplateForm, template: RecordTemplate | None, *, status: int
) -> HttpResponse:
    return _render(
        request,
        "clinical/templates_form.html",
        {"form": form, "template": template},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@console_page("clinical.templates")
def template_new(request: ConsoleRequest) -> HttpResponse:
    form = TemplateForm(request.POST or None, initial={"is_active": True})
    if request.method == "POST" and form.is_valid():
        try:
            template_services.record_template_create(
                actor=request.access.staff,
                clinic=request.access.clinic,
                visit_type=form.cleaned_data["visit_type"],
                name=form.cleaned_data["name"],
                sections=form.section_values(),
                is_active=form.cleaned_data["is_active"],
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("The template is saved."))
            return redirect("clinical:templates")
    return _template_form_page(request, form, None, status=400 if form.is_bound else 200)


@require_http_methods(["GET", "POST"])
@console_page("clinical.templates")
def template_edit(request: ConsoleRequest, template_id: int) -> HttpResponse:
    template = selectors.get_template(template_id=template_id)
    if request.method != "POST":
        initial = {
            "visit_type": template.visit_type,
            "name": template.name,
            "is_active": template.is_active,
            **template.sections,
        }
        return _template_form_page(request, TemplateForm(initial=initial), template, status=200)
    form = TemplateForm(request.POST)
    if form.is_valid():
        try:
            template_services.record_template_update(
                actor=request.access.staff,
                clinic=request.access.clinic,
                template=template,
                visit_type=form.cleaned_data["visit_type"],
                name=form.cleaned_data["name"],
                sections=form.section_values(),
                is_active=form.cleaned_data["is_active"],
            )
        except DomainError as e:
            attach_errors(form, e)
        else:
            messages.success(request, _("The template is saved."))
            return redirect("clinical:templates")
    return _template_form_page(request, form, template, status=400)


@require_POST
@console_page("clinical.templates")
def templates_install(request: ConsoleRequest) -> HttpResponseRedirect:
    """Add the default templates the organization lacks (never overwrites edited ones)."""
    created = template_services.record_templates_install_defaults(
        organization=request.access.organization
    )
    messages.success(request, _("%(count)d default templates added.") % {"count": len(created)})
    return redirect("clinical:templates")


urlpatterns = [
    path("patients/<int:patient_id>/", chart, name="chart"),
    path("patients/<int:patient_id>/records/new/", record_new, name="record_new"),
    path("records/<int:record_id>/", record_detail, name="record_detail"),
    path("records/<int:record_id>/edit/", record_edit, name="record_edit"),
    path("records/<int:record_id>/amend/", record_amend, name="record_amend"),
    path("records/<int:record_id>/print/", record_print, name="record_print"),
    path("record-templates/", templates, name="templates"),
    path("record-templates/new/", template_new, name="template_new"),
    path("record-templates/<int:template_id>/", template_edit, name="template_edit"),
    path("record-templates/defaults/", templates_install, name="templates_install"),
]
