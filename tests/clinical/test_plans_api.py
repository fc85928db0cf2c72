"""The treatment plan API: the whole flow (write, alternatives, accept, change with
approval, execute into a bill), permissions, and isolation for every operation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from chairside.billing.models import Bill, BillLine
from chairside.clinical.models import PlanChangeRequest, PlanItem, TreatmentPlan
from chairside.clinical.services.plans import (
    PlanItemInput,
    plan_accept,
    plan_change_request,
    plan_create,
)
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.clinical.conftest import Clin
from tests.conftest import World
from tests.core.test_api import is_error

MY_PREFIXES = ("/plans", "/plan-changes", "/patients/{}/plans", "/patients/{}/history")


@dataclass
class Data:
    draft: TreatmentPlan
    plan: TreatmentPlan  # accepted, with a pending change
    item: PlanItem
    change: PlanChangeRequest

    def ids(self, world: World, clin: Clin) -> dict[str, int]:
        return {
            "patient": clin.zhang.pk,
            "draft": self.draft.pk,
            "plan": self.plan.pk,
            "item": self.item.pk,
            "change": self.change.pk,
            "filling": clin.filling.pk,
            "doctor": world.doctor.pk,
            "patient_b": clin.patient_b.pk,
            "filling_b": clin.filling_b.pk,
        }


@pytest.fixture
def data(world: World, clin: Clin) -> Data:
    with tenant_scope(world.org, world.clinic1):
        draft = plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            title="方案B",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
        )
        plan = plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.li,
            title="方案A",
            items=[PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26])],
        )
        plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=plan)
        item = PlanItem.objects.get(plan=plan)
        change = plan_change_request(
            actor=world.doctor,
            clinic=world.clinic1,
            plan=plan,
            reason="add scaling",
            items=[
                PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26], plan_item_id=item.pk),
                PlanItemInput(item_id=clin.scaling.pk),
            ],
        )
    return Data(draft, plan, item, change)


ITEM = {"item_id": "{filling}", "teeth": [16]}
ENDPOINTS = [
    Endpoint("GET", "/patients/{patient}/plans"),
    Endpoint("POST", "/plans", {"patient_id": "{patient}", "title": "T", "items": [ITEM]}),
    Endpoint("GET", "/plans/{plan}"),
    Endpoint("PATCH", "/plans/{draft}", {"title": "Renamed"}),
    Endpoint("POST", "/plans/{draft}/propose"),
    Endpoint("POST", "/plans/{draft}/accept"),
    Endpoint("POST", "/plans/{draft}/decline"),
    Endpoint("POST", "/plans/{plan}/cancel"),
    Endpoint("PATCH", "/plans/{plan}/items/{item}", {"status": "in_progress"}),
    Endpoint("POST", "/plans/{plan}/changes", {"reason": "r", "items": [ITEM]}),
    Endpoint("GET", "/plan-changes"),
    Endpoint("POST", "/plan-changes/{change}/approve", {}),
    Endpoint("POST", "/plan-changes/{change}/reject", {"note": "no"}),
    Endpoint("POST", "/plans/{plan}/executions", {"items": [{"item_id": "{item}", "quantity": 1}]}),
    Endpoint("GET", "/patients/{patient}/history"),
]

FOREIGN_LOOKUPS = [
    *[e for e in ENDPOINTS if "{" in e.path],
    Endpoint("POST", "/plans", {"patient_id": "{patient}", "title": "T", "items": [ITEM]}),
    Endpoint(
        "POST",
        "/plans",
        {
            "patient_id": "{patient_b}",
            "title": "T",
            "items": [{"item_id": "{filling_b}"}],
            "alternative_to": "{draft}",
        },
    ),
    Endpoint(
        "POST",
        "/plans",
        {
            "patient_id": "{patient_b}",
            "title": "T",
            "items": [{"item_id": "{filling_b}"}],
            "doctor_id": "{doctor}",
        },
    ),
]

MISSING = 987654


def fill(body: Any, ids: dict[str, int]) -> Any:
    """The endpoint's body with "{name}" placeholders replaced, in lists too."""
    if isinstance(body, dict):
        return {k: fill(v, ids) for k, v in body.items()}
    if isinstance(body, list):
        return [fill(v, ids) for v in body]
    if isinstance(body, str) and body.startswith("{") and body.endswith("}"):
        return ids[body[1:-1]]
    return body


def call(endpoint: Endpoint, api: ApiClient, ids: dict[str, int]) -> Any:
    return api.call(endpoint.method, endpoint.path.format(**ids), fill(endpoint.body, ids))


def missing_ids(ids: dict[str, int]) -> dict[str, int]:
    return {k: (v if k.endswith("_b") else MISSING) for k, v in ids.items()}


