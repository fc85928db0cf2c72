"""Execution confirmation: each confirmed quantity becomes a bill line at the acting clinic,
never more than was planned, and the plan completes when every item is closed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chairside.billing.models import Bill, BillLine
from chairside.clinical.models import PlanItem, PlanItemExecution, TreatmentPlan
from chairside.clinical.services.execution import plan_execute
from chairside.clinical.services.plans import (
    PlanErrorCode,
    PlanItemInput,
    plan_accept,
    plan_create,
)
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from tests.clinical.conftest import Clin
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")


def accepted_plan(world: World, clin: Clin, patient=None) -> TreatmentPlan:  # type: ignore[no-untyped-def]
    plan = plan_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=patient or clin.zhang,
        title="方案",
        items=[
            PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26], unit_price=Decimal("250")),
            PlanItemInput(item_id=clin.scaling.pk),
        ],
    )
    return plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=plan)


def items_of(plan: TreatmentPlan) -> list[PlanItem]:
    return list(PlanItem.objects.filter(plan=plan).order_by("position", "id"))


def test_execution_charges_the_plans_price_on_todays_bill(world: World, clin: Clin) -> None:
    plan = accepted_plan(world, clin)
    filling, scaling = items_of(plan)

    done = plan_execute(
        actor=world.frontdesk,
        clinic=world.clinic1,
        executions=[(filling, 1), (scaling, 1)],
    )

    assert len(done) == 2
    bill = Bill.objects.get()
    assert (bill.clinic, bill.patient, bill.status) == (world.clinic1, clin.zhang, "draft")
    lines = list(BillLine.objects.filter(bill=bill).order_by("id"))
    assert [(ln.name, ln.quantity, ln.unit_price, ln.amount, str(ln.teeth)) for ln in lines] == [
        ("树脂充填", 1, Decimal("250.00"), Decimal("250.00"), "16,26"),
        ("全口洁治", 1, Decimal("200.00"), Decimal("200.00"), ""),
    ]
    assert all(ln.doctor == world.doctor for ln in lines)
    assert bill.total == Decimal("450.00")
    assert [e.bill_line for e in done] == lines
    filling, scaling = items_of(plan)
    assert (filling.executed_quantity, filling.status) == (1, "in_progress")
    assert (scaling.executed_quantity, scaling.status) == (1, "done")
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.ACCEPTED
    execution = PlanItemExecution.objects.get(plan_item=filling)
    assert (execution.confirmed_by, execution.clinic, execution.doctor) == (
        world.frontdesk,
        world.clinic1,
        world.doctor,
    )
    assert AuditEntry.objects.filter(
        entity_type="clinical.planitemexecution", entity_id=str(execution.pk)
    ).exists()


def test_a_second_execution_the_same_day_adds_to_the_same_bill(world: World, clin: Clin) -> None:
    plan = accepted_plan(world, clin)
    filling, scaling = items_of(plan)
    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 1)])
    plan_execute(
        actor=world.frontdesk,
        clinic=world.clinic1,
        executions=[(filling, 1), (scaling, 1)],
        doctor=clin.doctor2,
    )

    bill = Bill.objects.get()
    assert BillLine.objects.filter(bill=bill).count() == 3
    assert bill.total == Decimal("700.00")
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.COMPLETED
    assert plan.total == Decimal("700.00")  # the plan total equals what was charged
    assert set(BillLine.objects.filter(doctor=clin.doctor2).values_list("name", flat=True)) == {
        "树脂充填",
        "全口洁治",
    }


def test_more_than_remains_is_refused_and_nothing_is_written(world: World, clin: Clin) -> None:
    plan = accepted_plan(world, clin)
    filling, scaling = items_of(plan)

    with pytest.raises(Conflict) as caught:
        plan_execute(
            actor=world.frontdesk,
            clinic=world.clinic1,
            executions=[(scaling, 1), (filling, 3)],
        )

    assert caught.value.code == PlanErrorCode.TOO_MUCH
    assert "items.1.quantity" in caught.value.fields
    assert not BillLine.objects.exists()
    assert not PlanItemExecution.objects.exists()
    assert [i.executed_quantity for i in items_of(plan)] == [0, 0]


def test_bad_requests_are_refused(world: World, clin: Clin) -> None:
    plan = accepted_plan(world, clin)
    other = accepted_plan(world, clin, patient=clin.li)
    filling, _scaling = items_of(plan)
    with pytest.raises(ValidationFailed):
        plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[])
    with pytest.raises(ValidationFailed):
        plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 0)])
    with pytest.raises(ValidationFailed):
        plan_execute(
            actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 1), (filling, 1)]
        )
    with pytest.raises(ValidationFailed):
        plan_execute(
            actor=world.frontdesk,
            clinic=world.clinic1,
            executions=[(filling, 1), (items_of(other)[0], 1)],
        )
    assert not BillLine.objects.exists()


def test_only_accepted_plans_and_open_items_are_executed(world: World, clin: Clin) -> None:
    draft = plan_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=clin.zhang,
        title="草稿",
        items=[PlanItemInput(item_id=clin.scaling.pk)],
    )
    with pytest.raises(Conflict) as caught:
        plan_execute(
            actor=world.frontdesk, clinic=world.clinic1, executions=[(items_of(draft)[0], 1)]
        )
    assert caught.value.code == PlanErrorCode.WRONG_STATUS

    plan = accepted_plan(world, clin)
    scaling = items_of(plan)[1]
    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(scaling, 1)])
    with pytest.raises(Conflict):
        plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(scaling, 1)])


def test_a_plan_of_clinic_1_executed_at_clinic_2_charges_clinic_2(world: World, clin: Clin) -> None:
    plan = accepted_plan(world, clin)
    filling, _scaling = items_of(plan)

    with tenant_scope(world.org, world.clinic2):
        plan_execute(
            actor=world.boss, clinic=world.clinic2, executions=[(filling, 2)], doctor=clin.doctor_c2
        )

    bill = Bill.objects.get()
    assert bill.clinic == world.clinic2
    line = BillLine.objects.get()
    assert (line.quantity, line.amount, line.doctor) == (2, Decimal("500.00"), clin.doctor_c2)
    assert PlanItemExecution.objects.get().clinic == world.clinic2
