"""API of flash sales (K3): staff set sales up and watch their figures; a claim can be made
for a patient (the portal calls the same service), paid online, and the payment
processor's notification confirms it."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.errors import DomainError, ErrorCode
from chairside.core.models import Clinic
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.selectors import get_clinic
from chairside.patients.selectors import get_patient
from chairside.promotions.models import FlashSaleClaimStatus
from chairside.promotions.payments import PaymentRejected
from chairside.promotions.schemas.flash_sales import (
    ClaimIn,
    ClaimOut,
    ClaimPage,
    ClaimQuery,
    FlashSaleIn,
    FlashSaleOut,
    FlashSalePage,
    FlashSaleQuery,
    FlashSaleStatsOut,
    FlashSaleUpdateIn,
    PaymentCallbackIn,
    PaymentCallbackOut,
    PaymentIntentOut,
)
from chairside.promotions.selectors import flash_sales as selectors
from chairside.promotions.services import flash_sales as services


class CallbackNotVerified(DomainError):
    status = 401
    code = ErrorCode.NOT_AUTHENTICATED


router = Router(tags=["promotions"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


def _clinics(ids: list[int]) -> list[Clinic]:
    return [get_clinic(clinic_id=clinic_id) for clinic_id in dict.fromkeys(ids)]


def _require_view(access: Access) -> None:
    if not access.can("promotions.manage"):
        access.require("promotions.view")


@router.get(
    "/flash-sales",
    response={200: FlashSalePage, **AUTH_ERRORS},
    summary="List flash sales",
)
def flash_sale_list(request: HttpRequest, filters: Query[FlashSaleQuery]) -> FlashSalePage:
    _require_view(access_of(request))
    sales = selectors.flash_sale_list(phase=filters.phase, query=filters.q)
    page = paginate(sales, page=filters.page, page_size=filters.page_size)
    return FlashSalePage.of(page, [FlashSaleOut.of(s) for s in page.items])


@router.post(
    "/flash-sales",
    response={201: FlashSaleOut, **WRITE_ERRORS},
    summary="Set up a flash sale",
)
def flash_sale_create(request: HttpRequest, payload: FlashSaleIn) -> Status[FlashSaleOut]:
    access = access_of(request)
    access.require("promotions.manage")
    values = payload.model_dump(exclude={"template_id", "clinic_ids"})
    sale = services.flash_sale_create(
        actor=access.staff,
        clinic=access.clinic,
        template=selectors.get_coupon_template(template_id=payload.template_id),
        clinics=_clinics(payload.clinic_ids),
        **values,
    )
    return Status(201, FlashSaleOut.of(selectors.get_flash_sale(sale_id=sale.pk)))


@router.get(
    "/flash-sales/{int:sale_id}",
    response={200: FlashSaleOut, **LOOKUP_ERRORS},
    summary="A flash sale",
)
def flash_sale_detail(request: HttpRequest, sale_id: PathId) -> FlashSaleOut:
    _require_view(access_of(request))
    return FlashSaleOut.of(selectors.get_flash_sale(sale_id=sale_id))


@router.patch(
    "/flash-sales/{int:sale_id}",
    response={200: FlashSaleOut, **WRITE_ERRORS},
    summary="Change a flash sale or switch it off",
)
def flash_sale_update(
    request: HttpRequest, sale_id: PathId, payload: FlashSaleUpdateIn
) -> FlashSaleOut:
    access = access_of(request)
    access.require("promotions.manage")
    sale = selectors.get_flash_sale(sale_id=sale_id)
    changes: dict[str, Any] = {
        k: v
        for k, v in payload.model_dump(exclude_unset=True).items()
        if v is not None and k not in ("template_id", "clinic_ids")
    }
    if payload.template_id is not None:
        changes["template"] = selectors.get_coupon_template(template_id=payload.template_id)
    clinics = None if payload.clinic_ids is None else _clinics(payload.clinic_ids)
    services.flash_sale_update(
        actor=access.staff, clinic=access.clinic, sale=sale, clinics=clinics, **changes
    )
    return FlashSaleOut.of(selectors.get_flash_sale(sale_id=sale_id))


@router.get(
    "/flash-sales/{int:sale_id}/stats",
    response={200: FlashSaleStatsOut, **LOOKUP_ERRORS},
    summary="A flash sale's figures: stock, reserved, paid, issued",
)
def flash_sale_stats(request: HttpRequest, sale_id: PathId) -> FlashSaleStatsOut:
    _require_view(access_of(request))
    sale = selectors.get_flash_sale(sale_id=sale_id)
    return FlashSaleStatsOut.of(selectors.flash_sale_stats(sale=sale))


@router.get(
    "/flash-sales/{int:sale_id}/claims",
    response={200: ClaimPage, **LOOKUP_ERRORS},
    summary="The claims of a flash sale",
)
def flash_sale_claim_list(
    request: HttpRequest, sale_id: PathId, filters: Query[ClaimQuery]
) -> ClaimPage:
    _require_view(access_of(request))
    sale = selectors.get_flash_sale(sale_id=sale_id)
    claims = selectors.flash_sale_claim_list(sale=sale, status=filters.status or "")
    page = paginate(claims, page=filters.page, page_size=filters.page_size)
    return ClaimPage.of(page, [ClaimOut.of(c) for c in page.items])


@router.post(
    "/flash-sales/{int:sale_id}/claims",
    response={201: ClaimOut, **WRITE_ERRORS},
    summary="Claim a unit of a flash sale for a patient",
)
def flash_sale_claim(request: HttpRequest, sale_id: PathId, payload: ClaimIn) -> Status[ClaimOut]:
    """Reserves one unit for the sale's payment window. 409 with code flash_sale_sold_out,
    flash_sale_limit_reached, flash_sale_not_open or flash_sale_not_here when refused."""
    access = access_of(request)
    access.require("promotions.issue")
    sale = selectors.get_flash_sale(sale_id=sale_id)
    patient = get_patient(patient_id=payload.patient_id, include_archived=False)
    claim = services.flash_sale_claim(
        sale=sale, patient=patient, clinic=access.clinic, actor=access.staff
    )
    return Status(201, ClaimOut.of(selectors.get_flash_sale_claim(claim_id=claim.pk)))


@router.get(
    "/flash-sales/claims/{int:claim_id}",
    response={200: ClaimOut, **LOOKUP_ERRORS},
    summary="A flash sale claim",
)
def flash_sale_claim_detail(request: HttpRequest, claim_id: PathId) -> ClaimOut:
    _require_view(access_of(request))
    return ClaimOut.of(selectors.get_flash_sale_claim(claim_id=claim_id))


@router.post(
    "/flash-sales/claims/{int:claim_id}/pay",
    response={200: PaymentIntentOut, **WRITE_ERRORS},
    summary="Open the online payment of a claim",
)
def flash_sale_claim_pay(request: HttpRequest, claim_id: PathId) -> PaymentIntentOut:
    """Returns where to pay. With the fake processor (development and tests) the answer
    also carries the signed notification to post to /flash-sales/payment-callback."""
    access = access_of(request)
    access.require("promotions.issue")
    claim = selectors.get_flash_sale_claim(claim_id=claim_id)
    return PaymentIntentOut.of(services.flash_sale_claim_pay(claim=claim))


@router.post(
    "/flash-sales/claims/{int:claim_id}/cancel",
    response={200: ClaimOut, **WRITE_ERRORS},
    summary="Cancel an unpaid claim and give its unit back",
)
def flash_sale_claim_cancel(request: HttpRequest, claim_id: PathId) -> ClaimOut:
    access = access_of(request)
    access.require("promotions.issue")
    claim = selectors.get_flash_sale_claim(claim_id=claim_id)
    services.flash_sale_claim_cancel(actor=access.staff, clinic=access.clinic, claim=claim)
    return ClaimOut.of(selectors.get_flash_sale_claim(claim_id=claim_id))


@router.post(
    "/flash-sales/payment-callback",
    auth=None,
    response={200: PaymentCallbackOut, **error_responses(400, 401, 404, 409)},
    summary="The payment processor's notification that an order was paid",
)
def flash_sale_payment_callback(
    request: HttpRequest, payload: PaymentCallbackIn
) -> PaymentCallbackOut:
    """Called by the processor, not by staff: no sign-in, the payload's signature is the
    proof. Idempotent: the same notification again answers the same and issues nothing."""
    try:
        claim = services.flash_sale_payment_callback(payload=payload.model_dump())
    except PaymentRejected:
        # The signature is the caller's only credential: a wrong one is unauthenticated.
        raise CallbackNotVerified(_("The payment notification could not be verified.")) from None
    return PaymentCallbackOut(reference=claim.reference, status=FlashSaleClaimStatus(claim.status))
