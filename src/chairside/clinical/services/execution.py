"""Execution confirmation (执行确认): part of a plan item was done today; charge it.

Each confirmed quantity becomes a line on the patient's open bill at the acting clinic
(billing's `bill_open_for_visit` / `bill_line_add`) and a PlanItemExecution linking the two.
A plan may be executed at any clinic of its organization; the charge lands where the work
was done. The plans are locked first (in id order), then their items, so that concurrent
confirmations of the same item queue up and never execute more than was planned.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.billing.services.bills import bill_line_add, bill_open_for_visit
from chairside.clinical.models import PlanItem, PlanItemExecution, TreatmentPlan
from chairside.clinical.services.plans import (
    OPEN_ITEM_STATUSES,
    PlanErrorCode,
    refresh_plan_total,
    require_same_organization,
)
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff


@transaction.atomic
def plan_execute(
    *,
    actor: Staff,
    clinic: Clinic,
    executions: Sequence[tuple[PlanItem, int]],
    doctor: Staff | None = None,
) -> list[PlanItemExecution]:
    """Confirm `quantity` of each item as done now and charge it on the patient's bill at
    `clinic`. All the items belong to accepted plans of one patient; the same item may be
    named once. Nothing is written unless every line is valid."""
    if not executions:
        raise ValidationFailed(_("Choose at least one item to confirm."), field="items")
    require_same_organization(doctor)
    wanted: dict[int, int] = {}
    for index, (item, quantity) in enumerate(executions):
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValidationFailed(
                _("Enter a quantity of at least 1."), field=f"items.{index}.quantity"
            )
        if item.pk in wanted:
            raise ValidationFailed(_("Name each item once."), field=f"items.{index}.item_id")
        wanted[item.pk] = quantity
    plan_ids = sorted({item.plan_id for item, _quantity in executions})
    plans = {
        p.pk: p
        for p in TreatmentPlan.objects.select_for_update()
        .filter(pk__in=plan_ids)
        .select_related("doctor")
        .order_by("pk")
    }
    items = {
        i.pk: i
        for i in PlanItem.objects.select_for_update()
        .filter(pk__in=wanted, plan_id__in=plans)
        .select_related("item")
        .order_by("pk")
    }
    if len(items) != len(wanted) or len(plans) != len(plan_ids):
        raise NotFound(_("Plan item not found."))
    patients = {p.patient_id for p in plans.values()}
    if len(patients) != 1:
        raise ValidationFailed(_("Confirm the items of one patient at a time."), field="items")
    for index, (given, quantity) in enumerate(executions):
        item = items[given.pk]
        plan = plans[item.plan_id]
        if plan.status != TreatmentPlan.Status.ACCEPTED:
            raise Conflict(
                gettext("%(title)s is %(status)s: only accepted plans are executed.")
                % {"title": plan.title, "status": plan.get_status_display()},
                code=PlanErrorCode.WRONG_STATUS,
            )
        if item.status not in OPEN_ITEM_STATUSES:
            raise Conflict(
                gettext("%(name)s is %(status)s.")
                % {"name": item.name, "status": item.get_status_display()},
                code=PlanErrorCode.ITEM_CLOSED,
                field=f"items.{index}.item_id",
            )
        if quantity > item.remaining_quantity:
            raise Conflict(
                gettext("Only %(remaining)d of %(name)s remain to be done.")
                % {"remaining": item.remaining_quantity, "name": item.name},
                code=PlanErrorCode.TOO_MUCH,
                field=f"items.{index}.quantity",
            )
    first_plan = plans[plan_ids[0]]
    bill = bill_open_for_visit(actor=actor, clinic=clinic, patient=first_plan.patient)
    done: list[PlanItemExecution] = []
    for given, quantity in executions:
        item = items[given.pk]
        plan = plans[item.plan_id]
        performer = doctor or plan.doctor
        line = bill_line_add(
            actor=actor,
            clinic=clinic,
            bill=bill,
            item=item.item,
            quantity=quantity,
            teeth=item.teeth,
            doctor=performer,
            unit_price=item.unit_price,
        )
        execution = PlanItemExecution.objects.create(
            organization_id=item.organization_id,
            plan_item=item,
            clinic=clinic,
            quantity=quantity,
            doctor=performer,
            bill_line=line,
            confirmed_by=actor,
        )
        before = {"executed_quantity": item.executed_quantity, "status": item.status}
        item.executed_quantity += quantity
        item.status = (
            PlanItem.Status.DONE
            if item.executed_quantity >= item.quantity
            else PlanItem.Status.IN_PROGRESS
        )
        item.save(update_fields=["executed_quantity", "status"])
        audit_record(
            action=AuditEntry.Action.CREATE,
            instance=execution,
            actor=actor,
            clinic=clinic,
            after={**snapshot(execution), "bill": bill.pk},
            summary=gettext("Executed %(quantity)d x %(name)s (bill %(bill)s)")
            % {"quantity": quantity, "name": item.name, "bill": bill.number},
        )
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=item,
            actor=actor,
            clinic=clinic,
            before=before,
            after={"executed_quantity": item.executed_quantity, "status": item.status},
            summary=gettext("Plan item %(name)s: %(done)d of %(quantity)d executed")
            % {"name": item.name, "done": item.executed_quantity, "quantity": item.quantity},
        )
        execution.plan_item = item
        done.append(execution)
    for plan in plans.values():
        status = plan.status
        refresh_plan_total(plan)
        if plan.status != status:
            audit_record(
                action=AuditEntry.Action.UPDATE,
                instance=plan,
                actor=actor,
                clinic=clinic,
                before={"status": status},
                after={"status": plan.status},
                summary=gettext("Treatment plan completed"),
            )
    return done
