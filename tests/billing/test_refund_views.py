"""Refund pages: a request from the cashier screen never above what its method can give back;
the queue where a manager pays it back or rejects it; strangers get 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chairside.billing.models import Bill, Payment, PaymentMethod, Refund
from chairside.billing.services.payments import Tender, bill_pay
from chairside.core.models import Staff
from tests.billing.conftest import Shop
from tests.billing.test_cashier_views import Signer, confirmed, text
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


@pytest.fixture
def desk(world: World, as_staff: Signer) -> Client:
    return as_staff(world.frontdesk)


@pytest.fixture
def paid(world: World, shop: Shop) -> Bill:
    """¥300 confirmed and paid: ¥200 cash + ¥100 WeChat."""
    bill = confirmed(world, shop)
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[
            Tender(PaymentMethod.CASH, Decimal("200")),
            Tender(PaymentMethod.WECHAT, Decimal("100")),
        ],
    )
    bill.refresh_from_db()
    return bill


def ask(client: Client, bill: Bill, method: str, amount: str, reason: str = "多收") -> Any:
    return client.post(
        reverse("billing:refund_request", args=[bill.pk]),
        {"method": method, "amount": amount, "reason": reason},
    )


def test_the_form_offers_only_what_each_method_can_give_back(
    world: World, shop: Shop, paid: Bill, desk: Client
) -> None:
    page = text(desk.get(reverse("billing:bill", args=[paid.pk])))
    assert "Request refund" in page
    assert "Cash ¥200.00" in page
    assert "WeChat Pay ¥100.00" in page
    assert "Alipay" not in page.split("Can be refunded")[1].split("Reason")[0]


def test_a_front_desk_request_waits_for_approval(
    world: World, shop: Shop, paid: Bill, desk: Client, as_staff: Signer
) -> None:
    response = ask(desk, paid, "wechat", "30")
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.method, refund.amount, refund.status) == (
        "wechat",
        Decimal("30.00"),
        Refund.Status.REQUESTED,
    )
    assert refund.requested_by == world.frontdesk
    assert not Payment.objects.filter(kind=Payment.Kind.BILL_REFUND).exists()
    # In the queue; the front desk may not approve it.
    queue = desk.get(reverse("billing:refunds"))
    assert paid.number in text(queue)
    assert "Approve and pay back" not in text(queue)
    assert desk.post(reverse("billing:refund_approve", args=[refund.pk])).status_code == 403
    # The manager pays it back: a negative WeChat row of the bill.
    manager = as_staff(shop.manager)
    assert "Approve and pay back" in text(manager.get(reverse("billing:refunds")))
    done = manager.post(reverse("billing:refund_approve", args=[refund.pk]))
    assert done.status_code == 302
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REFUNDED
    assert refund.decided_by == shop.manager
    row = Payment.objects.get(kind=Payment.Kind.BILL_REFUND)
    assert (row.method, row.amount) == ("wechat", Decimal("-30.00"))
    paid.refresh_from_db()
    assert paid.refunded_total == Decimal("30.00")
    assert "No refund awaits approval." in text(manager.get(reverse("billing:refunds")))


def test_a_manager_refunds_at_once(shop: Shop, paid: Bill, as_staff: Signer) -> None:
    ask(as_staff(shop.manager), paid, "cash", "50")
    refund = Refund.objects.get()
    assert refund.status == Refund.Status.REFUNDED
    assert Payment.objects.filter(kind=Payment.Kind.BILL_REFUND, amount=Decimal("-50")).exists()


def test_never_more_than_the_method_took(
    world: World, shop: Shop, paid: Bill, desk: Client
) -> None:
    too_much = ask(desk, paid, "wechat", "100.01")
    assert too_much.status_code == 400
    assert "At most ¥100.00 can be refunded by this method." in text(too_much)
    unused = ask(desk, paid, "alipay", "1")
    assert unused.status_code == 400
    # A pending request counts against what is left.
    ask(desk, paid, "wechat", "80")
    rest = ask(desk, paid, "wechat", "30")
    assert rest.status_code == 400
    assert Refund.objects.count() == 1


def test_a_refund_needs_a_reason(world: World, shop: Shop, paid: Bill, desk: Client) -> None:
    response = ask(desk, paid, "cash", "10", reason="")
    assert response.status_code == 400
    assert not Refund.objects.exists()


def test_reject_with_a_note(
    world: World, shop: Shop, paid: Bill, desk: Client, as_staff: Signer
) -> None:
    ask(desk, paid, "cash", "10")
    refund = Refund.objects.get()
    manager = as_staff(shop.manager)
    without_note = manager.post(reverse("billing:refund_reject", args=[refund.pk]), {"note": ""})
    assert without_note.status_code == 302
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REQUESTED
    manager.post(reverse("billing:refund_reject", args=[refund.pk]), {"note": "已核实无误"})
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REJECTED
    assert refund.decision_note == "已核实无误"
    assert not Payment.objects.filter(kind=Payment.Kind.BILL_REFUND).exists()
    everything = text(manager.get(reverse("billing:refunds"), {"status": "all"}))
    assert "已核实无误" in everything


def test_the_empty_queue(desk: Client) -> None:
    response = desk.get(reverse("billing:refunds"))
    assert response.status_code == 200
    assert "No refund awaits approval." in text(response)
    assert "No refunds here." in text(desk.get(reverse("billing:refunds"), {"status": "rejected"}))


def test_strangers_cannot_reach_refunds(
    world: World, shop: Shop, paid: Bill, desk: Client, as_staff: Signer
) -> None:
    ask(desk, paid, "cash", "10")
    refund = Refund.objects.get()
    boss_b = as_staff(world.boss_b)
    assert paid.number not in text(boss_b.get(reverse("billing:refunds")))
    assert boss_b.post(reverse("billing:refund_approve", args=[refund.pk])).status_code == 404
    assert (
        boss_b.post(reverse("billing:refund_reject", args=[refund.pk]), {"note": "x"}).status_code
        == 404
    )
    assert ask(boss_b, paid, "cash", "10").status_code == 404
    refund.refresh_from_db()
    assert refund.status == Refund.Status.REQUESTED
    # A doctor reads bills but asks no refunds.
    assert ask(as_staff(world.doctor), paid, "cash", "10").status_code == 403
    assert Refund.objects.count() == 1
