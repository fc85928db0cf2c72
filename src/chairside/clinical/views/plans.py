"""Pages of treatment plans (C2): the plan builder (new plan, alternative, edit, change
request) with live totals, the plan with its items, steps and execution form, and the list
of changes awaiting approval.

Plans are the organization's: any clinic of it may open, accept and execute them; an
execution is charged on the acting clinic's bill.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.billing.models import Unit
from chairside.billing.selectors.catalogue import catalogue_list
from chairside.clinical.forms.plans import ChangeForm, ExecuteForm, PlanForm, RejectForm
from chairside.clinical.models import PlanChangeRequest, PlanItem, TreatmentPlan
from chairside.clinical.selectors import plans as selectors
from chairside.clinical.services import execution as execution_services
from chairside.clinical.services import plans as services
from chairside.clinical.services.plans import OPEN_ITEM_STATUSES, change_lines
from chairside.core.clock import clinic_zone
from chairside.core.console import ConsoleRequest, console_page
from chairside.core.errors import DomainError
from chairside.core.money import quantize_money
from chairside.core.pagination import paginate
from chairside.core.selectors import staff_list
from chairside.patients.models import Patient
from chairside.patients.selectors import get_patient

STEPS = {
    "propose": services.plan_propose,
    "accept": services.plan_accept,
    "decline": services.plan_decline,
    "cancel": services.plan_cancel,
}


def _render(
    request: ConsoleRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    with timezone.override(clinic_zone(request.access.clinic)):
        return render(request, template, context, status=status)


def _doctors(request: ConsoleRequest) -> Any:
    return staff_list(clinic_id=request.access.clinic.pk)


def _catalogue(request: ConsoleRequest) -> list[dict[str, Any]]:
    """The active catalogue with this clinic's prices, for the builder's search (one query)."""
    return [
        {
            "id": item.pk,
            "code": item.code,
            "name": item.name,
            "pinyin": item.name_pinyin,
            "category": item.get_category_display(),
            "unit": item.unit,
            "unit_label": item.get_unit_display(),
            "price": str(quantize_money(item.price_here)),  # type: ignore[attr-defined]
            "insured": bool(item.insurance_code),
        }
        for item in catalogue_list(clinic=request.access.clinic).order_by("category", "code")
    ]


def _line_of(item: PlanItem) -> dict[str, Any]:
    return {
        "plan_item_id": item.pk,
        "item_id": item.item_id,
        "code": item.item.code,
        "name": item.name,
        "unit": item.item.unit,
        "teeth": list(item.teeth.codes) if item.teeth else [],
        "arch": item.arch,
        "quantity": item.quantity,
        "unit_price": str(item.unit_price),
        "note": item.note,
        "executed": item.executed_quantity,
        "status": item.status,
    }


def _posted_lines(raw: str) -> list[dict[str, Any]]:
    """The builder's lines as posted, to show them again next to the errors."""
    try:
        rows = json.loads(raw or "[]")
    except ValueError:
        return []
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def _errors_of(error: DomainError) -> tuple[dict[str, list[str]], list[str]]:
    """Per-line errors ("items.0.teeth") for the builder, the rest for the form."""
    lines: dict[str, list[str]] = {}
    general: list[str] = []
    for name, messages_ in error.fields.items():
        if name.startswith("items."):
            lines[name] = [str(m) for m in messages_]
        elif name in ("title", "note", "reason", "doctor"):
            continue
        else:
            general += [str(m) for m in messages_]
    if not error.fields:
        general.append(str(error.message))
    return lines, general


def _builder(
    request: ConsoleRequest,
    *,
    patient: Patient,
    form: forms.Form,
    mode: str,
    lines: list[dict[str, Any]],
    plan: TreatmentPlan | None = None,
    line_errors: dict[str, list[str]] | None = None,
    errors: list[str] | None = None,
    alternative_to: TreatmentPlan | None = None,
    status: int = 200,
) -> HttpResponse:
    data = {
        "mode": mode,
        "catalogue": _catalogue(request),
        "lines": lines,
        "errors": line_errors or {},
        "units": {"tooth": Unit.PER_TOOTH, "arch": Unit.PER_ARCH},
    }
    context = {
        "patient": patient,
        "plan": plan,
        "form": form,
        "mode": mode,
        "builder_data": data,
        "errors": errors or [],
        "alternative_to": alternative_to,
        "arch_choices": PlanItem.Arch.choices,
    }
    return _render(request, "clinical/plan_builder.html", context, status=status)


def _attach(form: forms.Form, error: DomainError) -> None:
    for name in ("title", "note", "reason"):
        for message in error.fields.get(name, []):
            if name in form.fields:
                form.add_error(name, str(message))


