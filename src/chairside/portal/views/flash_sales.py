"""Flash sales (限时秒杀) for patients: the open sales of their clinic, claiming a unit,
paying online, and the coupon arriving in My coupons.

The payment goes through the configured processor. The fake one (development and tests)
hands back a signed "paid" notification; the page posts it back here and it is confirmed
exactly as the processor's callback endpoint would (the signature is checked, so the form
cannot be forged)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from chairside.core.errors import DomainError, NotFound
from chairside.patients.models import Patient
from chairside.portal.views.common import SignedInRequest, portal_page, portal_url
from chairside.promotions.codes import code_format
from chairside.promotions.models import LIVE_CLAIM_STATUSES, FlashSaleClaim, FlashSaleClaimStatus
from chairside.promotions.payments import PaymentRejected
from chairside.promotions.selectors.flash_sales import (
    flash_sale_claim_list,
    flash_sale_open_list,
    get_flash_sale,
    get_flash_sale_claim,
)
from chairside.promotions.services.flash_sales import (
    FlashSaleError,
    flash_sale_claim,
    flash_sale_claim_pay,
    flash_sale_payment_callback,
)

# The fields of the fake processor's signed notification, posted back by the pay page.
CALLBACK_FIELDS = ("processor", "reference", "transaction_id", "amount", "status", "signature")
PATIENT_ERRORS = {e.value for e in FlashSaleError}


def _patient(request: SignedInRequest, value: str | None) -> Patient:
    try:
        patient_id = int(value) if value else None
    except ValueError:
        patient_id = None
    if patient_id is None:
        return request.household.default_patient
    return request.household.get(patient_id)


def _household_claim(request: SignedInRequest, claim_id: int) -> FlashSaleClaim:
    """One of the household's claims; another family's is "not found" like a missing one."""
    claim = get_flash_sale_claim(claim_id=claim_id)
    if claim.patient_id not in request.household.ids:
        raise NotFound(_("Not found."))
    return claim


def _show(request: SignedInRequest, error: DomainError) -> None:
    if str(error.code) not in PATIENT_ERRORS:
        raise error
    messages.error(request, str(error.message))


@require_safe
@portal_page()
def flash_sale_list(request: SignedInRequest) -> HttpResponse:
    patient = request.household.default_patient
    sales = list(flash_sale_open_list(clinic=patient.first_clinic))
    ids = request.household.ids
    mine = list(flash_sale_claim_list().filter(patient_id__in=ids, status__in=LIVE_CLAIM_STATUSES))
    return render(
        request,
        "portal/flash_sales.html",
        {
            "sales": [{"sale": s, "remaining": max(s.stock - s.sold, 0)} for s in sales],
            "claims": mine,
            "members": request.household.members,
            "show_names": len(request.household.members) > 1,
        },
    )


@require_POST
@portal_page()
def flash_sale_claim_view(request: SignedInRequest, sale_id: int) -> HttpResponse:
    sale = get_flash_sale(sale_id=sale_id)
    patient = _patient(request, request.POST.get("patient"))
    # A second tap (or a resubmitted form) goes to the reservation already made.
    waiting = (
        flash_sale_claim_list(sale=sale, patient_id=patient.pk)
        .filter(status=FlashSaleClaimStatus.RESERVED, expires_at__gt=timezone.now())
        .first()
    )
    if waiting is not None:
        return redirect(portal_url(request, "flash_sale_claim", waiting.pk))
    try:
        claim = flash_sale_claim(sale=sale, patient=patient, clinic=patient.first_clinic)
    except DomainError as e:
        _show(request, e)
        return redirect(portal_url(request, "flash_sales"))
    messages.success(request, _("Reserved. Please pay to get your coupon."))
    return redirect(portal_url(request, "flash_sale_claim", claim.pk))


@require_safe
@portal_page()
def flash_sale_claim_detail(request: SignedInRequest, claim_id: int) -> HttpResponse:
    claim = _household_claim(request, claim_id)
    payable = claim.status == FlashSaleClaimStatus.RESERVED and claim.expires_at > timezone.now()
    return render(
        request,
        "portal/flash_sale_claim.html",
        {
            "claim": claim,
            "payable": payable,
            "coupon_code": code_format(claim.coupon.code) if claim.coupon else "",
            "status_label": dict(FlashSaleClaimStatus.choices).get(claim.status, claim.status),
        },
    )


@require_POST
@portal_page()
def flash_sale_pay(request: SignedInRequest, claim_id: int) -> HttpResponse:
    """Open the payment: a real processor's page, or the fake one's "pay" button."""
    claim = _household_claim(request, claim_id)
    try:
        intent = flash_sale_claim_pay(claim=claim)
    except DomainError as e:
        _show(request, e)
        return redirect(portal_url(request, "flash_sale_claim", claim.pk))
    if intent.simulated_callback is None:
        return redirect(intent.pay_url)
    return render(
        request,
        "portal/flash_sale_pay.html",
        {"claim": claim, "intent": intent, "callback": intent.simulated_callback},
    )


@require_POST
@portal_page()
def flash_sale_paid(request: SignedInRequest, claim_id: int) -> HttpResponse:
    """The fake processor's signed notification, posted back from its pay page."""
    claim = _household_claim(request, claim_id)
    payload = {name: request.POST.get(name, "") for name in CALLBACK_FIELDS}
    if payload["reference"] != claim.reference:
        raise NotFound(_("Not found."))
    try:
        claim = flash_sale_payment_callback(payload=payload)
    except PaymentRejected:
        messages.error(request, _("The payment could not be confirmed."))
        return redirect(portal_url(request, "flash_sale_claim", claim.pk))
    except DomainError as e:
        _show(request, e)
        return redirect(portal_url(request, "flash_sale_claim", claim.pk))
    if claim.status == FlashSaleClaimStatus.ISSUED:
        messages.success(request, _("Paid. Your coupon is in My coupons."))
        return redirect(portal_url(request, "coupons"))
    messages.warning(request, _("Payment received. Your coupon will arrive shortly."))
    return redirect(portal_url(request, "flash_sale_claim", claim.pk))
