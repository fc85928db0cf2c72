"""The coupon API: templates, issuing, batches and their Excel export, the coupon list and
detail, voiding, the wallet and the code check; every operation isolated by organization
and by the clinic acted in."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from chairside.billing.services.bills import bill_confirm, bill_discounts_apply
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.promotions.codes import code_format
from chairside.promotions.models import Coupon, CouponBatch, CouponTemplate
from chairside.promotions.services.coupons import (
    coupon_batch_issue,
    coupon_issue,
    coupon_template_create,
)
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.conftest import World
from tests.core.test_api import is_error
from tests.promotions.conftest import Shop, Templates, make_bill, template_data

MISSING = 987654
MINE = ("/coupon-templates", "/coupon-batches", "/coupons", "/patients/{}/coupons")

TEMPLATE = {
    "name": "开业礼券",
    "kind": "cash_voucher",
    "amount": "30",
    "validity_kind": "after_issue",
    "valid_days": 60,
    "min_spend": "100",
}
ENDPOINTS = [
    Endpoint("GET", "/coupon-templates"),
    Endpoint("POST", "/coupon-templates", TEMPLATE),
    Endpoint("GET", "/coupon-templates/{template}"),
    Endpoint("PUT", "/coupon-templates/{template}", TEMPLATE),
    Endpoint("DELETE", "/coupon-templates/{unused}"),
    Endpoint("POST", "/coupon-templates/{template}/issue", {"patient_id": "{patient}"}),
    Endpoint("POST", "/coupon-templates/{template}/batches", {"count": 2}),
    Endpoint("GET", "/coupon-batches"),
    Endpoint("GET", "/coupon-batches/{batch}/export.xlsx"),
    Endpoint("GET", "/coupons"),
    Endpoint("GET", "/coupons/{coupon}"),
    Endpoint("POST", "/coupons/{coupon}/void", {"reason": "printed wrong"}),
    Endpoint("POST", "/coupons/check", {"code": "{code}"}),
    Endpoint("GET", "/patients/{patient}/coupons"),
]
FOREIGN = [
    Endpoint("GET", "/coupon-templates/{template}"),
    Endpoint("PUT", "/coupon-templates/{template}", TEMPLATE),
    Endpoint("DELETE", "/coupon-templates/{unused}"),
    Endpoint("POST", "/coupon-templates/{template}/issue", {"patient_id": "{patient_b}"}),
    Endpoint("POST", "/coupon-templates/{template}/batches", {"count": 2}),
    Endpoint("GET", "/coupon-batches/{batch}/export.xlsx"),
    Endpoint("GET", "/coupons/{coupon}"),
    Endpoint("POST", "/coupons/{coupon}/void", {"reason": "printed wrong"}),
    Endpoint("GET", "/patients/{patient}/coupons"),
]


@dataclass
class Objects:
    template: CouponTemplate
    unused: CouponTemplate
    coupon: Coupon
    batch: CouponBatch

    def ids(self, world: World, shop: Shop) -> dict[str, object]:
        return {
            "template": self.template.pk,
            "unused": self.unused.pk,
            "coupon": self.coupon.pk,
            "batch": self.batch.pk,
            "patient": shop.zhang.pk,
            "patient_b": shop.patient_b.pk,
            "item": shop.cleaning.pk,
            "clinic": world.clinic1.pk,
            "code": self.coupon.code,
        }


@pytest.fixture
def objects(world: World, shop: Shop, templates: Templates) -> Objects:
    with tenant_scope(world.org, world.clinic1):
        coupon = coupon_issue(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=templates.cash50,
            patient=shop.zhang,
        )
        batch = coupon_batch_issue(
            actor=world.boss, clinic=world.clinic1, template=templates.limited, count=3
        )
        unused = coupon_template_create(
            actor=world.boss, clinic=world.clinic1, data=template_data(name="未发")
        )
    return Objects(templates.cash50, unused, coupon, batch)


def _counts(world: World) -> tuple[int, ...]:
    with tenant_scope(world.org):
        return (
            CouponTemplate.objects.count(),
            Coupon.objects.count(),
            Coupon.objects.filter(status="void").count(),
            CouponBatch.objects.count(),
            AuditEntry.objects.count(),
        )


def test_every_coupon_operation_is_covered(db: None) -> None:
    documented = {
        op
        for op in documented_operations(tags={"promotions"})
        if any(op.split()[1] == p or op.split()[1].startswith(p + "/") for p in MINE)
    }
    assert documented == {e.shape for e in ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_coupons_are_404(
    world: World, shop: Shop, objects: Objects, endpoint: Endpoint
) -> None:
    before = _counts(world)
    api = ApiClient(world.boss_b)
    ids = objects.ids(world, shop)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, {k: MISSING if isinstance(v, int) else v for k, v in ids.items()})

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(world) == before


@pytest.mark.parametrize("field", ["item_ids", "service_item_ids", "clinic_ids", "entitlements"])
def test_a_template_cannot_name_another_organizations_items_or_clinics(
    world: World, shop: Shop, field: str
) -> None:
    before = _counts(world)
    ours = {
        "item_ids": [shop.cleaning.pk],
        "service_item_ids": [shop.cleaning.pk],
        "clinic_ids": [world.clinic1.pk],
        "entitlements": [{"item_id": shop.cleaning.pk, "count": 1}],
    }
    kind = {"service_item_ids": "service_voucher", "entitlements": "combo"}.get(field)
    body = {**TEMPLATE, field: ours[field], **({"kind": kind} if kind else {})}

    response = ApiClient(world.boss_b).post("/coupon-templates", body)

    assert response.status == 404, response
    assert _counts(world) == before


def test_another_organization_sees_none_of_ours(world: World, shop: Shop, objects: Objects) -> None:
    api = ApiClient(world.boss_b)

    assert api.get("/coupon-templates").json["items"] == []
    assert api.get("/coupons").json["items"] == []
    assert api.get("/coupons", code=objects.coupon.code).json["items"] == []
    assert api.get("/coupon-batches").json["items"] == []
    check = api.post("/coupons/check", {"code": objects.coupon.code})
    assert check.json == {"result": "unknown", "coupon": None}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, shop: Shop, objects: Objects, endpoint: Endpoint
) -> None:
    before = _counts(world)
    response = endpoint.call(
        ApiClient(world.frontdesk, clinic=world.clinic2), objects.ids(world, shop)
    )
    assert response.status == 403, response
    assert is_error(response.json, "permission_denied")
    assert _counts(world) == before


def test_a_clinics_batches_are_its_own_unless_managing(
    world: World, shop: Shop, objects: Objects
) -> None:
    with tenant_scope(world.org, world.clinic2):
        other = coupon_batch_issue(
            actor=world.boss, clinic=world.clinic2, template=objects.template, count=2
        )
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    assert [b["id"] for b in desk.get("/coupon-batches").json["items"]] == [objects.batch.pk]
    assert desk.get(f"/coupon-batches/{other.pk}/export.xlsx").status == 404
    boss = ApiClient(world.boss, clinic=world.clinic1)
    assert {b["id"] for b in boss.get("/coupon-batches").json["items"]} == {
        objects.batch.pk,
        other.pk,
    }


def test_the_front_desk_cannot_set_up_templates(world: World, objects: Objects) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    assert desk.post("/coupon-templates", TEMPLATE).status == 403
    assert desk.put(f"/coupon-templates/{objects.template.pk}", TEMPLATE).status == 403
    assert desk.delete(f"/coupon-templates/{objects.unused.pk}").status == 403


def test_a_combo_template_is_set_up_and_changed(world: World, shop: Shop) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)
    body = {
        "name": "家庭卡",
        "kind": "combo",
        "entitlements": [
            {"item_id": shop.cleaning.pk, "count": 2},
            {"item_id": shop.xray.pk, "count": 1},
        ],
        "valid_until": "2026-12-31",
        "clinic_ids": [world.clinic1.pk],
        "giftable": True,
    }

    created = boss.post("/coupon-templates", body)

    assert created.status == 201, created
    assert created.json["kind_label"] == "Combo card"
    assert [(e["item_name"], e["count"]) for e in created.json["entitlements"]] == [
        ("洁治", 2),
        ("全景片", 1),
    ]
    assert created.json["clinic_ids"] == [world.clinic1.pk]
    changed = boss.put(
        f"/coupon-templates/{created.json['id']}",
        {**body, "entitlements": [{"item_id": shop.cleaning.pk, "count": 4}]},
    )
    assert [(e["item_name"], e["count"]) for e in changed.json["entitlements"]] == [("洁治", 4)]
    assert boss.get("/coupon-templates", q="家庭").json["total"] == 1


def test_a_template_with_missing_rules_is_refused_field_by_field(world: World) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)

    response = boss.post(
        "/coupon-templates", {"name": "x", "kind": "discount", "validity_kind": "fixed"}
    )

    assert response.status == 400
    assert set(response.json["fields"]) == {"percent_off", "valid_until"}


def test_a_template_with_coupons_cannot_be_deleted(world: World, objects: Objects) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic1)

    assert boss.delete(f"/coupon-templates/{objects.template.pk}").status == 409
    assert boss.delete(f"/coupon-templates/{objects.unused.pk}").status == 204
    assert boss.get(f"/coupon-templates/{objects.unused.pk}").status == 404


def test_issuing_to_a_patient_keeps_the_limit(
    world: World, shop: Shop, templates: Templates
) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)
    path = f"/coupon-templates/{templates.limited.pk}/issue"

    first = desk.post(path, {"patient_id": shop.li.pk})
    desk.post(path, {"patient_id": shop.li.pk})
    third = desk.post(path, {"patient_id": shop.li.pk})

    assert first.status == 201
    assert first.json["holder_name"] == "李四"
    assert first.json["status"] == "unused"
    assert len(first.json["code"]) == 19
    assert first.json["code"].count("-") == 3
    assert third.status == 409
    assert is_error(third.json, "coupon_limit_reached")
    wallet = desk.get(f"/patients/{shop.li.pk}/coupons").json
    assert [c["template_name"] for c in wallet] == ["限领两张", "限领两张"]


def test_a_batch_is_issued_and_exported_to_excel(world: World, templates: Templates) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    batch = desk.post(
        f"/coupon-templates/{templates.cash50.pk}/batches", {"count": 25, "note": "展会"}
    )
    assert batch.status == 201, batch
    assert (batch.json["count"], batch.json["used"], batch.json["note"]) == (25, 0, "展会")

    export = desk.client.get(
        f"/api/v1/coupon-batches/{batch.json['id']}/export.xlsx", headers=desk.headers
    )
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    codes = [row[1] for row in rows[4:]]
    with tenant_scope(world.org):
        stored = {
            code_format(c)
            for c in Coupon.objects.filter(batch_id=batch.json["id"]).values_list("code", flat=True)
        }
    assert len(codes) == 25
    assert set(codes) == stored
    assert rows[4][3] == "2026-12-31"
    listed = desk.get("/coupons", batch_id=batch.json["id"], page_size=100).json
    assert listed["total"] == 25
    assert all(c["holder_id"] is None for c in listed["items"])


def test_a_coupon_used_on_a_bill_shows_its_use(
    world: World, shop: Shop, objects: Objects, settings: pytest.FixtureRequest
) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = [  # type: ignore[attr-defined]
        "chairside.promotions.discounts.CouponDiscountSource"
    ]
    with tenant_scope(world.org, world.clinic1):
        bill = make_bill(world, shop.zhang, [(shop.filling, 2)], confirm=False)
        bill_discounts_apply(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            selected={"coupon": [f"coupon:{objects.coupon.pk}"]},
            can_approve=False,
        )
        bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)

    detail = desk.get(f"/coupons/{objects.coupon.pk}").json

    assert detail["status"] == "used"
    assert [(u["bill_number"], u["amount"], u["reversed_at"]) for u in detail["uses"]] == [
        (bill.number, "50.00", None)
    ]
    assert desk.get("/coupons", status="used").json["total"] == 1
    assert desk.get("/coupons", holder_id=shop.zhang.pk, status="unused").json["total"] == 0
    voided = desk.post(f"/coupons/{objects.coupon.pk}/void", {"reason": "x"})
    assert voided.status == 409
    check = desk.post("/coupons/check", {"code": code_format(objects.coupon.code)})
    assert check.json["result"] == "used"


def test_void_and_code_check(world: World, shop: Shop, objects: Objects) -> None:
    desk = ApiClient(world.frontdesk, clinic=world.clinic1)
    code = objects.coupon.code
    typo = code[:5] + ("2" if code[5] != "2" else "3") + code[6:]

    assert desk.post("/coupons/check", {"code": typo}).json == {
        "result": "invalid_check",
        "coupon": None,
    }
    assert desk.post("/coupons/check", {"code": "hello"}).json["result"] == "invalid"
    valid = desk.post("/coupons/check", {"code": code.lower()}).json
    assert (valid["result"], valid["coupon"]["id"]) == ("valid", objects.coupon.pk)
    assert desk.get("/coupons", code=code[:6]).json["items"][0]["id"] == objects.coupon.pk

    voided = desk.post(f"/coupons/{objects.coupon.pk}/void", {"reason": "lost"})
    assert voided.status == 200
    assert (voided.json["status"], voided.json["void_reason"]) == ("void", "lost")
    assert desk.post("/coupons/check", {"code": code}).json["result"] == "void"
    assert desk.get(f"/patients/{shop.zhang.pk}/coupons").json == []
    closed = desk.get(f"/patients/{shop.zhang.pk}/coupons", include_closed="true").json
    assert [c["status"] for c in closed] == ["void"]
    assert Decimal(desk.get(f"/coupon-templates/{objects.template.pk}").json["amount"]) == 50
