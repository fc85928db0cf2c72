"""The catalogue pages: list with search, category and pagination; adding and editing items
(HQ only); a clinic's own price; permissions (403) and other organizations' items (404)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from chairside.billing.demo import demo_catalogue_install
from chairside.billing.models import CatalogueItem, ClinicPrice
from chairside.core.middleware import ACTIVE_CLINIC_SESSION_KEY
from chairside.core.models import Role, Staff
from chairside.core.services import staff_create
from tests.billing.conftest import Shop
from tests.conftest import PASSWORD, World

D = Decimal
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
def pricer(world: World) -> Staff:
    Role.objects.create(
        code="pricer", name="定价", permissions=["billing.view", "billing.catalogue"]
    )
    return staff_create(
        organization=world.org,
        username="pricer",
        display_name="Pricer",
        password=PASSWORD,
        roles=[("pricer", world.clinic1)],
    )


LIST = reverse("billing:catalogue")
NEW = reverse("billing:catalogue_create")


def _edit(item: CatalogueItem) -> str:
    return reverse("billing:catalogue_edit", kwargs={"item_id": item.pk})


def test_the_list_shows_items_with_the_acting_clinics_price(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    client = as_staff(shop.frontdesk2)
    page = client.get(LIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "洁治" in text
    assert "¥180.00" in text
    assert "Clinic price" in text
    assert "旧项目" not in text  # retired items are hidden by default
    assert "New item" not in text  # front desks do not keep the list
    retired = client.get(LIST, {"status": "inactive"}).content.decode()
    assert "旧项目" in retired


def test_search_and_category_filter(world: World, shop: Shop, as_staff: Signer) -> None:
    client = as_staff(world.frontdesk)
    imaging = client.get(LIST, {"category": "imaging"}).content.decode()
    assert "全景片" in imaging
    assert "洁治" not in imaging
    found = client.get(LIST, {"q": "yb-0101"}).content.decode()
    assert "全景片" in found
    assert "树脂充填" not in found
    nothing = client.get(LIST, {"q": "no-such-thing"})
    assert nothing.status_code == 200
    assert "No items match the search." in nothing.content.decode()


def test_the_list_is_paginated(world: World, as_staff: Signer) -> None:
    demo_catalogue_install(organization=world.org, actor=world.boss)
    client = as_staff(world.boss)
    first = client.get(LIST).content.decode()
    third = client.get(LIST, {"page": 3}).content.decode()
    assert "page 1 of 3" in first
    assert "page 3 of 3" in third
    assert client.get(LIST, {"page": "junk"}).status_code == 200


def test_an_empty_catalogue_invites_hq_to_add_items(world: World, as_staff: Signer) -> None:
    page = as_staff(world.boss).get(LIST).content.decode()
    assert "The catalogue is empty." in page
    assert NEW in page


def test_pages_need_their_permissions(world: World, shop: Shop, as_staff: Signer) -> None:
    nurse = staff_create(
        organization=world.org,
        username="nurse",
        display_name="Nurse",
        password=PASSWORD,
        roles=[("nurse", world.clinic1)],
    )
    assert as_staff(nurse).get(LIST).status_code == 403
    desk = as_staff(world.frontdesk)
    assert desk.get(NEW).status_code == 403
    assert desk.get(_edit(shop.cleaning)).status_code == 403
    assert Client().get(LIST).status_code == 302  # to the sign-in page


def test_another_organizations_item_is_404(world: World, shop: Shop, as_staff: Signer) -> None:
    assert as_staff(world.boss).get(_edit(shop.item_b)).status_code == 404
    assert as_staff(world.boss).post(_edit(shop.item_b), {"action": "retire"}).status_code == 404


def test_hq_adds_an_item(world: World, shop: Shop, as_staff: Signer) -> None:
    client = as_staff(world.boss)
    assert client.get(NEW).status_code == 200
    response = client.post(
        NEW,
        {
            "code": "crown-zr",
            "name": "全瓷冠（氧化锆）",
            "category": "restorative",
            "unit": "tooth",
            "price": "¥3,800",
            "insurance_code": "",
            "member_discount_allowed": "on",
        },
    )
    item = CatalogueItem.objects.get(code="crown-zr")
    assert response.status_code == 302
    assert response["Location"] == _edit(item)
    assert item.price == D("3800.00")
    assert item.member_discount_allowed


def test_a_refused_item_shows_the_errors(world: World, shop: Shop, as_staff: Signer) -> None:
    response = as_staff(world.boss).post(
        NEW,
        {"code": "scaling", "name": "", "category": "basic", "unit": "visit", "price": "-5"},
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "The code scaling is already used by 洁治." in text
    assert "Enter the name of the service." in text
    assert "A price cannot be negative." in text


def test_hq_edits_and_retires_an_item(world: World, shop: Shop, as_staff: Signer) -> None:
    client = as_staff(world.boss)
    assert client.get(_edit(shop.filling)).status_code == 200
    saved = client.post(
        _edit(shop.filling),
        {
            "action": "save",
            "code": "filling",
            "name": "树脂充填（单面）",
            "category": "restorative",
            "unit": "tooth",
            "price": "320",
        },
    )
    assert saved.status_code == 302
    shop.filling.refresh_from_db()
    assert (shop.filling.name, shop.filling.price) == ("树脂充填（单面）", D("320.00"))
    assert not shop.filling.member_discount_allowed  # the box was not ticked
    client.post(_edit(shop.filling), {"action": "retire"})
    shop.filling.refresh_from_db()
    assert not shop.filling.is_active


def test_a_clinic_pricer_sets_only_its_own_clinics_price(
    world: World, shop: Shop, pricer: Staff, as_staff: Signer
) -> None:
    client = as_staff(pricer)
    page = client.get(_edit(shop.filling))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Set the clinic price" in text
    assert 'name="code"' not in text  # the item itself is HQ's
    assert client.post(_edit(shop.filling), {"action": "save", "name": "x"}).status_code == 403
    set_price = client.post(
        _edit(shop.filling), {"action": "price", "clinic": world.clinic1.pk, "price": "280"}
    )
    assert set_price.status_code == 302
    assert ClinicPrice.objects.get(item=shop.filling, clinic=world.clinic1).price == D("280.00")
    other = client.post(
        _edit(shop.filling), {"action": "price", "clinic": world.clinic2.pk, "price": "1"}
    )
    assert other.status_code == 400
    assert not ClinicPrice.objects.filter(item=shop.filling, clinic=world.clinic2).exists()
    bad = client.post(
        _edit(shop.filling), {"action": "price", "clinic": world.clinic1.pk, "price": "abc"}
    )
    assert bad.status_code == 400
    assert "Enter a price such as 120 or 99.50." in bad.content.decode()
    client.post(_edit(shop.filling), {"action": "clear_price", "clinic": world.clinic1.pk})
    assert not ClinicPrice.objects.filter(item=shop.filling, clinic=world.clinic1).exists()


def test_the_list_follows_the_clinic_chosen_in_the_session(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    client = as_staff(world.boss)
    session = client.session
    session[ACTIVE_CLINIC_SESSION_KEY] = world.clinic2.pk
    session.save()
    text = client.get(LIST, {"q": "scaling"}).content.decode()
    assert "Price at Riverside Clinic" in text
    assert "¥180.00" in text


def test_the_page_is_chinese_by_default(world: World, shop: Shop) -> None:
    client = Client()
    client.force_login(world.frontdesk)
    assert client.get(LIST).status_code == 200
