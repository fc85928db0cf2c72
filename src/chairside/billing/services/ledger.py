"""The one way money is written to the counter's ledger (Payment rows), for bill payments,
refunds and stored-value top-ups alike, so every row gets its business day and no row
lands in a day that is already closed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext as _

from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import Bill, CheckoutRequest, DailyClose, Payment
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict
from chairside.core.models import Clinic, Staff
from chairside.core.money import quantize_money
from chairside.patients.models import Patient

# The first key of the two-key advisory locks of the business day ("DC": daily close).
_DAY_LOCK_CLASS = 0x4443


def business_day_lock(clinic: Clinic, *, exclusive: bool = False) -> None:
    """Take the clinic's business-day lock until the transaction ends.

    Money writers hold it shared while they check that the day is open and write; the
    daily close holds it exclusively, so no payment slips in between a close's totals and
    its stamp. (SQLite runs one writer at a time anyway.)
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [_DAY_LOCK_CLASS, clinic.pk % 2**31])


def ensure_day_open(clinic: Clinic, business_date: date) -> None:
    """Refuse money movements at a clinic on a day whose accounts are closed.

    Holds the day lock (shared) for the rest of the transaction, so the answer stays true
    until the caller's rows are written.
    """
    business_day_lock(clinic)
    if DailyClose.objects.filter(clinic=clinic, business_date=business_date).exists():
        raise Conflict(
            _(
                "The accounts of %(clinic)s for %(date)s are closed; "
                "no more money can be recorded on that day."
            )
            % {"clinic": clinic.name, "date": business_date.isoformat()},
            code=BillingErrorCode.DAY_CLOSED,
        )


def payment_record(
    *,
    clinic: Clinic,
    patient: Patient,
    kind: Payment.Kind,
    method: str,
    amount: Decimal,
    received_by: Staff,
    bill: Bill | None = None,
    checkout: CheckoutRequest | None = None,
    tendered: Decimal | None = None,
    reference: str = "",
) -> Payment:
    """Append one ledger row. `amount` is signed: positive in, negative out (refunds).

    Call inside the caller's transaction, after locking whatever the amount is checked
    against (the bill, the stored-value card).
    """
    business_date = clinic_today(clinic)
    ensure_day_open(clinic, business_date)
    return Payment.objects.create(
        clinic=clinic,
        patient=patient,
        bill=bill,
        checkout=checkout,
        kind=kind,
        method=method,
        amount=quantize_money(amount),
        tendered=None if tendered is None else quantize_money(tendered),
        reference=reference,
        business_date=business_date,
        received_by=received_by,
    )
