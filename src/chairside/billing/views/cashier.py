"""The cashier desk (B2-B4 pages): today's bills, and the cashier screen of one bill — lines
from the catalogue, the discount pipeline in its fixed order (tier -> coupon -> manual),
confirmation, a split payment with change due, the payments, refund requests, void — and
its receipt as PDF.

Every form posts to its own address, calls one service and redirects back to the bill
(post/redirect/get); a refused form is the bill page again with the errors, status 400
(409 when the bill changed underneath).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from chairside.billing import discounts as pipeline
from chairside.billing.forms.cashier import (
    DiscountForm,
    LineAddForm,
    LineUpdateForm,
    NewBillForm,
    PaymentForm,
    VoidForm,
    attach_errors,
)
from chairside.billing.forms.refunds import RefundRequestForm
from chairside.billing.models import (
    DISCOUNT_ORDER,
    Bill,
    BillDiscount,
    DiscountStep,
    Payment,
    PaymentMethod,
    StoredValueAccount,
)
from chairside.billing.receipts import ReceiptLayout, receipt_filename, receipt_pdf
from chairside.billing.selectors import bills as bill_selectors
from chairside.billing.selectors.catalogue import catalogue_list, get_catalogue_item
from chairside.billing.selectors.stored_value import stored_value_cards_usable_by
from chairside.billing.services import bills as bill_services
from chairside.billing.services import payments as payment_services
from chairside.core.clock import clinic_today, clinic_zone
from chairside.core.console import ConsoleRequest, console_page, page_number
from chairside.core.errors import DomainError, NotFound
from chairside.core.models import Staff
from chairside.core.money import Money
from chairside.core.pagination import paginate
from chairside.core.selectors import staff_list
from chairside.patients.selectors import get_patient

PICKER_LIMIT = 12
OLDER_ARREARS_LIMIT = 20
PAGE_SIZE = 20
TREATING_PERMISSIONS = ("schedule.treat", "clinical.write")


# --- helpers ---------------------------------------------------------------------------


def render_page(
    request: ConsoleRequest, template: str, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    # Times are shown on the clinic's clock, whatever the server's zone.
    with timezone.override(clinic_zone(request.access.clinic)):
        return render(request, template, context, status=status)


def get_clinic_bill(request: ConsoleRequest, bill_id: int) -> Bill:
    """A bill of the acting clinic; another clinic's or organization's is a 404."""
    found = bill_selectors.get_bill(bill_id=bill_id, clinic=request.access.clinic)
    return bill_selectors.bill_detail(found)


def _back(bill: Bill, anchor: str = "") -> HttpResponse:
    url = reverse("billing:bill", args=[bill.pk])
    return redirect(f"{url}#{anchor}" if anchor else url)


def clinic_doctors(request: ConsoleRequest) -> list[Staff]:
    """Who treats patients at the acting clinic (for a line's doctor)."""
    clinic = request.access.clinic
    doctors = []
    for staff in staff_list(clinic_id=clinic.pk):
        for grant in staff.role_grants.all():
            here = grant.clinic_id in (None, clinic.pk) or grant.role.spans_organization
            if here and any(p in (grant.role.permissions or []) for p in TREATING_PERMISSIONS):
                doctors.append(staff)
                break
    return doctors


def _offers(bill: Bill) -> list[tuple[str, str]]:
    """What the discount sources offer for the bill, as (step:reference, label) choices."""
    return [
        (f"{offer.step}:{offer.reference}", offer.label) for offer in pipeline.discount_offers(bill)
    ]


def _discount_form(bill: Bill, data: Any = None) -> DiscountForm:
    """The discounts form, filled from what the bill has now."""
    current = list(bill.discounts.all())
    picked = [f"{d.step}:{d.reference}" for d in current if d.step != DiscountStep.MANUAL]
    manual = next((d for d in current if d.step == DiscountStep.MANUAL), None)
    initial: dict[str, Any] = {"offer": picked}
    if manual is not None:
        kept = pipeline.ManualDiscount.from_reference(manual.reference, manual.reason)
        if kept is not None and kept.percent is not None:
            initial.update(manual_kind=DiscountForm.PERCENT, manual_value=kept.percent)
        elif kept is not None:
            initial.update(manual_kind=DiscountForm.AMOUNT, manual_value=kept.amount)
        initial["reason"] = manual.reason
    return DiscountForm(data, initial=initial, offers=_offers(bill))


@dataclass(frozen=True)
class StepGroup:
    step: str
    label: str
    discounts: list[BillDiscount]


def _pipeline(bill: Bill) -> list[StepGroup]:
    """The bill's discounts under their steps, in the pipeline's fixed order."""
    by_step: dict[str, list[BillDiscount]] = {}
    for discount in bill.discounts.all():
        by_step.setdefault(discount.step, []).append(discount)
    steps = sorted(DiscountStep, key=lambda s: DISCOUNT_ORDER[s])
    return [
        StepGroup(
            step.value, str(step.label), sorted(by_step.get(step, []), key=lambda d: d.position)
        )
        for step in steps
    ]


@dataclass(frozen=True)
class PaymentRow:
    """A ledger row of the bill as the payments table shows it."""

    payment: Payment
    amount: str
    tendered: str
    change: str
    is_refund: bool


def _payment_rows(payments: list[Payment]) -> list[PaymentRow]:
    rows = []
    for p in payments:
        change = p.tendered - p.amount if p.tendered is not None else Decimal(0)
        rows.append(
            PaymentRow(
                payment=p,
                amount=str(Money(p.amount)),
                tendered=str(Money(p.tendered)) if p.tendered is not None else "",
                change=str(Money(change)) if change > 0 else "",
                is_refund=p.amount < 0,
            )
        )
    return rows


@dataclass(frozen=True)
class CardChoice:
    pk: int
    label: str
    balance: Decimal


def _cards(bill: Bill) -> list[CardChoice]:
    """The stored-value cards the patient may pay with, and their balances."""
    cards = stored_value_cards_usable_by(patient=bill.patient, active_only=True)
    return [
        CardChoice(
            pk=card.pk,
            label=(
                f"{card.number} · {card.owner.name}"
                if card.owner_id != bill.patient_id
                else card.number
            ),
            balance=card.balance,
        )
        for card in cards
        if isinstance(card, StoredValueAccount)
    ]


def _bill_context(
    request: ConsoleRequest,
    bill: Bill,
    *,
    line_form: LineAddForm | None = None,
    discount_form: DiscountForm | None = None,
    payment_form: PaymentForm | None = None,
    refund_form: RefundRequestForm | None = None,
    void_form: VoidForm | None = None,
    error: str = "",
    open_form: str = "",
) -> dict[str, Any]:
    access = request.access
    draft = bill.status == Bill.Status.DRAFT
    confirmed = bill.status == Bill.Status.CONFIRMED
    can_charge = access.can("billing.charge")
    cards = _cards(bill) if confirmed and bill.arrears > 0 and can_charge else []
    refundable = bill_selectors.refundable_by_method(bill) if confirmed else {}
    refundable_rows = [
        (method, label, refundable[method])
        for method, label in PaymentMethod.choices
        if refundable.get(method, Decimal(0)) > 0
    ]
    lines = list(bill.lines.all())
    payments = list(bill.payments.all())
    pipeline_steps = _pipeline(bill)
    methods = [
        {"value": value, "label": str(label)}
        for value, label in PaymentMethod.choices
        if value != PaymentMethod.STORED_VALUE or cards
    ]
    return {
        "bill": bill,
        "patient": bill.patient,
        "lines": lines,
        "steps": pipeline_steps,
        "has_pending": any(
            d.status == BillDiscount.Status.PENDING for g in pipeline_steps for d in g.discounts
        ),
        "payments": _payment_rows(payments),
        "insurance_coverable": (
            bill_selectors.insurance_coverable(bill) if confirmed and bill.arrears > 0 else None
        ),
        "refunds": list(bill.refunds.all()),
        "draft": draft,
        "confirmed": confirmed,
        "void": bill.status == Bill.Status.VOID,
        "can_charge": can_charge,
        "can_discount": access.can("billing.discount"),
        "can_approve_discount": access.can("billing.discount_approve"),
        "can_refund": access.can("billing.refund"),
        "can_approve_refund": access.can("billing.refund_approve"),
        "can_void": can_charge and bill.status != Bill.Status.VOID and not payments,
        "line_form": line_form or LineAddForm(doctors=clinic_doctors(request)),
        "discount_form": discount_form or _discount_form(bill),
        "payment_form": payment_form,
        "refund_form": refund_form or RefundRequestForm(refundable=refundable),
        "refundable": refundable_rows,
        "void_form": void_form or VoidForm(),
        "cards": cards,
        "payment_config": {
            "due": str(bill.arrears),
            "methods": methods,
            "cards": [{"id": c.pk, "label": c.label, "balance": str(c.balance)} for c in cards],
            "rows": payment_form.raw_rows if payment_form is not None else [],
            "labels": {
                "method": _("Payment method"),
                "amount": _("Amount"),
                "remove": _("Remove this payment"),
                "tendered": _("Cash handed over"),
                "change": _("Change due"),
                "short": _("The cash handed over is less than the amount."),
                "card": _("Card"),
                "balance": _("balance"),
                "reference": _("Transaction no."),
            },
        },
        "idempotency_key": (
            payment_form.data.get("idempotency_key", "") if payment_form is not None else ""
        ),
        "error": error,
        "open_form": open_form,
        "receipt_url": reverse("billing:receipt", args=[bill.pk]),
    }


def bill_page(
    request: ConsoleRequest, bill: Bill, *, status: int = 200, **forms: Any
) -> HttpResponse:
    # Read again: a refused step may have left the bill as someone else changed it.
    bill = get_clinic_bill(request, bill.pk)
    return render_page(
        request, "billing/bill_detail.html", _bill_context(request, bill, **forms), status=status
    )


def _refused(request: ConsoleRequest, bill: Bill, error: DomainError) -> HttpResponse:
    messages.error(request, str(error.message))
    return _back(bill)


# --- today's bills -----------------------------------------------------------------------


@require_safe
@console_page("billing.view")
def cashier(request: ConsoleRequest) -> HttpResponse:
    """Today's bills of the acting clinic: drafts to settle, arrears, settled; or, with a
    search, the clinic's bills of the patients found."""
    access = request.access
    clinic = access.clinic
    query = request.GET.get("q", "").strip()[:50]
    today = clinic_today(clinic)
    context: dict[str, Any] = {
        "query": query,
        "today": today,
        "can_charge": access.can("billing.charge"),
        "new_form": NewBillForm(),
    }
    if query:
        page = paginate(
            bill_selectors.bill_list(clinic=clinic, search=query),
            page=page_number(request.GET.get("page")),
            page_size=PAGE_SIZE,
        )
        context.update(page=page, results=list(page.items), querystring=urlencode({"q": query}))
    else:
        bills = list(bill_selectors.bill_list(clinic=clinic, date_from=today, date_to=today))
        context.update(
            drafts=[b for b in bills if b.status == Bill.Status.DRAFT],
            unpaid=[b for b in bills if b.status == Bill.Status.CONFIRMED and b.arrears > 0],
            settled=[
                b
                for b in bills
                if b.status == Bill.Status.VOID
                or (b.status == Bill.Status.CONFIRMED and b.arrears == 0)
            ],
            older_arrears=list(
                bill_selectors.bill_list(
                    clinic=clinic, has_arrears=True, date_to=today - timedelta(days=1)
                )[:OLDER_ARREARS_LIMIT]
            ),
        )
    return render_page(request, "billing/cashier.html", context)


@require_POST
@console_page("billing.charge")
def bill_new(request: ConsoleRequest) -> HttpResponse:
    """The patient's open bill of today, or a new one."""
    form = NewBillForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a patient."))
        return redirect("billing:cashier")
    try:
        patient = get_patient(patient_id=form.cleaned_data["patient_id"], include_archived=False)
        bill = bill_services.bill_open_for_visit(
            actor=request.access.staff, clinic=request.access.clinic, patient=patient
        )
    except NotFound:
        messages.error(request, _("No patient found."))
        return redirect("billing:cashier")
    except DomainError as e:
        messages.error(request, str(e.message))
        return redirect("billing:cashier")
    return _back(bill)


@require_safe
@console_page("billing.charge")
def item_pick(request: ConsoleRequest) -> HttpResponse:
    """Catalogue suggestions for the add-line form while typing (name, pinyin, code)."""
    query = request.GET.get("q", "").strip()[:50]
    items = []
    if query:
        items = list(catalogue_list(clinic=request.access.clinic, query=query)[:PICKER_LIMIT])
    return render(request, "billing/bill_item_results.html", {"items": items, "query": query})


# --- the cashier screen --------------------------------------------------------------------


@require_safe
@console_page("billing.view")
def bill_detail(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    bill = get_clinic_bill(request, bill_id)
    return render_page(request, "billing/bill_detail.html", _bill_context(request, bill))


@require_POST
@console_page("billing.charge")
def bill_line_add(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    form = LineAddForm(request.POST, doctors=clinic_doctors(request))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = get_catalogue_item(item_id=data["item_id"])
            line = bill_services.bill_line_add(
                actor=access.staff,
                clinic=access.clinic,
                bill=bill,
                item=item,
                quantity=data["quantity"],
                teeth=data["teeth"],
                doctor=form.doctor(),
                self_paid=data["self_paid"],
            )
        except NotFound as e:
            form.add_error("item_id", str(e.message))
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            messages.success(request, _("%(item)s added.") % {"item": line.name})
            return _back(bill, "lines")
    return bill_page(request, bill, status=status, line_form=form, open_form="line")


@require_POST
@console_page("billing.charge")
def bill_line_update(request: ConsoleRequest, bill_id: int, line_id: int) -> HttpResponse:
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    line = bill_selectors.get_line(bill=bill, line_id=line_id)
    form = LineUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a quantity from 1 to 999."))
        return _back(bill, "lines")
    try:
        bill_services.bill_line_update(
            actor=access.staff,
            clinic=access.clinic,
            line=line,
            quantity=form.cleaned_data.get("quantity"),
            self_paid=form.cleaned_data.get("self_paid"),
        )
    except DomainError as e:
        return _refused(request, bill, e)
    messages.success(request, _("%(item)s changed.") % {"item": line.name})
    return _back(bill, "lines")


@require_POST
@console_page("billing.charge")
def bill_line_remove(request: ConsoleRequest, bill_id: int, line_id: int) -> HttpResponse:
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    line = bill_selectors.get_line(bill=bill, line_id=line_id)
    try:
        bill_services.bill_line_remove(actor=access.staff, clinic=access.clinic, line=line)
    except DomainError as e:
        return _refused(request, bill, e)
    messages.success(request, _("%(item)s removed.") % {"item": line.name})
    return _back(bill, "lines")


@require_POST
@console_page("billing.charge")
def bill_discounts(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    """Apply the picked offers and the manual discount: the whole pipeline is recomputed."""
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    form = DiscountForm(request.POST, offers=_offers(bill))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        manual = None
        if data.get("manual_value") is not None and not access.can("billing.discount"):
            form.add_error(None, _("You may not give manual discounts."))
            return bill_page(request, bill, status=403, discount_form=form)
        try:
            if data.get("manual_value") is not None:
                value = data["manual_value"]
                percent = data["manual_kind"] == DiscountForm.PERCENT
                manual = pipeline.ManualDiscount(
                    reason=data["reason"],
                    amount=None if percent else value,
                    percent=value if percent else None,
                )
            selected = form.selected()
            # A coupon code typed or scanned at the desk (a bearer coupon): the coupon
            # source resolves "code:<code>" references.
            code = request.POST.get("coupon_code", "").strip()[:40]
            if code:
                selected.setdefault(DiscountStep.COUPON, []).append(f"code:{code}")
            bill = bill_services.bill_discounts_apply(
                actor=access.staff,
                clinic=access.clinic,
                bill=bill,
                selected=selected,
                manual=manual,
                can_approve=access.can("billing.discount_approve"),
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            pending = bill.discounts.filter(status=BillDiscount.Status.PENDING).exists()
            if pending:
                messages.warning(
                    request,
                    _("The manual discount is above the limit and awaits approval."),
                )
            else:
                messages.success(request, _("Discounts applied."))
            return _back(bill, "discounts")
    return bill_page(request, bill, status=status, discount_form=form, open_form="discounts")


@require_POST
@console_page("billing.discount_approve")
def bill_discount_approve(request: ConsoleRequest, bill_id: int, discount_id: int) -> HttpResponse:
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    discount = bill_selectors.get_discount(bill=bill, discount_id=discount_id)
    try:
        bill_services.bill_discount_approve(
            actor=access.staff, clinic=access.clinic, discount=discount
        )
    except DomainError as e:
        return _refused(request, bill, e)
    messages.success(request, _("Discount approved."))
    return _back(bill, "discounts")


@require_POST
@console_page("billing.charge")
def bill_confirm(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    try:
        bill = bill_services.bill_confirm(actor=access.staff, clinic=access.clinic, bill=bill)
    except DomainError as e:
        return _refused(request, bill, e)
    messages.success(
        request,
        _("Bill %(number)s confirmed: %(amount)s due.")
        % {"number": bill.number, "amount": f"¥{bill.arrears}"},
    )
    return _back(bill, "pay")


@require_POST
@console_page("billing.charge")
def bill_pay(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    """Take a split payment; the page's idempotency key makes a double click or a retry
    return the first answer instead of charging twice."""
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    card_ids = {c.pk for c in _cards(bill)}
    form = PaymentForm(request.POST, card_ids=card_ids)
    status = 400
    if form.is_valid():
        tenders = [
            payment_services.Tender(
                method=row.method,
                amount=row.amount,
                tendered=row.tendered,
                reference=row.reference,
                account_id=row.account_id,
            )
            for row in form.rows
        ]
        try:
            checkout = payment_services.bill_pay(
                actor=access.staff,
                clinic=access.clinic,
                bill=bill,
                tenders=tenders,
                idempotency_key=form.cleaned_data.get("idempotency_key") or None,
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            paid = sum((p.amount for p in checkout.payments), Decimal("0.00"))
            text = _("%(amount)s received.") % {"amount": f"¥{paid}"}
            if checkout.change_due:
                text = _("%(amount)s received; change due %(change)s.") % {
                    "amount": f"¥{paid}",
                    "change": f"¥{checkout.change_due}",
                }
            if checkout.replayed:
                text = _("This payment was already taken; nothing was charged again.")
            messages.success(request, text)
            return _back(checkout.bill, "payments")
    return bill_page(request, bill, status=status, payment_form=form, open_form="pay")


@require_POST
@console_page("billing.charge")
def bill_void(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    access = request.access
    bill = get_clinic_bill(request, bill_id)
    form = VoidForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            bill = bill_services.bill_void(
                actor=access.staff,
                clinic=access.clinic,
                bill=bill,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as e:
            attach_errors(form, e)
            status = e.status
        else:
            messages.success(request, _("Bill %(number)s is void.") % {"number": bill.number})
            return _back(bill)
    return bill_page(request, bill, status=status, void_form=form, open_form="void")


@require_safe
@console_page("billing.view")
def receipt(request: ConsoleRequest, bill_id: int) -> HttpResponse:
    """The receipt (80 mm) as PDF; ?layout=a4 gives the full bill on A4."""
    bill = get_clinic_bill(request, bill_id)
    layout = ReceiptLayout.A4 if request.GET.get("layout") == "a4" else ReceiptLayout.RECEIPT
    pdf = receipt_pdf(bill=bill, layout=layout, printed_by=request.access.staff)
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{receipt_filename(bill, layout)}"'
    return response


urlpatterns = [
    path("", cashier, name="cashier"),
    path("bills/new/", bill_new, name="bill_new"),
    path("items/pick/", item_pick, name="item_pick"),
    path("bills/<int:bill_id>/", bill_detail, name="bill"),
    path("bills/<int:bill_id>/lines/", bill_line_add, name="bill_line_add"),
    path("bills/<int:bill_id>/lines/<int:line_id>/", bill_line_update, name="bill_line_update"),
    path(
        "bills/<int:bill_id>/lines/<int:line_id>/remove/",
        bill_line_remove,
        name="bill_line_remove",
    ),
    path("bills/<int:bill_id>/discounts/", bill_discounts, name="bill_discounts"),
    path(
        "bills/<int:bill_id>/discounts/<int:discount_id>/approve/",
        bill_discount_approve,
        name="bill_discount_approve",
    ),
    path("bills/<int:bill_id>/confirm/", bill_confirm, name="bill_confirm"),
    path("bills/<int:bill_id>/pay/", bill_pay, name="bill_pay"),
    path("bills/<int:bill_id>/void/", bill_void, name="bill_void"),
    path("bills/<int:bill_id>/receipt.pdf", receipt, name="receipt"),
]
