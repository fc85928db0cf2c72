"""API schemas of bills, payments, refunds, arrears and daily closes. Amounts go out as
strings with two places ("1280.00") and come in as numbers or strings with at most two."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from chairside.billing.models import (
    Bill,
    BillDiscount,
    BillLine,
    DailyClose,
    DiscountStep,
    Payment,
    PaymentMethod,
    Refund,
)
from chairside.billing.schemas.catalogue import AmountIn, MoneyOut
from chairside.billing.selectors.bills import CloseTotals, MethodMoney
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
Method = Literal["cash", "wechat", "alipay", "bank_card", "insurance", "stored_value"]
BillStatus = Literal["draft", "confirmed", "void"]
RefundStatus = Literal["requested", "refunded", "rejected"]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]
Tooth = Annotated[int, Field(ge=11, le=85)]

assert set(Method.__args__) == set(PaymentMethod.values)  # type: ignore[attr-defined]


# --- input -------------------------------------------------------------------------------


class BillQuery(PageQuery):
    clinic: ObjectId | None = Field(
        None, description="Only this clinic (with billing.view_all; others see their clinic)."
    )
    patient: ObjectId | None = Field(None, description="Only this patient's bills.")
    status: BillStatus | None = None
    has_arrears: bool | None = Field(None, description="Confirmed bills with money still due.")
    date_from: Day | None = Field(None, description="Opened on or after this day.")
    date_to: Day | None = Field(None, description="Opened on or before this day.")
    q: Text = Field("", max_length=50, description="Bill number or patient name.")


class BillIn(Schema):
    patient_id: ObjectId
    note: Text = Field("", max_length=200)


class LineIn(Schema):
    item_id: ObjectId = Field(description="A catalogue item; its clinic price is charged.")
    quantity: int = Field(1, ge=1, le=999)
    teeth: list[Tooth] = Field(default_factory=list, max_length=52, description="FDI codes.")
    doctor_id: ObjectId | None = None
    self_paid: bool = Field(False, description="An insured item the patient pays themselves.")


class LineUpdateIn(Schema):
    """Only the fields sent are changed."""

    quantity: int | None = Field(None, ge=1, le=999)
    self_paid: bool | None = None


class ManualIn(Schema):
    """Either an amount or a percentage off what is left after tier and coupon discounts."""

    amount: AmountIn | None = None
    percent: Percent | None = None
    reason: Text = Field(min_length=1, max_length=200)


class DiscountsIn(Schema):
    """The whole discount state of a draft: picks per step, and the manual discount."""

    selected: dict[Literal["tier", "coupon"], list[Annotated[Text, Field(max_length=60)]]] = Field(
        default_factory=dict, description='References per step, e.g. {"coupon": ["17"]}.'
    )
    manual: ManualIn | None = Field(None, description="None: no manual discount.")


class VoidIn(Schema):
    reason: Text = Field(min_length=1, max_length=200)


class TenderIn(Schema):
    method: Method
    amount: AmountIn
    tendered: AmountIn | None = Field(
        None, description="Cash handed over, when more than the amount (change is returned)."
    )
    reference: Text = Field("", max_length=64, description="Terminal or wallet transaction no.")
    account_id: ObjectId | None = Field(None, description="The stored-value card, for that method.")


class PaymentIn(Schema):
    tenders: list[TenderIn] = Field(min_length=1, max_length=10)


class RefundIn(Schema):
    method: Method
    amount: AmountIn
    reason: Text = Field(min_length=1, max_length=200)


class RejectIn(Schema):
    note: Text = Field(min_length=1, max_length=200)


class RefundQuery(PageQuery):
    status: RefundStatus | None = None
    bill: ObjectId | None = None
    clinic: ObjectId | None = Field(None, description="Only this clinic (billing.view_all).")


class CloseIn(Schema):
    business_date: Day
    note: Text = Field("", max_length=200)


class CloseQuery(PageQuery):
    clinic: ObjectId | None = Field(None, description="Only this clinic (billing.view_all).")
    date_from: Day | None = None
    date_to: Day | None = None


class PreviewQuery(Schema):
    date: Day | None = Field(None, description="The business day (default: today).")


# --- output ------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


def _ref(obj: Any, name: str = "display_name") -> Ref | None:
    return None if obj is None else Ref(id=obj.pk, name=getattr(obj, name))


class PatientRef(Schema):
    id: int
    name: str
    record_no: str


class BillOut(Schema):
    id: int
    number: str
    status: BillStatus
    clinic: Ref
    patient: PatientRef
    total: MoneyOut
    discount_total: MoneyOut
    net_total: MoneyOut
    paid_total: MoneyOut
    refunded_total: MoneyOut
    arrears: MoneyOut = Field(description="Still due; 0 on a draft until it is confirmed.")
    note: str
    created_at: datetime
    confirmed_at: datetime | None

    @staticmethod
    def of(bill: Bill) -> BillOut:
        return BillOut(
            id=bill.pk,
            number=bill.number,
            status=bill.status,  # type: ignore[arg-type]
            clinic=Ref(id=bill.clinic.pk, name=bill.clinic.name),
            patient=PatientRef(
                id=bill.patient.pk, name=bill.patient.name, record_no=bill.patient.record_no
            ),
            total=bill.total,
            discount_total=bill.discount_total,
            net_total=bill.net_total,
            paid_total=bill.paid_total,
            refunded_total=bill.refunded_total,
            arrears=bill.arrears if bill.status == Bill.Status.CONFIRMED else Decimal("0.00"),
            note=bill.note,
            created_at=bill.created_at,
            confirmed_at=bill.confirmed_at,
        )


class BillPage(PageOut):
    items: list[BillOut]


class LineOut(Schema):
    id: int
    item_id: int
    name: str
    category: str
    teeth: list[int]
    quantity: int
    unit_price: MoneyOut
    amount: MoneyOut
    discount: MoneyOut
    net_amount: MoneyOut
    insurance_code: str
    self_paid: bool
    doctor: Ref | None

    @staticmethod
    def of(line: BillLine) -> LineOut:
        return LineOut(
            id=line.pk,
            item_id=line.item_id,
            name=line.name,
            category=line.category,
            teeth=list(line.teeth.codes) if line.teeth else [],
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            discount=line.discount,
            net_amount=line.net_amount,
            insurance_code=line.insurance_code,
            self_paid=line.self_paid,
            doctor=_ref(line.doctor),
        )


class DiscountOut(Schema):
    id: int
    step: Literal["tier", "coupon", "manual"]
    position: int = Field(description="Order in the pipeline: tier, then coupons, then manual.")
    label: str
    reference: str
    amount: MoneyOut
    status: Literal["pending", "approved"]
    reason: str
    allocation: dict[str, MoneyOut] = Field(description="Share per line id.")
    approved_by: Ref | None

    @staticmethod
    def of(discount: BillDiscount) -> DiscountOut:
        return DiscountOut(
            id=discount.pk,
            step=DiscountStep(discount.step).value,  # type: ignore[arg-type]
            position=discount.position,
            label=discount.label,
            reference=discount.reference,
            amount=discount.amount,
            status=discount.status,  # type: ignore[arg-type]
            reason=discount.reason,
            allocation={k: Decimal(v) for k, v in discount.allocation.items()},
            approved_by=_ref(discount.approved_by),
        )


class PaymentOut(Schema):
    id: int
    kind: Literal["bill_payment", "bill_refund", "top_up", "top_up_refund"]
    method: Method
    amount: MoneyOut = Field(description="Negative for money paid back.")
    tendered: MoneyOut | None
    reference: str
    business_date: date
    received_by: Ref
    created_at: datetime

    @staticmethod
    def of(payment: Payment) -> PaymentOut:
        return PaymentOut(
            id=payment.pk,
            kind=payment.kind,  # type: ignore[arg-type]
            method=payment.method,  # type: ignore[arg-type]
            amount=payment.amount,
            tendered=payment.tendered,
            reference=payment.reference,
            business_date=payment.business_date,
            received_by=Ref(id=payment.received_by.pk, name=payment.received_by.display_name),
            created_at=payment.created_at,
        )


class RefundOut(Schema):
    id: int
    bill_id: int
    bill_number: str
    method: Method
    amount: MoneyOut
    reason: str
    status: RefundStatus
    requested_by: Ref
    requested_at: datetime
    decided_by: Ref | None
    decided_at: datetime | None
    decision_note: str

    @staticmethod
    def of(refund: Refund) -> RefundOut:
        return RefundOut(
            id=refund.pk,
            bill_id=refund.bill_id,
            bill_number=refund.bill.number,
            method=refund.method,  # type: ignore[arg-type]
            amount=refund.amount,
            reason=refund.reason,
            status=refund.status,  # type: ignore[arg-type]
            requested_by=Ref(id=refund.requested_by.pk, name=refund.requested_by.display_name),
            requested_at=refund.requested_at,
            decided_by=_ref(refund.decided_by),
            decided_at=refund.decided_at,
            decision_note=refund.decision_note,
        )


class RefundPage(PageOut):
    items: list[RefundOut]


class OfferOut(Schema):
    step: str
    reference: str
    label: str
    description: str


class BillDetailOut(BillOut):
    lines: list[LineOut]
    discounts: list[DiscountOut] = Field(description="In pipeline order.")
    payments: list[PaymentOut]
    refunds: list[RefundOut]
    offers: list[OfferOut] = Field(description="Discounts the cashier may pick (drafts).")

    @staticmethod
    def of_detail(bill: Bill, offers: list[OfferOut]) -> BillDetailOut:
        """`bill` from selectors.bill_detail (everything prefetched)."""
        return BillDetailOut(
            **BillOut.of(bill).model_dump(),
            lines=[LineOut.of(line) for line in bill.lines.all()],
            discounts=[DiscountOut.of(d) for d in bill.discounts.all()],
            payments=[PaymentOut.of(p) for p in bill.payments.all()],
            refunds=[RefundOut.of(r) for r in bill.refunds.all()],
            offers=offers,
        )


class CheckoutOut(Schema):
    bill: BillOut
    payments: list[PaymentOut]
    change_due: MoneyOut = Field(description="Cash to hand back.")
    replayed: bool = Field(description="True when this answers an earlier request (same key).")


class MethodMoneyOut(Schema):
    method: Method
    paid: MoneyOut
    refunded: MoneyOut
    pending: MoneyOut = Field(description="Asked back, awaiting approval.")
    refundable: MoneyOut

    @staticmethod
    def of(money: MethodMoney) -> MethodMoneyOut:
        return MethodMoneyOut(
            method=money.method,  # type: ignore[arg-type]
            paid=money.paid,
            refunded=money.refunded,
            pending=money.pending,
            refundable=money.refundable,
        )


class ArrearsOut(Schema):
    patient_id: int
    arrears: MoneyOut = Field(description="Due on the patient's confirmed bills.")
    bills: list[BillOut]


class FlowOut(Schema):
    received: MoneyOut
    paid_back: MoneyOut
    net: MoneyOut


class MethodFlowOut(FlowOut):
    method: Method


class StaffFlowOut(FlowOut):
    staff: Ref
    by_method: list[MethodFlowOut]


class KindTotalOut(Schema):
    kind: str
    amount: MoneyOut


class TotalsOut(Schema):
    by_method: list[MethodFlowOut]
    by_staff: list[StaffFlowOut]
    by_kind: list[KindTotalOut]
    count: int = Field(description="Ledger rows counted.")
    total: FlowOut

    @staticmethod
    def of_json(data: dict[str, Any]) -> TotalsOut:
        """From the totals a DailyClose keeps (CloseTotals.as_json)."""

        def flow(f: dict[str, str]) -> dict[str, Decimal]:
            return {
                "received": Decimal(f["in"]),
                "paid_back": Decimal(f["out"]),
                "net": Decimal(f["net"]),
            }

        methods = PaymentMethod.values
        kinds = Payment.Kind.values

        def by_method(flows: dict[str, dict[str, str]]) -> list[MethodFlowOut]:
            ordered = sorted(flows.items(), key=lambda kv: methods.index(kv[0]))
            return [MethodFlowOut(method=m, **flow(f)) for m, f in ordered]  # type: ignore[arg-type]

        # Stored as JSON (PostgreSQL's jsonb keeps no key order): sorted here, the same way
        # for a preview and a close.
        staff = sorted(
            data.get("by_staff", {}).items(), key=lambda kv: (kv[1].get("name", ""), int(kv[0]))
        )
        return TotalsOut(
            by_method=by_method(data.get("by_method", {})),
            by_staff=[
                StaffFlowOut(
                    staff=Ref(id=int(sid), name=s.get("name", "")),
                    by_method=by_method(s.get("by_method", {})),
                    **flow(s),
                )
                for sid, s in staff
            ],
            by_kind=[
                KindTotalOut(kind=k, amount=Decimal(v))
                for k, v in sorted(
                    data.get("by_kind", {}).items(), key=lambda kv: kinds.index(kv[0])
                )
            ],
            count=int(data.get("count", 0)),
            total=FlowOut(**flow(data.get("total", {"in": "0", "out": "0", "net": "0"}))),
        )

    @staticmethod
    def of(totals: CloseTotals) -> TotalsOut:
        return TotalsOut.of_json(totals.as_json())


class ClosePreviewOut(Schema):
    clinic: Ref
    business_date: date
    closed: bool
    totals: TotalsOut


class CloseOut(Schema):
    id: int
    clinic: Ref
    business_date: date
    received_total: MoneyOut
    refunded_total: MoneyOut
    note: str
    closed_by: Ref
    closed_at: datetime
    totals: TotalsOut

    @staticmethod
    def of(close: DailyClose) -> CloseOut:
        return CloseOut(
            id=close.pk,
            clinic=Ref(id=close.clinic.pk, name=close.clinic.name),
            business_date=close.business_date,
            received_total=close.received_total,
            refunded_total=close.refunded_total,
            note=close.note,
            closed_by=Ref(id=close.closed_by.pk, name=close.closed_by.display_name),
            closed_at=close.closed_at,
            totals=TotalsOut.of_json(close.totals),
        )


class ClosePage(PageOut):
    items: list[CloseOut]
