"""Receipts and bills as PDF (B6): an 80 mm till receipt and an A4 bill, from one HTML template
rendered by WeasyPrint with the Noto Sans CJK font embedded, so Chinese reads the same in
every viewer and on every printer.

`receipt_of(bill=...)` gathers what the paper shows (amounts as the bill and the payment
ledger say, times on the clinic's clock); `receipt_pdf(...)` renders it. The till receipt
is one page as long as its content: it is laid out once on a tall page, measured, and laid
out again on a page of that height.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import (
    DISCOUNT_ORDER,
    Bill,
    BillDiscount,
    DiscountStep,
    PaymentMethod,
    Refund,
)
from chairside.billing.selectors.bills import bill_detail
from chairside.core.clock import clinic_now, clinic_zone, local
from chairside.core.models import Organization, Staff
from chairside.core.money import Money

ZERO = Decimal("0.00")
RECEIPT_WIDTH_MM = 80
# The tall page a till receipt is first laid out on, before it is cut to its content.
_PROBE_HEIGHT_MM = 2000
_MIN_HEIGHT_MM = 100
_PX_PER_MM = 96 / 25.4


class ReceiptLayout(StrEnum):
    RECEIPT = "receipt"  # 80 mm till roll
    A4 = "a4"  # the full bill on A4


def money(value: Decimal) -> str:
    return str(Money(value))


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    teeth: str
    quantity: int
    unit_price: str
    amount: str
    discount: str
    insured: bool
    self_paid: bool
    doctor: str


@dataclass(frozen=True)
class ReceiptDiscount:
    step: str
    label: str
    amount: str
    pending: bool


@dataclass(frozen=True)
class MethodTotal:
    method: str
    label: str
    paid: str
    refunded: str
    net: str
    has_refund: bool


@dataclass(frozen=True)
class ReceiptPayment:
    at: datetime
    label: str
    amount: str
    tendered: str
    change: str
    reference: str
    received_by: str
    is_refund: bool


@dataclass(frozen=True)
class ReceiptRefund:
    at: datetime
    label: str
    amount: str
    status: str
    reason: str


@dataclass(frozen=True)
class Receipt:
    """Everything the paper shows, already formatted."""

    organization: str
    clinic: str
    address: str
    phone: str
    number: str
    status: str
    is_void: bool
    is_draft: bool
    void_reason: str
    patient: str
    record_no: str
    created_at: datetime
    confirmed_at: datetime | None
    lines: list[ReceiptLine]
    discounts: list[ReceiptDiscount]
    total: str
    discount_total: str
    net_total: str
    paid_total: str
    refunded_total: str
    has_refunds: bool
    arrears: str
    has_arrears: bool
    methods: list[MethodTotal]
    payments: list[ReceiptPayment]
    refunds: list[ReceiptRefund]
    cashiers: list[str]
    printed_at: datetime
    printed_by: str
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _staff_name(staff: Staff | None) -> str:
    return staff.display_name if staff is not None else ""


def receipt_of(*, bill: Bill, printed_by: Staff | None = None) -> Receipt:
    """What the receipt of `bill` shows, read fresh from the database."""
    bill = bill_detail(bill)
    clinic = bill.clinic
    organization = Organization.objects.get(pk=bill.organization_id)
    method_labels = dict(PaymentMethod.choices)
    step_labels = dict(DiscountStep.choices)

    lines = [
        ReceiptLine(
            name=line.name,
            teeth=str(line.teeth) if line.teeth else "",
            quantity=line.quantity,
            unit_price=money(line.unit_price),
            amount=money(line.amount),
            discount=money(line.discount) if line.discount else "",
            insured=bool(line.insurance_code),
            self_paid=line.self_paid,
            doctor=_staff_name(line.doctor),
        )
        for line in bill.lines.all()
    ]
    discounts = [
        ReceiptDiscount(
            step=str(step_labels.get(d.step, d.step)),
            label=d.label,
            amount=money(d.amount),
            pending=d.status == BillDiscount.Status.PENDING,
        )
        for d in sorted(
            bill.discounts.all(),
            key=lambda d: (DISCOUNT_ORDER.get(DiscountStep(d.step), 9), d.position, d.pk),
        )
    ]

    paid: dict[str, Decimal] = {}
    refunded: dict[str, Decimal] = {}
    payments: list[ReceiptPayment] = []
    cashiers: list[str] = []
    for p in bill.payments.all():
        is_refund = p.amount < 0
        bucket = refunded if is_refund else paid
        bucket[p.method] = bucket.get(p.method, ZERO) + abs(p.amount)
        change = p.tendered - p.amount if p.tendered is not None and not is_refund else None
        payments.append(
            ReceiptPayment(
                at=local(p.created_at, clinic),
                label=str(method_labels.get(p.method, p.method)),
                amount=money(p.amount),
                tendered=money(p.tendered) if p.tendered is not None else "",
                change=money(change) if change else "",
                reference=p.reference,
                received_by=_staff_name(p.received_by),
                is_refund=is_refund,
            )
        )
        name = _staff_name(p.received_by)
        if name and name not in cashiers:
            cashiers.append(name)
    if not cashiers:
        cashiers.append(_staff_name(bill.confirmed_by or bill.created_by))
    # Methods in the order the counter lists them.
    methods = [
        MethodTotal(
            method=value,
            label=str(label),
            paid=money(paid.get(value, ZERO)),
            refunded=money(refunded.get(value, ZERO)),
            net=money(paid.get(value, ZERO) - refunded.get(value, ZERO)),
            has_refund=value in refunded,
        )
        for value, label in PaymentMethod.choices
        if value in paid or value in refunded
    ]
    refund_labels = dict(Refund.Status.choices)
    refunds = [
        ReceiptRefund(
            at=local(r.requested_at, clinic),
            label=str(method_labels.get(r.method, r.method)),
            amount=money(r.amount),
            status=str(refund_labels.get(r.status, r.status)),
            reason=r.reason,
        )
        for r in sorted(bill.refunds.all(), key=lambda r: (r.requested_at, r.pk))
    ]
    return Receipt(
        organization=organization.name,
        clinic=clinic.name,
        address=clinic.address,
        phone=clinic.phone,
        number=bill.number,
        status=str(bill.get_status_display()),
        is_void=bill.status == Bill.Status.VOID,
        is_draft=bill.status == Bill.Status.DRAFT,
        void_reason=bill.void_reason,
        patient=bill.patient.name,
        record_no=bill.patient.record_no,
        created_at=local(bill.created_at, clinic),
        confirmed_at=local(bill.confirmed_at, clinic) if bill.confirmed_at else None,
        lines=lines,
        discounts=discounts,
        total=money(bill.total),
        discount_total=money(bill.discount_total),
        net_total=money(bill.net_total),
        paid_total=money(bill.paid_total),
        refunded_total=money(bill.refunded_total),
        has_refunds=bill.refunded_total > 0,
        arrears=money(bill.arrears),
        has_arrears=bill.arrears > 0,
        methods=methods,
        payments=payments,
        refunds=refunds,
        cashiers=cashiers,
        printed_at=clinic_now(clinic),
        printed_by=_staff_name(printed_by),
        note=bill.note,
    )


def receipt_html(receipt: Receipt, *, layout: ReceiptLayout, page_height_mm: int = 0) -> str:
    context = {
        "r": receipt,
        "layout": layout.value,
        "is_receipt": layout == ReceiptLayout.RECEIPT,
        "page_height_mm": page_height_mm or _PROBE_HEIGHT_MM,
        "title": _("Receipt") if layout == ReceiptLayout.RECEIPT else _("Bill"),
    }
    return render_to_string("billing/receipt_pdf.html", context)


def _content_height_mm(document: Any) -> int:
    """How tall the laid-out content of the first page is, in whole millimetres."""
    page_box = document.pages[0]._page_box
    bottom = 0.0
    for box in page_box.descendants():
        if box is page_box:
            continue
        y = getattr(box, "position_y", None)
        if y is None or not hasattr(box, "margin_height"):
            continue
        bottom = max(bottom, y + box.margin_height())
    return max(_MIN_HEIGHT_MM, int(bottom / _PX_PER_MM) + 8)


def receipt_pdf(
    *, bill: Bill, layout: ReceiptLayout = ReceiptLayout.RECEIPT, printed_by: Staff | None = None
) -> bytes:
    """The receipt (80 mm roll, one page) or the A4 bill of `bill`, as PDF bytes."""
    # Imported here: WeasyPrint loads Pango and fonts, which only PDF requests need.
    from weasyprint import HTML

    receipt = receipt_of(bill=bill, printed_by=printed_by)
    with timezone.override(clinic_zone(bill.clinic)):
        html = receipt_html(receipt, layout=layout)
        document = HTML(string=html).render()
        if layout == ReceiptLayout.RECEIPT and len(document.pages) == 1:
            height = _content_height_mm(document)
            html = receipt_html(receipt, layout=layout, page_height_mm=height)
            document = HTML(string=html).render()
    pdf: bytes = document.write_pdf()
    return pdf


def receipt_filename(bill: Bill, layout: ReceiptLayout) -> str:
    kind = "receipt" if layout == ReceiptLayout.RECEIPT else "bill"
    return f"{kind}-{bill.number}.pdf"