def _builder_refused(
    request: ConsoleRequest,
    error: DomainError,
    *,
    patient: Patient,
    form: forms.Form,
    mode: str,
    lines: list[dict[str, Any]],
    plan: TreatmentPlan | None = None,
    alternative_to: TreatmentPlan | None = None,
) -> HttpResponse:
    """The builder again after the service refused the plan: field errors on the form,
    per-line errors on the lines, the rest above them."""
    _attach(form, error)
    line_errors, general = _errors_of(error)
    return _builder(
        request,
        patient=patient,
        plan=plan,
        form=form,
        mode=mode,
        lines=lines,
        line_errors=line_errors,
        errors=general,
        alternative_to=alternative_to,
        status=error.status if error.status != 404 else 400,
    )


# --- the builder --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@console_page("plans.write")
def plan_new(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    """A new plan for the patient, or an alternative to one (?alternative_to=<plan id>)."""
    patient = get_patient(patient_id=patient_id)
    access = request.access
    raw_alternative = request.GET.get("alternative_to") or request.POST.get("alternative_to")
    alternative_to = None
    if raw_alternative and raw_alternative.isdigit():
        alternative_to = selectors.get_plan(plan_id=int(raw_alternative))
    initial: dict[str, Any] = {"doctor": access.staff.pk if access.can("clinical.write") else None}
    if alternative_to is not None:
        initial.update(title="", doctor=alternative_to.doctor_id)
    form = PlanForm(request.POST or None, doctors=_doctors(request), initial=initial)
    lines: list[dict[str, Any]] = []
    if request.method == "POST":
        lines = _posted_lines(request.POST.get("items_json", ""))
        if form.is_valid():
            try:
                plan = services.plan_create(
                    actor=access.staff,
                    clinic=access.clinic,
                    patient=patient,
                    title=form.cleaned_data["title"],
                    doctor=form.cleaned_data["doctor"],
                    note=form.cleaned_data["note"],
                    items=form.cleaned_data["items_json"],
                    alternative_to=alternative_to,
                )
            except DomainError as error:
                return _builder_refused(
                    request,
                    error,
                    patient=patient,
                    form=form,
                    mode="new",
                    lines=lines,
                    alternative_to=alternative_to,
                )
            messages.success(request, _("The plan is saved as a draft."))
            return redirect("clinical:plan_detail", plan_id=plan.pk)
        return _builder(
            request,
            patient=patient,
            form=form,
            mode="new",
            lines=lines,
            errors=[str(e) for e in [*form.non_field_errors(), *form.errors.get("items_json", [])]],
            alternative_to=alternative_to,
            status=400,
        )
    return _builder(
        request, patient=patient, form=form, mode="new", lines=[], alternative_to=alternative_to
    )


@require_http_methods(["GET", "POST"])
@console_page("plans.write")
def plan_edit(request: ConsoleRequest, plan_id: int) -> HttpResponse:
    """Edit a draft or proposed plan (its whole item list)."""
    plan = selectors.get_plan(plan_id=plan_id)
    access = request.access
    if plan.status not in services.EDITABLE_STATUSES:
        messages.error(request, _("Only draft and proposed plans can be edited."))
        return redirect("clinical:plan_detail", plan_id=plan.pk)
    form = PlanForm(
        request.POST or None,
        doctors=_doctors(request),
        initial={"title": plan.title, "doctor": plan.doctor_id, "note": plan.note},
    )
    lines = [_line_of(i) for i in plan.items.all()]
    if request.method == "POST":
        lines = _posted_lines(request.POST.get("items_json", ""))
        if form.is_valid():
            try:
                services.plan_update(
                    actor=access.staff,
                    clinic=access.clinic,
                    plan=plan,
                    title=form.cleaned_data["title"],
                    doctor=form.cleaned_data["doctor"],
                    note=form.cleaned_data["note"],
                    items=form.cleaned_data["items_json"],
                )
            except DomainError as error:
                return _builder_refused(
                    request,
                    error,
                    patient=plan.patient,
                    plan=plan,
                    form=form,
                    mode="edit",
                    lines=lines,
                )
            messages.success(request, _("The plan is saved."))
            return redirect("clinical:plan_detail", plan_id=plan.pk)
        errors = [str(e) for e in form.errors.get("items_json", [])]
        return _builder(
            request,
            patient=plan.patient,
            plan=plan,
            form=form,
            mode="edit",
            lines=lines,
            errors=errors,
            status=400,
        )
    return _builder(request, patient=plan.patient, plan=plan, form=form, mode="edit", lines=lines)


@require_http_methods(["GET", "POST"])
@console_page("plans.write")
def plan_change_new(request: ConsoleRequest, plan_id: int) -> HttpResponse:
    """Request a change of an accepted plan: the builder with the plan's items."""
    plan = selectors.get_plan(plan_id=plan_id)
    access = request.access
    if plan.status != TreatmentPlan.Status.ACCEPTED:
        messages.error(request, _("Only an accepted plan is changed through a request."))
        return redirect("clinical:plan_detail", plan_id=plan.pk)
    form = ChangeForm(request.POST or None)
    lines = [_line_of(i) for i in plan.items.all() if i.status != PlanItem.Status.CANCELLED]
    if request.method == "POST":
        lines = _posted_lines(request.POST.get("items_json", ""))
        if form.is_valid():
            try:
                services.plan_change_request(
                    actor=access.staff,
                    clinic=access.clinic,
                    plan=plan,
                    items=form.cleaned_data["items_json"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as error:
                return _builder_refused(
                    request,
                    error,
                    patient=plan.patient,
                    plan=plan,
                    form=form,
                    mode="change",
                    lines=lines,
                )
            messages.success(request, _("The change is waiting for approval."))
            return redirect("clinical:plan_detail", plan_id=plan.pk)
        return _builder(
            request,
            patient=plan.patient,
            plan=plan,
            form=form,
            mode="change",
            lines=lines,
            errors=[str(e) for e in form.errors.get("items_json", [])],
            status=400,
        )
    return _builder(request, patient=plan.patient, plan=plan, form=form, mode="change", lines=lines)


# --- the plan -----------------------------------------------------------------------------


def _detail_context(
    request: ConsoleRequest, plan_id: int, execute_form: ExecuteForm | None = None
) -> dict[str, Any]:
    detail = selectors.plan_detail(plan_id=plan_id)
    plan = detail.plan
    access = request.access
    open_items = [i for i in detail.items if i.status in OPEN_ITEM_STATUSES]
    can_execute = (
        access.can("plans.execute") and plan.status == TreatmentPlan.Status.ACCEPTED and open_items
    )
    if execute_form is None and can_execute:
        execute_form = ExecuteForm(items=open_items, doctors=_doctors(request))
    pending = detail.pending_change
    proposed: list[dict[str, Any]] = []
    if pending is not None:
        current = {i.pk: i for i in detail.items}
        names = {i.item_id: i.name for i in detail.items}
        for line in change_lines(pending):
            before = current.get(line.plan_item_id) if line.plan_item_id else None
            proposed.append(
                {
                    "line": line,
                    "name": before.name if before else names.get(line.item_id, ""),
                    "before": before,
                    "amount": (line.unit_price or Decimal(0)) * (line.quantity or 0),
                }
            )
    return {
        "plan": plan,
        "patient": plan.patient,
        "items": detail.items,
        "executions": detail.executions,
        "changes": detail.changes,
        "alternatives": detail.alternatives,
        "pending": pending,
        "proposed": proposed,
        "execute_form": execute_form if can_execute else None,
        "execute_rows": (
            [(i, execute_form.quantity_field(i)) for i in open_items]
            if can_execute and execute_form is not None
            else []
        ),
        "can": {
            "write": access.can("plans.write"),
            "approve": access.can("plans.approve"),
            "execute": access.can("plans.execute"),
            "edit": access.can("plans.write") and plan.status in services.EDITABLE_STATUSES,
            "propose": access.can("plans.write") and plan.status == TreatmentPlan.Status.DRAFT,
            "decide": access.can("plans.write") and plan.status in services.OPEN_PLAN_STATUSES,
            "cancel": access.can("plans.write")
            and plan.status in (*services.OPEN_PLAN_STATUSES, TreatmentPlan.Status.ACCEPTED),
            "change": access.can("plans.write")
            and plan.status == TreatmentPlan.Status.ACCEPTED
            and pending is None,
            "status": access.can("plans.write") and plan.status == TreatmentPlan.Status.ACCEPTED,
            "alternative": access.can("plans.write") and plan.status in services.OPEN_PLAN_STATUSES,
        },
        "item_statuses": PlanItem.Status.choices,
    }


@require_safe
@console_page("plans.view")
def plan_detail(request: ConsoleRequest, plan_id: int) -> HttpResponse:
    return _render(request, "clinical/plan_detail.html", _detail_context(request, plan_id))


@require_POST
@console_page("plans.write")
def plan_step(request: ConsoleRequest, plan_id: int, action: str) -> HttpResponse:
    plan = selectors.get_plan(plan_id=plan_id)
    step = STEPS.get(action)
    if step is None:
        return redirect("clinical:plan_detail", plan_id=plan.pk)
    try:
        step(actor=request.access.staff, clinic=request.access.clinic, plan=plan)
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        done = {
            "propose": _("The plan is proposed to the patient."),
            "accept": _("The patient's choice is recorded."),
            "decline": _("The plan is declined."),
            "cancel": _("The plan is cancelled."),
        }
        messages.success(request, done[action])
    return redirect("clinical:plan_detail", plan_id=plan.pk)


@require_POST
@console_page("plans.write")
def plan_item_status(request: ConsoleRequest, plan_id: int, item_id: int) -> HttpResponse:
    plan = selectors.get_plan(plan_id=plan_id)
    item = selectors.get_plan_item(plan=plan, item_id=item_id)
    try:
        services.plan_item_set_status(
            actor=request.access.staff,
            clinic=request.access.clinic,
            item=item,
            status=request.POST.get("status", ""),
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    return redirect("clinical:plan_detail", plan_id=plan.pk)


@require_POST
@console_page("plans.execute")
def plan_execute(request: ConsoleRequest, plan_id: int) -> HttpResponse:
    """Confirm the quantities entered; the lines go on today's bill at the acting clinic."""
    plan = selectors.get_plan(plan_id=plan_id)
    open_items = [i for i in plan.items.all() if i.status in OPEN_ITEM_STATUSES]
    form = ExecuteForm(request.POST, items=open_items, doctors=_doctors(request))
    if form.is_valid():
        try:
            executions = execution_services.plan_execute(
                actor=request.access.staff,
                clinic=request.access.clinic,
                executions=form.chosen(),
                doctor=form.cleaned_data.get("doctor"),
            )
        except DomainError as error:
            form.add_error(None, str(error.message))
        else:
            bill = executions[0].bill_line.bill
            messages.success(
                request,
                _("Confirmed and charged on bill %(number)s.") % {"number": bill.number},
            )
            if request.POST.get("then") == "bill":
                return redirect("billing:bill", bill_id=bill.pk)
            return redirect("clinical:plan_detail", plan_id=plan.pk)
    context = _detail_context(request, plan_id, execute_form=form)
    return _render(request, "clinical/plan_detail.html", context, status=400)


# --- changes awaiting approval ----------------------------------------------------------------


@require_safe
@console_page("plans.view")
def plan_changes(request: ConsoleRequest) -> HttpResponse:
    raw = request.GET.get("page", "1")
    page_no = int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1
    page = paginate(selectors.pending_changes(), page=page_no, page_size=20)
    context = {
        "page": page,
        "changes": page.items,
        "can_approve": request.access.can("plans.approve"),
        "reject_form": RejectForm(),
    }
    return _render(request, "clinical/plan_changes.html", context)


def _back(request: ConsoleRequest, change: PlanChangeRequest) -> HttpResponse:
    if request.POST.get("back") == "plan":
        return redirect("clinical:plan_detail", plan_id=change.plan_id)
    return redirect("clinical:plan_changes")


@require_POST
@console_page("plans.approve")
def plan_change_approve(request: ConsoleRequest, change_id: int) -> HttpResponse:
    change = selectors.get_change(change_id=change_id)
    try:
        services.plan_change_approve(
            actor=request.access.staff,
            clinic=request.access.clinic,
            change=change,
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The change is approved and applied to the plan."))
    return _back(request, change)


@require_POST
@console_page("plans.approve")
def plan_change_reject(request: ConsoleRequest, change_id: int) -> HttpResponse:
    change = selectors.get_change(change_id=change_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the change is rejected."))
        return _back(request, change)
    try:
        services.plan_change_reject(
            actor=request.access.staff,
            clinic=request.access.clinic,
            change=change,
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("The change is rejected."))
    return _back(request, change)


urlpatterns: list[URLPattern] = [
    path("patients/<int:patient_id>/plans/new/", plan_new, name="plan_new"),
    path("plans/<int:plan_id>/", plan_detail, name="plan_detail"),
    path("plans/<int:plan_id>/edit/", plan_edit, name="plan_edit"),
    path("plans/<int:plan_id>/change/", plan_change_new, name="plan_change_new"),
    path("plans/<int:plan_id>/execute/", plan_execute, name="plan_execute"),
    path(
        "plans/<int:plan_id>/items/<int:item_id>/status/",
        plan_item_status,
        name="plan_item_status",
    ),
    *[
        path(f"plans/<int:plan_id>/{action}/", plan_step, {"action": action}, name=f"plan_{action}")
        for action in STEPS
    ],
    path("plan-changes/", plan_changes, name="plan_changes"),
    path(
        "plan-changes/<int:change_id>/approve/",
        plan_change_approve,
        name="plan_change_approve",
    ),
    path(
        "plan-changes/<int:change_id>/reject/",
        plan_change_reject,
        name="plan_change_reject",
    ),
]
