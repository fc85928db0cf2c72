"""The plan pages: the builder (new, alternative, edit, change request), the plan with its
steps and execution form, the approvals list and the chart's plans panel."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from chairside.billing.models import Bill, BillLine, ClinicPrice
from chairside.clinical.models import PlanChangeRequest, PlanItem, TreatmentPlan
from chairside.clinical.services.plans import (
    PlanItemInput,
    plan_accept,
    plan_change_request,
    plan_create,
)
from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from tests.clinical.conftest import Clin
from tests.conftest import PASSWORD, World


def signed_in(staff: Staff) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=staff.username, password=PASSWORD)
    return client


def lines(*rows: dict[str, Any]) -> str:
    return json.dumps(list(rows))


def make_plan(world: World, clin: Clin, *, accept: bool = False) -> TreatmentPlan:
    with tenant_scope(world.org, world.clinic1):
        plan = plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            title="根管方案",
            items=[
                PlanItemInput(item_id=clin.root_canal.pk, teeth=[36]),
                PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26]),
            ],
        )
        if accept:
            plan_accept(actor=world.doctor, clinic=world.clinic1, plan=plan)
    return plan


def test_the_builder_page_embeds_the_catalogue_with_clinic_prices(world: World, clin: Clin) -> None:
    with tenant_scope(world.org):
        ClinicPrice.objects.create(item=clin.filling, clinic=world.clinic1, price=Decimal("280"))

    response = signed_in(world.doctor).get(
        reverse("clinical:plan_new", kwargs={"patient_id": clin.zhang.pk})
    )

    assert response.status_code == 200
    data = response.context["builder_data"]
    assert {c["code"]: c["price"] for c in data["catalogue"]} == {
        "filling": "280.00",
        "rct": "1200.00",
        "scaling": "200.00",
        "aligners": "15000.00",
    }
    assert len(data["catalogue"]) == 4  # B's catalogue is not offered
    html = response.content.decode()
    assert "plan-builder.js" in html
    assert 'id="plan-builder-data"' in html
    assert data["mode"] == "new"


def test_saving_a_new_plan_from_the_builder(world: World, clin: Clin) -> None:
    client = signed_in(world.doctor)
    url = reverse("clinical:plan_new", kwargs={"patient_id": clin.zhang.pk})

    response = client.post(
        url,
        {
            "title": "充填方案",
            "doctor": world.doctor.pk,
            "note": "",
            "items_json": lines(
                {"item_id": clin.filling.pk, "teeth": [16, 26], "quantity": 2, "unit_price": "300"},
                {"item_id": clin.scaling.pk, "teeth": [], "quantity": "", "unit_price": ""},
            ),
        },
    )

    with tenant_scope(world.org):
        plan = TreatmentPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("clinical:plan_detail", kwargs={"plan_id": plan.pk})
    assert (plan.title, plan.total, plan.clinic_id) == (
        "充填方案",
        Decimal("800.00"),
        world.clinic1.pk,
    )


def test_builder_errors_come_back_per_line_with_the_lines_kept(world: World, clin: Clin) -> None:
    client = signed_in(world.doctor)
    url = reverse("clinical:plan_new", kwargs={"patient_id": clin.zhang.pk})
    posted = lines(
        {"item_id": clin.filling.pk, "teeth": [19], "quantity": 1, "unit_price": "300"},
    )

    response = client.post(url, {"title": "X", "doctor": world.doctor.pk, "items_json": posted})

    assert response.status_code == 400
    data = response.context["builder_data"]
    assert "items.0.teeth" in data["errors"]
    assert data["lines"][0]["teeth"] == [19]
    missing_title = client.post(url, {"title": "", "doctor": world.doctor.pk, "items_json": posted})
    assert missing_title.status_code == 400
    assert "title" in missing_title.context["form"].errors
    garbage = client.post(url, {"title": "X", "doctor": world.doctor.pk, "items_json": "{oops"})
    assert garbage.status_code == 400
    with tenant_scope(world.org):
        assert not TreatmentPlan.objects.exists()


def test_an_alternative_from_the_builder_joins_the_group(world: World, clin: Clin) -> None:
    first = make_plan(world, clin)
    client = signed_in(world.doctor)
    url = reverse("clinical:plan_new", kwargs={"patient_id": clin.zhang.pk})

    page = client.get(url, {"alternative_to": first.pk})
    assert "根管方案" in page.content.decode()
    client.post(
        f"{url}?alternative_to={first.pk}",
        {
            "title": "拔除",
            "doctor": world.doctor.pk,
            "items_json": lines({"item_id": clin.scaling.pk}),
        },
    )

    with tenant_scope(world.org):
        second = TreatmentPlan.objects.get(title="拔除")
    assert second.alternative_group == first.pk


def test_the_plan_page_shows_items_and_steps_by_permission(world: World, clin: Clin) -> None:
    plan = make_plan(world, clin)
    url = reverse("clinical:plan_detail", kwargs={"plan_id": plan.pk})

    doctor_page = signed_in(world.doctor).get(url)
    nurse_page = signed_in(clin.nurse).get(url)

    assert doctor_page.status_code == 200
    html = doctor_page.content.decode()
    assert "根管治疗" in html
    assert "1,500" not in html
    assert reverse("clinical:plan_accept", kwargs={"plan_id": plan.pk}) in html
    assert reverse("clinical:plan_edit", kwargs={"plan_id": plan.pk}) in html
    assert nurse_page.status_code == 200
    assert (
        reverse("clinical:plan_accept", kwargs={"plan_id": plan.pk})
        not in nurse_page.content.decode()
    )
    assert (
        signed_in(clin.nurse)
        .post(reverse("clinical:plan_accept", kwargs={"plan_id": plan.pk}))
        .status_code
        == 403
    )


def test_accept_then_execute_from_the_plan_page_charges_the_bill(world: World, clin: Clin) -> None:
    plan = make_plan(world, clin)
    doctor = signed_in(world.doctor)
    doctor.post(reverse("clinical:plan_accept", kwargs={"plan_id": plan.pk}))
    with tenant_scope(world.org):
        plan.refresh_from_db()
        rct, filling = PlanItem.objects.filter(plan=plan).order_by("position")
    assert plan.status == "accepted"

    desk = signed_in(world.frontdesk)
    page = desk.get(reverse("clinical:plan_detail", kwargs={"plan_id": plan.pk}))
    assert f'name="qty_{rct.pk}"' in page.content.decode()
    response = desk.post(
        reverse("clinical:plan_execute", kwargs={"plan_id": plan.pk}),
        {f"qty_{rct.pk}": "1", f"qty_{filling.pk}": "", "then": "bill"},
    )

    with tenant_scope(world.org):
        bill = Bill.objects.get()
        assert BillLine.objects.get(bill=bill).amount == Decimal("1200.00")
        assert PlanItem.objects.get(pk=rct.pk).status == "done"
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:bill", kwargs={"bill_id": bill.pk})

    too_many = desk.post(
        reverse("clinical:plan_execute", kwargs={"plan_id": plan.pk}),
        {f"qty_{filling.pk}": "3"},
    )
    assert too_many.status_code == 400
    nothing = desk.post(reverse("clinical:plan_execute", kwargs={"plan_id": plan.pk}), {})
    assert nothing.status_code == 400
    assert "at least one item" in nothing.content.decode()
    with tenant_scope(world.org):
        assert BillLine.objects.count() == 1


def test_change_request_from_the_builder_and_approval(world: World, clin: Clin) -> None:
    plan = make_plan(world, clin, accept=True)
    with tenant_scope(world.org):
        rct, filling = PlanItem.objects.filter(plan=plan).order_by("position")
    doctor = signed_in(world.doctor)
    url = reverse("clinical:plan_change_new", kwargs={"plan_id": plan.pk})
    page = doctor.get(url)
    assert [line["plan_item_id"] for line in page.context["builder_data"]["lines"]] == [
        rct.pk,
        filling.pk,
    ]

    response = doctor.post(
        url,
        {
            "reason": "16 is fine",
            "items_json": lines(
                {
                    "plan_item_id": rct.pk,
                    "item_id": clin.root_canal.pk,
                    "teeth": [36],
                    "quantity": 1,
                    "unit_price": "1200.00",
                },
                {
                    "plan_item_id": filling.pk,
                    "item_id": clin.filling.pk,
                    "teeth": [26],
                    "quantity": 1,
                    "unit_price": "300.00",
                },
            ),
        },
    )
    assert response.status_code == 302
    with tenant_scope(world.org):
        change = PlanChangeRequest.objects.get()
    listing = signed_in(world.boss).get(reverse("clinical:plan_changes"))
    assert "16 is fine" in listing.content.decode()
    assert (
        doctor.post(
            reverse("clinical:plan_change_approve", kwargs={"change_id": change.pk})
        ).status_code
        == 403
    )

    signed_in(world.boss).post(
        reverse("clinical:plan_change_approve", kwargs={"change_id": change.pk})
    )

    with tenant_scope(world.org):
        plan.refresh_from_db()
        change.refresh_from_db()
    assert change.status == "approved"
    assert plan.total == Decimal("1500.00")


def test_rejecting_needs_a_reason(world: World, clin: Clin) -> None:
    plan = make_plan(world, clin, accept=True)
    with tenant_scope(world.org, world.clinic1):
        change = plan_change_request(
            actor=world.doctor,
            clinic=world.clinic1,
            plan=plan,
            reason="cheaper",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
        )
    boss = signed_in(world.boss)
    url = reverse("clinical:plan_change_reject", kwargs={"change_id": change.pk})
    boss.post(url, {"note": ""})
    with tenant_scope(world.org):
        change.refresh_from_db()
    assert change.status == "pending"
    boss.post(url, {"note": "No", "back": "plan"})
    with tenant_scope(world.org):
        change.refresh_from_db()
    assert change.status == "rejected"


def test_the_patient_chart_panel_lists_plans_by_group(world: World, clin: Clin) -> None:
    from django.template.loader import render_to_string

    from chairside.clinical.selectors.plans import patient_plans

    plan = make_plan(world, clin)
    with tenant_scope(world.org, world.clinic1):
        plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.zhang,
            title="备选",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
            alternative_to=plan,
        )
        plans = patient_plans(clin.zhang)
        html = render_to_string(
            "clinical/_patient_plans.html",
            {"plans": plans, "patient": clin.zhang, "access": None},
        )
    assert "根管方案" in html
    assert "备选" in html
    assert "2 alternatives" in html
    empty = render_to_string(
        "clinical/_patient_plans.html", {"plans": [], "patient": clin.zhang, "access": None}
    )
    assert "No treatment plan yet." in empty


def test_another_organizations_plan_pages_are_404(world: World, clin: Clin) -> None:
    plan = make_plan(world, clin, accept=True)
    other = signed_in(world.boss_b)
    for name in ("plan_detail", "plan_edit", "plan_change_new"):
        assert (
            other.get(reverse(f"clinical:{name}", kwargs={"plan_id": plan.pk})).status_code == 404
        )
    for name in ("plan_accept", "plan_cancel", "plan_execute"):
        assert (
            other.post(reverse(f"clinical:{name}", kwargs={"plan_id": plan.pk})).status_code == 404
        )
    assert (
        other.get(reverse("clinical:plan_new", kwargs={"patient_id": clin.zhang.pk})).status_code
        == 404
    )
    with tenant_scope(world.org):
        assert TreatmentPlan.objects.get(pk=plan.pk).status == "accepted"


@pytest.mark.parametrize("name", ["plan_changes"])
def test_pages_without_ids_render_empty_states(world: World, clin: Clin, name: str) -> None:
    response = signed_in(world.boss).get(reverse(f"clinical:{name}"))
    assert response.status_code == 200
    assert "No plan change is waiting for approval." in response.content.decode()


def test_the_patients_chart_shows_the_plans_panel(world: World, clin: Clin) -> None:
    plan = make_plan(world, clin)

    response = signed_in(world.doctor).get(
        reverse("clinical:chart", kwargs={"patient_id": clin.zhang.pk})
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("clinical:plan_detail", kwargs={"plan_id": plan.pk}) in html
    assert reverse("clinical:plan_new", kwargs={"patient_id": clin.zhang.pk}) in html
