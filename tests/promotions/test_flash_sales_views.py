"""The flash-sale pages: the list by phase, setting a sale up and changing it (promotions.manage),
a sale's figures and claims; permissions (403) and other organizations' sales (404)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import FlashSale
from chairside.promotions.services import flash_sales as fs
from tests.clock import Clock
from tests.conftest import World
from tests.promotions import test_flash_sales as base
from tests.promotions.test_flash_sales import Flash, SaleOf

# The flash-sale fixtures, shared with test_flash_sales.
_english = base._english
_fresh_cache = base._fresh_cache
clock = base.clock
flash = base.flash
sale_of = base.sale_of

Signer = Callable[[Staff], Client]
LIST = reverse("promotions:flash_sale_list")
NEW = reverse("promotions:flash_sale_create")


def _detail(sale: FlashSale) -> str:
    return reverse("promotions:flash_sale_detail", kwargs={"sale_id": sale.pk})


def _edit(sale: FlashSale) -> str:
    return reverse("promotions:flash_sale_edit", kwargs={"sale_id": sale.pk})


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


FORM = {
    "title": "9.9元洁牙",
    "price": "9.90",
    "stock": "30",
    "starts_at": "2026-09-14T09:00",
    "ends_at": "2026-09-15T22:00",
    "per_person_limit": "1",
    "payment_minutes": "15",
    "is_active": "on",
}


def test_the_list_shows_sales_and_filters_by_phase(
    world: World, flash: Flash, sale_of: SaleOf, as_staff: Signer, clock: Clock
) -> None:
    sale_of(title="9.9元洁牙")
    page = as_staff(world.frontdesk).get(LIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "9.9元洁牙" in text
    assert "0 / 5" in text
    assert "New flash sale" not in text  # the front desk does not set sales up
    upcoming = as_staff(world.boss).get(LIST, {"phase": "upcoming"}).content.decode()
    assert "9.9元洁牙" not in upcoming
    assert "No flash sales match the search." in upcoming


def test_an_empty_list_invites_to_set_one_up(world: World, as_staff: Signer) -> None:
    text = as_staff(world.boss).get(LIST).content.decode()
    assert "No flash sales yet." in text
    assert NEW in text


def test_a_sale_is_set_up_from_the_form(
    world: World, flash: Flash, as_staff: Signer, clock: Clock
) -> None:
    client = as_staff(world.boss)
    assert client.get(NEW).status_code == 200
    response = client.post(
        NEW, {**FORM, "template": flash.template.pk, "clinics": [world.clinic1.pk]}
    )
    assert response.status_code == 302
    with tenant_scope(world.org):
        sale = FlashSale.objects.get()
        assert response["Location"] == _detail(sale)
        assert (sale.stock, sale.per_person_limit, str(sale.price)) == (30, 1, "9.90")
        assert list(sale.clinics.all()) == [world.clinic1]


def test_a_refused_form_shows_the_errors(
    world: World, flash: Flash, as_staff: Signer, clock: Clock
) -> None:
    response = as_staff(world.boss).post(
        NEW, {**FORM, "template": flash.template.pk, "ends_at": "2026-09-14T08:00"}
    )
    assert response.status_code == 400
    assert "The sale must end after it starts." in response.content.decode()
    with tenant_scope(world.org):
        assert not FlashSale.objects.exists()


def test_the_stock_cannot_be_cut_below_the_claims_on_the_edit_page(
    world: World, flash: Flash, sale_of: SaleOf, as_staff: Signer, clock: Clock
) -> None:
    sale = sale_of(stock=5)
    with tenant_scope(world.org, world.clinic1):
        fs.flash_sale_claim(sale=sale, patient=flash.zhang)
        fs.flash_sale_claim(sale=sale, patient=flash.li)
    client = as_staff(world.boss)
    assert client.get(_edit(sale)).status_code == 200
    refused = client.post(_edit(sale), {**FORM, "template": flash.template.pk, "stock": "1"})
    assert refused.status_code == 400
    assert "2 units are already claimed" in refused.content.decode()
    saved = client.post(_edit(sale), {**FORM, "template": flash.template.pk, "stock": "8"})
    assert saved.status_code == 302
    with tenant_scope(world.org):
        assert FlashSale.objects.get(pk=sale.pk).stock == 8


def test_the_figures_page_shows_the_counts_and_the_claims(
    world: World, flash: Flash, sale_of: SaleOf, as_staff: Signer, clock: Clock
) -> None:
    sale = sale_of(stock=5)
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    page = as_staff(world.frontdesk).get(_detail(sale))
    assert page.status_code == 200
    text = page.content.decode()
    assert claim.reference in text
    assert "张三" in text
    assert "Reserved, awaiting payment" in text
    empty = as_staff(world.frontdesk).get(_detail(sale), {"status": "issued"}).content.decode()
    assert "No claims yet." in empty


def test_pages_need_their_permissions(
    world: World, flash: Flash, sale_of: SaleOf, as_staff: Signer, clock: Clock
) -> None:
    sale = sale_of()
    assert as_staff(world.doctor).get(LIST).status_code == 403
    assert as_staff(world.doctor).get(_detail(sale)).status_code == 403
    desk = as_staff(world.frontdesk)
    assert desk.get(NEW).status_code == 403
    assert desk.get(_edit(sale)).status_code == 403
    assert desk.post(_edit(sale), {**FORM, "template": flash.template.pk}).status_code == 403
    assert Client().get(LIST).status_code == 302


def test_another_organizations_sale_is_404(
    world: World, flash: Flash, sale_of: SaleOf, as_staff: Signer, clock: Clock
) -> None:
    sale = sale_of()
    boss_b = as_staff(world.boss_b)
    assert boss_b.get(_detail(sale)).status_code == 404
    assert boss_b.get(_edit(sale)).status_code == 404
    assert boss_b.post(_edit(sale), {**FORM, "template": flash.template.pk}).status_code == 404
    assert "9.9元洁牙" not in boss_b.get(LIST).content.decode()
    # Nor can B sell A's coupon template.
    refused = boss_b.post(NEW, {**FORM, "template": flash.template.pk})
    assert refused.status_code == 400
    with tenant_scope(world.org_b):
        assert not FlashSale.objects.exists()


def test_the_pages_are_chinese_by_default(
    world: World, flash: Flash, sale_of: SaleOf, clock: Clock
) -> None:
    sale = sale_of()
    client = Client()
    client.force_login(world.boss)
    assert client.get(LIST).status_code == 200
    assert client.get(_detail(sale)).status_code == 200
    assert client.get(NEW).status_code == 200
