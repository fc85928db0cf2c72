"""Refunds of bill payments (B3): requested with a reason, approved by someone holding
billing.refund_approve (at once when the requester holds it), then paid out by the same
method as a negative ledger row.

Per method a refund never exceeds what was paid by it less what was refunded, and at
request time less other requests still awaiting approval; both checks run with the bill row
locked, so concurrent refunds queue. A refund gives money back; the bill's arrears stay.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing import events
from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import Bill, Payment, PaymentMethod, Refund
from chairside.billing.selectors.bills import money_by_method
from chairside.billing.services.bills import discounts_release, lock_bill
from chairside.billing.services.ledger import payment_record
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import quantize_money

ZERO = Decimal("0.00")


def _too_much(method: str, available: Decimal) -> Conflict:
    return Conflict(
        _("At most %(amount)s can be refunded by %(method)s on this bill.")
        % {"amount": available, "method": PaymentMethod(method).label},
        code=BillingErrorCode.REFUND_EXCEEDS_PAID,
    )


def _lock_refund(refund: Refund, clinic: Clinic) -> tuple[Bill, Refund]:
    bill = lock_bill(refund.bill, clinic)
    locked = Refund.objects.select_for_update().filter(pk=refund.pk, bill=bill).first()
    if locked is None:
        raise NotFound(_("Refund not found."))
    if locked.status != Refund.Status.REQUESTED:
        raise Conflict(
            _("This refund was already decided."), code=BillingErrorCode.REFUND_NOT_PENDING
        )
    return bill, locked


def _pay_out(bill: Bill, refund: Refund, actor: Staff, clinic: Clinic) -> None:
    """Pay `refund` back now: re-check the method's room, write the negative row."""
    money = money_by_method(bill).get(refund.method)
    available = ZERO if money is None else money.paid - money.refunded
    if refund.amount > available:
        raise _too_much(refund.method, available)
    payment = payment_record(
        clinic=clinic,
        patient=bill.patient,
        kind=Payment.Kind.BILL_REFUND,
        method=refund.method,
        amount=-refund.amount,
        received_by=actor,
        bill=bill,
    )
    if refund.method == PaymentMethod.STORED_VALUE:
        from chairside.billing.services.stored_value import stored_value_return

        stored_value_return(
            actor=actor, clinic=clinic, bill=bill, amount=refund.amount, payment=payment
        )
    refund.status = Refund.Status.REFUNDED
    refund.decided_by = actor
    refund.decided_at = timezone.now()
    refund.payment = payment
    refund.save(update_fields=["status", "decided_by", "decided_at", "payment", "decision_note"])
    bill.refunded_total += refund.amount
    bill.save(update_fields=["refunded_total"])
    events.bill_refunded(bill, refund)
    if bill.refunded_total == bill.net_total and bill.arrears == 0 and bill.net_total > 0:
        # Everything paid went back: the sources give back what was used (a coupon).
        discounts_release(bill, actor)


@transaction.atomic
def refund_request(
    *,
    actor: Staff,
    clinic: Clinic,
    bill: Bill,
    method: str,
    amount: Decimal,
    reason: str,
    can_approve: bool,
) -> Refund:
    """Ask to pay back `amount` of the bill by `method`; paid out at once if `can_approve`."""
    if method not in PaymentMethod.values:
        raise ValidationFailed(_("Choose a payment method."), field="method")
    amount = quantize_money(amount)
    if amount <= 0:
        raise ValidationFailed(_("Enter an amount above zero."), field="amount")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the refund."), field="reason")
    bill = lock_bill(bill, clinic)
    if bill.status != Bill.Status.CONFIRMED:
        raise Conflict(
            _("Only a confirmed bill has payments to refund."),
            code=BillingErrorCode.BILL_NOT_CONFIRMED,
        )
    money = money_by_method(bill).get(method)
    available = ZERO if money is None else money.refundable
    if amount > available:
        raise _too_much(method, available)
    refund = Refund.objects.create(
        organization_id=bill.organization_id,
        bill=bill,
        clinic=clinic,
        method=method,
        amount=amount,
        reason=reason[:200],
        requested_by=actor,
        requested_at=timezone.now(),
    )
    if can_approve:
        _pay_out(bill, refund, actor, clinic)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=refund,
        actor=actor,
        clinic=clinic,
        after=snapshot(refund),
        summary=(
            _("%(amount)s refunded on bill %(number)s")
            if can_approve
            else _("Refund of %(amount)s on bill %(number)s requested")
        )
        % {"amount": amount, "number": bill.number},
    )
    return refund


@transaction.atomic
def refund_approve(*, actor: Staff, clinic: Clinic, refund: Refund) -> Refund:
    """Approve a requested refund and pay it out (re-checked against the ledger)."""
    bill, refund = _lock_refund(refund, clinic)
    before = snapshot(refund)
    _pay_out(bill, refund, actor, clinic)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=refund,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(refund),
        summary=_("Refund of %(amount)s on bill %(number)s approved and paid")
        % {"amount": refund.amount, "number": bill.number},
    )
    return refund


@transaction.atomic
def refund_reject(*, actor: Staff, clinic: Clinic, refund: Refund, note: str) -> Refund:
    note = note.strip()
    if not note:
        raise ValidationFailed(_("Say why the refund is rejected."), field="note")
    bill, refund = _lock_refund(refund, clinic)
    before = snapshot(refund)
    refund.status = Refund.Status.REJECTED
    refund.decided_by = actor
    refund.decided_at = timezone.now()
    refund.decision_note = note[:200]
    refund.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=refund,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(refund),
        summary=_("Refund of %(amount)s on bill %(number)s rejected")
        % {"amount": refund.amount, "number": bill.number},
    )
    return refund
