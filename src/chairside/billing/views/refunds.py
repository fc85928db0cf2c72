"""Refund pages: a request from the cashier screen (by one method, never more than it can
give back) and the queue of requests that someone holding billing.refund_approve approves
(the money is paid back then) or rejects with a note."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from chairside.billing.forms.cashier import attach_errors
from chairside.billing.forms.refunds import RefundRejectForm, RefundRequestForm
from chairside.billing.models import Refund
from chairside.billing.selectors import bills as bill_selectors
from chairside.billing.services import refunds as refund_services
from chairside.billing.views.cashier import (
    PAGE_SIZE,
    bill_page,
    get_clinic_bill,
    render_page,
)
from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError
from chairside.core.money import Money
from chairside.core.pagination import paginate

ALL = "all"


@require_safe
@console_page("billing.view")
def refund_queue(request: ConsoleRequest) -> HttpResponse:
    """The acting clinic's refunds: awaiting approval first (the default), or all."""
    access = request.access
    status = request.GET.get("status", Refund.Status.REQUESTED)
    if status != ALL and status not in Refund.Status.values:
        status = Refund.Status.REQUESTED
    refunds = bill_selectors.refund_list(
        clinic=access.clinic, status=None if status == ALL else status
    )
    page = paginate(refunds, page=page_number(request.GET.get("page")), page_size=PAGE_SIZE)
    context: dict[str, Any] = {
        "page": page,
        "refunds": page.items,
        "status": status,
        "statuses": [*Refund.Status.choices, (ALL, _("All"))],
        "querystring": urlencode({"status": status}),
        "can_approve": access.can("billing.refund_approve"),
        "reject_form": RefundRejectForm(),
        "awaiting": Refund.Status.REQUESTED,
    }
    return render_page(request, "billing/refunds.html", context)


@require_POST
@console_page("billing.refund")
def refund_request(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    """Ask to pay back part of a bill; paid out at once when the asker may approve."""
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    form = RefundRequestForm(request.POST, refundable=bill_selectors.refundable_by_method(bill))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            refund = refund_services.refund_request(
                actor=access.staff,
                clinic=access.clinic,
                bill=bill,
                method=data["method"],
                amount=data["amount"],
                reason=data["reason"],
                can_approve=access.can("billing.refund_approve"),
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            values = {"amount": Money(refund.amount), "method": refund.get_method_display()}
            if refund.status == Refund.Status.REFUNDED:
                text = _("%(amount)s paid back by %(method)s.") % values
            else:
                text = (
                    _("Refund of %(amount)s by %(method)s requested; it awaits approval.") % values
                )
            messages.success(request, text)
            return redirect(reverse("billing:bill", args=[bill.pk]) + "#refunds")
    return bill_page(request, bill, status=status, refund_form=form, open_form="refund")


def _back_to_queue(request: ConsoleRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target.startswith("/billing/") and "//" not in target:
        return redirect(target)
    return redirect("billing:refunds")


@require_POST
@console_page("billing.refund_approve")
def refund_approve(request: ConsoleRequest, refund_id: int) -> HttpResponse:
    access = request.access
    refund = bill_selectors.get_refund(refund_id=refund_id, clinic=access.clinic)
    try:
        refund = refund_services.refund_approve(
            actor=access.staff, clinic=access.clinic, refund=refund
        )
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(
            request,
            _("%(amount)s paid back to %(patient)s by %(method)s.")
            % {
                "amount": Money(refund.amount),
                "patient": refund.bill.patient.name,
                "method": refund.get_method_display(),
            },
        )
    return _back_to_queue(request)


@require_POST
@console_page("billing.refund_approve")
def refund_reject(request: ConsoleRequest, refund_id: int) -> HttpResponse:
    access = request.access
    refund = bill_selectors.get_refund(refund_id=refund_id, clinic=access.clinic)
    form = RefundRejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the refund is rejected."))
        return _back_to_queue(request)
    try:
        refund_services.refund_reject(
            actor=access.staff, clinic=access.clinic, refund=refund, note=form.cleaned_data["note"]
        )
    except DomainError as e:
        messages.error(request, str(e.message))
    else:
        messages.success(request, _("The refund request is rejected."))
    return _back_to_queue(request)


urlpatterns = [
    path("refunds/", refund_queue, name="refunds"),
    path("bills/<int:bill_id>/refunds/", refund_request, name="refund_request"),
    path("refunds/<int:refund_id>/approve/", refund_approve, name="refund_approve"),
    path("refunds/<int:refund_id>/reject/", refund_reject, name="refund_reject"),
]
