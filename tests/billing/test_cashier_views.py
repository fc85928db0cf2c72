"""The cashier desk pages: today's bills, opening a bill, the cashier screen (lines, the
discount pipeline in its order, confirm, split payment with change, void) — each form
changes what the services say, strangers get 404 and the unpermitted 403."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chairside.billing.models import Bill, BillDiscount, BillLine, Payment, PaymentMethod
from chairside.billing.services.bills import bill_confirm, bill_create, bill_line_add
from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from tests.billing.conftest import NOW, Shop
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")

Signer = Callable[[Staff], Client]


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


def text(response: Any) -> str:
    """The page's text without tags and with spaces folded."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def draft(world: World, shop: Shop, *items: Any) -> Bill:
    """A draft of Zhang at clinic 1 with `items` (default: a filling), made "today"."""
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)
    for item in items or (shop.filling,):
        bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=item)
    # The model's default clock is the real one; bills of the test's day are made now.
    Bill.objects.filter(pk=bill.pk).update(created_at=NOW)
    bill.refresh_from_db()
    return bill


def confirmed(world: World, shop: Shop, *items: Any) -> Bill:
    bill = draft(world, shop, *items)
    return bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)


def bill_url(bill: Bill, name: str = "billing:bill", *more: int) -> str:
    return reverse(name, args=[bill.pk, *more])


# --- today's bills ---------------------------------------------------------------------------


def test_an_empty_day_says_so(desk: Client) -> None:
    response = desk.get(reverse("billing:cashier"))
    assert response.status_code == 200
    page = text(response)
    assert "No bill waits to be settled." in page
    assert "Nobody owes anything on today's bills." in page
    assert "No bill is settled yet today." in page
    assert "New bill" in page


def test_today_sorts_bills_into_to_settle_arrears_and_settled(
    world: World, shop: Shop, desk: Client
) -> None:
    open_one = draft(world, shop)
    owing = confirmed(world, shop, shop.cleaning)
    response = desk.get(reverse("billing:cashier"))
    html = response.content.decode()
    to_settle = html.split("Confirmed with arrears")[0]
    assert open_one.number in to_settle
    assert owing.number in html.split("Confirmed with arrears")[1].split("Settled")[0]


def test_search_finds_bills_by_patient(world: World, shop: Shop, desk: Client) -> None:
    bill = draft(world, shop)
    found = desk.get(reverse("billing:cashier"), {"q": "张三"})
    assert bill.number in text(found)
    missing = desk.get(reverse("billing:cashier"), {"q": "nobody-like-this"})
    assert "No bill matches this search." in text(missing)


