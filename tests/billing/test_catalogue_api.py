"""The catalogue API: search with the acting clinic's prices, HQ edits, clinic prices, and
isolation of every operation (another organization's items and clinics are 404)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chairside.billing.models import CatalogueItem, ClinicPrice
from chairside.core.models import AuditEntry, Role, Staff
from chairside.core.services import staff_create
from chairside.core.tenancy import tenant_scope
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.billing.conftest import Shop
from tests.conftest import PASSWORD, World
from tests.core.test_api import is_error

D = Decimal
MISSING = 987654

CATALOGUE_ENDPOINTS = [
    Endpoint("GET", "/catalogue"),
    Endpoint(
        "POST",
        "/catalogue",
        {"code": "new", "name": "新项目", "category": "basic", "price": "10"},
    ),
    Endpoint("GET", "/catalogue/{item}"),
    Endpoint("PATCH", "/catalogue/{item}", {"name": "改名"}),
    Endpoint("PUT", "/catalogue/{item}/clinic-prices/{clinic}", {"price": "99"}),
    Endpoint("DELETE", "/catalogue/{item}/clinic-prices/{clinic}"),
]
# A's objects as seen from organization B, and A's items with B's clinic.
FOREIGN = [
    Endpoint("GET", "/catalogue/{item}"),
    Endpoint("PATCH", "/catalogue/{item}", {"name": "改名"}),
    Endpoint("PUT", "/catalogue/{item}/clinic-prices/{clinic}", {"price": "99"}),
    Endpoint("DELETE", "/catalogue/{item}/clinic-prices/{clinic}"),
    Endpoint("PUT", "/catalogue/{own_item}/clinic-prices/{clinic1}", {"price": "99"}),
    Endpoint("DELETE", "/catalogue/{own_item}/clinic-prices/{clinic1}"),
]
MINE = ("/catalogue",)


def _ids(world: World, shop: Shop) -> dict[str, int]:
    return {
        "item": shop.cleaning.pk,
        "clinic": world.clinic2.pk,
        "clinic1": world.clinic1.pk,
        # Seen from B: B's own item with A's clinic must be 404 too.
        "own_item": shop.item_b.pk,
    }


def _counts(world: World) -> tuple[int, int, int]:
    with tenant_scope(world.org):
        return (
            CatalogueItem.objects.count(),
            ClinicPrice.objects.count(),
            AuditEntry.objects.count(),
        )


@pytest.fixture
def pricer(world: World) -> Staff:
    with tenant_scope(world.org):
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


def test_every_catalogue_operation_is_covered(db: None) -> None:
    documented = {
        op for op in documented_operations(tags={"billing"}) if op.split()[1].startswith(MINE)
    }
    assert documented == {e.shape for e in CATALOGUE_ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_items_and_clinics_are_404(
    world: World, shop: Shop, endpoint: Endpoint
) -> None:
    before = _counts(world)
    api = ApiClient(world.boss_b)
    ids = _ids(world, shop)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, {k: v if k == "own_item" else MISSING for k, v in ids.items()})

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(world) == before


def test_another_organizations_list_shows_none_of_ours(world: World, shop: Shop) -> None:
    response = ApiClient(world.boss_b).get("/catalogue")
    assert response.status == 200
    assert [i["code"] for i in response.json["items"]] == ["b-scaling"]


@pytest.mark.parametrize("endpoint", CATALOGUE_ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, shop: Shop, endpoint: Endpoint
) -> None:
    before = _counts(world)
    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), _ids(world, shop))
    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert _counts(world) == before


def test_search_shows_the_acting_clinics_price(world: World, shop: Shop) -> None:
    at_clinic2 = ApiClient(world.boss, clinic=world.clinic2).get("/catalogue", q="scaling")
    assert at_clinic2.status == 200
    [item] = at_clinic2.json["items"]
    assert (item["price"], item["clinic_price"], item["price_here"]) == (
        "200.00",
        "180.00",
        "180.00",
    )
    assert item["category_label"] == "Basic treatment"
    at_clinic1 = ApiClient(world.frontdesk).get("/catalogue", q="scaling")
    assert at_clinic1.json["items"][0]["price_here"] == "200.00"
    basic = ApiClient(world.doctor).get("/catalogue", category="basic", status="all")
    assert {i["code"] for i in basic.json["items"]} == {"scaling", "old"}
    paged = ApiClient(world.doctor).get("/catalogue", page_size=2, page=2)
    assert (paged.json["total"], paged.json["pages"], len(paged.json["items"])) == (5, 3, 2)


def test_hq_adds_and_edits_items(world: World, shop: Shop) -> None:
    api = ApiClient(world.boss)
    created = api.post(
        "/catalogue",
        {
            "code": "crown-zr",
            "name": "全瓷冠",
            "category": "restorative",
            "unit": "tooth",
            "price": "3800",
            "insurance_code": "",
        },
    )
    assert created.status == 201, created
    assert (created.json["price"], created.json["unit_label"], created.json["clinic_prices"]) == (
        "3800.00",
        "per tooth",
        [],
    )
    duplicate = api.post(
        "/catalogue", {"code": "crown-zr", "name": "X", "category": "basic", "price": "1"}
    )
    assert duplicate.status == 400
    assert "code" in duplicate.json["fields"]
    negative = api.post(
        "/catalogue", {"code": "neg", "name": "X", "category": "basic", "price": "-1"}
    )
    assert negative.status == 400
    assert "price" in negative.json["fields"]
    item_id = created.json["id"]
    edited = api.patch(f"/catalogue/{item_id}", {"price": "3600.5", "is_active": False})
    assert edited.status == 200, edited
    assert (edited.json["price"], edited.json["is_active"]) == ("3600.50", False)
    assert api.get("/catalogue", q="crown").json["items"] == []
    assert api.get(f"/catalogue/{item_id}").json["is_active"] is False


def test_only_hq_or_the_clinics_own_pricer_sets_prices(
    world: World, shop: Shop, pricer: Staff
) -> None:
    front = ApiClient(world.frontdesk)
    assert (
        front.post(
            "/catalogue", {"code": "x", "name": "X", "category": "basic", "price": "1"}
        ).status
        == 403
    )
    assert (
        front.put(
            f"/catalogue/{shop.filling.pk}/clinic-prices/{world.clinic1.pk}", {"price": "1"}
        ).status
        == 403
    )

    api = ApiClient(pricer)
    assert api.patch(f"/catalogue/{shop.filling.pk}", {"price": "1"}).status == 403
    own = api.put(
        f"/catalogue/{shop.filling.pk}/clinic-prices/{world.clinic1.pk}", {"price": "280"}
    )
    assert own.status == 200, own
    assert own.json == {
        "item_id": shop.filling.pk,
        "clinic_id": world.clinic1.pk,
        "clinic_name": "Downtown Clinic",
        "price": "280.00",
    }
    other = api.put(
        f"/catalogue/{shop.filling.pk}/clinic-prices/{world.clinic2.pk}", {"price": "1"}
    )
    assert other.status == 403
    assert is_error(other.json, "permission_denied")
    hq = ApiClient(world.boss).put(
        f"/catalogue/{shop.filling.pk}/clinic-prices/{world.hq.pk}", {"price": "1"}
    )
    assert hq.status == 400
    detail = api.get(f"/catalogue/{shop.filling.pk}")
    assert detail.json["price_here"] == "280.00"
    assert [p["clinic_id"] for p in detail.json["clinic_prices"]] == [world.clinic1.pk]
    cleared = api.delete(f"/catalogue/{shop.filling.pk}/clinic-prices/{world.clinic1.pk}")
    assert cleared.status == 204
    assert api.get(f"/catalogue/{shop.filling.pk}").json["price_here"] == "300.00"


def test_readers_need_a_billing_or_planning_permission(world: World, shop: Shop) -> None:
    with tenant_scope(world.org):
        Role.objects.create(code="nobody", name="无", permissions=["clinics.view"])
    nobody = staff_create(
        organization=world.org,
        username="nobody",
        display_name="Nobody",
        password=PASSWORD,
        roles=[("nobody", world.clinic1)],
    )
    assert ApiClient(nobody).get("/catalogue").status == 403
    assert ApiClient(nobody).get(f"/catalogue/{shop.filling.pk}").status == 403
    assert ApiClient(world.doctor).get(f"/catalogue/{shop.filling.pk}").status == 200
