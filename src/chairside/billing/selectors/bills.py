"""Reads of bills, payments, refunds, arrears and daily closes, scoped to the organization
(and to a clinic where given), with their related rows fetched in a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils.translation import gettext as _

from chairside.billing.models import (
    Bill,
    BillDiscount,
    BillLine,
    DailyClose,
    Payment,
    PaymentMethod,
    Refund,
)
from chairside.core.clock import day_bounds
from chairside.core.errors import NotFound
from chairside.core.models import Clinic, Staff
from chairside.patients.models import Patient

ZERO = Decimal("0.00")


# --- bills -------------------------------------------------------------------------------


def bill_list(
    *,
    clinic: Clinic | None = None,
    patient: Patient | None = None,
    status: str | None = None,
    has_arrears: bool | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    search: str = "",
) -> QuerySet[Bill]:
    """Bills of the organization (of one clinic when given), newest first.

    `has_arrears` counts confirmed bills only (a draft owes nothing yet); the dates are
    days of the bill's clinic (of `clinic` when given, else Shanghai's); `search` matches
    the bill number or the patient's name, record number or phone.
    """
    bills = Bill.objects.select_related("clinic", "patient", "created_by")
    if clinic is not None:
        bills = bills.filter(clinic=clinic)
    if patient is not None:
        bills = bills.filter(patient=patient)
    if status:
        bills = bills.filter(status=status)
    if has_arrears is True:
        bills = bills.filter(status=Bill.Status.CONFIRMED, arrears__gt=0)
    elif has_arrears is False:
        bills = bills.exclude(status=Bill.Status.CONFIRMED, arrears__gt=0)
    if date_from is not None or date_to is not None:
        zone_of = clinic or Clinic(timezone="Asia/Shanghai")
        start, end = day_bounds(
            date_from or date(2000, 1, 1), date_to or date(2100, 12, 31), zone_of
        )
        bills = bills.filter(created_at__gte=start, created_at__lt=end)
    search = search.strip()
    if search:
        bills = bills.filter(
            Q(number__icontains=search)
            | Q(patient__name__icontains=search)
            | Q(patient__record_no__iexact=search)
        )
    return bills.order_by("-created_at", "-id")


def get_bill(*, bill_id: int, clinic: Clinic | None = None) -> Bill:
    """The bill of the organization (of `clinic` when given); the same 404 when missing,
    another organization's or another clinic's."""
    bills = Bill.objects.select_related("clinic", "patient", "created_by")
    if clinic is not None:
        bills = bills.filter(clinic=clinic)
    bill = bills.filter(pk=bill_id).first()
    if bill is None:
        raise NotFound(_("Bill not found."))
    return bill


def bill_detail(bill: Bill) -> Bill:
    """`bill` with its lines, discounts (pipeline order), payments and refunds prefetched."""
    return (
        Bill.objects.select_related("clinic", "patient", "created_by", "confirmed_by", "voided_by")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=BillLine.objects.select_related("doctor", "item").order_by("id"),
            ),
            Prefetch(
                "discounts",
                queryset=BillDiscount.objects.select_related("created_by", "approved_by").order_by(
                    "position", "id"
                ),
            ),
            Prefetch(
                "payments",
                queryset=Payment.objects.select_related("received_by").order_by("created_at", "id"),
            ),
            Prefetch(
                "refunds",
                queryset=Refund.objects.select_related("requested_by", "decided_by").order_by(
                    "-requested_at", "-id"
                ),
            ),
        )
        .get(pk=bill.pk)
    )


def get_line(*, bill: Bill, line_id: int) -> BillLine:
    line = BillLine.objects.select_related("bill").filter(pk=line_id, bill=bill).first()
    if line is None:
        raise NotFound(_("Bill line not found."))
    return line


def get_discount(*, bill: Bill, discount_id: int) -> BillDiscount:
    discount = BillDiscount.objects.select_related("bill").filter(pk=discount_id, bill=bill).first()
    if discount is None:
        raise NotFound(_("Discount not found."))
    return discount


# --- money per method --------------------------------------------------------------------


@dataclass(frozen=True)
class MethodMoney:
    """A bill's money by one method: paid, refunded, asked back (pending) and refundable."""

    method: str
    paid: Decimal
    refunded: Decimal
    pending: Decimal

    @property
    def refundable(self) -> Decimal:
        return max(self.paid - self.refunded - self.pending, ZERO)


