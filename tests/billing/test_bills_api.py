"""API of bills, payments, refunds, closes and arrears: a whole checkout through the API,
permissions per role, the clinic scope, isolation from organization B for every operation,
and a flat query count on the bill list."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.billing.discounts import ManualDiscount
from chairside.billing.models import (
    Bill,
    BillDiscount,
    BillLine,
    Payment,
    Refund,
)
from chairside.billing.services.bills import bill_discounts_apply
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.billing.conftest import Shop, make_bill
from tests.conftest import World
from tests.core.test_api import is_error

D = Decimal


@dataclass
class Data:
    draft: Bill  # clinic 1, Zhang: a filling (¥300) and a pending 20 % manual discount
    line: BillLine
    discount: BillDiscount
    confirmed: Bill  # clinic 1, Li: ¥600, ¥300 paid in cash, a ¥100 refund awaiting approval
    refund: Refund
    bill_c2: Bill  # clinic 2, Wang, confirmed
    bill_b: Bill  # organization B

    def ids(self, shop: Shop) -> dict[str, int]:
        return {
            "bill": self.draft.pk,
            "line": self.line.pk,
            "discount": self.discount.pk,
            "confirmed": self.confirmed.pk,
            "refund": self.refund.pk,
            "patient": shop.zhang.pk,
            "item": shop.filling.pk,
            "bill_b": self.bill_b.pk,
            "patient_b": shop.patient_b.pk,
        }


@pytest.fixture
def data(world: World, shop: Shop) -> Data:
    with tenant_scope(world.org, world.clinic1):
        draft = make_bill(world, shop.zhang, [(shop.filling, 1)], confirm=False)
        bill_discounts_apply(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=draft,
            manual=ManualDiscount(reason="Complaint", percent=D(20)),
            can_approve=False,
        )
        confirmed = make_bill(world, shop.li, [(shop.filling, 2)])
        bill_pay(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=confirmed,
            tenders=[Tender("cash", D(300))],
        )
        refund = refund_request(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=confirmed,
            method="cash",
            amount=D(100),
            reason="Cancelled",
            can_approve=False,
        )
        bill_c2 = make_bill(
            world, shop.wang, [(shop.cleaning, 1)], clinic=world.clinic2, actor=world.boss
        )
        line = BillLine.objects.get(bill=draft)
        discount = BillDiscount.objects.get(bill=draft)
    with tenant_scope(world.org_b, world.clinic_b):
        bill_b = make_bill(
            world, shop.patient_b, [(shop.item_b, 1)], clinic=world.clinic_b, actor=world.boss_b
        )
    return Data(draft, line, discount, confirmed, refund, bill_c2, bill_b)


PAY = {"tenders": [{"method": "cash", "amount": "10.00"}]}

# Every operation of bills, payments, refunds, closes and arrears.
BILL_ENDPOINTS = [
    Endpoint("GET", "/bills"),
    Endpoint("POST", "/bills", {"patient_id": "{patient}"}),
    Endpoint("GET", "/bills/{bill}"),
    Endpoint("POST", "/bills/{bill}/lines", {"item_id": "{item}"}),
    Endpoint("PATCH", "/bills/{bill}/lines/{line}", {"quantity": 2}),
    Endpoint("DELETE", "/bills/{bill}/lines/{line}"),
    Endpoint("POST", "/bills/{bill}/discounts", {"selected": {}}),
    Endpoint("POST", "/bills/{bill}/discounts/{discount}/approve"),
    Endpoint("POST", "/bills/{bill}/confirm"),
    Endpoint("POST", "/bills/{bill}/void", {"reason": "Mistake"}),
    Endpoint("POST", "/bills/{confirmed}/payments", PAY),
    Endpoint("GET", "/bills/{confirmed}/refundable"),
    Endpoint(
        "POST", "/bills/{confirmed}/refunds", {"method": "cash", "amount": "1", "reason": "x"}
    ),
    Endpoint("GET", "/refunds"),
    Endpoint("POST", "/refunds/{refund}/approve"),
    Endpoint("POST", "/refunds/{refund}/reject", {"note": "No"}),
    Endpoint("GET", "/daily-closes"),
    Endpoint("GET", "/daily-closes/preview"),
    Endpoint("POST", "/daily-closes", {"business_date": "2026-09-14"}),
    Endpoint("GET", "/patients/{patient}/arrears"),
]
MY_PATHS = ("GET /bills", "POST /bills", "/refunds", "/daily-closes", "/arrears")

FOREIGN_LOOKUPS = [
    *[e for e in BILL_ENDPOINTS if "{" in e.path],
    Endpoint("GET", "/bills?patient={patient}"),
    Endpoint("GET", "/refunds?bill={confirmed}"),
]
MISSING = 987654


def count(model: type[Any], world: World) -> int:
    return int(model.all_tenants.filter(organization=world.org).count())


def test_every_bill_operation_is_covered(db: None) -> None:
    documented = {
        op
        for op in documented_operations(tags={"billing"})
        if op.split(" ", 1)[1].startswith(("/bills", "/refunds", "/daily-closes"))
        or op.endswith("/arrears")
    }
    documented -= {op for op in documented if "/receipt" in op}  # receipts: test_receipts.py
    assert documented == {e.shape for e in BILL_ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN_LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, shop: Shop, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)
    ids = data.ids(shop)
    before = {m: count(m, world) for m in (Bill, BillLine, Payment, Refund, BillDiscount)}
    audit_before = count(AuditEntry, world)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, {k: (v if k.endswith("_b") else MISSING) for k, v in ids.items()})

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert {m: count(m, world) for m in before} == before
    assert count(AuditEntry, world) == audit_before


@pytest.mark.parametrize("endpoint", BILL_ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused_everywhere(
    world: World, shop: Shop, data: Data, endpoint: Endpoint
) -> None:
    audit_before = count(AuditEntry, world)

    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), data.ids(shop))

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert count(AuditEntry, world) == audit_before


CLINIC_OBJECTS = [e for e in BILL_ENDPOINTS if "{bill}" in e.path or "{confirmed}" in e.path]


@pytest.mark.parametrize("endpoint", CLINIC_OBJECTS, ids=str)
def test_another_clinics_bills_are_404_for_clinic_staff(
    world: World, shop: Shop, data: Data, endpoint: Endpoint
) -> None:
    response = endpoint.call(ApiClient(shop.frontdesk2, clinic=world.clinic2), data.ids(shop))

    if response.status == 403:  # approvals need a permission the front desk lacks
        assert endpoint.path.endswith("/approve")
        return
    assert response.status == 404, response
    assert Bill.all_tenants.get(pk=data.draft.pk).status == "draft"


@pytest.mark.parametrize("endpoint", [e for e in CLINIC_OBJECTS if e.method != "GET"], ids=str)
def test_hq_acts_only_in_the_clinic_it_acts_in(
    world: World, shop: Shop, data: Data, endpoint: Endpoint
) -> None:
    response = endpoint.call(ApiClient(world.boss, clinic=world.clinic2), data.ids(shop))

    assert response.status == 404, response


def test_hq_reads_every_clinics_bills_clinic_staff_only_theirs(
    world: World, shop: Shop, data: Data
) -> None:
    boss = ApiClient(world.boss, clinic=world.clinic2)
    desk2 = ApiClient(shop.frontdesk2, clinic=world.clinic2)

    everything = {b["id"] for b in boss.get("/bills").json["items"]}
    only_clinic1 = {b["id"] for b in boss.get("/bills", clinic=world.clinic1.pk).json["items"]}
    theirs = {b["id"] for b in desk2.get("/bills").json["items"]}
    detail = boss.get(f"/bills/{data.draft.pk}")
    refunds_boss = boss.get("/refunds").json["items"]
    refunds_desk2 = desk2.get("/refunds").json["items"]

    assert everything == {data.draft.pk, data.confirmed.pk, data.bill_c2.pk}
    assert only_clinic1 == {data.draft.pk, data.confirmed.pk}
    assert theirs == {data.bill_c2.pk}
    assert detail.status == 200
    assert [r["id"] for r in refunds_boss] == [data.refund.pk]
    assert refunds_desk2 == []


@pytest.mark.parametrize("path", ["/bills", "/refunds", "/daily-closes", "/bills?has_arrears=true"])
def test_lists_of_another_organization_show_nothing_of_a(
    world: World, shop: Shop, data: Data, path: str
) -> None:
    response = ApiClient(world.boss_b).call("GET", path)

    assert response.status == 200
    text = str(response.json)
    for name in ("张三", "李四", "C1-2026", data.confirmed.number):
        assert name not in text


# --- a checkout through the API ---------------------------------------------------------


def test_a_whole_checkout_through_the_api(world: World, shop: Shop) -> None:
    desk = ApiClient(world.frontdesk)
    manager = ApiClient(shop.manager)

    opened = desk.post("/bills", {"patient_id": shop.zhang.pk, "note": "Visit"})
    bill_id = opened.json["id"]
    line = desk.post(
        f"/bills/{bill_id}/lines", {"item_id": shop.filling.pk, "quantity": 2, "teeth": [16, 17]}
    )
    desk.post(f"/bills/{bill_id}/lines", {"item_id": shop.xray.pk, "self_paid": True})
    discounted = desk.post(
        f"/bills/{bill_id}/discounts", {"manual": {"percent": "20", "reason": "Complaint"}}
    )
    too_early = desk.post(f"/bills/{bill_id}/confirm")
    discount_id = discounted.json["discounts"][0]["id"]
    approved = manager.post(f"/bills/{bill_id}/discounts/{discount_id}/approve")
    confirmed = desk.post(f"/bills/{bill_id}/confirm")

    assert opened.status == 201
    assert opened.json["number"] == "C1-20260914-0001"
    assert line.status == 201
    assert line.json["amount"] == "600.00"
    assert line.json["teeth"] == [16, 17]
    assert discounted.json["discounts"][0]["status"] == "pending"
    assert discounted.json["discounts"][0]["amount"] == "130.00"
    assert too_early.status == 409
    assert is_error(too_early.json, "discount_pending")
    assert approved.json["status"] == "approved"
    assert confirmed.status == 200
    assert (confirmed.json["total"], confirmed.json["net_total"], confirmed.json["arrears"]) == (
        "650.00",
        "520.00",
        "520.00",
    )

    body = {
        "tenders": [
            {"method": "wechat", "amount": "300", "reference": "WX1"},
            {"method": "cash", "amount": "120.00", "tendered": "200"},
        ]
    }
    desk.headers["Idempotency-Key"] = "checkout-1"
    paid = desk.post(f"/bills/{bill_id}/payments", body)
    again = desk.post(f"/bills/{bill_id}/payments", body)
    other = desk.post(
        f"/bills/{bill_id}/payments", {"tenders": [{"method": "cash", "amount": "1"}]}
    )
    del desk.headers["Idempotency-Key"]
    over = desk.post(
        f"/bills/{bill_id}/payments", {"tenders": [{"method": "cash", "amount": "100.01"}]}
    )

    assert paid.status == 201
    assert (paid.json["change_due"], paid.json["replayed"]) == ("80.00", False)
    assert paid.json["bill"]["arrears"] == "100.00"
    assert [p["amount"] for p in paid.json["payments"]] == ["300.00", "120.00"]
    assert again.status == 200
    assert again.json["replayed"] is True
    assert again.json["payments"] == paid.json["payments"]
    assert other.status == 409
    assert is_error(other.json, "idempotency_mismatch")
    assert over.status == 409
    assert is_error(over.json, "overpayment")

    refundable = desk.get(f"/bills/{bill_id}/refundable")
    asked = desk.post(
        f"/bills/{bill_id}/refunds", {"method": "cash", "amount": "50", "reason": "Cancelled"}
    )
    refused = desk.post(f"/refunds/{asked.json['id']}/approve")
    done = manager.post(f"/refunds/{asked.json['id']}/approve")
    arrears = desk.get(f"/patients/{shop.zhang.pk}/arrears")

    assert refundable.json == [
        {
            "method": "cash",
            "paid": "120.00",
            "refunded": "0.00",
            "pending": "0.00",
            "refundable": "120.00",
        },
        {
            "method": "wechat",
            "paid": "300.00",
            "refunded": "0.00",
            "pending": "0.00",
            "refundable": "300.00",
        },
    ]
    assert asked.status == 201
    assert asked.json["status"] == "requested"
    assert refused.status == 403
    assert done.json["status"] == "refunded"
    assert arrears.json["arrears"] == "100.00"
    assert [b["id"] for b in arrears.json["bills"]] == [bill_id]

    preview = manager.get("/daily-closes/preview")
    closed = manager.post("/daily-closes", {"business_date": "2026-09-14", "note": "OK"})
    twice = manager.post("/daily-closes", {"business_date": "2026-09-14"})
    listed = manager.get("/daily-closes")
    late = desk.post(f"/bills/{bill_id}/payments", {"tenders": [{"method": "cash", "amount": "1"}]})

    assert preview.json["closed"] is False
    by_method = {m["method"]: m for m in preview.json["totals"]["by_method"]}
    assert by_method["cash"] == {
        "method": "cash",
        "received": "120.00",
        "paid_back": "50.00",
        "net": "70.00",
    }
    assert closed.status == 201
    assert closed.json["received_total"] == "420.00"
    assert closed.json["totals"] == preview.json["totals"]
    assert twice.status == 409
    assert is_error(twice.json, "day_already_closed")
    assert [c["id"] for c in listed.json["items"]] == [closed.json["id"]]
    assert late.status == 409
    assert is_error(late.json, "day_closed")


def test_void_through_the_api(world: World, shop: Shop, data: Data) -> None:
    desk = ApiClient(world.frontdesk)

    voided = desk.post(f"/bills/{data.draft.pk}/void", {"reason": "Duplicate"})
    refused = desk.post(f"/bills/{data.confirmed.pk}/void", {"reason": "Duplicate"})

    assert voided.json["status"] == "void"
    assert refused.status == 409
    assert is_error(refused.json, "bill_has_payments")


def test_lines_change_through_the_api(world: World, shop: Shop, data: Data) -> None:
    desk = ApiClient(world.frontdesk)
    path = f"/bills/{data.draft.pk}/lines/{data.line.pk}"

    changed = desk.patch(path, {"quantity": 3})
    removed = desk.delete(path)
    detail = desk.get(f"/bills/{data.draft.pk}")
    retired = desk.post(f"/bills/{data.draft.pk}/lines", {"item_id": shop.retired.pk})
    foreign_item = desk.post(f"/bills/{data.draft.pk}/lines", {"item_id": shop.item_b.pk})

    assert changed.json["amount"] == "900.00"
    assert removed.status == 204
    assert detail.json["lines"] == []
    assert detail.json["total"] == "0.00"
    assert retired.status == 400
    assert is_error(retired.json, "item_inactive")
    assert foreign_item.status == 404


# --- permissions ---------------------------------------------------------------------------


def test_a_doctor_reads_bills_but_does_not_charge(world: World, shop: Shop, data: Data) -> None:
    doctor = ApiClient(world.doctor)

    assert doctor.get(f"/bills/{data.draft.pk}").status == 200
    assert doctor.post("/bills", {"patient_id": shop.zhang.pk}).status == 403
    assert doctor.post(f"/bills/{data.confirmed.pk}/payments", PAY).status == 403
    assert doctor.get("/daily-closes/preview").status == 403


def test_front_desk_neither_approves_discounts_nor_refunds(
    world: World, shop: Shop, data: Data
) -> None:
    desk = ApiClient(world.frontdesk)

    discount = desk.post(f"/bills/{data.draft.pk}/discounts/{data.discount.pk}/approve")
    refund = desk.post(f"/refunds/{data.refund.pk}/approve")
    reject = desk.post(f"/refunds/{data.refund.pk}/reject", {"note": "No"})

    assert (discount.status, refund.status, reject.status) == (403, 403, 403)


def test_an_approver_discounts_and_refunds_at_once(world: World, shop: Shop, data: Data) -> None:
    manager = ApiClient(shop.manager)

    discounted = manager.post(
        f"/bills/{data.draft.pk}/discounts", {"manual": {"amount": "150", "reason": "VIP"}}
    )
    refund = manager.post(
        f"/bills/{data.confirmed.pk}/refunds", {"method": "cash", "amount": "50", "reason": "x"}
    )
    too_much = manager.post(
        f"/bills/{data.confirmed.pk}/refunds", {"method": "cash", "amount": "150.01", "reason": "x"}
    )

    assert discounted.json["discounts"][0]["status"] == "approved"
    assert refund.json["status"] == "refunded"
    # 300 paid in cash, 50 refunded, 100 awaiting approval: 150 left.
    assert too_much.status == 409
    assert is_error(too_much.json, "refund_exceeds_paid")


def test_amounts_are_validated(world: World, shop: Shop, data: Data) -> None:
    desk = ApiClient(world.frontdesk)
    path = f"/bills/{data.confirmed.pk}/payments"

    for amount in ("0", "-1", "1.001", "abc"):
        response = desk.post(path, {"tenders": [{"method": "cash", "amount": amount}]})
        assert response.status == 400, (amount, response)
    assert desk.post(path, {"tenders": []}).status == 400
    assert desk.post(path, {"tenders": [{"method": "cheque", "amount": "1"}]}).status == 400


# --- query count ----------------------------------------------------------------------------


def test_the_bill_list_takes_the_same_queries_for_3_or_30_bills(world: World, shop: Shop) -> None:
    desk = ApiClient(world.frontdesk)

    def bills(n: int) -> None:
        with tenant_scope(world.org, world.clinic1):
            for _ in range(n):
                make_bill(world, shop.zhang, [(shop.registration, 1)])

    bills(3)
    desk.get("/me")  # the token's first use of the day is recorded once
    with CaptureQueriesContext(connection) as few:
        assert len(desk.get("/bills", page_size=50).json["items"]) == 3
    bills(27)
    with CaptureQueriesContext(connection) as many:
        assert len(desk.get("/bills", page_size=50).json["items"]) == 30

    assert len(many) == len(few)


def test_the_bill_detail_takes_a_fixed_number_of_queries(
    world: World, shop: Shop, data: Data
) -> None:
    desk = ApiClient(world.frontdesk)
    desk.get("/me")  # the token's first use of the day is recorded once
    with CaptureQueriesContext(connection) as one:
        desk.get(f"/bills/{data.confirmed.pk}")
    with tenant_scope(world.org, world.clinic1):
        bill = make_bill(world, shop.li, [(shop.filling, 1), (shop.xray, 1), (shop.cleaning, 2)])
        for _ in range(3):
            bill_pay(
                actor=world.frontdesk,
                clinic=world.clinic1,
                bill=bill,
                tenders=[Tender("cash", D(10)), Tender("wechat", D(10))],
            )
    with CaptureQueriesContext(connection) as more:
        desk.get(f"/bills/{bill.pk}")

    assert len(more) == len(one)
