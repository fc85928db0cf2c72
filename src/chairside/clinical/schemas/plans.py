"""API schemas of treatment plans, their changes and executions.

Amounts are decimal strings in yuan ("1200.00"); teeth are FDI codes.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from chairside.clinical.models import PlanChangeRequest, PlanItem, PlanItemExecution, TreatmentPlan
from chairside.clinical.services.plans import PlanItemInput
from chairside.core.schemas import ObjectId, Text

Price = Annotated[Decimal, Field(ge=0, le=Decimal("9999999.99"), max_digits=9, decimal_places=2)]
ToothCode = Annotated[int, Field(ge=11, le=85)]


class PlanItemIn(Schema):
    item_id: ObjectId = Field(description="The catalogue item.")
    quantity: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Default: the number of teeth (per-tooth services), 2 for both arches "
        "(per-arch services), else 1.",
    )
    teeth: list[ToothCode] = Field(default_factory=list, max_length=52)
    arch: Literal["", "upper", "lower", "both"] = ""
    unit_price: Price | None = Field(None, description="Default: the clinic's price.")
    note: Text = Field("", max_length=200)

    def to_input(self) -> PlanItemInput:
        return PlanItemInput(
            item_id=self.item_id,
            quantity=self.quantity,
            teeth=list(self.teeth),
            arch=self.arch,
            unit_price=self.unit_price,
            note=self.note,
        )


class PlanChangeItemIn(PlanItemIn):
    plan_item_id: ObjectId | None = Field(
        None, description="An item already on the plan; omit for a new line."
    )

    def to_input(self) -> PlanItemInput:
        return PlanItemInput(
            item_id=self.item_id,
            quantity=self.quantity,
            teeth=list(self.teeth),
            arch=self.arch,
            unit_price=self.unit_price,
            note=self.note,
            plan_item_id=self.plan_item_id,
        )


class PlanIn(Schema):
    patient_id: ObjectId
    title: Text = Field(max_length=100)
    doctor_id: ObjectId | None = Field(None, description="Default: the caller.")
    note: Text = Field("", max_length=2000)
    alternative_to: ObjectId | None = Field(
        None, description="Another plan of the patient this one is an alternative to."
    )
    items: list[PlanItemIn] = Field(min_length=1, max_length=100)


class PlanUpdateIn(Schema):
    """Only the fields sent change; `items` replaces the whole list (draft/proposed only)."""

    title: Text | None = Field(None, max_length=100)
    doctor_id: ObjectId | None = None
    note: Text | None = Field(None, max_length=2000)
    items: list[PlanItemIn] | None = Field(None, min_length=1, max_length=100)


class PlanItemStatusIn(Schema):
    status: Literal["planned", "in_progress", "done", "cancelled"]


class PlanChangeIn(Schema):
    reason: Text = Field(max_length=200)
    items: list[PlanChangeItemIn] = Field(min_length=1, max_length=100)


class DecisionIn(Schema):
    note: Text = Field("", max_length=200)


class RejectIn(Schema):
    note: Text = Field(min_length=1, max_length=200)


class ExecutionLineIn(Schema):
    item_id: ObjectId = Field(description="A plan item of this plan.")
    quantity: int = Field(1, ge=1, le=1000)


class ExecutionIn(Schema):
    items: list[ExecutionLineIn] = Field(min_length=1, max_length=100)
    doctor_id: ObjectId | None = Field(None, description="Who did it; default the plan's doctor.")


class ChangeQuery(Schema):
    status: Literal["pending", "approved", "rejected"] | None = None


# --- output ---------------------------------------------------------------------------


class PersonOut(Schema):
    id: int
    name: str


class PlanItemOut(Schema):
    id: int
    position: int
    item_id: int
    code: str
    name: str
    category: str
    unit: str
    teeth: list[int]
    arch: str
    quantity: int
    unit_price: Decimal
    amount: Decimal = Field(description="unit_price x quantity.")
    executed_quantity: int
    remaining_quantity: int
    status: str
    note: str

    @staticmethod
    def of(item: PlanItem) -> PlanItemOut:
        return PlanItemOut(
            id=item.pk,
            position=item.position,
            item_id=item.item_id,
            code=item.item.code,
            name=item.name,
            category=item.item.category,
            unit=item.item.unit,
            teeth=list(item.teeth.codes) if item.teeth else [],
            arch=item.arch,
            quantity=item.quantity,
            unit_price=item.unit_price,
            amount=item.unit_price * item.quantity,
            executed_quantity=item.executed_quantity,
            remaining_quantity=(
                item.remaining_quantity if item.status in ("planned", "in_progress") else 0
            ),
            status=item.status,
            note=item.note,
        )


class PlanOut(Schema):
    id: int
    clinic_id: int
    patient: PersonOut
    doctor: PersonOut
    title: str
    note: str
    status: str
    alternative_group: int | None
    total: Decimal = Field(
        description="Open items at their planned quantity, closed items at what was executed."
    )
    created_by: PersonOut
    created_at: datetime
    accepted_at: datetime | None
    accepted_recorded_by: PersonOut | None
    items: list[PlanItemOut]

    @staticmethod
    def of(plan: TreatmentPlan) -> PlanOut:
        """`plan` with items (and their catalogue items) prefetched."""
        recorder = plan.accepted_recorded_by
        return PlanOut(
            id=plan.pk,
            clinic_id=plan.clinic_id,
            patient=PersonOut(id=plan.patient_id, name=plan.patient.name),
            doctor=PersonOut(id=plan.doctor_id, name=plan.doctor.display_name),
            title=plan.title,
            note=plan.note,
            status=plan.status,
            alternative_group=plan.alternative_group,
            total=plan.total,
            created_by=PersonOut(id=plan.created_by_id, name=plan.created_by.display_name),
            created_at=plan.created_at,
            accepted_at=plan.accepted_at,
            accepted_recorded_by=(
                None if recorder is None else PersonOut(id=recorder.pk, name=recorder.display_name)
            ),
            items=[PlanItemOut.of(i) for i in plan.items.all()],
        )


class ChangeLineOut(Schema):
    plan_item_id: int | None
    item_id: int
    quantity: int
    teeth: list[int]
    arch: str
    unit_price: Decimal
    note: str


class PlanChangeOut(Schema):
    id: int
    plan_id: int
    plan_title: str
    patient: PersonOut
    status: str
    reason: str
    items: list[ChangeLineOut]
    requested_by: PersonOut
    requested_at: datetime
    decided_by: PersonOut | None
    decided_at: datetime | None
    decision_note: str

    @staticmethod
    def of(change: PlanChangeRequest) -> PlanChangeOut:
        decider = change.decided_by
        plan = change.plan
        return PlanChangeOut(
            id=change.pk,
            plan_id=plan.pk,
            plan_title=plan.title,
            patient=PersonOut(id=plan.patient_id, name=plan.patient.name),
            status=change.status,
            reason=change.reason,
            items=[
                ChangeLineOut(
                    plan_item_id=row.get("plan_item_id"),
                    item_id=row["item_id"],
                    quantity=row["quantity"],
                    teeth=row.get("teeth", []),
                    arch=row.get("arch", ""),
                    unit_price=Decimal(str(row["unit_price"])),
                    note=row.get("note", ""),
                )
                for row in change.items
            ],
            requested_by=PersonOut(
                id=change.requested_by_id, name=change.requested_by.display_name
            ),
            requested_at=change.requested_at,
            decided_by=None
            if decider is None
            else PersonOut(id=decider.pk, name=decider.display_name),
            decided_at=change.decided_at,
            decision_note=change.decision_note,
        )


class ExecutionOut(Schema):
    id: int
    plan_item_id: int
    quantity: int
    clinic_id: int
    doctor: PersonOut
    confirmed_at: datetime
    bill_id: int
    bill_number: str
    bill_line_id: int
    executed_quantity: int = Field(description="The item's executed quantity after this.")
    item_status: str

    @staticmethod
    def of(execution: PlanItemExecution) -> ExecutionOut:
        line = execution.bill_line
        item = execution.plan_item
        return ExecutionOut(
            id=execution.pk,
            plan_item_id=item.pk,
            quantity=execution.quantity,
            clinic_id=execution.clinic_id,
            doctor=PersonOut(id=execution.doctor_id, name=execution.doctor.display_name),
            confirmed_at=execution.confirmed_at,
            bill_id=line.bill_id,
            bill_number=line.bill.number,
            bill_line_id=line.pk,
            executed_quantity=item.executed_quantity,
            item_status=item.status,
        )