def count(model: type[Any], world: World) -> int:
    return int(model.all_tenants.filter(organization=world.org).count())


def test_every_plan_operation_is_covered(db: None) -> None:
    mine = {
        op
        for op in documented_operations(tags={"clinical"})
        if op.split(" ", 1)[1].startswith(MY_PREFIXES)
    }
    assert mine == {e.shape for e in ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN_LOOKUPS, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, clin: Clin, data: Data, endpoint: Endpoint
) -> None:
    api = ApiClient(world.boss_b)
    ids = data.ids(world, clin)
    audit_before = count(AuditEntry, world)

    foreign = call(endpoint, api, ids)
    missing = call(endpoint, api, missing_ids(ids))

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert count(AuditEntry, world) == audit_before
    assert count(BillLine, world) == 0


def test_another_organizations_catalogue_item_is_like_a_missing_one(
    world: World, clin: Clin, data: Data
) -> None:
    api = ApiClient(world.boss)
    body = {"patient_id": clin.zhang.pk, "title": "T", "items": [{"item_id": clin.filling_b.pk}]}
    foreign = api.post("/plans", body)
    missing = api.post("/plans", {**body, "items": [{"item_id": MISSING}]})
    assert foreign.status == 400
    assert foreign.json == missing.json
    assert "items.0.item_id" in foreign.json["fields"]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, clin: Clin, data: Data, endpoint: Endpoint
) -> None:
    audit_before = count(AuditEntry, world)

    response = call(
        endpoint, ApiClient(world.frontdesk, clinic=world.clinic2), data.ids(world, clin)
    )

    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert count(AuditEntry, world) == audit_before


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.method != "GET" and "executions" not in e.path], ids=str
)
def test_a_nurse_reads_but_does_not_write_plans(
    world: World, clin: Clin, data: Data, endpoint: Endpoint
) -> None:
    response = call(endpoint, ApiClient(clin.nurse), data.ids(world, clin))
    assert response.status == 403, response


def test_lists_of_another_organization_show_nothing_of_a(
    world: World, clin: Clin, data: Data
) -> None:
    response = ApiClient(world.boss_b).get("/plan-changes")
    assert response.status == 200
    assert response.json == []


# --- the flow ---------------------------------------------------------------------------


def test_write_alternatives_accept_and_execute_through_the_api(world: World, clin: Clin) -> None:
    doctor = ApiClient(world.doctor)
    desk = ApiClient(world.frontdesk)

    first = doctor.post(
        "/plans",
        {
            "patient_id": clin.zhang.pk,
            "title": "种植",
            "items": [{"item_id": clin.root_canal.pk, "teeth": [36, 46], "note": "先根管"}],
        },
    )
    assert first.status == 201, first
    assert first.json["total"] == "2400.00"
    assert first.json["items"][0]["quantity"] == 2
    assert first.json["items"][0]["teeth"] == [36, 46]
    second = doctor.post(
        "/plans",
        {
            "patient_id": clin.zhang.pk,
            "title": "充填",
            "alternative_to": first.json["id"],
            "items": [{"item_id": clin.filling.pk, "teeth": [36, 46], "unit_price": "260.5"}],
        },
    )
    assert second.status == 201
    assert second.json["alternative_group"] == first.json["id"]
    assert second.json["total"] == "521.00"

    assert doctor.post(f"/plans/{second.json['id']}/propose").status == 200
    # The front desk may execute but not record the patient's choice (plans.write).
    assert desk.post(f"/plans/{second.json['id']}/accept").status == 403
    accepted = doctor.post(f"/plans/{second.json['id']}/accept")
    assert accepted.status == 200
    assert accepted.json["status"] == "accepted"
    assert accepted.json["accepted_recorded_by"]["id"] == world.doctor.pk
    assert doctor.get(f"/plans/{first.json['id']}").json["status"] == "declined"
    plans = doctor.get(f"/patients/{clin.zhang.pk}/plans").json
    assert [p["title"] for p in plans] == ["种植", "充填"]

    item_id = accepted.json["items"][0]["id"]
    executed = desk.post(
        f"/plans/{second.json['id']}/executions",
        {"items": [{"item_id": item_id, "quantity": 1}]},
    )
    assert executed.status == 201, executed
    (execution,) = executed.json
    with tenant_scope(world.org):
        bill = Bill.objects.get(pk=execution["bill_id"])
        line = BillLine.objects.get(pk=execution["bill_line_id"])
    assert (bill.number, bill.total) == (execution["bill_number"], Decimal("260.50"))
    assert (execution["executed_quantity"], execution["item_status"]) == (1, "in_progress")
    assert line.doctor_id == world.doctor.pk

    too_much = desk.post(
        f"/plans/{second.json['id']}/executions",
        {"items": [{"item_id": item_id, "quantity": 2}]},
    )
    assert too_much.status == 409
    assert is_error(too_much.json, "plan_execution_exceeds_remaining")
    assert "items.0.quantity" in too_much.json["fields"]

    # The item of another plan is not this plan's.
    other = desk.post(
        f"/plans/{first.json['id']}/executions",
        {"items": [{"item_id": item_id, "quantity": 1}]},
    )
    assert other.status == 404


