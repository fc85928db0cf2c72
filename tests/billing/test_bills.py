"""Bills: numbering, the visit's draft, lines (prices, self-paid, drafts only), confirm, void."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from chairside.billing.models import Bill, BillLine
from chairside.billing.services.bills import (
    bill_confirm,
    bill_create,
    bill_line_add,
    bill_line_remove,
    bill_line_update,
    bill_open_for_visit,
    bill_void,
)
from chairside.billing.services.payments import Tender, bill_pay
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from tests.billing.conftest import SHANGHAI, Clock, Shop, make_bill
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")


def test_bills_are_numbered_per_clinic_and_day(world: World, shop: Shop, clock: Clock) -> None:
    first = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)
    second = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li)
    other = bill_create(actor=world.boss, clinic=world.clinic2, patient=shop.wang)
    clock.set(datetime(2026, 9, 15, 9, 0, tzinfo=SHANGHAI))
    next_day = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)

    assert [first.number, second.number] == ["C1-20260914-0001", "C1-20260914-0002"]
    assert other.number == "C2-20260914-0001"
    assert next_day.number == "C1-20260915-0001"
    assert AuditEntry.objects.filter(entity_type="billing.bill", action="create").count() == 4


def test_the_visit_bill_is_todays_draft_or_a_new_one(
    world: World, shop: Shop, clock: Clock
) -> None:
    opened = bill_open_for_visit(actor=world.doctor, clinic=world.clinic1, patient=shop.zhang)
    again = bill_open_for_visit(actor=world.doctor, clinic=world.clinic1, patient=shop.zhang)
    elsewhere = bill_open_for_visit(actor=world.boss, clinic=world.clinic2, patient=shop.zhang)
    clock.set(datetime(2026, 9, 15, 9, 0, tzinfo=SHANGHAI))
    tomorrow = bill_open_for_visit(actor=world.doctor, clinic=world.clinic1, patient=shop.zhang)

    assert again.pk == opened.pk
    assert elsewhere.pk != opened.pk
    assert tomorrow.pk != opened.pk


def test_a_confirmed_bill_is_not_reused_for_the_visit(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.registration, 1)])

    opened = bill_open_for_visit(actor=world.doctor, clinic=world.clinic1, patient=shop.zhang)

    assert opened.pk != bill.pk
    assert opened.status == Bill.Status.DRAFT


def test_lines_copy_the_catalogue_at_the_clinics_price(world: World, shop: Shop) -> None:
    bill = bill_create(actor=world.boss, clinic=world.clinic2, patient=shop.wang)

    line = bill_line_add(
        actor=world.boss,
        clinic=world.clinic2,
        bill=bill,
        item=shop.cleaning,
        quantity=2,
        teeth=[16, 17],
        doctor=world.doctor,
    )
    shop.cleaning.name = "Renamed"
    shop.cleaning.save()
    line.refresh_from_db()
    bill.refresh_from_db()

    assert (line.name, line.category, line.unit_price, line.amount) == (
        "洁治",
        "basic",
        Decimal("180.00"),
        Decimal("360.00"),
    )
    assert line.teeth.codes == (16, 17)
    assert (bill.total, bill.discount_total, bill.arrears) == (
        Decimal("360.00"),
        Decimal("0.00"),
        Decimal("360.00"),
    )


def test_a_retired_item_cannot_be_charged(world: World, shop: Shop) -> None:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)

    with pytest.raises(ValidationFailed) as error:
        bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.retired)

    assert error.value.code == "item_inactive"


def test_only_insured_items_may_be_self_paid(world: World, shop: Shop) -> None:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)

    insured = bill_line_add(
        actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.xray, self_paid=True
    )
    with pytest.raises(ValidationFailed) as error:
        bill_line_add(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            item=shop.cleaning,
            self_paid=True,
        )

    assert insured.self_paid
    assert insured.insurance_code == "YB-0101"
    assert error.value.code == "not_insured"


def test_lines_change_and_go_while_the_bill_is_a_draft(world: World, shop: Shop) -> None:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)
    filling = bill_line_add(
        actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.filling
    )
    reg = bill_line_add(
        actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.registration
    )

    bill_line_update(actor=world.frontdesk, clinic=world.clinic1, line=filling, quantity=3)
    bill_line_remove(actor=world.frontdesk, clinic=world.clinic1, line=reg)
    bill.refresh_from_db()

    assert list(BillLine.objects.filter(bill=bill).values_list("amount", flat=True)) == [
        Decimal("900.00")
    ]
    assert bill.total == Decimal("900.00")


def test_a_confirmed_bill_is_fixed(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)])
    line = BillLine.objects.get(bill=bill)

    with pytest.raises(Conflict) as added:
        bill_line_add(actor=world.frontdesk, clinic=world.clinic1, bill=bill, item=shop.filling)
    with pytest.raises(Conflict):
        bill_line_update(actor=world.frontdesk, clinic=world.clinic1, line=line, quantity=2)
    with pytest.raises(Conflict):
        bill_line_remove(actor=world.frontdesk, clinic=world.clinic1, line=line)
    with pytest.raises(Conflict):
        bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)

    assert added.value.code == "bill_not_draft"
    assert (bill.status, bill.arrears, bill.confirmed_by) == (
        "confirmed",
        Decimal("300.00"),
        world.frontdesk,
    )


def test_an_empty_bill_cannot_be_confirmed(world: World, shop: Shop) -> None:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)

    with pytest.raises(ValidationFailed) as error:
        bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)

    assert error.value.code == "bill_empty"


def test_a_bill_is_acted_on_only_in_its_clinic(world: World, shop: Shop) -> None:
    bill = make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)

    with pytest.raises(NotFound):
        bill_line_add(actor=world.boss, clinic=world.clinic2, bill=bill, item=shop.filling)
    with pytest.raises(NotFound):
        bill_confirm(actor=world.boss, clinic=world.clinic2, bill=bill)


def test_void_only_without_money(world: World, shop: Shop) -> None:
    unpaid = make_bill(world, shop.zhang, [(shop.filling, 1)])
    paid = make_bill(world, shop.li, [(shop.filling, 1)])
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=paid,
        tenders=[Tender("cash", Decimal("10.00"))],
    )

    voided = bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=unpaid, reason="Typo")
    with pytest.raises(Conflict) as refused:
        bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=paid, reason="Oops")
    with pytest.raises(ValidationFailed):
        bill_void(actor=world.frontdesk, clinic=world.clinic1, bill=paid, reason=" ")

    assert (voided.status, voided.void_reason, voided.voided_by) == (
        "void",
        "Typo",
        world.frontdesk,
    )
    assert refused.value.code == "bill_has_payments"
