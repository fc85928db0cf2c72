"""API of coupons: templates (K1), issuing named and bearer coupons and exporting batches
(K2), the coupon list and detail with uses, voiding, a patient's wallet and the code check.

Coupons belong to the organization and can be used wherever their template allows;
batches belong to the clinic that issued them (their codes are bearer secrets: outside
promotions.manage, staff see their own clinic's batches only).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.responses import Status

from chairside.billing.selectors.catalogue import get_catalogue_item
from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.models import Clinic
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.selectors import get_clinic
from chairside.patients.selectors import get_patient
from chairside.promotions.models import Coupon
from chairside.promotions.schemas.coupons import (
    BatchIn,
    BatchOut,
    BatchPage,
    BatchQuery,
    CodeCheckIn,
    CodeCheckOut,
    CouponDetailOut,
    CouponOut,
    CouponPage,
    CouponQuery,
    CouponTemplateIn,
    CouponTemplateOut,
    CouponTemplatePage,
    CouponTemplateQuery,
    EntitlementLeftOut,
    IssueIn,
    TransferOut,
    UseOut,
    VoidIn,
    WalletQuery,
)
from chairside.promotions.selectors import coupons as selectors
from chairside.promotions.selectors.gifting import coupon_transfers
from chairside.promotions.services import coupons as services

router = Router(tags=["promotions"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_RESPONSE = {
    "description": "The batch's codes as an Excel workbook.",
    "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
}


def template_data(payload: CouponTemplateIn) -> services.TemplateData:
    """The payload with its ids resolved in the organization (404 for a foreign id)."""
    return services.TemplateData(
        name=payload.name,
        kind=payload.kind,
        description=payload.description,
        amount=payload.amount,
        percent_off=payload.percent_off,
        max_discount=payload.max_discount,
        service_items=[
            get_catalogue_item(item_id=i) for i in dict.fromkeys(payload.service_item_ids)
        ],
        entitlements=[
            (get_catalogue_item(item_id=e.item_id), e.count) for e in payload.entitlements
        ],
        validity_kind=payload.validity_kind,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
        valid_days=payload.valid_days,
        min_spend=payload.min_spend,
        categories=list(payload.categories),
        items=[get_catalogue_item(item_id=i) for i in dict.fromkeys(payload.item_ids)],
        clinics=[get_clinic(clinic_id=i) for i in dict.fromkeys(payload.clinic_ids)],
        members_only=payload.members_only,
        combinable=payload.combinable,
        per_person_limit=payload.per_person_limit,
        allow_bearer=payload.allow_bearer,
        giftable=payload.giftable,
        is_active=payload.is_active,
    )


def batch_clinic(access: Access) -> Clinic | None:
    """None: every clinic's batches (promotions.manage); else the acting clinic's only."""
    return None if access.can("promotions.manage") else access.clinic


# --- templates --------------------------------------------------------------------------


@router.get(
    "/coupon-templates",
    response={200: CouponTemplatePage, **AUTH_ERRORS},
    summary="List coupon and card templates",
)
def template_list(request: HttpRequest, filters: Query[CouponTemplateQuery]) -> CouponTemplatePage:
    access_of(request).require("promotions.view")
    page = paginate(
        selectors.template_list(query=filters.q, active=filters.active),
        page=filters.page,
        page_size=filters.page_size,
    )
    return CouponTemplatePage.of(page, [CouponTemplateOut.of(t) for t in page.items])


@router.post(
    "/coupon-templates",
    response={201: CouponTemplateOut, **WRITE_ERRORS},
    summary="Set up a coupon or card template",
)
def template_create(request: HttpRequest, payload: CouponTemplateIn) -> Status[CouponTemplateOut]:
    access = access_of(request)
    access.require("promotions.manage")
    template = services.coupon_template_create(
        actor=access.staff, clinic=access.clinic, data=template_data(payload)
    )
    return Status(201, CouponTemplateOut.of(selectors.get_template(template_id=template.pk)))


@router.get(
    "/coupon-templates/{int:template_id}",
    response={200: CouponTemplateOut, **LOOKUP_ERRORS},
    summary="A coupon template",
)
def template_detail(request: HttpRequest, template_id: PathId) -> CouponTemplateOut:
    access_of(request).require("promotions.view")
    return CouponTemplateOut.of(selectors.get_template(template_id=template_id))


@router.put(
    "/coupon-templates/{int:template_id}",
    response={200: CouponTemplateOut, **WRITE_ERRORS},
    summary="Change a coupon template",
)
def template_update(
    request: HttpRequest, template_id: PathId, payload: CouponTemplateIn
) -> CouponTemplateOut:
    access = access_of(request)
    access.require("promotions.manage")
    template = selectors.get_template(template_id=template_id)
    services.coupon_template_update(
        actor=access.staff, clinic=access.clinic, template=template, data=template_data(payload)
    )
    return CouponTemplateOut.of(selectors.get_template(template_id=template_id))


@router.delete(
    "/coupon-templates/{int:template_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Delete a template no coupon was issued from",
)
def template_delete(request: HttpRequest, template_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("promotions.manage")
    template = selectors.get_template(template_id=template_id)
    services.coupon_template_delete(actor=access.staff, clinic=access.clinic, template=template)
    return Status(204, None)


@router.post(
    "/coupon-templates/{int:template_id}/issue",
    response={201: CouponOut, **WRITE_ERRORS},
    summary="Issue a named coupon to a patient",
)
def coupon_issue(request: HttpRequest, template_id: PathId, payload: IssueIn) -> Status[CouponOut]:
    access = access_of(request)
    access.require("promotions.issue")
    template = selectors.get_template(template_id=template_id)
    patient = get_patient(patient_id=payload.patient_id)
    coupon = services.coupon_issue(
        actor=access.staff, clinic=access.clinic, template=template, patient=patient
    )
    return Status(201, CouponOut.of(selectors.get_coupon(coupon_id=coupon.pk)))


@router.post(
    "/coupon-templates/{int:template_id}/batches",
    response={201: BatchOut, **WRITE_ERRORS},
    summary="Issue a batch of bearer coupons",
)
def batch_issue(request: HttpRequest, template_id: PathId, payload: BatchIn) -> Status[BatchOut]:
    access = access_of(request)
    access.require("promotions.issue")
    template = selectors.get_template(template_id=template_id)
    batch = services.coupon_batch_issue(
        actor=access.staff,
        clinic=access.clinic,
        template=template,
        count=payload.count,
        note=payload.note,
    )
    return Status(201, BatchOut.of(selectors.get_batch(batch_id=batch.pk)))


# --- batches ----------------------------------------------------------------------------


@router.get(
    "/coupon-batches",
    response={200: BatchPage, **AUTH_ERRORS},
    summary="List batches of bearer coupons",
)
def batch_list(request: HttpRequest, filters: Query[BatchQuery]) -> BatchPage:
    access = access_of(request)
    access.require("promotions.view")
    page = paginate(
        selectors.batch_list(template_id=filters.template_id, clinic=batch_clinic(access)),
        page=filters.page,
        page_size=filters.page_size,
    )
    return BatchPage.of(page, [BatchOut.of(b) for b in page.items])


@router.get(
    "/coupon-batches/{int:batch_id}/export.xlsx",
    response={**LOOKUP_ERRORS},
    summary="Download a batch's codes as Excel",
    openapi_extra={"responses": {"200": XLSX_RESPONSE}},
)
def batch_export(request: HttpRequest, batch_id: PathId) -> HttpResponse:
    access = access_of(request)
    access.require("promotions.issue")
    batch = selectors.get_batch(batch_id=batch_id, clinic=batch_clinic(access))
    response = HttpResponse(selectors.batch_export_xlsx(batch, access.clinic), content_type=XLSX)
    filename = selectors.batch_export_filename(batch)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- coupons ----------------------------------------------------------------------------


@router.get(
    "/coupons",
    response={200: CouponPage, **AUTH_ERRORS},
    summary="Search issued coupons",
)
def coupon_list(request: HttpRequest, filters: Query[CouponQuery]) -> CouponPage:
    access_of(request).require("promotions.view")
    coupons = selectors.coupon_list(
        holder_id=filters.holder_id,
        status=filters.status or "",
        template_id=filters.template_id,
        batch_id=filters.batch_id,
        code=filters.code,
    )
    page = paginate(coupons, page=filters.page, page_size=filters.page_size)
    return CouponPage.of(page, [CouponOut.of(c) for c in page.items])


@router.get(
    "/coupons/{int:coupon_id}",
    response={200: CouponDetailOut, **LOOKUP_ERRORS},
    summary="A coupon with its uses",
)
def coupon_detail(request: HttpRequest, coupon_id: PathId) -> CouponDetailOut:
    access_of(request).require("promotions.view")
    return _detail(selectors.get_coupon(coupon_id=coupon_id))


def _detail(coupon: Coupon) -> CouponDetailOut:
    return CouponDetailOut(
        **CouponOut.of(coupon).model_dump(),
        uses=[UseOut.of(u) for u in selectors.coupon_uses(coupon)],
        transfers=[TransferOut.of(t) for t in coupon_transfers(coupon)],
        entitlements=[EntitlementLeftOut.of(e) for e in selectors.entitlements_left(coupon)],
        void_reason=coupon.void_reason,
    )


@router.post(
    "/coupons/{int:coupon_id}/void",
    response={200: CouponDetailOut, **WRITE_ERRORS},
    summary="Void a coupon",
)
def coupon_void(request: HttpRequest, coupon_id: PathId, payload: VoidIn) -> CouponDetailOut:
    access = access_of(request)
    access.require("promotions.issue")
    coupon = selectors.get_coupon(coupon_id=coupon_id)
    services.coupon_void(
        actor=access.staff, clinic=access.clinic, coupon=coupon, reason=payload.reason
    )
    return _detail(selectors.get_coupon(coupon_id=coupon_id))


@router.post(
    "/coupons/check",
    response={200: CodeCheckOut, **error_responses(400, 401, 403)},
    summary="Check a typed or scanned coupon code",
)
def code_check(request: HttpRequest, payload: CodeCheckIn) -> CodeCheckOut:
    """A typo is told (invalid_check) before the code is looked up."""
    access_of(request).require("promotions.view")
    return CodeCheckOut.of(selectors.code_check(payload.code))


@router.get(
    "/patients/{int:patient_id}/coupons",
    response={200: list[CouponOut], **LOOKUP_ERRORS},
    summary="A patient's coupon wallet",
)
def wallet(
    request: HttpRequest, patient_id: PathId, filters: Query[WalletQuery]
) -> list[CouponOut]:
    access_of(request).require("promotions.view")
    patient = get_patient(patient_id=patient_id)
    return [
        CouponOut.of(c)
        for c in selectors.wallet(patient=patient, include_closed=filters.include_closed)
    ]