def money_by_method(bill: Bill) -> dict[str, MethodMoney]:
    """Per method used on the bill (in PaymentMethod order): from the ledger rows."""
    paid: dict[str, Decimal] = {}
    refunded: dict[str, Decimal] = {}
    rows = (
        Payment.objects.filter(bill=bill)
        .values("method", "kind")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    for row in rows:
        if row["kind"] == Payment.Kind.BILL_PAYMENT:
            paid[row["method"]] = paid.get(row["method"], ZERO) + row["amount"]
        elif row["kind"] == Payment.Kind.BILL_REFUND:
            refunded[row["method"]] = refunded.get(row["method"], ZERO) - row["amount"]
    pending = dict(
        Refund.objects.filter(bill=bill, status=Refund.Status.REQUESTED)
        .values("method")
        .annotate(amount=Sum("amount"))
        .order_by()
        .values_list("method", "amount")
    )
    return {
        method: MethodMoney(
            method,
            paid.get(method, ZERO),
            refunded.get(method, ZERO),
            pending.get(method, ZERO),
        )
        for method in PaymentMethod.values
        if method in paid or method in refunded or method in pending
    }


def refundable_by_method(bill: Bill) -> dict[str, Decimal]:
    """What may still be asked back per method: paid - refunded - requests awaiting approval."""
    return {m: money.refundable for m, money in money_by_method(bill).items()}


def insurance_coverable(bill: Bill) -> Decimal:
    """What medical insurance may still pay on the bill: the net of its insured lines that
    the patient did not choose to pay themselves, less insurance already kept."""
    covered = sum(
        (
            line.amount - line.discount
            for line in BillLine.objects.filter(bill=bill)
            .exclude(insurance_code="")
            .filter(self_paid=False)
        ),
        ZERO,
    )
    money = money_by_method(bill).get(PaymentMethod.INSURANCE)
    kept = ZERO if money is None else money.paid - money.refunded
    return max(covered - kept, ZERO)


# --- arrears -----------------------------------------------------------------------------


def patient_arrears(patient: Patient) -> Decimal:
    """What the patient owes on confirmed bills, across the organization's clinics."""
    owed = Bill.objects.filter(
        patient=patient, status=Bill.Status.CONFIRMED, arrears__gt=0
    ).aggregate(total=Sum("arrears"))["total"]
    return owed or ZERO


@dataclass(frozen=True)
class PatientArrears:
    patient_id: int
    name: str
    record_no: str
    arrears: Decimal
    bills: int


def arrears_by_patient(*, clinic: Clinic | None = None) -> list[PatientArrears]:
    """Patients owing money (at `clinic` when given), the largest debt first."""
    bills = Bill.objects.filter(status=Bill.Status.CONFIRMED, arrears__gt=0)
    if clinic is not None:
        bills = bills.filter(clinic=clinic)
    rows = (
        bills.values("patient_id", "patient__name", "patient__record_no")
        .annotate(owed=Sum("arrears"), bills=Count("id"))
        .order_by("-owed", "patient_id")
    )
    return [
        PatientArrears(
            r["patient_id"], r["patient__name"], r["patient__record_no"], r["owed"], r["bills"]
        )
        for r in rows
    ]


# --- refunds -----------------------------------------------------------------------------


def refund_list(
    *, clinic: Clinic | None = None, status: str | None = None, bill: Bill | None = None
) -> QuerySet[Refund]:
    refunds = Refund.objects.select_related(
        "bill", "bill__patient", "clinic", "requested_by", "decided_by"
    )
    if clinic is not None:
        refunds = refunds.filter(clinic=clinic)
    if status:
        refunds = refunds.filter(status=status)
    if bill is not None:
        refunds = refunds.filter(bill=bill)
    return refunds.order_by("-requested_at", "-id")


def get_refund(*, refund_id: int, clinic: Clinic | None = None) -> Refund:
    refund = refund_list(clinic=clinic).filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(_("Refund not found."))
    return refund


# --- daily close -------------------------------------------------------------------------


@dataclass
class Flow:
    """Money in (received), out (paid back) and the difference."""

    money_in: Decimal = ZERO
    money_out: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.money_in - self.money_out

    def add(self, amount: Decimal) -> None:
        if amount >= 0:
            self.money_in += amount
        else:
            self.money_out -= amount

    def as_json(self) -> dict[str, str]:
        return {"in": str(self.money_in), "out": str(self.money_out), "net": str(self.net)}


@dataclass
class StaffFlow:
    staff_id: int
    name: str
    flow: Flow = field(default_factory=Flow)
    by_method: dict[str, Flow] = field(default_factory=dict)


@dataclass
class CloseTotals:
    """A clinic's money of one business day, as the close freezes it."""

    clinic: Clinic
    business_date: date
    by_method: dict[str, Flow] = field(default_factory=dict)
    by_staff: dict[int, StaffFlow] = field(default_factory=dict)
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    count: int = 0
    total: Flow = field(default_factory=Flow)

    @property
    def received(self) -> Decimal:
        return self.total.money_in

    @property
    def refunded(self) -> Decimal:
        return self.total.money_out

    def as_json(self) -> dict[str, Any]:
        return {
            "by_method": {m: f.as_json() for m, f in self.by_method.items()},
            "by_staff": {
                str(s.staff_id): {
                    "name": s.name,
                    **s.flow.as_json(),
                    "by_method": {m: f.as_json() for m, f in s.by_method.items()},
                }
                for s in self.by_staff.values()
            },
            "by_kind": {k: str(v) for k, v in self.by_kind.items()},
            "count": self.count,
            "total": self.total.as_json(),
        }


def daily_close_preview(clinic: Clinic, business_date: date) -> CloseTotals:
    """The totals of `clinic`'s ledger rows of `business_date` (all kinds), as of now."""
    totals = CloseTotals(clinic=clinic, business_date=business_date)
    staff_ids: set[int] = set()
    # Each kind has one sign (payments and top-ups in, refunds out), so grouping by kind
    # keeps money in and money out apart.
    grouped = list(
        Payment.objects.filter(clinic=clinic, business_date=business_date)
        .values("method", "kind", "received_by")
        .annotate(amount=Sum("amount"))
        .order_by("method", "kind", "received_by")
    )
    totals.count = Payment.objects.filter(clinic=clinic, business_date=business_date).count()
    for row in grouped:
        staff_ids.add(row["received_by"])
    names = dict(Staff.objects.filter(pk__in=staff_ids).values_list("pk", "display_name"))
    for row in grouped:
        amount: Decimal = row["amount"] or ZERO
        method, kind, staff_id = row["method"], row["kind"], row["received_by"]
        totals.by_method.setdefault(method, Flow()).add(amount)
        person = totals.by_staff.setdefault(
            staff_id, StaffFlow(staff_id=staff_id, name=names.get(staff_id, ""))
        )
        person.flow.add(amount)
        person.by_method.setdefault(method, Flow()).add(amount)
        totals.by_kind[kind] = totals.by_kind.get(kind, ZERO) + amount
        totals.total.add(amount)
    return totals


def daily_closes(
    *,
    clinic: Clinic | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[DailyClose]:
    """Closes of the organization (of one clinic when given), newest first."""
    closes = DailyClose.objects.select_related("clinic", "closed_by")
    if clinic is not None:
        closes = closes.filter(clinic=clinic)
    if date_from is not None:
        closes = closes.filter(business_date__gte=date_from)
    if date_to is not None:
        closes = closes.filter(business_date__lte=date_to)
    return closes.order_by("-business_date", "-id")


def get_daily_close(*, close_id: int, clinic: Clinic | None = None) -> DailyClose | None:
    closes = daily_closes(clinic=clinic)
    return closes.filter(pk=close_id).first()
