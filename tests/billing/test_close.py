"""Daily close: totals per method (in, out, net), per staff and per kind; rows stamped; once
per clinic and day; never a future day; nothing recorded on a closed day afterwards."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from chairside.billing.models import DailyClose, Payment
from chairside.billing.selectors.bills import daily_close_preview, daily_closes
from chairside.billing.services.close import daily_close
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.billing.services.stored_value import (
    stored_value_account_open,
    stored_value_top_up,
)
from chairside.core.errors import Conflict, ValidationFailed
from tests.billing.conftest import SHANGHAI, Clock, Shop, make_bill
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

D = Decimal
MONDAY = date(2026, 9, 14)


def a_day_of_money(world: World, shop: Shop) -> None:
    """Front desk: ¥300 bill paid 100 cash + 200 WeChat, ¥50 cash refunded by the manager;
    manager: ¥1000 top-up by Alipay. Clinic 2: ¥180 cash (not counted at clinic 1)."""
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[Tender("cash", D("100")), Tender("wechat", D("200"))],
    )
    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method="cash",
        amount=D("50"),
        reason="Overcharged",
        can_approve=True,
    )
    card = stored_value_account_open(actor=shop.manager, clinic=world.clinic1, owner=shop.li)
    stored_value_top_up(
        actor=shop.manager, clinic=world.clinic1, account=card, amount=D("1000"), method="alipay"
    )
    other = make_bill(
        world, shop.wang, [(shop.cleaning, 1)], clinic=world.clinic2, actor=world.boss
    )
    bill_pay(actor=world.boss, clinic=world.clinic2, bill=other, tenders=[Tender("cash", D("180"))])


def test_the_preview_adds_up_the_day(world: World, shop: Shop) -> None:
    a_day_of_money(world, shop)

    totals = daily_close_preview(world.clinic1, MONDAY)

    flows = {m: (f.money_in, f.money_out, f.net) for m, f in totals.by_method.items()}
    assert flows == {
        "cash": (D("100.00"), D("50.00"), D("50.00")),
        "wechat": (D("200.00"), D("0.00"), D("200.00")),
        "alipay": (D("1000.00"), D("0.00"), D("1000.00")),
    }
    staff = {s.name: (s.flow.money_in, s.flow.money_out) for s in totals.by_staff.values()}
    assert staff == {
        "Front Desk": (D("300.00"), D("0.00")),
        "Manager": (D("1000.00"), D("50.00")),
    }
    assert totals.by_kind == {
        "bill_payment": D("300.00"),
        "bill_refund": D("-50.00"),
        "top_up": D("1000.00"),
    }
    assert (totals.received, totals.refunded, totals.count) == (D("1300.00"), D("50.00"), 4)


def test_closing_freezes_the_totals_and_stamps_the_rows(world: World, shop: Shop) -> None:
    a_day_of_money(world, shop)

    close = daily_close(actor=shop.manager, clinic=world.clinic1, business_date=MONDAY)

    assert (close.received_total, close.refunded_total) == (D("1300.00"), D("50.00"))
    assert close.totals["by_method"]["cash"] == {"in": "100.00", "out": "50.00", "net": "50.00"}
    assert close.totals["by_kind"]["top_up"] == "1000.00"
    assert Payment.objects.filter(clinic=world.clinic1, daily_close=close).count() == 4
    assert not Payment.objects.filter(clinic=world.clinic2, daily_close__isnull=False).exists()
    assert list(daily_closes(clinic=world.clinic1)) == [close]


def test_a_day_closes_once_and_takes_no_more_money(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    daily_close(actor=shop.manager, clinic=world.clinic1, business_date=MONDAY)

    with pytest.raises(Conflict) as twice:
        daily_close(actor=shop.manager, clinic=world.clinic1, business_date=MONDAY)
    with pytest.raises(Conflict) as closed:
        bill_pay(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            tenders=[Tender("cash", D("1"))],
        )
    # Clinic 2's day is its own.
    daily_close(actor=world.boss, clinic=world.clinic2, business_date=MONDAY)

    assert twice.value.code == "day_already_closed"
    assert closed.value.code == "day_closed"
    assert DailyClose.objects.count() == 2


def test_the_next_day_is_open_again(world: World, shop: Shop, clock: Clock) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    daily_close(actor=shop.manager, clinic=world.clinic1, business_date=MONDAY)
    clock.set(datetime(2026, 9, 15, 9, 0, tzinfo=SHANGHAI))

    bill_pay(
        actor=world.frontdesk, clinic=world.clinic1, bill=bill, tenders=[Tender("cash", D("1"))]
    )

    assert Payment.objects.get(bill=bill).business_date == date(2026, 9, 15)


def test_a_future_day_cannot_be_closed(world: World, shop: Shop) -> None:
    with pytest.raises(ValidationFailed):
        daily_close(actor=shop.manager, clinic=world.clinic1, business_date=date(2026, 9, 15))


def test_an_empty_day_closes_with_zero_totals(world: World, shop: Shop) -> None:
    close = daily_close(
        actor=shop.manager, clinic=world.clinic1, business_date=date(2026, 9, 13), note="Sunday"
    )

    assert (close.received_total, close.refunded_total, close.note) == (D(0), D(0), "Sunday")
    assert close.totals["count"] == 0
