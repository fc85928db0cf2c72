"""The flash-sale API: setting sales up, claims, paying through the fake processor and its
callback; isolation of every operation (another organization gets 404, a clinic-level
staff member acting elsewhere 403)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import Coupon, FlashSale, FlashSaleClaim
from chairside.promotions.services import flash_sales as fs
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.clock import Clock
from tests.conftest import World
from tests.core.test_api import is_error
from tests.promotions import test_flash_sales as base
from tests.promotions.test_flash_sales import NOW, Flash, SaleOf

# The flash-sale fixtures, shared with test_flash_sales.
_english = base._english
_fresh_cache = base._fresh_cache
clock = base.clock
flash = base.flash
sale_of = base.sale_of

MISSING = 987654
MINE = "/flash-sales"

NEW_SALE = {
    "title": "1元涂氟",
    "template_id": "{template}",
    "price": "1.00",
    "stock": 10,
    "starts_at": (NOW - timedelta(hours=1)).isoformat(),
    "ends_at": (NOW + timedelta(days=1)).isoformat(),
}
ENDPOINTS = [
    Endpoint("GET", "/flash-sales"),
    Endpoint("POST", "/flash-sales", NEW_SALE),
    Endpoint("GET", "/flash-sales/{sale}"),
    Endpoint("PATCH", "/flash-sales/{sale}", {"stock": 8}),
    Endpoint("GET", "/flash-sales/{sale}/stats"),
    Endpoint("GET", "/flash-sales/{sale}/claims"),
    Endpoint("POST", "/flash-sales/{sale}/claims", {"patient_id": "{patient}"}),
    Endpoint("GET", "/flash-sales/claims/{claim}"),
    Endpoint("POST", "/flash-sales/claims/{claim}/pay"),
    Endpoint("POST", "/flash-sales/claims/{claim}/cancel"),
]
CALLBACK = Endpoint("POST", "/flash-sales/payment-callback")
# Everything naming one of organization A's objects.
FOREIGN = [e for e in ENDPOINTS if "{" in e.path or e.body == NEW_SALE]


@dataclass
class Sold:
    sale: FlashSale
    claim: FlashSaleClaim  # 张三's, reserved

    def ids(self, flash: Flash) -> dict[str, int]:
        return {
            "sale": self.sale.pk,
            "claim": self.claim.pk,
            "patient": flash.li.pk,
            "template": flash.template.pk,
        }


@pytest.fixture
def sold(world: World, flash: Flash, sale_of: SaleOf) -> Sold:
    sale = sale_of(stock=5)
    with tenant_scope(world.org, world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=flash.zhang)
    return Sold(sale, claim)


def _counts(world: World) -> tuple[int, ...]:
    with tenant_scope(world.org):
        return (
            FlashSale.objects.count(),
            sum(FlashSale.objects.values_list("stock", flat=True)),
            sum(FlashSale.objects.values_list("sold", flat=True)),
            FlashSaleClaim.objects.filter(status="reserved").count(),
            AuditEntry.objects.count(),
        )


def test_every_flash_sale_operation_is_covered(db: None) -> None:
    documented = {
        op for op in documented_operations(tags={"promotions"}) if op.split()[1].startswith(MINE)
    }
    assert documented == {e.shape for e in [*ENDPOINTS, CALLBACK]}


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_sales_claims_and_patients_are_404(
    world: World, flash: Flash, sold: Sold, endpoint: Endpoint, clock: Clock
) -> None:
    before = _counts(world)
    api = ApiClient(world.boss_b)
    ids = sold.ids(flash)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, dict.fromkeys(ids, MISSING))

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(world) == before


def test_another_organization_cannot_claim_its_sale_for_our_patient(
    world: World, flash: Flash, sold: Sold, clock: Clock
) -> None:
    api_b = ApiClient(world.boss_b)
    created = api_b.post(
        "/flash-sales", {**NEW_SALE, "template_id": flash.template_b.pk, "stock": 3}
    )
    assert created.status == 201, created
    refused = api_b.post(
        f"/flash-sales/{created.json['id']}/claims", {"patient_id": flash.zhang.pk}
    )
    assert refused.status == 404
    mine = api_b.post(
        f"/flash-sales/{created.json['id']}/claims", {"patient_id": flash.patient_b.pk}
    )
    assert mine.status == 201, mine


def test_another_organizations_list_shows_none_of_ours(
    world: World, flash: Flash, sold: Sold, clock: Clock
) -> None:
    assert ApiClient(world.boss_b).get("/flash-sales").json["items"] == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, flash: Flash, sold: Sold, endpoint: Endpoint, clock: Clock
) -> None:
    before = _counts(world)
    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), sold.ids(flash))
    assert response.status == 403, response
    assert _counts(world) == before


@pytest.mark.parametrize(
    "endpoint",
    [e for e in ENDPOINTS if e.method != "GET" and "claims" not in e.path],
    ids=str,
)
def test_front_desk_cannot_set_sales_up(
    world: World, flash: Flash, sold: Sold, endpoint: Endpoint, clock: Clock
) -> None:
    response = endpoint.call(ApiClient(world.frontdesk), sold.ids(flash))
    assert response.status == 403
    assert is_error(response.json, "permission_denied")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_a_doctor_without_promotions_rights_is_refused(
    world: World, flash: Flash, sold: Sold, endpoint: Endpoint, clock: Clock
) -> None:
    assert endpoint.call(ApiClient(world.doctor), sold.ids(flash)).status == 403


def test_a_sale_from_set_up_to_issued_coupon(world: World, flash: Flash, clock: Clock) -> None:
    boss = ApiClient(world.boss)
    desk = ApiClient(world.frontdesk)
    created = boss.post(
        "/flash-sales",
        {
            **NEW_SALE,
            "template_id": flash.template.pk,
            "stock": 2,
            "clinic_ids": [world.clinic1.pk],
        },
    )
    assert created.status == 201, created
    sale = created.json
    assert (sale["price"], sale["sold"], sale["remaining"], sale["clinic_ids"]) == (
        "1.00",
        0,
        2,
        [world.clinic1.pk],
    )
    assert boss.get("/flash-sales", phase="running").json["total"] == 1
    assert boss.get("/flash-sales", phase="upcoming").json["total"] == 0

    claim = desk.post(f"/flash-sales/{sale['id']}/claims", {"patient_id": flash.zhang.pk})
    assert claim.status == 201, claim
    assert claim.json["status"] == "reserved"
    again = desk.post(f"/flash-sales/{sale['id']}/claims", {"patient_id": flash.zhang.pk})
    assert again.status == 409
    assert is_error(again.json, "flash_sale_limit_reached")

    intent = desk.post(f"/flash-sales/claims/{claim.json['id']}/pay")
    assert intent.status == 200, intent
    assert intent.json["processor"] == "fake"
    callback = intent.json["simulated_callback"]
    anonymous = ApiClient()
    first = anonymous.post("/flash-sales/payment-callback", callback)
    second = anonymous.post("/flash-sales/payment-callback", callback)
    assert first.status == second.status == 200, first
    assert first.json == second.json == {"reference": claim.json["reference"], "status": "issued"}

    detail = desk.get(f"/flash-sales/claims/{claim.json['id']}").json
    assert detail["status"] == "issued"
    assert detail["coupon_code"]
    with tenant_scope(world.org):
        assert Coupon.objects.filter(holder=flash.zhang).count() == 1
    stats = boss.get(f"/flash-sales/{sale['id']}/stats").json
    assert stats == {
        "stock": 2,
        "sold": 1,
        "remaining": 1,
        "reserved": 0,
        "paid": 0,
        "issued": 1,
        "expired": 0,
        "cancelled": 0,
        "claimants": 1,
        "counter_matches": True,
    }
    claims = boss.get(f"/flash-sales/{sale['id']}/claims", status="issued").json
    assert [c["id"] for c in claims["items"]] == [claim.json["id"]]


def test_a_bad_callback_is_refused_and_changes_nothing(
    world: World, flash: Flash, sold: Sold, clock: Clock
) -> None:
    desk = ApiClient(world.frontdesk)
    callback = desk.post(f"/flash-sales/claims/{sold.claim.pk}/pay").json["simulated_callback"]
    anonymous = ApiClient()
    forged = anonymous.post("/flash-sales/payment-callback", {**callback, "amount": "0.01"})
    assert forged.status == 401  # the signature is the callback's only credential
    assert is_error(forged.json, "not_authenticated")
    unknown = anonymous.post(
        "/flash-sales/payment-callback", {**callback, "reference": "FS" + "0" * 24}
    )
    assert unknown.status in (401, 404)  # the signature covers the reference too
    with tenant_scope(world.org):
        sold.claim.refresh_from_db()
        assert sold.claim.status == "reserved"


def test_cancel_gives_the_unit_back_and_only_once(
    world: World, flash: Flash, sold: Sold, clock: Clock
) -> None:
    desk = ApiClient(world.frontdesk)
    cancelled = desk.post(f"/flash-sales/claims/{sold.claim.pk}/cancel")
    assert cancelled.status == 200
    assert cancelled.json["status"] == "cancelled"
    assert desk.post(f"/flash-sales/claims/{sold.claim.pk}/cancel").status == 409
    assert desk.get(f"/flash-sales/{sold.sale.pk}").json["sold"] == 0


def test_bad_input_gets_field_errors(world: World, flash: Flash, clock: Clock) -> None:
    boss = ApiClient(world.boss)
    backwards = boss.post(
        "/flash-sales",
        {**NEW_SALE, "template_id": flash.template.pk, "ends_at": NEW_SALE["starts_at"]},
    )
    assert backwards.status == 400
    assert "ends_at" in backwards.json["fields"]
    assert (
        boss.post("/flash-sales", {**NEW_SALE, "template_id": flash.template.pk, "stock": 0}).status
        == 400
    )
