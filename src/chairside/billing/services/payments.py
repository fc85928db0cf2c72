"""Taking payment for a confirmed bill (B3): one or several methods, each with its amount,
never more than the arrears, safe to retry with an idempotency key.

A checkout writes its Payment rows through `ledger.payment_record` only, after locking the
bill row, so concurrent checkouts of one bill queue and each sees the arrears the last one
left. With a key, the request is recorded first (`CheckoutRequest`, unique per
organization): a retry with the same key and body gets the first result back, the same key
with another body is refused, and of two racing retries the second waits at the unique key,
then replays the first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing import events
from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import (
    Bill,
    CheckoutRequest,
    Payment,
    PaymentMethod,
    StoredValueAccount,
)
from chairside.billing.selectors.bills import insurance_coverable
from chairside.billing.services.bills import lock_bill
from chairside.billing.services.ledger import payment_record
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import quantize_money

ZERO = Decimal("0.00")
MAX_TENDERS = 10


@dataclass(frozen=True)
class Tender:
    """One method's part of a checkout. `tendered`: cash handed over (>= amount; the change
    is tendered - amount). `account_id`: the stored-value card, for that method."""

    method: str
    amount: Decimal
    tendered: Decimal | None = None
    reference: str = ""
    account_id: int | None = None


@dataclass
class Checkout:
    """The result of a checkout; `replayed` when it is the answer to an earlier request."""

    bill: Bill
    payments: list[Payment] = field(default_factory=list)
    change_due: Decimal = ZERO
    replayed: bool = False


def _clean(tenders: Sequence[Tender]) -> list[Tender]:
    if not tenders:
        raise ValidationFailed(_("Enter at least one payment."), field="tenders")
    if len(tenders) > MAX_TENDERS:
        raise ValidationFailed(
            _("At most %(max)d payments at once.") % {"max": MAX_TENDERS}, field="tenders"
        )
    cleaned = []
    for tender in tenders:
        if tender.method not in PaymentMethod.values:
            raise ValidationFailed(_("Choose a payment method."), field="method")
        amount = quantize_money(tender.amount)
        if amount <= 0:
            raise ValidationFailed(_("Each payment must be more than zero."), field="amount")
        tendered = None if tender.tendered is None else quantize_money(tender.tendered)
        if tendered is not None:
            if tender.method != PaymentMethod.CASH and tendered != amount:
                raise ValidationFailed(
                    _("Only cash can be handed over above the amount."), field="tendered"
                )
            if tendered < amount:
                raise ValidationFailed(
                    _("The cash handed over is less than the amount."), field="tendered"
                )
        if tender.method == PaymentMethod.STORED_VALUE and tender.account_id is None:
            raise ValidationFailed(_("Choose the stored-value card."), field="account_id")
        cleaned.append(
            Tender(
                method=tender.method,
                amount=amount,
                tendered=tendered,
                reference=tender.reference.strip()[:64],
                account_id=tender.account_id
                if tender.method == PaymentMethod.STORED_VALUE
                else None,
            )
        )
    return cleaned


def checkout_digest(bill: Bill, tenders: Sequence[Tender]) -> str:
    """SHA-256 of what the request asks for; a retry must ask for exactly the same."""
    body = {
        "bill": bill.pk,
        "tenders": [
            {
                "method": t.method,
                "amount": str(t.amount),
                "tendered": None if t.tendered is None else str(t.tendered),
                "reference": t.reference,
                "account_id": t.account_id,
            }
            for t in tenders
        ],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _change(payments: Sequence[Payment]) -> Decimal:
    return sum(
        (p.tendered - p.amount for p in payments if p.tendered is not None and p.tendered > 0),
        ZERO,
    )


def _replay(request: CheckoutRequest, digest: str, bill: Bill) -> Checkout:
    if request.request_digest != digest or request.bill_id != bill.pk:
        raise Conflict(
            _("This idempotency key was already used for a different request."),
            code=BillingErrorCode.IDEMPOTENCY_MISMATCH,
        )
    payments = list(Payment.objects.filter(checkout=request).order_by("id"))
    fresh = Bill.objects.get(pk=bill.pk)
    return Checkout(bill=fresh, payments=payments, change_due=_change(payments), replayed=True)


def bill_pay(
    *,
    actor: Staff,
    clinic: Clinic,
    bill: Bill,
    tenders: Sequence[Tender],
    idempotency_key: str | None = None,
) -> Checkout:
    """Take `tenders` against the confirmed bill's arrears (their sum never exceeds it)."""
    cleaned = _clean(tenders)
    key = (idempotency_key or "").strip()
    if len(key) > 100:
        raise ValidationFailed(_("The idempotency key is too long (at most 100 characters)."))
    digest = checkout_digest(bill, cleaned)
    if key:
        earlier = CheckoutRequest.objects.filter(key=key).first()
        if earlier is not None:
            return _replay(earlier, digest, bill)
        try:
            return _pay(actor, clinic, bill, cleaned, key, digest)
        except IntegrityError:
            # A racing retry with the same key won (it waited at the unique key): replay it.
            earlier = CheckoutRequest.objects.filter(key=key).first()
            if earlier is None:
                raise
            return _replay(earlier, digest, bill)
    return _pay(actor, clinic, bill, cleaned, None, digest)


