"""Cashiers racing on PostgreSQL with real threads: concurrent payments never overpay a bill,
retries with one idempotency key charge once, concurrent refunds never exceed what was paid
by the method, and a daily close never misses a payment recorded at the same moment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Sum

from chairside.billing.models import Bill, CheckoutRequest, DailyClose, Payment, Refund
from chairside.billing.services.close import daily_close
from chairside.billing.services.payments import Checkout, Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from tests.billing.conftest import NOW, Shop, make_bill
from tests.concurrency import run_concurrently
from tests.conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal


def _bill(world: World, shop: Shop, fillings: int) -> Bill:
    with tenant_scope(world.org, world.clinic1):
        return make_bill(world, shop.zhang, [(shop.filling, fillings)])


def _pay(world: World, bill: Bill, amount: str, key: str | None = None) -> Checkout:
    with tenant_scope(world.org, world.clinic1):
        return bill_pay(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            tenders=[Tender("cash", D(amount))],
            idempotency_key=key,
        )


def _fresh(world: World, bill: Bill) -> Bill:
    with tenant_scope(world.org):
        return Bill.objects.get(pk=bill.pk)


def _ledger_sum(world: World, **filters: Any) -> Decimal:
    with tenant_scope(world.org):
        return Payment.objects.filter(**filters).aggregate(s=Sum("amount"))["s"] or D(0)


def test_twenty_concurrent_payments_never_overpay(world: World, shop: Shop) -> None:
    bill = _bill(world, shop, 3)  # 900 due; 20 x 70 would be 1400

    results = run_concurrently(lambda i: _pay(world, bill, "70.00"), 20)

    paid = [r for r in results if isinstance(r, Checkout)]
    refused = [r for r in results if not isinstance(r, Checkout)]
    assert len(paid) == 12  # 12 x 70 = 840; a 13th would make 910
    assert all(isinstance(r, Conflict) and r.code == "overpayment" for r in refused), refused
    bill = _fresh(world, bill)
    assert (bill.paid_total, bill.arrears) == (D("840.00"), D("60.00"))
    assert bill.paid_total + bill.arrears == bill.net_total
    assert _ledger_sum(world, bill=bill) == D("840.00")


def test_ten_retries_with_one_key_charge_once(world: World, shop: Shop) -> None:
    bill = _bill(world, shop, 1)

    results = run_concurrently(lambda i: _pay(world, bill, "100.00", key="retry-1"), 10)

    assert all(isinstance(r, Checkout) for r in results), results
    assert sum(not r.replayed for r in results) == 1
    assert {tuple(p.pk for p in r.payments) for r in results} == {
        tuple(p.pk for p in results[0].payments)
    }
    with tenant_scope(world.org):
        assert Payment.objects.filter(bill=bill).count() == 1
        assert CheckoutRequest.objects.filter(key="retry-1").count() == 1
    assert _fresh(world, bill).paid_total == D("100.00")


def test_concurrent_refunds_never_exceed_what_the_method_paid(world: World, shop: Shop) -> None:
    bill = _bill(world, shop, 2)
    with tenant_scope(world.org, world.clinic1):
        bill_pay(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            tenders=[Tender("cash", D("250")), Tender("wechat", D("350"))],
        )

    def refund(i: int) -> Refund:
        with tenant_scope(world.org, world.clinic1):
            return refund_request(
                actor=shop.manager,
                clinic=world.clinic1,
                bill=bill,
                method="cash",
                amount=D("60"),
                reason="Race",
                can_approve=i % 2 == 0,  # half paid out at once, half waiting
            )

    results = run_concurrently(refund, 10)

    made = [r for r in results if isinstance(r, Refund)]
    refused = [r for r in results if not isinstance(r, Refund)]
    assert len(made) == 4  # 4 x 60 = 240 of the 250 paid in cash
    assert all(isinstance(r, Conflict) and r.code == "refund_exceeds_paid" for r in refused)
    bill = _fresh(world, bill)
    assert -_ledger_sum(world, bill=bill, kind="bill_refund") == bill.refunded_total
    assert bill.refunded_total <= D("250")
    assert _ledger_sum(world, bill=bill, method="cash") >= 0


def test_a_close_racing_payments_counts_every_payment_of_the_day(world: World, shop: Shop) -> None:
    bills = [_bill(world, shop, 1) for _ in range(8)]

    def act(i: int) -> Any:
        if i == 8:
            with tenant_scope(world.org, world.clinic1):
                return daily_close(
                    actor=shop.manager, clinic=world.clinic1, business_date=NOW.date()
                )
        return _pay(world, bills[i], "100.00")

    results = run_concurrently(act, 9)

    close = results[8]
    assert isinstance(close, DailyClose), close
    paid = [r for r in results[:8] if isinstance(r, Checkout)]
    refused = [r for r in results[:8] if not isinstance(r, Checkout)]
    assert all(isinstance(r, Conflict) and r.code == "day_closed" for r in refused), refused
    with tenant_scope(world.org):
        rows = Payment.objects.filter(clinic=world.clinic1, business_date=NOW.date())
        # Every payment that got in was counted and stamped by the close.
        assert rows.count() == len(paid)
        assert not rows.filter(daily_close__isnull=True).exists()
    assert close.received_total == D("100.00") * len(paid)
