"""The money panel on the patient page: arrears, stored-value cards and recent bills, shown
to those who may see bills and to no one else."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django.urls import reverse

from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.stored_value import (
    stored_value_account_open,
    stored_value_top_up,
)
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from tests.billing.conftest import Shop, make_bill
from tests.conftest import PASSWORD, World


def _page(staff: object, patient_id: int) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff)  # type: ignore[arg-type]
    response = client.get(reverse("patients:detail", args=[patient_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_patient_page_shows_arrears_cards_and_bills(world: World, shop: Shop) -> None:
    with tenant_scope(world.org, world.clinic1):
        bill = make_bill(world, shop.zhang, [(shop.filling, 1), (shop.cleaning, 1)])
        bill_pay(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            tenders=[Tender(method="cash", amount=Decimal("120"))],
        )
        card = stored_value_account_open(
            actor=world.frontdesk, clinic=world.clinic1, owner=shop.zhang
        )
        stored_value_top_up(
            actor=world.frontdesk, clinic=world.clinic1, account=card, amount="500", method="wechat"
        )

    page = _page(world.frontdesk, shop.zhang.pk)

    assert 'id="money"' in page
    assert "¥380.00" in page  # ¥500 billed, ¥120 paid
    assert bill.number in page
    assert card.number in page
    assert "¥500.00" in page


def test_a_patient_without_bills_shows_none_owed(world: World, shop: Shop) -> None:
    page = _page(world.frontdesk, shop.li.pk)

    assert 'id="money"' in page
    assert "No bills yet." in page
    assert "No card" in page


def test_staff_who_may_not_see_bills_get_no_money_panel(world: World, shop: Shop) -> None:
    marketing = staff_create(
        organization=world.org,
        username="marketer",
        display_name="Marketer",
        password=PASSWORD,
        roles=[("marketing", None)],
    )
    with tenant_scope(world.org, world.clinic1):
        make_bill(world, shop.zhang, [(shop.filling, 1)])

    page = _page(marketing, shop.zhang.pk)

    assert 'id="money"' not in page
    assert "¥300.00" not in page