@transaction.atomic
def _pay(
    actor: Staff,
    clinic: Clinic,
    bill: Bill,
    tenders: list[Tender],
    key: str | None,
    digest: str,
) -> Checkout:
    checkout = None
    if key:
        with transaction.atomic():
            checkout = CheckoutRequest.objects.create(
                organization_id=clinic.organization_id,
                key=key,
                bill=bill,
                request_digest=digest,
                created_by=actor,
                created_at=timezone.now(),
            )
    bill = lock_bill(bill, clinic)
    if bill.status != Bill.Status.CONFIRMED:
        raise Conflict(
            _("Confirm the bill before taking payment."),
            code=BillingErrorCode.BILL_NOT_CONFIRMED,
        )
    total = sum((t.amount for t in tenders), ZERO)
    if total > bill.arrears:
        raise Conflict(
            _("The payments (%(total)s) are more than the amount due (%(due)s).")
            % {"total": total, "due": bill.arrears},
            code=BillingErrorCode.OVERPAYMENT,
        )
    insured = sum((t.amount for t in tenders if t.method == PaymentMethod.INSURANCE), ZERO)
    if insured > 0:
        coverable = insurance_coverable(bill)
        if insured > coverable:
            raise Conflict(
                _("Medical insurance can pay at most %(amount)s of this bill.")
                % {"amount": coverable},
                code=BillingErrorCode.INSURANCE_EXCEEDS_COVERED,
            )
    before = snapshot(bill)
    payments = []
    for tender in tenders:
        account = None
        if tender.method == PaymentMethod.STORED_VALUE:
            account = StoredValueAccount.objects.filter(pk=tender.account_id).first()
            if account is None:
                raise NotFound(_("Stored-value card not found."))
        payment = payment_record(
            clinic=clinic,
            patient=bill.patient,
            kind=Payment.Kind.BILL_PAYMENT,
            method=tender.method,
            amount=tender.amount,
            received_by=actor,
            bill=bill,
            checkout=checkout,
            tendered=tender.tendered,
            reference=tender.reference,
        )
        if account is not None:
            from chairside.billing.services.stored_value import stored_value_spend

            stored_value_spend(
                actor=actor,
                clinic=clinic,
                account=account,
                patient=bill.patient,
                amount=tender.amount,
                payment=payment,
            )
        payments.append(payment)
    bill.paid_total += total
    bill.arrears -= total
    bill.save(update_fields=["paid_total", "arrears"])
    events.bill_paid(bill, payments)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=bill,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(bill),
        summary=_("%(amount)s received on bill %(number)s (%(methods)s)")
        % {
            "amount": total,
            "number": bill.number,
            "methods": ", ".join(f"{p.method} {p.amount}" for p in payments),
        },
    )
    return Checkout(bill=bill, payments=payments, change_due=_change(payments), replayed=False)
