"""Pages of coupons: templates (list, new, edit), issuing to a patient, bearer batches with
their Excel export, the coupon search with a coupon's uses and voiding, a patient's wallet.

Every form posts back to its page, calls one service and redirects (post/redirect/get); a
refused form shows the page again with the errors.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from chairside.billing.forms.catalogue import attach_errors
from chairside.billing.models import CatalogueItem
from chairside.core.console import ConsoleRequest, console_page, forbidden, page_number, positive_id
from chairside.core.errors import DomainError
from chairside.core.pagination import paginate
from chairside.patients.models import Patient
from chairside.patients.selectors import get_patient, patient_list
from chairside.promotions.codes import code_format
from chairside.promotions.discounts import rule_summary
from chairside.promotions.forms.coupons import (
    BatchForm,
    IssueForm,
    TemplateForm,
    VoidForm,
    entitlement_formset,
)
from chairside.promotions.models import CouponStatus, CouponTemplate
from chairside.promotions.selectors import coupons as selectors
from chairside.promotions.selectors.gifting import coupon_transfers
from chairside.promotions.services import coupons as services

PAGE_SIZE = 20
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- templates --------------------------------------------------------------------------


@require_GET
@console_page("promotions.view")
def coupon_templates(request: ConsoleRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:60]
    active = {"1": True, "0": False}.get(request.GET.get("active", ""))
    page = paginate(
        selectors.template_list(query=q, active=active),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    rows = [{"template": t, "rules": rule_summary(t)} for t in page.items]
    context = {
        "page": page,
        "rows": rows,
        "q": q,
        "active": request.GET.get("active", ""),
        "querystring": urlencode({"q": q, "active": request.GET.get("active", "")}),
        "can_manage": request.access.can("promotions.manage"),
        "can_issue": request.access.can("promotions.issue"),
    }
    return render(request, "promotions/coupon_templates.html", context)


def _entitlements(formset: Any) -> list[tuple[CatalogueItem, int]]:
    return [
        (f.cleaned_data["item"], f.cleaned_data["count"])
        for f in formset.forms
        if f.cleaned_data.get("item") is not None
    ]


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.manage")
def coupon_template_edit(request: ConsoleRequest, template_id: int | None = None) -> HttpResponse:
    template: CouponTemplate | None = None
    if template_id is not None:
        template = selectors.get_template(template_id=template_id)
    status = 200
    if request.method == "POST":
        form = TemplateForm(request.POST)
        formset = entitlement_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            data = form.data_for_service(_entitlements(formset))
            access = request.access
            try:
                if template is None:
                    saved = services.coupon_template_create(
                        actor=access.staff, clinic=access.clinic, data=data
                    )
                else:
                    saved = services.coupon_template_update(
                        actor=access.staff, clinic=access.clinic, template=template, data=data
                    )
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(request, _("%(name)s is saved.") % {"name": saved.name})
                return redirect("promotions:coupon_templates")
        status = 400
    else:
        initial = TemplateForm.initial_of(template) if template is not None else None
        form = TemplateForm(initial=initial)
        formset = entitlement_formset(template=template)
    context = {"form": form, "formset": formset, "template": template}
    return render(request, "promotions/coupon_template_form.html", context, status=status)


# --- issuing ----------------------------------------------------------------------------


def _issue(request: ConsoleRequest, patient: Patient, form: IssueForm) -> bool:
    """Issue the picked coupon to `patient`; True when it was issued."""
    if not form.is_valid():
        return False
    access = request.access
    try:
        coupon = services.coupon_issue(
            actor=access.staff,
            clinic=access.clinic,
            template=form.cleaned_data["template"],
            patient=patient,
        )
    except DomainError as e:
        attach_errors(form, e)
        return False
    messages.success(
        request,
        _("%(coupon)s issued to %(name)s: %(code)s")
        % {"coupon": coupon.template.name, "name": patient.name, "code": code_format(coupon.code)},
    )
    return True


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.issue")
def coupon_issue(request: ConsoleRequest) -> HttpResponse:
    """Find a patient and give them a named coupon."""
    q = request.GET.get("q", "").strip()[:50]
    form = IssueForm(initial={"template": positive_id(request.GET.get("template"))})
    status = 200
    if request.method == "POST":
        form = IssueForm(request.POST)
        patient_id = positive_id(request.POST.get("patient"))
        if patient_id is None:
            form.add_error(None, _("Choose a patient."))
        elif _issue(request, get_patient(patient_id=patient_id), form):
            return redirect("promotions:patient_wallet", patient_id=patient_id)
        status = 400
    patients = list(patient_list(query=q)[:10]) if q else []
    context = {"form": form, "q": q, "patients": patients}
    return render(request, "promotions/coupon_issue.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.view")
def patient_wallet(request: ConsoleRequest, patient_id: int) -> HttpResponse:
    patient = get_patient(patient_id=patient_id)
    can_issue = request.access.can("promotions.issue")
    form = IssueForm()
    status = 200
    if request.method == "POST":
        if not can_issue:
            return forbidden(request, "promotions.issue")
        form = IssueForm(request.POST)
        if _issue(request, patient, form):
            return redirect("promotions:patient_wallet", patient_id=patient.pk)
        status = 400
    include_closed = request.GET.get("all") == "1"
    coupons = selectors.wallet(patient=patient, include_closed=include_closed)
    rows = [
        {
            "coupon": c,
            "code": code_format(c.code),
            "status": selectors.effective_status(c),
            "last_day": selectors.last_valid_day(c, request.access.clinic),
            "rules": rule_summary(c.template),
            "left": selectors.entitlements_left(c) if c.template.kind == "combo" else [],
        }
        for c in coupons
    ]
    context = {
        "patient": patient,
        "rows": rows,
        "form": form,
        "can_issue": can_issue,
        "include_closed": include_closed,
        "status_labels": dict(CouponStatus.choices),
    }
    return render(request, "promotions/coupon_wallet.html", context, status=status)


# --- batches ----------------------------------------------------------------------------


def _batch_clinic(request: ConsoleRequest) -> Any:
    return None if request.access.can("promotions.manage") else request.access.clinic


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.view")
def coupon_batches(request: ConsoleRequest) -> HttpResponse:
    can_issue = request.access.can("promotions.issue")
    form = BatchForm()
    status = 200
    if request.method == "POST":
        if not can_issue:
            return forbidden(request, "promotions.issue")
        form = BatchForm(request.POST)
        if form.is_valid():
            access = request.access
            try:
                batch = services.coupon_batch_issue(
                    actor=access.staff,
                    clinic=access.clinic,
                    template=form.cleaned_data["template"],
                    count=form.cleaned_data["count"],
                    note=form.cleaned_data.get("note") or "",
                )
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(
                    request,
                    _("%(count)s bearer coupons issued; download them for printing.")
                    % {"count": batch.count},
                )
                return redirect("promotions:coupon_batches")
        status = 400
    page = paginate(
        selectors.batch_list(clinic=_batch_clinic(request)),
        page=page_number(request.GET.get("page")),
        page_size=PAGE_SIZE,
    )
    context = {"page": page, "form": form, "can_issue": can_issue, "querystring": ""}
    return render(request, "promotions/coupon_batches.html", context, status=status)


@require_GET
@console_page("promotions.issue")
def coupon_batch_export(request: ConsoleRequest, batch_id: int) -> HttpResponse:
    batch = selectors.get_batch(batch_id=batch_id, clinic=_batch_clinic(request))
    response = HttpResponse(
        selectors.batch_export_xlsx(batch, request.access.clinic), content_type=XLSX
    )
    filename = selectors.batch_export_filename(batch)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- coupons ----------------------------------------------------------------------------


@require_GET
@console_page("promotions.view")
def coupons(request: ConsoleRequest) -> HttpResponse:
    code = request.GET.get("code", "").strip()[:30]
    status = request.GET.get("status", "")
    if status not in CouponStatus.values:
        status = ""
    template_id = positive_id(request.GET.get("template"))
    batch_id = positive_id(request.GET.get("batch"))
    found = selectors.coupon_list(
        status=status, template_id=template_id, batch_id=batch_id, code=code
    )
    page = paginate(found, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE)
    check = selectors.code_check(code) if len(code) >= 16 else None
    rows = [
        {"coupon": c, "code": code_format(c.code), "status": selectors.effective_status(c)}
        for c in page.items
    ]
    context = {
        "page": page,
        "rows": rows,
        "code": code,
        "status": status,
        "template_id": template_id,
        "batch_id": batch_id,
        "check": check,
        "statuses": CouponStatus.choices,
        "status_labels": dict(CouponStatus.choices),
        "templates": selectors.template_list(),
        "querystring": urlencode(
            {"code": code, "status": status, "template": template_id or "", "batch": batch_id or ""}
        ),
    }
    return render(request, "promotions/coupons.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@console_page("promotions.view")
def coupon_detail(request: ConsoleRequest, coupon_id: int) -> HttpResponse:
    coupon = selectors.get_coupon(coupon_id=coupon_id)
    can_issue = request.access.can("promotions.issue")
    form = VoidForm()
    status = 200
    if request.method == "POST":
        if not can_issue:
            return forbidden(request, "promotions.issue")
        form = VoidForm(request.POST)
        if form.is_valid():
            try:
                services.coupon_void(
                    actor=request.access.staff,
                    clinic=request.access.clinic,
                    coupon=coupon,
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as e:
                attach_errors(form, e)
            else:
                messages.success(request, _("The coupon is void."))
                return redirect(reverse("promotions:coupon_detail", args=[coupon.pk]))
        status = 400
    effective = selectors.effective_status(coupon)
    context = {
        "coupon": coupon,
        "code": code_format(coupon.code),
        "status": effective,
        "status_label": dict(CouponStatus.choices)[effective],
        "last_day": selectors.last_valid_day(coupon, request.access.clinic),
        "rules": rule_summary(coupon.template),
        "uses": list(selectors.coupon_uses(coupon)),
        "transfers": list(coupon_transfers(coupon)),
        "left": selectors.entitlements_left(coupon) if coupon.template.kind == "combo" else [],
        "form": form,
        "can_void": can_issue and effective in (CouponStatus.UNUSED, CouponStatus.PARTLY_USED),
    }
    return render(request, "promotions/coupon_detail.html", context, status=status)


urlpatterns = [
    path("coupon-templates/", coupon_templates, name="coupon_templates"),
    path("coupon-templates/new/", coupon_template_edit, name="coupon_template_new"),
    path("coupon-templates/<int:template_id>/", coupon_template_edit, name="coupon_template_edit"),
    path("coupons/", coupons, name="coupons"),
    path("coupons/issue/", coupon_issue, name="coupon_issue"),
    path("coupons/<int:coupon_id>/", coupon_detail, name="coupon_detail"),
    path("coupon-batches/", coupon_batches, name="coupon_batches"),
    path(
        "coupon-batches/<int:batch_id>/export.xlsx",
        coupon_batch_export,
        name="coupon_batch_export",
    ),
    path("patients/<int:patient_id>/coupons/", patient_wallet, name="patient_wallet"),
]
