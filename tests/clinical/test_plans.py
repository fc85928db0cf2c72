"""Treatment plan services: alternatives and the patient's choice, item statuses, approved
changes that keep what was executed, totals, and an audit row for every write."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chairside.billing.models import ClinicPrice
from chairside.clinical.models import PlanChangeRequest, PlanItem, TreatmentPlan
from chairside.clinical.services.execution import plan_execute
from chairside.clinical.services.plans import (
    PlanErrorCode,
    PlanItemInput,
    plan_accept,
    plan_cancel,
    plan_change_approve,
    plan_change_reject,
    plan_change_request,
    plan_create,
    plan_decline,
    plan_item_set_status,
    plan_propose,
    plan_update,
)
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from tests.clinical.conftest import Clin
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("in_clinic1")


def new_plan(
    world: World,
    clin: Clin,
    *lines: PlanItemInput,
    title: str = "方案A",
    alternative_to: TreatmentPlan | None = None,
) -> TreatmentPlan:
    return plan_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=clin.zhang,
        title=title,
        items=list(lines)
        or [
            PlanItemInput(item_id=clin.filling.pk, teeth=[16, 26]),
            PlanItemInput(item_id=clin.scaling.pk),
        ],
        alternative_to=alternative_to,
    )


def items_of(plan: TreatmentPlan) -> list[PlanItem]:
    return list(PlanItem.objects.filter(plan=plan).order_by("position", "id"))


def accepted(world: World, clin: Clin, *lines: PlanItemInput) -> TreatmentPlan:
    plan = new_plan(world, clin, *lines)
    return plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=plan)


def audits(instance: object) -> list[AuditEntry]:
    return list(
        AuditEntry.objects.filter(
            entity_type=instance._meta.label_lower,  # type: ignore[attr-defined]
            entity_id=str(instance.pk),  # type: ignore[attr-defined]
        ).order_by("id")
    )


# --- writing plans ----------------------------------------------------------------------


def test_a_new_plan_counts_teeth_prices_at_the_clinic_and_totals(world: World, clin: Clin) -> None:
    ClinicPrice.objects.create(item=clin.filling, clinic=world.clinic1, price=Decimal("280.00"))

    plan = new_plan(world, clin)

    filling, scaling = items_of(plan)
    assert (filling.quantity, filling.unit_price, str(filling.teeth)) == (
        2,
        Decimal("280.00"),
        "16,26",
    )
    assert (scaling.quantity, scaling.unit_price) == (1, Decimal("200.00"))
    assert plan.total == Decimal("760.00")
    assert plan.status == TreatmentPlan.Status.DRAFT
    assert plan.doctor == world.doctor
    assert plan.created_by == world.doctor
    assert plan.alternative_group == plan.pk
    assert [a.action for a in audits(plan)] == ["create"]
    assert len(audits(plan)[0].after["items"]) == 2


def test_explicit_quantity_price_and_both_arches(world: World, clin: Clin) -> None:
    plan = new_plan(
        world,
        clin,
        PlanItemInput(item_id=clin.aligners.pk, arch="both"),
        PlanItemInput(
            item_id=clin.root_canal.pk, teeth="36", quantity=1, unit_price=Decimal("999.5")
        ),
    )

    aligners, rct = items_of(plan)
    assert (aligners.quantity, aligners.arch) == (2, "both")
    assert rct.unit_price == Decimal("999.50")
    assert plan.total == Decimal("30999.50")


def test_bad_lines_are_all_reported_per_field(world: World, clin: Clin) -> None:
    with pytest.raises(ValidationFailed) as caught:
        new_plan(
            world,
            clin,
            PlanItemInput(item_id=clin.filling.pk, teeth=[19]),
            PlanItemInput(item_id=clin.filling_b.pk),
            PlanItemInput(item_id=clin.scaling.pk, quantity=0, arch="middle"),
        )

    assert set(caught.value.fields) == {
        "items.0.teeth",
        "items.1.item_id",
        "items.2.quantity",
        "items.2.arch",
    }
    assert not TreatmentPlan.objects.exists()


def test_a_plan_needs_a_title_and_items(world: World, clin: Clin) -> None:
    with pytest.raises(ValidationFailed) as caught:
        plan_create(
            actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, title=" ", items=[]
        )
    assert "title" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        plan_create(
            actor=world.doctor, clinic=world.clinic1, patient=clin.zhang, title="A", items=[]
        )
    assert "items" in caught.value.fields


def test_alternatives_share_the_first_plans_group(world: World, clin: Clin) -> None:
    first = new_plan(world, clin)
    second = new_plan(world, clin, title="方案B", alternative_to=first)
    third = new_plan(world, clin, title="方案C", alternative_to=second)

    assert first.alternative_group == second.alternative_group == third.alternative_group
    assert second.alternative_group == first.pk


def test_an_alternative_is_for_the_same_patient(world: World, clin: Clin) -> None:
    first = new_plan(world, clin)
    with pytest.raises(ValidationFailed):
        plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.li,
            title="B",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
            alternative_to=first,
        )


def test_editing_replaces_items_until_the_plan_is_accepted(world: World, clin: Clin) -> None:
    plan = new_plan(world, clin)
    plan_propose(actor=world.doctor, clinic=world.clinic1, plan=plan)

    plan = plan_update(
        actor=world.doctor,
        clinic=world.clinic1,
        plan=plan,
        title="方案A2",
        items=[PlanItemInput(item_id=clin.root_canal.pk, teeth=[36, 46])],
    )

    assert plan.title == "方案A2"
    assert plan.total == Decimal("2400.00")
    assert [i.name for i in items_of(plan)] == ["根管治疗"]
    assert audits(plan)[-1].before["title"] == "方案A"
    plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=plan)
    with pytest.raises(Conflict) as caught:
        plan_update(actor=world.doctor, clinic=world.clinic1, plan=plan, title="X")
    assert caught.value.code == PlanErrorCode.WRONG_STATUS


# --- the patient's choice ---------------------------------------------------------------


def test_accepting_one_alternative_declines_the_others(world: World, clin: Clin) -> None:
    first = new_plan(world, clin)
    second = new_plan(world, clin, title="方案B", alternative_to=first)
    third = new_plan(world, clin, title="方案C", alternative_to=first)
    plan_decline(actor=world.frontdesk, clinic=world.clinic1, plan=third)
    other_patient = plan_create(
        actor=world.doctor,
        clinic=world.clinic1,
        patient=clin.li,
        title="李四方案",
        items=[PlanItemInput(item_id=clin.scaling.pk)],
    )

    plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=second)

    statuses = dict(TreatmentPlan.objects.values_list("title", "status"))
    assert statuses == {
        "方案A": "declined",
        "方案B": "accepted",
        "方案C": "declined",
        "李四方案": "draft",
    }
    second.refresh_from_db()
    assert second.accepted_recorded_by == world.frontdesk
    assert second.accepted_at is not None
    assert audits(first)[-1].after == {"status": "declined"}
    with pytest.raises(Conflict):
        plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=first)
    with pytest.raises(Conflict) as caught:
        new_plan(world, clin, title="方案D", alternative_to=first)
    assert caught.value.code == PlanErrorCode.ALREADY_CHOSEN
    assert other_patient.status == "draft"


def test_status_steps_refuse_what_the_status_does_not_allow(world: World, clin: Clin) -> None:
    plan = new_plan(world, clin)
    plan_decline(actor=world.frontdesk, clinic=world.clinic1, plan=plan)
    for step in (plan_propose, plan_accept, plan_decline, plan_cancel):
        with pytest.raises(Conflict):
            step(actor=world.frontdesk, clinic=world.clinic1, plan=plan)


# --- item statuses ----------------------------------------------------------------------


def test_manual_item_statuses_follow_the_rules(world: World, clin: Clin) -> None:
    plan = accepted(world, clin)
    filling, scaling = items_of(plan)

    plan_item_set_status(
        actor=world.doctor, clinic=world.clinic1, item=filling, status="in_progress"
    )
    plan_item_set_status(actor=world.doctor, clinic=world.clinic1, item=filling, status="planned")
    with pytest.raises(Conflict) as caught:
        plan_item_set_status(actor=world.doctor, clinic=world.clinic1, item=filling, status="done")
    assert caught.value.code == PlanErrorCode.NOT_EXECUTED

    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 1)])
    with pytest.raises(Conflict):
        plan_item_set_status(
            actor=world.doctor, clinic=world.clinic1, item=filling, status="planned"
        )
    # Finished early: one filling was enough. The rest is dropped from the total.
    plan_item_set_status(actor=world.doctor, clinic=world.clinic1, item=filling, status="done")
    plan.refresh_from_db()
    assert plan.total == Decimal("500.00")  # 1 x 300 executed + scaling 200 planned
    with pytest.raises(Conflict) as caught:
        plan_item_set_status(
            actor=world.doctor, clinic=world.clinic1, item=filling, status="in_progress"
        )
    assert caught.value.code == PlanErrorCode.ITEM_CLOSED

    plan_item_set_status(actor=world.doctor, clinic=world.clinic1, item=scaling, status="cancelled")
    plan.refresh_from_db()
    assert plan.status == TreatmentPlan.Status.COMPLETED
    assert plan.total == Decimal("300.00")
    assert audits(scaling)[-1].after == {"status": "cancelled"}


def test_item_statuses_change_only_on_accepted_plans(world: World, clin: Clin) -> None:
    plan = new_plan(world, clin)
    with pytest.raises(Conflict):
        plan_item_set_status(
            actor=world.doctor, clinic=world.clinic1, item=items_of(plan)[0], status="cancelled"
        )


def test_cancelling_a_plan_keeps_what_was_executed(world: World, clin: Clin) -> None:
    plan = accepted(world, clin)
    filling, _scaling = items_of(plan)
    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 1)])

    plan = plan_cancel(actor=world.doctor, clinic=world.clinic1, plan=plan)

    assert plan.status == TreatmentPlan.Status.CANCELLED
    assert [(i.status, i.executed_quantity) for i in items_of(plan)] == [
        ("cancelled", 1),
        ("cancelled", 0),
    ]
    assert plan.total == Decimal("300.00")
    assert audits(plan)[-1].summary == "Treatment plan cancelled"


# --- changes of accepted plans ----------------------------------------------------------


def test_a_change_applies_only_once_approved_and_keeps_executions(world: World, clin: Clin) -> None:
    plan = accepted(world, clin)
    filling, scaling = items_of(plan)
    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 1)])

    change = plan_change_request(
        actor=world.doctor,
        clinic=world.clinic1,
        plan=plan,
        reason="26 needs a root canal instead",
        items=[
            PlanItemInput(item_id=clin.filling.pk, teeth=[16], quantity=1, plan_item_id=filling.pk),
            PlanItemInput(item_id=clin.root_canal.pk, teeth=[26]),
        ],
    )

    assert change.status == PlanChangeRequest.Status.PENDING
    assert change.items[1]["unit_price"] == "1200.00"
    plan.refresh_from_db()
    assert plan.total == Decimal("800.00")  # unchanged until approved

    plan_change_approve(actor=world.boss, clinic=world.clinic1, change=change)

    plan.refresh_from_db()
    rows = [(i.name, i.quantity, i.executed_quantity, i.status) for i in items_of(plan)]
    assert rows == [
        ("树脂充填", 1, 1, "done"),
        ("根管治疗", 1, 0, "planned"),
        ("全口洁治", 1, 0, "cancelled"),  # left out: cancelled, not deleted
    ]
    assert plan.total == Decimal("1500.00")
    assert plan.status == TreatmentPlan.Status.ACCEPTED
    change.refresh_from_db()
    assert change.decided_by == world.boss
    assert change.status == "approved"
    assert audits(plan)[-1].summary.startswith("Plan changed by an approved request")
    assert scaling.pk in [r["id"] for r in audits(plan)[-1].before["items"]]


def test_a_change_cannot_drop_or_reduce_executed_work(world: World, clin: Clin) -> None:
    plan = accepted(world, clin)
    filling, scaling = items_of(plan)
    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 2)])

    for lines in (
        [PlanItemInput(item_id=clin.scaling.pk, plan_item_id=scaling.pk)],
        [
            PlanItemInput(item_id=clin.filling.pk, quantity=1, plan_item_id=filling.pk),
            PlanItemInput(item_id=clin.scaling.pk, plan_item_id=scaling.pk),
        ],
        [
            PlanItemInput(
                item_id=clin.filling.pk, unit_price=Decimal("1"), plan_item_id=filling.pk
            ),
        ],
    ):
        with pytest.raises(ValidationFailed) as caught:
            plan_change_request(
                actor=world.doctor, clinic=world.clinic1, plan=plan, reason="x", items=lines
            )
        assert caught.value.code == PlanErrorCode.EXECUTED_ITEM
    assert not PlanChangeRequest.objects.exists()


def test_approval_checks_the_plan_as_it_is_now(world: World, clin: Clin) -> None:
    plan = accepted(world, clin)
    filling, scaling = items_of(plan)
    change = plan_change_request(
        actor=world.doctor,
        clinic=world.clinic1,
        plan=plan,
        reason="one filling only",
        items=[
            PlanItemInput(item_id=clin.filling.pk, teeth=[16], plan_item_id=filling.pk),
            PlanItemInput(item_id=clin.scaling.pk, plan_item_id=scaling.pk),
        ],
    )
    # Meanwhile both fillings are done.
    plan_execute(actor=world.frontdesk, clinic=world.clinic1, executions=[(filling, 2)])

    with pytest.raises(Conflict):
        plan_change_approve(actor=world.boss, clinic=world.clinic1, change=change)
    change.refresh_from_db()
    assert change.status == "pending"
    assert items_of(plan)[0].quantity == 2


def test_one_pending_change_at_a_time_and_rejection(world: World, clin: Clin) -> None:
    plan = accepted(world, clin)
    lines = [PlanItemInput(item_id=clin.scaling.pk)]
    change = plan_change_request(
        actor=world.doctor, clinic=world.clinic1, plan=plan, reason="cheaper", items=lines
    )
    with pytest.raises(Conflict) as caught:
        plan_change_request(
            actor=world.doctor, clinic=world.clinic1, plan=plan, reason="again", items=lines
        )
    assert caught.value.code == PlanErrorCode.CHANGE_PENDING

    with pytest.raises(ValidationFailed):
        plan_change_reject(actor=world.boss, clinic=world.clinic1, change=change, note="")
    plan_change_reject(actor=world.boss, clinic=world.clinic1, change=change, note="Not agreed")

    change.refresh_from_db()
    assert (change.status, change.decision_note) == ("rejected", "Not agreed")
    assert len(items_of(plan)) == 2
    assert all(i.status == "planned" for i in items_of(plan))
    with pytest.raises(Conflict):
        plan_change_approve(actor=world.boss, clinic=world.clinic1, change=change)
    assert [a.action for a in audits(change)] == ["create", "update"]


def test_changes_only_for_accepted_plans(world: World, clin: Clin) -> None:
    plan = new_plan(world, clin)
    with pytest.raises(Conflict):
        plan_change_request(
            actor=world.doctor,
            clinic=world.clinic1,
            plan=plan,
            reason="x",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
        )


def test_another_organizations_patient_or_plan_is_not_found(world: World, clin: Clin) -> None:
    with pytest.raises(NotFound):
        plan_create(
            actor=world.doctor,
            clinic=world.clinic1,
            patient=clin.patient_b,
            title="x",
            items=[PlanItemInput(item_id=clin.scaling.pk)],
        )
    with tenant_scope(world.org_b, world.clinic_b):
        plan_b = plan_create(
            actor=world.boss_b,
            clinic=world.clinic_b,
            patient=clin.patient_b,
            title="B",
            items=[PlanItemInput(item_id=clin.filling_b.pk, teeth=[11])],
        )
    with pytest.raises(NotFound):
        plan_accept(actor=world.frontdesk, clinic=world.clinic1, plan=plan_b)


def test_a_patients_plans_load_in_a_fixed_number_of_queries(world: World, clin: Clin) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from chairside.clinical.selectors.plans import patient_plans

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            plans = patient_plans(clin.zhang)
            for plan in plans:
                for item in plan.items.all():
                    _ = (item.item.code, plan.doctor.display_name, plan.pending_changes)  # type: ignore[attr-defined]
        return len(captured)

    first = new_plan(world, clin)
    one = count()
    for n in range(4):
        new_plan(world, clin, title=f"备选{n}", alternative_to=first)

    assert count() == one == 3
    assert [p.title for p in patient_plans(clin.zhang)] == [
        "方案A",
        "备选0",
        "备选1",
        "备选2",
        "备选3",
    ]
