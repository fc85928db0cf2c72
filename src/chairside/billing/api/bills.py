"""API of bills (B2-B4): lines, discounts, confirm and void, payments (with an
Idempotency-Key), refunds and their approval, daily closes and a patient's arrears.

Staff act on the bills of the clinic they act in (X-Clinic-Id); holders of
billing.view_all (HQ) also read every clinic's bills, refunds and closes. Another clinic's
or organization's objects are 404, exactly like missing ones.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Header, Query, Router
from ninja.responses import Status

from chairside.billing.discounts import ManualDiscount, discount_offers
from chairside.billing.models import Bill, CatalogueItem, DailyClose, Payment
from chairside.billing.schemas.bills import (
    ArrearsOut,
    BillDetailOut,
    BillIn,
    BillOut,
    BillPage,
    BillQuery,
    CheckoutOut,
    CloseIn,
    CloseOut,
    ClosePage,
    ClosePreviewOut,
    CloseQuery,
    DiscountOut,
    DiscountsIn,
    LineIn,
    LineOut,
    LineUpdateIn,
    MethodMoneyOut,
    OfferOut,
    PaymentIn,
    PaymentOut,
    PreviewQuery,
    Ref,
    RefundIn,
    RefundOut,
    RefundPage,
    RefundQuery,
    RejectIn,
    TotalsOut,
    VoidIn,
)
from chairside.billing.selectors import bills as selectors
from chairside.billing.services import bills as services
from chairside.billing.services.close import daily_close
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_approve, refund_reject, refund_request
from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, access_of, error_responses
from chairside.core.clock import clinic_today
from chairside.core.errors import NotFound
from chairside.core.models import Clinic, Staff
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.patients.selectors import get_patient

router = Router(tags=["billing"])

LOOKUP = error_responses(400, 401, 403, 404)
WRITE = error_responses(400, 401, 403, 404, 409)
CREATE = error_responses(400, 401, 403, 409)


def _read_scope(access: Access) -> Clinic | None:
    """None (every clinic) for billing.view_all; else the acting clinic."""
    access.require("billing.view")
    return None if access.can("billing.view_all") else access.clinic


def _list_clinic(access: Access, clinic_id: int | None) -> Clinic | None:
    scope = _read_scope(access)
    if scope is not None or clinic_id is None:
        return scope
    clinic = Clinic.objects.filter(pk=clinic_id).first()
    if clinic is None:
        raise NotFound(_("Clinic not found."))
    return clinic


def _bill(access: Access, bill_id: int, *, write: bool = True) -> Bill:
    """A bill of the acting clinic (reads by view_all holders: of any clinic)."""
    clinic = access.clinic if write else _read_scope(access)
    return selectors.get_bill(bill_id=bill_id, clinic=clinic)


def _detail(bill: Bill) -> BillDetailOut:
    offers = (
        [OfferOut(**vars(o)) for o in discount_offers(bill)]
        if bill.status == Bill.Status.DRAFT
        else []
    )
    return BillDetailOut.of_detail(selectors.bill_detail(bill), offers)


# --- bills -------------------------------------------------------------------------------


@router.get("/bills", response={200: BillPage, **LOOKUP}, summary="List bills")
def bill_list(request: HttpRequest, filters: Query[BillQuery]) -> BillPage:
    """The acting clinic's bills (every clinic's, or one, with billing.view_all)."""
    access = access_of(request)
    clinic = _list_clinic(access, filters.clinic)
    patient = None if filters.patient is None else get_patient(patient_id=filters.patient)
    bills = selectors.bill_list(
        clinic=clinic,
        patient=patient,
        status=filters.status,
        has_arrears=filters.has_arrears,
        date_from=filters.date_from,
        date_to=filters.date_to,
        search=filters.q,
    )
    page = paginate(bills, page=filters.page, page_size=filters.page_size)
    return BillPage.of(page, [BillOut.of(b) for b in page.items])


@router.post("/bills", response={201: BillDetailOut, **LOOKUP}, summary="Open a bill")
def bill_create(request: HttpRequest, payload: BillIn) -> Status[BillDetailOut]:
    access = access_of(request)
    access.require("billing.charge")
    patient = get_patient(patient_id=payload.patient_id)
    bill = services.bill_create(
        actor=access.staff, clinic=access.clinic, patient=patient, note=payload.note
    )
    return Status(201, _detail(bill))


@router.get("/bills/{int:bill_id}", response={200: BillDetailOut, **LOOKUP}, summary="A bill")
def bill_get(request: HttpRequest, bill_id: PathId) -> BillDetailOut:
    """Lines, discounts in pipeline order, payments, refunds, and discounts on offer."""
    return _detail(_bill(access_of(request), bill_id, write=False))


@router.post("/bills/{int:bill_id}/lines", response={201: LineOut, **WRITE}, summary="Add a line")
def line_add(request: HttpRequest, bill_id: PathId, payload: LineIn) -> Status[LineOut]:
    access = access_of(request)
    access.require("billing.charge")
    bill = _bill(access, bill_id)
    item = CatalogueItem.objects.filter(pk=payload.item_id).first()
    if item is None:
        raise NotFound(_("Catalogue item not found."))
    doctor = None
    if payload.doctor_id is not None:
        doctor = Staff.objects.filter(pk=payload.doctor_id).first()
        if doctor is None:
            raise NotFound(_("Doctor not found."))
    line = services.bill_line_add(
        actor=access.staff,
        clinic=access.clinic,
        bill=bill,
        item=item,
        quantity=payload.quantity,
        teeth=payload.teeth,
        doctor=doctor,
        self_paid=payload.self_paid,
    )
    line.refresh_from_db()
    return Status(201, LineOut.of(line))


@router.patch(
    "/bills/{int:bill_id}/lines/{int:line_id}",
    response={200: LineOut, **WRITE},
    summary="Change a line",
)
def line_update(
    request: HttpRequest, bill_id: PathId, line_id: PathId, payload: LineUpdateIn
) -> LineOut:
    access = access_of(request)
    access.require("billing.charge")
    line = selectors.get_line(bill=_bill(access, bill_id), line_id=line_id)
    line = services.bill_line_update(
        actor=access.staff,
        clinic=access.clinic,
        line=line,
        quantity=payload.quantity,
        self_paid=payload.self_paid,
    )
    return LineOut.of(line)


@router.delete(
    "/bills/{int:bill_id}/lines/{int:line_id}",
    response={204: None, **WRITE},
    summary="Remove a line",
)
def line_remove(request: HttpRequest, bill_id: PathId, line_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("billing.charge")
    line = selectors.get_line(bill=_bill(access, bill_id), line_id=line_id)
    services.bill_line_remove(actor=access.staff, clinic=access.clinic, line=line)
    return Status(204, None)


@router.post(
    "/bills/{int:bill_id}/discounts",
    response={200: BillDetailOut, **WRITE},
    summary="Set the discounts of a draft",
)
def discounts_apply(request: HttpRequest, bill_id: PathId, payload: DiscountsIn) -> BillDetailOut:
    """Recomputes the whole pipeline (tier, coupons, manual). A manual discount above the
    organization's limit waits for approval unless the caller holds
    billing.discount_approve; setting a manual discount needs billing.discount."""
    access = access_of(request)
    access.require("billing.charge")
    manual = None
    if payload.manual is not None:
        access.require("billing.discount")
        manual = ManualDiscount(
            reason=payload.manual.reason,
            amount=payload.manual.amount,
            percent=payload.manual.percent,
        )
    bill = services.bill_discounts_apply(
        actor=access.staff,
        clinic=access.clinic,
        bill=_bill(access, bill_id),
        selected={str(k): v for k, v in payload.selected.items()},
        manual=manual,
        can_approve=access.can("billing.discount_approve"),
    )
    return _detail(bill)


@router.post(
    "/bills/{int:bill_id}/discounts/{int:discount_id}/approve",
    response={200: DiscountOut, **WRITE},
    summary="Approve a manual discount",
)
def discount_approve(request: HttpRequest, bill_id: PathId, discount_id: PathId) -> DiscountOut:
    access = access_of(request)
    access.require("billing.discount_approve")
    discount = selectors.get_discount(bill=_bill(access, bill_id), discount_id=discount_id)
    discount = services.bill_discount_approve(
        actor=access.staff, clinic=access.clinic, discount=discount
    )
    return DiscountOut.of(discount)


@router.post(
    "/bills/{int:bill_id}/confirm",
    response={200: BillDetailOut, **WRITE},
    summary="Confirm a bill",
)
def bill_confirm(request: HttpRequest, bill_id: PathId) -> BillDetailOut:
    """Fixes the amounts; the net amount becomes due (arrears) until paid."""
    access = access_of(request)
    access.require("billing.charge")
    bill = services.bill_confirm(
        actor=access.staff, clinic=access.clinic, bill=_bill(access, bill_id)
    )
    return _detail(bill)


@router.post(
    "/bills/{int:bill_id}/void", response={200: BillDetailOut, **WRITE}, summary="Void a bill"
)
def bill_void(request: HttpRequest, bill_id: PathId, payload: VoidIn) -> BillDetailOut:
    """Only a bill on which no money was received."""
    access = access_of(request)
    access.require("billing.charge")
    bill = services.bill_void(
        actor=access.staff, clinic=access.clinic, bill=_bill(access, bill_id), reason=payload.reason
    )
    return _detail(bill)


@router.post(
    "/bills/{int:bill_id}/payments",
    response={200: CheckoutOut, 201: CheckoutOut, **WRITE},
    summary="Take payment",
)
def bill_payments(
    request: HttpRequest,
    bill_id: PathId,
    payload: PaymentIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        max_length=100,
        description="Recommended: a retry with the same key and body never charges again.",
    ),
) -> Status[CheckoutOut]:
    """Pay a confirmed bill with one or several methods; their sum may not exceed what is
    due. Cash may be handed over above its amount (`tendered`); the change is returned.

    Send an `Idempotency-Key` header (any unique text up to 100 characters, e.g. a UUID)
    so a retried request never charges twice: a repeat with the same key and body answers
    200 with the first result (`replayed: true`) and charges nothing; the same key with a
    different body is refused (409, idempotency_mismatch). A new charge answers 201."""
    access = access_of(request)
    access.require("billing.charge")
    checkout = bill_pay(
        actor=access.staff,
        clinic=access.clinic,
        bill=_bill(access, bill_id),
        tenders=[
            Tender(
                method=t.method,
                amount=t.amount,
                tendered=t.tendered,
                reference=t.reference,
                account_id=t.account_id,
            )
            for t in payload.tenders
        ],
        idempotency_key=idempotency_key,
    )
    bill = Bill.objects.select_related("clinic", "patient").get(pk=checkout.bill.pk)
    out = CheckoutOut(
        bill=BillOut.of(bill),
        payments=[
            PaymentOut.of(p)
            for p in Payment.objects.select_related("received_by")
            .filter(pk__in=[p.pk for p in checkout.payments])
            .order_by("id")
        ],
        change_due=checkout.change_due,
        replayed=checkout.replayed,
    )
    return Status(200 if checkout.replayed else 201, out)


# --- refunds -----------------------------------------------------------------------------


@router.get(
    "/bills/{int:bill_id}/refundable",
    response={200: list[MethodMoneyOut], **LOOKUP},
    summary="What can be refunded, per method",
)
def bill_refundable(request: HttpRequest, bill_id: PathId) -> list[MethodMoneyOut]:
    bill = _bill(access_of(request), bill_id, write=False)
    return [MethodMoneyOut.of(m) for m in selectors.money_by_method(bill).values()]


@router.post(
    "/bills/{int:bill_id}/refunds", response={201: RefundOut, **WRITE}, summary="Request a refund"
)
def bill_refund(request: HttpRequest, bill_id: PathId, payload: RefundIn) -> Status[RefundOut]:
    """Paid out at once when the caller holds billing.refund_approve; otherwise it waits."""
    access = access_of(request)
    access.require("billing.refund")
    refund = refund_request(
        actor=access.staff,
        clinic=access.clinic,
        bill=_bill(access, bill_id),
        method=payload.method,
        amount=payload.amount,
        reason=payload.reason,
        can_approve=access.can("billing.refund_approve"),
    )
    return Status(201, RefundOut.of(selectors.get_refund(refund_id=refund.pk)))


@router.get("/refunds", response={200: RefundPage, **LOOKUP}, summary="List refunds")
def refund_list(request: HttpRequest, filters: Query[RefundQuery]) -> RefundPage:
    access = access_of(request)
    clinic = _list_clinic(access, filters.clinic)
    bill = None
    if filters.bill is not None:
        bill = selectors.get_bill(bill_id=filters.bill, clinic=clinic)
    refunds = selectors.refund_list(clinic=clinic, status=filters.status, bill=bill)
    page = paginate(refunds, page=filters.page, page_size=filters.page_size)
    return RefundPage.of(page, [RefundOut.of(r) for r in page.items])


@router.post(
    "/refunds/{int:refund_id}/approve",
    response={200: RefundOut, **WRITE},
    summary="Approve and pay out a refund",
)
def refund_approve_op(request: HttpRequest, refund_id: PathId) -> RefundOut:
    access = access_of(request)
    access.require("billing.refund_approve")
    refund = selectors.get_refund(refund_id=refund_id, clinic=access.clinic)
    refund = refund_approve(actor=access.staff, clinic=access.clinic, refund=refund)
    return RefundOut.of(selectors.get_refund(refund_id=refund.pk))


@router.post(
    "/refunds/{int:refund_id}/reject", response={200: RefundOut, **WRITE}, summary="Reject a refund"
)
def refund_reject_op(request: HttpRequest, refund_id: PathId, payload: RejectIn) -> RefundOut:
    access = access_of(request)
    access.require("billing.refund_approve")
    refund = selectors.get_refund(refund_id=refund_id, clinic=access.clinic)
    refund = refund_reject(
        actor=access.staff, clinic=access.clinic, refund=refund, note=payload.note
    )
    return RefundOut.of(selectors.get_refund(refund_id=refund.pk))


# --- daily close -------------------------------------------------------------------------


def _close_reader(access: Access) -> None:
    if not access.can("billing.close"):
        access.require("billing.view_all")


@router.get("/daily-closes", response={200: ClosePage, **LOOKUP}, summary="List daily closes")
def close_list(request: HttpRequest, filters: Query[CloseQuery]) -> ClosePage:
    """The acting clinic's closes (every clinic's with billing.view_all)."""
    access = access_of(request)
    _close_reader(access)
    clinic = _list_clinic(access, filters.clinic)
    closes = selectors.daily_closes(
        clinic=clinic, date_from=filters.date_from, date_to=filters.date_to
    )
    page = paginate(closes, page=filters.page, page_size=filters.page_size)
    return ClosePage.of(page, [CloseOut.of(c) for c in page.items])


@router.get(
    "/daily-closes/preview",
    response={200: ClosePreviewOut, **AUTH_ERRORS},
    summary="The day's totals before closing",
)
def close_preview(request: HttpRequest, filters: Query[PreviewQuery]) -> ClosePreviewOut:
    access = access_of(request)
    access.require("billing.close")
    day = filters.date or clinic_today(access.clinic)
    totals = selectors.daily_close_preview(access.clinic, day)
    return ClosePreviewOut(
        clinic=Ref(id=access.clinic.pk, name=access.clinic.name),
        business_date=day,
        closed=DailyClose.objects.filter(clinic=access.clinic, business_date=day).exists(),
        totals=TotalsOut.of(totals),
    )


@router.post("/daily-closes", response={201: CloseOut, **CREATE}, summary="Close a day")
def close_create(request: HttpRequest, payload: CloseIn) -> Status[CloseOut]:
    """Freezes the day's totals at the acting clinic; no money can be recorded on it after."""
    access = access_of(request)
    access.require("billing.close")
    close = daily_close(
        actor=access.staff,
        clinic=access.clinic,
        business_date=payload.business_date,
        note=payload.note,
    )
    close = selectors.daily_closes().get(pk=close.pk)
    return Status(201, CloseOut.of(close))


# --- arrears -----------------------------------------------------------------------------


@router.get(
    "/patients/{int:patient_id}/arrears",
    response={200: ArrearsOut, **LOOKUP},
    summary="A patient's arrears",
)
def patient_arrears(request: HttpRequest, patient_id: PathId) -> ArrearsOut:
    """What the patient owes on confirmed bills at every clinic, and those bills."""
    access = access_of(request)
    access.require("billing.view")
    patient = get_patient(patient_id=patient_id)
    bills = selectors.bill_list(patient=patient, has_arrears=True)
    return ArrearsOut(
        patient_id=patient.pk,
        arrears=selectors.patient_arrears(patient),
        bills=[BillOut.of(b) for b in bills[:100]],
    )