def test_a_doctor_sees_bills_but_cannot_open_one(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    doctor = as_staff(world.doctor)
    response = doctor.get(reverse("billing:cashier"))
    assert response.status_code == 200
    assert "Open bill" not in text(response)
    refused = doctor.post(reverse("billing:bill_new"), {"patient_id": shop.zhang.pk})
    assert refused.status_code == 403
    assert not Bill.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(db: None) -> None:
    response = Client().get(reverse("billing:cashier"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_new_bill_opens_todays_draft_once(world: World, shop: Shop, desk: Client) -> None:
    first = desk.post(reverse("billing:bill_new"), {"patient_id": shop.zhang.pk})
    assert first.status_code == 302
    bill = Bill.objects.get()
    assert first["Location"] == bill_url(bill)
    assert bill.status == Bill.Status.DRAFT
    assert bill.clinic == world.clinic1
    again = desk.post(reverse("billing:bill_new"), {"patient_id": shop.zhang.pk})
    assert again["Location"] == bill_url(bill)
    assert Bill.objects.count() == 1


def test_new_bill_for_another_organizations_patient_is_refused(shop: Shop, desk: Client) -> None:
    response = desk.post(reverse("billing:bill_new"), {"patient_id": shop.patient_b.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:cashier")
    assert not Bill.objects.exists()


# --- the cashier screen ----------------------------------------------------------------------


def test_the_cashier_screen_shows_the_bill(world: World, shop: Shop, desk: Client) -> None:
    bill = draft(world, shop, shop.registration, shop.xray)
    response = desk.get(bill_url(bill))
    assert response.status_code == 200
    page = text(response)
    assert bill.number in page
    assert "张三" in page
    assert "挂号费" in page
    assert "全景片" in page
    assert "Add item" in page
    assert "Confirm bill" in page
    # The pipeline's three steps, always in this order.
    discounts = page[page.index("Discounts, in the order applied") :]
    tier, coupon, manual = (
        discounts.index(s) for s in ("Member tier discount", "Coupon", "Manual discount")
    )
    assert tier < coupon < manual
    assert "No items yet" not in page


def test_an_empty_draft_says_what_to_do(world: World, shop: Shop, desk: Client) -> None:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)
    page = text(desk.get(bill_url(bill)))
    assert "No items yet. Add the first one below." in page
    assert "Payments" not in page  # a draft has none to show yet


def test_strangers_get_404(world: World, shop: Shop, as_staff: Signer) -> None:
    bill = draft(world, shop)
    assert as_staff(world.boss_b).get(bill_url(bill)).status_code == 404
    assert as_staff(shop.frontdesk2).get(bill_url(bill)).status_code == 404
    assert as_staff(world.frontdesk).get(reverse("billing:bill", args=[999_999])).status_code == 404
    posted = as_staff(world.boss_b).post(
        bill_url(bill, "billing:bill_line_add"), {"item_id": shop.item_b.pk, "quantity": 1}
    )
    assert posted.status_code == 404
    assert BillLine.objects.filter(bill=bill).count() == 1


def test_adding_a_line_from_the_catalogue(world: World, shop: Shop, desk: Client) -> None:
    bill = draft(world, shop)
    response = desk.post(
        bill_url(bill, "billing:bill_line_add"),
        {
            "item_id": shop.filling.pk,
            "quantity": 2,
            "teeth": "16, 17",
            "doctor_id": world.doctor.pk,
        },
    )
    assert response.status_code == 302
    line = BillLine.objects.filter(bill=bill).order_by("id").last()
    assert line is not None
    assert (line.quantity, str(line.teeth), line.doctor) == (2, "16,17", world.doctor)
    bill.refresh_from_db()
    assert bill.total == Decimal("900.00")


def test_a_bad_line_shows_its_errors(world: World, shop: Shop, desk: Client) -> None:
    bill = draft(world, shop)
    bad_teeth = desk.post(
        bill_url(bill, "billing:bill_line_add"), {"item_id": shop.filling.pk, "teeth": "19"}
    )
    assert bad_teeth.status_code == 400
    foreign = desk.post(
        bill_url(bill, "billing:bill_line_add"), {"item_id": shop.item_b.pk, "quantity": 1}
    )
    assert foreign.status_code == 400
    assert "Catalogue item not found." in text(foreign)
    retired = desk.post(
        bill_url(bill, "billing:bill_line_add"), {"item_id": shop.retired.pk, "quantity": 1}
    )
    assert retired.status_code == 400
    assert "no longer offered" in text(retired)
    assert BillLine.objects.filter(bill=bill).count() == 1


def test_an_insured_line_can_be_made_self_paid_and_removed(
    world: World, shop: Shop, desk: Client
) -> None:
    bill = draft(world, shop, shop.xray)
    line = BillLine.objects.get(bill=bill)
    desk.post(bill_url(bill, "billing:bill_line_update", line.pk), {"self_paid": "true"})
    line.refresh_from_db()
    assert line.self_paid
    desk.post(bill_url(bill, "billing:bill_line_update", line.pk), {"quantity": "3"})
    line.refresh_from_db()
    assert (line.quantity, line.amount) == (3, Decimal("150.00"))
    desk.post(bill_url(bill, "billing:bill_line_remove", line.pk))
    assert not BillLine.objects.filter(bill=bill).exists()


def test_item_suggestions_come_from_the_own_catalogue(shop: Shop, desk: Client) -> None:
    response = desk.get(reverse("billing:item_pick"), {"q": "洁治"})
    assert response.status_code == 200
    page = text(response)
    assert "洁治" in page
    assert "B 洁治" not in page


def test_a_small_manual_discount_applies_at_once(world: World, shop: Shop, desk: Client) -> None:
    bill = draft(world, shop)  # ¥300; the limit is 10 %
    response = desk.post(
        bill_url(bill, "billing:bill_discounts"),
        {"manual_kind": "amount", "manual_value": "20", "reason": "老客户"},
    )
    assert response.status_code == 302
    bill.refresh_from_db()
    assert bill.discount_total == Decimal("20.00")
    discount = BillDiscount.objects.get(bill=bill)
    assert discount.status == BillDiscount.Status.APPROVED


def test_a_large_manual_discount_waits_for_a_manager(
    world: World, shop: Shop, desk: Client, as_staff: Signer
) -> None:
    bill = draft(world, shop)
    desk.post(
        bill_url(bill, "billing:bill_discounts"),
        {"manual_kind": "percent", "manual_value": "30", "reason": "员工家属"},
    )
    discount = BillDiscount.objects.get(bill=bill)
    assert discount.status == BillDiscount.Status.PENDING
    page = text(desk.get(bill_url(bill)))
    assert "Awaiting approval" in page
    refused = desk.post(bill_url(bill, "billing:bill_confirm"))
    assert refused.status_code == 302
    bill.refresh_from_db()
    assert bill.status == Bill.Status.DRAFT
    assert "awaits approval" in text(desk.get(bill_url(bill)))
    # The front desk may not approve; the clinic manager may.
    no = desk.post(bill_url(bill, "billing:bill_discount_approve", discount.pk))
    assert no.status_code == 403
    yes = as_staff(shop.manager).post(bill_url(bill, "billing:bill_discount_approve", discount.pk))
    assert yes.status_code == 302
    discount.refresh_from_db()
    assert discount.status == BillDiscount.Status.APPROVED
    assert discount.approved_by == shop.manager
    desk.post(bill_url(bill, "billing:bill_confirm"))
    bill.refresh_from_db()
    assert bill.status == Bill.Status.CONFIRMED
    assert bill.arrears == Decimal("210.00")


def test_a_discount_form_without_a_reason_is_refused(
    world: World, shop: Shop, desk: Client
) -> None:
    bill = draft(world, shop)
    response = desk.post(
        bill_url(bill, "billing:bill_discounts"), {"manual_kind": "amount", "manual_value": "5"}
    )
    assert response.status_code == 400
    assert "Give a reason for the manual discount." in text(response)
    assert not BillDiscount.objects.filter(bill=bill).exists()


def test_confirm_fixes_the_amounts(world: World, shop: Shop, desk: Client) -> None:
    bill = draft(world, shop)
    response = desk.post(bill_url(bill, "billing:bill_confirm"))
    assert response.status_code == 302
    bill.refresh_from_db()
    assert bill.status == Bill.Status.CONFIRMED
    assert bill.arrears == Decimal("300.00")
    page = text(desk.get(bill_url(bill)))
    assert "Take payment" in page
    assert "Nothing paid yet." in page
    assert "Add item" not in page


def pay(client: Client, bill: Bill, rows: list[dict[str, str]], key: str = "") -> Any:
    data: dict[str, Any] = {"idempotency_key": key}
    for field in ("method", "amount", "tendered", "reference", "account"):
        data[field] = [row.get(field, "") for row in rows]
    return client.post(bill_url(bill, "billing:bill_pay"), data)


def test_a_split_payment_with_change(world: World, shop: Shop, desk: Client) -> None:
    bill = confirmed(world, shop)  # ¥300 due
    response = pay(
        desk,
        bill,
        [
            {"method": "cash", "amount": "200", "tendered": "250"},
            {"method": "wechat", "amount": "60", "reference": "WX-1"},
        ],
        key="page-load-1",
    )
    assert response.status_code == 302
    bill.refresh_from_db()
    assert (bill.paid_total, bill.arrears) == (Decimal("260.00"), Decimal("40.00"))
    rows = {p.method: p for p in Payment.objects.filter(bill=bill)}
    assert rows["cash"].tendered == Decimal("250.00")
    assert rows["wechat"].reference == "WX-1"
    page = text(desk.get(bill_url(bill)))
    assert "change due ¥50.00" in page
    assert "¥40.00" in page  # arrears left


def test_a_double_submit_charges_once(world: World, shop: Shop, desk: Client) -> None:
    bill = confirmed(world, shop)
    rows = [{"method": "cash", "amount": "100"}]
    pay(desk, bill, rows, key="same-page")
    again = pay(desk, bill, rows, key="same-page")
    assert again.status_code == 302
    assert Payment.objects.filter(bill=bill).count() == 1
    bill.refresh_from_db()
    assert bill.paid_total == Decimal("100.00")
    assert "nothing was charged again" in text(desk.get(bill_url(bill)))


def test_a_payment_with_bad_rows_charges_nothing(world: World, shop: Shop, desk: Client) -> None:
    bill = confirmed(world, shop)
    short_cash = pay(desk, bill, [{"method": "cash", "amount": "100", "tendered": "50"}])
    assert short_cash.status_code == 400
    assert "less than the amount" in text(short_cash)
    too_much = pay(desk, bill, [{"method": "wechat", "amount": "500"}])
    assert too_much.status_code in (400, 409)
    nothing = pay(desk, bill, [{"method": "cash", "amount": ""}])
    assert nothing.status_code == 400
    assert "Enter at least one payment." in text(nothing)
    no_card = pay(desk, bill, [{"method": "stored_value", "amount": "10", "account": "1"}])
    assert no_card.status_code == 400
    assert not Payment.objects.filter(bill=bill).exists()


def test_a_doctor_cannot_take_money(world: World, shop: Shop, as_staff: Signer) -> None:
    bill = confirmed(world, shop)
    response = pay(as_staff(world.doctor), bill, [{"method": "cash", "amount": "10"}])
    assert response.status_code == 403
    assert not Payment.objects.exists()
    assert as_staff(world.doctor).get(bill_url(bill)).status_code == 200


def test_void_needs_a_reason_and_leaves_the_bill_on_file(
    world: World, shop: Shop, desk: Client
) -> None:
    bill = draft(world, shop)
    no_reason = desk.post(bill_url(bill, "billing:bill_void"), {"reason": ""})
    assert no_reason.status_code == 400
    done = desk.post(bill_url(bill, "billing:bill_void"), {"reason": "开错了"})
    assert done.status_code == 302
    bill.refresh_from_db()
    assert bill.status == Bill.Status.VOID
    assert bill.void_reason == "开错了"
    page = text(desk.get(bill_url(bill)))
    assert "开错了" in page
    assert "Void this bill" not in page


def test_a_paid_bill_cannot_be_voided(world: World, shop: Shop, desk: Client) -> None:
    bill = confirmed(world, shop)
    pay(desk, bill, [{"method": "cash", "amount": "10"}])
    assert "Void this bill" not in text(desk.get(bill_url(bill)))
    desk.post(bill_url(bill, "billing:bill_void"), {"reason": "x"})
    bill.refresh_from_db()
    assert bill.status == Bill.Status.CONFIRMED


def test_payment_methods_offered_without_a_card(world: World, shop: Shop, desk: Client) -> None:
    bill = confirmed(world, shop)
    html = desk.get(bill_url(bill)).content.decode()
    config = re.search(r'id="payment-config"[^>]*>(.*?)</script>', html, re.S)
    assert config is not None
    assert '"value": "cash"' in config.group(1)
    assert '"value": "wechat"' in config.group(1)
    # Zhang has no stored-value card: the method is not offered.
    assert '"value": "stored_value"' not in config.group(1)
    assert str(PaymentMethod.STORED_VALUE.label) not in config.group(1)


def test_other_clinics_bills_are_not_on_todays_list(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    with tenant_scope(world.org, world.clinic2):
        other = bill_create(actor=world.boss, clinic=world.clinic2, patient=shop.wang)
    Bill.objects.filter(pk=other.pk).update(created_at=NOW)
    page = text(as_staff(world.frontdesk).get(reverse("billing:cashier")))
    assert other.number not in page
