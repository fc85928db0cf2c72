"""Pages of forms made for patients: the list, making one for a patient (template, doctor,
treatment items), filling and sending it for signing, voiding, the PDF.

Every form posts back to its page, calls one service and redirects (post/redirect/get); a
refused form shows the page again with the errors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chairside.core.console import ConsoleRequest, console_page, forbidden, page_number, positive_id
from chairside.core.errors import DomainError
from chairside.core.pagination import paginate
from chairside.core.selectors import staff_list
from chairside.core.web import file_response
from chairside.forms.blocks import Field, data_fields, missing_required
from chairside.forms.forms.instances import InstanceDataForm, NewInstanceForm, VoidForm
from chairside.forms.models import FieldKind, FormInstance
from chairside.forms.pdf import pdf_filename
from chairside.forms.selectors import instances as selectors
from chairside.forms.selectors.templates import template_list
from chairside.forms.services import instances as services
from chairside.patients.selectors import get_patient

PAGE_SIZE = 20


@require_GET
@console_page("forms.view")
def instance_list(request: ConsoleRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in FormInstance.Status.values:
        status = ""
    template_id = positive_id(request.GET.get("template"))
    patient_id = positive_id(request.GET.get("patient"))
    patient = get_patient(patient_id=patient_id) if patient_id else None
    page = paginate(
        selectors.instance_list(patient_id=patient_id, template_id=template_id, status=status),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    context = {
        "page": page,
        "status": status,
        "statuses": FormInstance.Status.choices,
        "template_id": template_id,
        "templates": template_list(),
        "patient": patient,
        "querystring": urlencode(
            {"status": status, "template": template_id or "", "patient": patient_id or ""}
        ),
    }
    return render(request, "forms/instance_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("forms.fill")
def instance_new(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = get_patient(patient_id=patient_id)
    access = request.access
    choices = selectors.treatment_item_choices(patient)
    form_kwargs: dict[str, Any] = {
        "templates": template_list(active=True),
        "doctors": staff_list(clinic_id=access.clinic.pk),
        "items": choices,
    }
    status = 200
    if request.method == "POST":
        form = NewInstanceForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                instance = services.form_instance_create(
                    actor=access.staff,
                    clinic=access.clinic,
                    template=form.cleaned_data["template"],
                    patient=patient,
                    doctor=form.cleaned_data.get("doctor"),
                    plan_item_ids=form.cleaned_data.get("plan_items") or [],
                    treatment_items=form.typed(),
                )
            except DomainError as e:
                _attach(form, e)
            else:
                messages.success(request, _("The form is made; fill it in below."))
                return redirect("forms:instance", instance_id=instance.pk)
        status = 400
    else:
        initial = {"template": positive_id(request.GET.get("template"))}
        if "schedule.treat" in access.permissions or access.can("esign.sign"):
            initial["doctor"] = access.staff.pk
        form = NewInstanceForm(initial=initial, **form_kwargs)
    context = {"form": form, "patient": patient, "has_items": bool(choices)}
    return render(request, "forms/instance_new.html", context, status=status)


def _attach(form: Any, error: DomainError) -> None:
    names = {"plan_item_ids": "plan_items", "treatment_items": "typed_items"}
    if not error.fields:
        form.add_error(None, str(error.message))
        return
    for name, found in error.fields.items():
        target = names.get(name, name)
        for message in found:
            form.add_error(target if target in form.fields else None, str(message))


def _shown(field: Field, value: Any) -> str:
    if value is None:
        return ""
    if field.kind == FieldKind.CHECKBOX:
        return _("Yes") if value is True else _("No")
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _detail_context(
    request: ConsoleRequest, instance: FormInstance, data_form: InstanceDataForm
) -> dict[str, Any]:
    access = request.access
    blocks = instance.version.blocks
    editable = instance.status == FormInstance.Status.DRAFT and access.can("forms.fill")
    return {
        "instance": instance,
        "data_form": data_form,
        "void_form": VoidForm(),
        "editable": editable,
        "can_void": access.can("forms.fill")
        and instance.status in (FormInstance.Status.DRAFT, FormInstance.Status.SIGNING),
        "can_see_document": access.can("esign.view") and instance.document_id is not None,
        "missing": missing_required(blocks, instance.data),
        "values": [(f.label, _shown(f, instance.data.get(f.key))) for f in data_fields(blocks)],
        "context_rows": [
            (_("Patient"), instance.context.get("patient.name", "")),
            (_("Record number"), instance.context.get("patient.record_number", "")),
            (_("Doctor"), instance.context.get("doctor.name", "")),
            (_("Treatment items"), instance.context.get("treatment.items", "")),
            (_("Date"), instance.context.get("today", "")),
        ],
    }


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("forms.view")
def instance_detail(request: ConsoleRequest, instance_id: int) -> HttpResponse:
    """The form with its fields: a draft is filled here and sent for signing."""
    instance = selectors.get_instance(instance_id=instance_id)
    fields = data_fields(instance.version.blocks)
    status = 200
    if request.method == "POST":
        if not request.access.can("forms.fill"):
            return forbidden(request, "forms.fill")
        data_form = InstanceDataForm(request.POST, fields=fields)
        if data_form.is_valid():
            access = request.access
            try:
                instance = services.form_instance_fill(
                    actor=access.staff,
                    clinic=access.clinic,
                    instance=instance,
                    data=data_form.values(),
                )
                if request.POST.get("action") == "send":
                    services.form_instance_send(
                        actor=access.staff, clinic=access.clinic, instance=instance
                    )
                    messages.success(request, _("The form is sent for signing."))
                else:
                    messages.success(request, _("The form is saved."))
            except DomainError as e:
                data_form.attach(e.fields, e.message)
                instance = selectors.get_instance(instance_id=instance_id)
            else:
                return redirect("forms:instance", instance_id=instance.pk)
        status = 400
    else:
        data_form = InstanceDataForm(
            initial=InstanceDataForm.initial_of(fields, instance.data), fields=fields
        )
    context = _detail_context(request, instance, data_form)
    return render(request, "forms/instance_detail.html", context, status=status)


@require_POST
@console_page("forms.fill")
def instance_void(request: ConsoleRequest, instance_id: int) -> HttpResponse:
    instance = selectors.get_instance(instance_id=instance_id)
    form = VoidForm(request.POST)
    if form.is_valid():
        try:
            services.form_instance_void(
                actor=request.access.staff,
                clinic=request.access.clinic,
                instance=instance,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as e:
            messages.error(request, str(e.message))
        else:
            messages.success(request, _("The form is void."))
    else:
        messages.error(request, _("Give the reason for voiding."))
    return redirect("forms:instance", instance_id=instance.pk)


@require_GET
@console_page("forms.view")
def instance_pdf(request: ConsoleRequest, instance_id: int) -> HttpResponse:
    instance = selectors.get_instance(instance_id=instance_id)
    content = services.form_instance_pdf(actor=request.access.staff, instance=instance)
    return file_response(
        content,
        content_type="application/pdf",
        filename=pdf_filename(instance),
        inline=request.GET.get("inline") == "1",
    )


urlpatterns = [
    path("", instance_list, name="instances"),
    path("patients/<int:patient_id>/new/", instance_new, name="instance_new"),
    path("<int:instance_id>/", instance_detail, name="instance"),
    path("<int:instance_id>/void/", instance_void, name="instance_void"),
    path("<int:instance_id>/pdf/", instance_pdf, name="instance_pdf"),
]
