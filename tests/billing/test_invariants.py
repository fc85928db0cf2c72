"""The money invariants of a bill under any sequence of cashier actions (hypothesis):

- paid_total + arrears == total - discount_total, arrears >= 0;
- the bill's totals equal its ledger (Payment rows);
- per method, refunded <= paid, and refunded + pending requests <= paid.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chairside.billing.discounts import ManualDiscount
from chairside.billing.models import Bill, BillLine, Payment, Refund
from chairside.billing.selectors.bills import money_by_method
from chairside.billing.services.bills import bill_confirm, bill_discounts_apply
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_approve, refund_reject, refund_request
from chairside.core.errors import DomainError
from tests.billing.conftest import Shop, make_bill
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

METHODS = ["cash", "wechat", "alipay", "bank_card", "insurance"]
money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("400"), places=2)

operation = st.one_of(
    st.tuples(st.just("pay"), st.lists(st.tuples(st.sampled_from(METHODS), money), max_size=3)),
    st.tuples(st.just("refund"), st.sampled_from(METHODS), money, st.booleans()),
    st.tuples(st.just("decide"), st.booleans()),
)


def check(bill: Bill) -> None:
    bill.refresh_from_db()
    assert bill.paid_total + bill.arrears == bill.total - bill.discount_total
    assert bill.arrears >= 0
    assert 0 <= bill.refunded_total <= bill.paid_total
    ledger = Payment.objects.filter(bill=bill)
    paid = ledger.filter(kind="bill_payment").aggregate(s=Sum("amount"))["s"] or 0
    refunded = -(ledger.filter(kind="bill_refund").aggregate(s=Sum("amount"))["s"] or 0)
    assert (bill.paid_total, bill.refunded_total) == (paid, refunded)
    lines = BillLine.objects.filter(bill=bill)
    assert bill.total == sum((line.amount for line in lines), Decimal(0))
    assert bill.discount_total == sum((line.discount for line in lines), Decimal(0))
    assert all(0 <= line.discount <= line.amount for line in lines)
    for method in money_by_method(bill).values():
        assert 0 <= method.refunded <= method.paid
        assert method.refunded + method.pending <= method.paid


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantities=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    manual=st.one_of(st.none(), st.decimals(min_value=Decimal(1), max_value=Decimal(50), places=0)),
    operations=st.lists(operation, max_size=12),
)
def test_money_invariants_hold_under_any_sequence(
    world: World,
    shop: Shop,
    quantities: list[int],
    manual: Decimal | None,
    operations: list[tuple],  # type: ignore[type-arg]
) -> None:
    items = [shop.filling, shop.xray, shop.cleaning]
    bill = make_bill(world, shop.zhang, list(zip(items, quantities, strict=False)), confirm=False)
    if manual is not None:
        bill_discounts_apply(
            actor=shop.manager,
            clinic=world.clinic1,
            bill=bill,
            manual=ManualDiscount(reason="Test", percent=manual),
            can_approve=True,
        )
    bill = bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    check(bill)
    for op in operations:
        try:
            if op[0] == "pay":
                bill_pay(
                    actor=world.frontdesk,
                    clinic=world.clinic1,
                    bill=bill,
                    tenders=[Tender(method, amount) for method, amount in op[1]],
                )
            elif op[0] == "refund":
                _, method, amount, approve = op
                refund_request(
                    actor=world.frontdesk,
                    clinic=world.clinic1,
                    bill=bill,
                    method=method,
                    amount=amount,
                    reason="Test",
                    can_approve=approve,
                )
            else:
                pending = Refund.objects.filter(bill=bill, status="requested").first()
                if pending is not None:
                    if op[1]:
                        refund_approve(actor=shop.manager, clinic=world.clinic1, refund=pending)
                    else:
                        refund_reject(
                            actor=shop.manager, clinic=world.clinic1, refund=pending, note="No"
                        )
        except DomainError:
            pass  # refused actions change nothing; the invariants below still hold
        check(bill)