def test_a_change_needs_someone_who_may_approve(world: World, clin: Clin, data: Data) -> None:
    doctor = ApiClient(world.doctor)
    boss = ApiClient(world.boss)

    pending = doctor.get("/plan-changes", status="pending")
    assert [c["id"] for c in pending.json] == [data.change.pk]
    assert pending.json[0]["items"][1]["unit_price"] == "200.00"

    refused = doctor.post(f"/plan-changes/{data.change.pk}/approve", {})
    assert refused.status == 403
    approved = boss.post(f"/plan-changes/{data.change.pk}/approve", {"note": "ok"})
    assert approved.status == 200, approved
    assert approved.json["status"] == "approved"
    assert approved.json["decided_by"]["id"] == world.boss.pk
    plan = doctor.get(f"/plans/{data.plan.pk}").json
    assert [i["name"] for i in plan["items"]] == ["树脂充填", "全口洁治"]
    assert plan["total"] == "800.00"

    again = boss.post(f"/plan-changes/{data.change.pk}/reject", {"note": "late"})
    assert again.status == 409
    changed = doctor.post(
        f"/plans/{data.plan.pk}/changes",
        {
            "reason": "drop 26",
            "items": [{"item_id": clin.filling.pk, "teeth": [16], "plan_item_id": data.item.pk}],
        },
    )
    assert changed.status == 201
    assert changed.json["items"][0]["quantity"] == 1


def test_item_status_and_plan_edits_answer_conflicts(world: World, clin: Clin, data: Data) -> None:
    doctor = ApiClient(world.doctor)

    done = doctor.patch(f"/plans/{data.plan.pk}/items/{data.item.pk}", {"status": "done"})
    assert done.status == 409
    assert is_error(done.json, "plan_item_not_executed")
    ok = doctor.patch(f"/plans/{data.plan.pk}/items/{data.item.pk}", {"status": "in_progress"})
    assert ok.status == 200
    assert ok.json["items"][0]["status"] == "in_progress"
    bad = doctor.patch(f"/plans/{data.plan.pk}/items/{data.item.pk}", {"status": "lost"})
    assert bad.status == 400

    edit = doctor.patch(f"/plans/{data.plan.pk}", {"title": "x"})
    assert edit.status == 409
    assert is_error(edit.json, "plan_wrong_status")
    edit = doctor.patch(
        f"/plans/{data.draft.pk}",
        {"title": "新方案", "items": [{"item_id": clin.filling.pk, "teeth": [11, 12, 13]}]},
    )
    assert edit.status == 200
    assert (edit.json["title"], edit.json["total"]) == ("新方案", "900.00")
    bad_teeth = doctor.patch(
        f"/plans/{data.draft.pk}", {"items": [{"item_id": clin.filling.pk, "teeth": [19]}]}
    )
    assert bad_teeth.status == 400


def test_cancel_and_decline_through_the_api(world: World, clin: Clin, data: Data) -> None:
    doctor = ApiClient(world.doctor)
    assert doctor.post(f"/plans/{data.draft.pk}/decline").json["status"] == "declined"
    assert doctor.post(f"/plans/{data.draft.pk}/accept").status == 409
    cancelled = doctor.post(f"/plans/{data.plan.pk}/cancel")
    assert cancelled.json["status"] == "cancelled"
    assert cancelled.json["total"] == "0.00"


def test_plans_are_the_organizations_executed_where_the_work_is_done(
    world: World, clin: Clin, data: Data
) -> None:
    """Decision: any clinic of the organization may read and execute a plan written at
    clinic 1; the charge lands on the bill of the clinic acted in."""
    other_clinic = ApiClient(clin.doctor_c2)
    assert other_clinic.get(f"/plans/{data.plan.pk}").status == 200

    executed = ApiClient(world.boss, clinic=world.clinic2).post(
        f"/plans/{data.plan.pk}/executions", {"items": [{"item_id": data.item.pk, "quantity": 1}]}
    )

    assert executed.status == 201, executed
    with tenant_scope(world.org):
        bill = Bill.objects.get(pk=executed.json[0]["bill_id"])
    assert bill.clinic_id == world.clinic2.pk
    assert executed.json[0]["clinic_id"] == world.clinic2.pk
