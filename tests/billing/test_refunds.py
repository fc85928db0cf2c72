"""Refunds: per method never more than paid less refunded (and less pending requests),
approval, rejection, negative ledger rows, stored value back to the card."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chairside.billing.models import Bill, Payment, Refund, StoredValueEntry
from chairside.billing.selectors.bills import money_by_method, refundable_by_method
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_approve, refund_reject, refund_request
from chairside.billing.services.stored_value import (
    stored_value_account_open,
    stored_value_top_up,
)
from chairside.core.errors import Conflict, ValidationFailed
from tests.billing.conftest import Shop, make_bill
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

D = Decimal


def paid_bill(world: World, shop: Shop) -> Bill:
    """¥600 of fillings paid ¥200 cash + ¥300 WeChat; ¥100 still due."""
    bill = make_bill(world, shop.zhang, [(shop.filling, 2)])
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender("cash", D("200.00")), Tender("wechat", D("300.00"))],
    )
    bill.refresh_from_db()
    return bill


def ask(world: World, bill: Bill, method: str, amount: str, *, approve: bool = False) -> Refund:
    return refund_request(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        method=method,
        amount=D(amount),
        reason="Treatment cancelled",
        can_approve=approve,
    )


def test_a_request_waits_and_an_approval_pays_it_back(world: World, shop: Shop) -> None:
    bill = paid_bill(world, shop)

    refund = ask(world, bill, "wechat", "120.00")
    assert refund.status == "requested"
    assert not Payment.objects.filter(kind="bill_refund").exists()
    assert refundable_by_method(bill) == {"cash": D("200.00"), "wechat": D("180.00")}

    refund = refund_approve(actor=shop.manager, clinic=world.clinic1, refund=refund)

    bill.refresh_from_db()
    assert (refund.status, refund.decided_by) == ("refunded", shop.manager)
    assert refund.payment is not None
    assert (refund.payment.amount, refund.payment.method, refund.payment.kind) == (
        D("-120.00"),
        "wechat",
        "bill_refund",
    )
    assert refund.payment.received_by == shop.manager
    # A refund gives money back; what was due stays due.
    assert (bill.paid_total, bill.refunded_total, bill.arrears) == (
        D("500.00"),
        D("120.00"),
        D("100.00"),
    )
    assert money_by_method(bill)["wechat"].refunded == D("120.00")


def test_an_approver_refunds_at_once(world: World, shop: Shop) -> None:
    bill = paid_bill(world, shop)

    refund = ask(world, bill, "cash", "200.00", approve=True)

    assert refund.status == "refunded"
    bill.refresh_from_db()
    assert bill.refunded_total == D("200.00")


def test_never_more_than_paid_by_that_method(world: World, shop: Shop) -> None:
    bill = paid_bill(world, shop)

    with pytest.raises(Conflict) as too_much:
        ask(world, bill, "cash", "200.01")
    with pytest.raises(Conflict) as unused:
        ask(world, bill, "alipay", "1.00")
    ask(world, bill, "cash", "150.00")
    with pytest.raises(Conflict) as pending_counted:
        ask(world, bill, "cash", "50.01")
    ask(world, bill, "cash", "50.00")

    assert too_much.value.code == unused.value.code == "refund_exceeds_paid"
    assert pending_counted.value.code == "refund_exceeds_paid"
    assert refundable_by_method(bill)["cash"] == D("0.00")


def test_approval_rechecks_against_what_was_refunded(world: World, shop: Shop) -> None:
    bill = paid_bill(world, shop)
    waiting = ask(world, bill, "cash", "150.00")
    # Refunds are taken from the ledger under the bill's lock at approval: a cash refund
    # paid out meanwhile (the rest, 50) leaves exactly room for the waiting one.
    ask(world, bill, "cash", "50.00", approve=True)

    refund_approve(actor=shop.manager, clinic=world.clinic1, refund=waiting)

    bill.refresh_from_db()
    assert bill.refunded_total == D("200.00")
    assert refundable_by_method(bill)["cash"] == D("0.00")
    assert money_by_method(bill)["cash"].refunded == D("200.00")


def test_a_rejected_request_frees_its_amount(world: World, shop: Shop) -> None:
    bill = paid_bill(world, shop)
    refund = ask(world, bill, "wechat", "300.00")

    rejected = refund_reject(
        actor=shop.manager, clinic=world.clinic1, refund=refund, note="Treatment was done"
    )
    with pytest.raises(Conflict) as decided:
        refund_approve(actor=shop.manager, clinic=world.clinic1, refund=refund)
    with pytest.raises(ValidationFailed):
        refund_reject(actor=shop.manager, clinic=world.clinic1, refund=refund, note="")

    assert (rejected.status, rejected.decision_note) == ("rejected", "Treatment was done")
    assert decided.value.code == "refund_not_pending"
    assert refundable_by_method(bill)["wechat"] == D("300.00")
    bill.refresh_from_db()
    assert bill.refunded_total == D("0.00")


def test_a_refund_needs_a_reason_and_a_positive_amount(world: World, shop: Shop) -> None:
    bill = paid_bill(world, shop)

    with pytest.raises(ValidationFailed):
        refund_request(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            method="cash",
            amount=D("1"),
            reason=" ",
            can_approve=False,
        )
    with pytest.raises(ValidationFailed):
        ask(world, bill, "cash", "0")


def test_a_draft_has_nothing_to_refund(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)

    with pytest.raises(Conflict) as error:
        ask(world, bill, "cash", "1.00")

    assert error.value.code == "bill_not_confirmed"


def test_stored_value_goes_back_to_the_card(world: World, shop: Shop) -> None:
    card = stored_value_account_open(actor=world.frontdesk, clinic=world.clinic1, owner=shop.zhang)
    stored_value_top_up(
        actor=world.frontdesk, clinic=world.clinic1, account=card, amount=D("500"), method="cash"
    )
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender("stored_value", D("300.00"), account_id=card.pk)],
    )

    refund = ask(world, bill, "stored_value", "100.00", approve=True)

    card.refresh_from_db()
    assert card.balance == D("300.00")
    back = StoredValueEntry.objects.get(account=card, kind="return")
    assert back.payment == refund.payment
