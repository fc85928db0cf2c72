"""API schemas of a patient's visit history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from chairside.billing.models import Bill
from chairside.clinical.models import PlanItemExecution
from chairside.clinical.schemas.plans import PersonOut
from chairside.clinical.selectors.history import Visit
from chairside.core.schemas import PageOut


class VisitExecutionOut(Schema):
    id: int
    plan_id: int
    plan_item_id: int
    name: str
    teeth: list[int]
    quantity: int
    doctor: PersonOut
    confirmed_at: datetime
    bill_id: int

    @staticmethod
    def of(execution: PlanItemExecution) -> VisitExecutionOut:
        item = execution.plan_item
        return VisitExecutionOut(
            id=execution.pk,
            plan_id=item.plan_id,
            plan_item_id=item.pk,
            name=item.name,
            teeth=list(item.teeth.codes) if item.teeth else [],
            quantity=execution.quantity,
            doctor=PersonOut(id=execution.doctor_id, name=execution.doctor.display_name),
            confirmed_at=execution.confirmed_at,
            bill_id=execution.bill_line.bill_id,
        )


class VisitBillOut(Schema):
    id: int
    number: str
    status: str
    net: Decimal = Field(description="Amount less discounts.")
    paid: Decimal
    arrears: Decimal

    @staticmethod
    def of(bill: Bill) -> VisitBillOut:
        return VisitBillOut(
            id=bill.pk,
            number=bill.number,
            status=bill.status,
            net=bill.net_total,
            paid=bill.paid_total,
            arrears=bill.arrears,
        )


class VisitOut(Schema):
    record_id: int
    visit_date: date
    clinic: PersonOut
    visit_type: str
    doctor: PersonOut
    diagnosis_summary: str
    status: str = Field(description="The record's status: draft or signed.")
    plan_id: int | None
    executions: list[VisitExecutionOut]
    bills: list[VisitBillOut]

    @staticmethod
    def of(visit: Visit) -> VisitOut:
        record = visit.record
        return VisitOut(
            record_id=record.pk,
            visit_date=record.visit_date,
            clinic=PersonOut(id=record.clinic_id, name=record.clinic.name),
            visit_type=record.visit_type,
            doctor=PersonOut(id=record.doctor_id, name=record.doctor.display_name),
            diagnosis_summary=record.diagnosis_summary,
            status=record.status,
            plan_id=record.plan_id,
            executions=[VisitExecutionOut.of(e) for e in visit.executions],
            bills=[VisitBillOut.of(b) for b in visit.bills],
        )


class HistoryPage(PageOut):
    items: list[VisitOut]
