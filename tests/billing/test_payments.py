"""Checkout: split payments, change due, never more than the arrears, insurance only for
insured lines, stored value through the card ledger, idempotency keys, closed days."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from chairside.billing.models import Bill, CheckoutRequest, Payment, StoredValueEntry
from chairside.billing.selectors.bills import patient_arrears
from chairside.billing.services.bills import bill_confirm, bill_line_add, bill_line_update
from chairside.billing.services.close import daily_close
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.stored_value import (
    stored_value_account_open,
    stored_value_top_up,
)
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from tests.billing.conftest import Shop, make_bill
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

D = Decimal


def pay(world: World, bill: Bill, *tenders: Tender, key: str | None = None):  # type: ignore[no-untyped-def]
    return bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=list(tenders),
        idempotency_key=key,
    )


def test_a_split_payment_with_cash_change(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1), (shop.registration, 1)])

    checkout = pay(
        world,
        bill,
        Tender("wechat", D("200.00"), reference="WX123"),
        Tender("cash", D("120.00"), tendered=D("150.00")),
    )

    bill.refresh_from_db()
    assert (bill.paid_total, bill.arrears) == (D("320.00"), D("0.00"))
    assert checkout.change_due == D("30.00")
    assert not checkout.replayed
    rows = Payment.objects.filter(bill=bill).order_by("id")
    assert [(p.method, p.amount, p.kind, p.business_date) for p in rows] == [
        ("wechat", D("200.00"), "bill_payment", date(2026, 9, 14)),
        ("cash", D("120.00"), "bill_payment", date(2026, 9, 14)),
    ]
    assert rows[0].reference == "WX123"
    assert rows[1].tendered == D("150.00")
    assert all(p.received_by == world.frontdesk for p in rows)


def test_a_partial_payment_leaves_arrears_on_the_patient(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 2)])
    make_bill(world, shop.zhang, [(shop.registration, 1)])
    make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)  # drafts owe nothing

    pay(world, bill, Tender("alipay", D("100.00")))

    bill.refresh_from_db()
    assert bill.arrears == D("500.00")
    assert patient_arrears(shop.zhang) == D("520.00")


def test_never_more_than_the_arrears(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.registration, 1)])
    pay(world, bill, Tender("cash", D("15.00")))

    with pytest.raises(Conflict) as error:
        pay(world, bill, Tender("cash", D("3.00")), Tender("wechat", D("2.01")))

    assert error.value.code == "overpayment"
    assert Payment.objects.filter(bill=bill).count() == 1


def test_a_draft_or_void_bill_takes_no_money(world: World, shop: Shop) -> None:
    draft = make_bill(world, shop.zhang, [(shop.registration, 1)], confirm=False)

    with pytest.raises(Conflict) as error:
        pay(world, draft, Tender("cash", D("20.00")))

    assert error.value.code == "bill_not_confirmed"


@pytest.mark.parametrize(
    "tender",
    [
        Tender("cash", D("0.00")),
        Tender("cash", D("-5.00")),
        Tender("cheque", D("5.00")),
        Tender("wechat", D("5.00"), tendered=D("10.00")),
        Tender("cash", D("5.00"), tendered=D("4.00")),
        Tender("stored_value", D("5.00")),
    ],
    ids=["zero", "negative", "unknown-method", "change-not-cash", "short-cash", "no-card"],
)
def test_bad_tenders_are_refused(world: World, shop: Shop, tender: Tender) -> None:
    bill = make_bill(world, shop.zhang, [(shop.registration, 1)])

    with pytest.raises(ValidationFailed):
        pay(world, bill, tender)

    assert not Payment.objects.filter(bill=bill).exists()


def test_insurance_pays_only_insured_lines_not_self_paid(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)
    xray = bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.xray)
    second = bill_line_add(
        actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.xray, self_paid=True
    )
    bill_line_update(actor=world.frontdesk, clinic=world.clinic1, line=xray, quantity=2)
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)

    with pytest.raises(Conflict) as error:
        pay(world, bill, Tender("insurance", D("100.01")))
    pay(world, bill, Tender("insurance", D("60.00")))
    with pytest.raises(Conflict):
        pay(world, bill, Tender("insurance", D("40.01")))
    pay(world, bill, Tender("insurance", D("40.00")), Tender("cash", D("350.00")))

    assert error.value.code == "insurance_exceeds_covered"
    assert second.self_paid
    bill.refresh_from_db()
    assert bill.arrears == D("0.00")


def test_stored_value_is_spent_from_the_card(world: World, shop: Shop) -> None:
    card = stored_value_account_open(actor=world.frontdesk, clinic=world.clinic1, owner=shop.zhang)
    stored_value_top_up(
        actor=world.frontdesk, clinic=world.clinic1, account=card, amount=D("100"), method="cash"
    )
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])

    pay(world, bill, Tender("stored_value", D("80.00"), account_id=card.pk))
    with pytest.raises(Conflict):
        pay(world, bill, Tender("stored_value", D("30.00"), account_id=card.pk))
    with pytest.raises(NotFound):
        pay(world, bill, Tender("stored_value", D("1.00"), account_id=987654))

    card.refresh_from_db()
    assert card.balance == D("20.00")
    spend = StoredValueEntry.objects.get(account=card, kind="spend")
    assert spend.payment is not None
    assert spend.payment.bill_id == bill.pk
    bill.refresh_from_db()
    assert (bill.paid_total, bill.arrears) == (D("80.00"), D("220.00"))


def test_a_retry_with_the_same_key_charges_once(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    tender = Tender("cash", D("100.00"), tendered=D("200.00"))

    first = pay(world, bill, tender, key="key-1")
    again = pay(world, bill, tender, key="key-1")

    assert not first.replayed
    assert again.replayed
    assert [p.pk for p in again.payments] == [p.pk for p in first.payments]
    assert again.change_due == D("100.00")
    assert again.bill.arrears == D("200.00")
    assert Payment.objects.filter(bill=bill).count() == 1
    assert CheckoutRequest.objects.filter(key="key-1").count() == 1


def test_the_same_key_with_another_body_is_refused(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    other = make_bill(world, shop.li, [(shop.filling, 1)])
    pay(world, bill, Tender("cash", D("100.00")), key="key-2")

    with pytest.raises(Conflict) as amount:
        pay(world, bill, Tender("cash", D("101.00")), key="key-2")
    with pytest.raises(Conflict) as elsewhere:
        pay(world, other, Tender("cash", D("100.00")), key="key-2")

    assert amount.value.code == elsewhere.value.code == "idempotency_mismatch"
    assert Payment.objects.count() == 1


def test_a_refused_request_does_not_burn_its_key(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.registration, 1)], confirm=False)
    with pytest.raises(Conflict):
        pay(world, bill, Tender("cash", D("20.00")), key="key-3")
    bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)

    checkout = pay(world, bill, Tender("cash", D("20.00")), key="key-3")

    assert not checkout.replayed
    assert checkout.bill.arrears == D("0.00")


def test_no_money_on_a_closed_day(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    daily_close(actor=world.frontdesk, clinic=world.clinic1, business_date=date(2026, 9, 14))

    with pytest.raises(Conflict) as error:
        pay(world, bill, Tender("cash", D("10.00")))

    assert error.value.code == "day_closed"
    bill.refresh_from_db()
    assert bill.paid_total == D("0.00")
