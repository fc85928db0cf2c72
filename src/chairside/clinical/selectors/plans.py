"""Reads of treatment plans: a patient's plans, one plan in full, changes awaiting approval,
and the accepted plans of the patients expected at a clinic today.

Plans are the organization's (any clinic may see and continue them); lookups of another
organization's plans are the same 404 as missing ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from chairside.clinical.models import PlanChangeRequest, PlanItem, PlanItemExecution, TreatmentPlan
from chairside.core.clock import day_bounds
from chairside.core.errors import NotFound
from chairside.core.models import Clinic, Staff
from chairside.patients.models import Patient
from chairside.scheduling.models import RELEASED_STATUSES, Appointment

OPEN_ITEM_STATUSES = (PlanItem.Status.PLANNED, PlanItem.Status.IN_PROGRESS)


def _items() -> QuerySet[PlanItem]:
    return PlanItem.objects.select_related("item").order_by("position", "id")


def _plans() -> QuerySet[TreatmentPlan]:
    return TreatmentPlan.objects.select_related(
        "clinic", "patient", "doctor", "created_by", "accepted_recorded_by"
    )


def patient_plans(patient: Patient) -> list[TreatmentPlan]:
    """The patient's plans with their items, alternatives of a group side by side: newest
    group first, a group's plans in the order written. Three queries."""
    pending = PlanChangeRequest.objects.filter(status=PlanChangeRequest.Status.PENDING)
    return list(
        _plans()
        .filter(patient=patient)
        .prefetch_related(
            Prefetch("items", queryset=_items()),
            Prefetch("changes", queryset=pending, to_attr="pending_changes"),
        )
        .order_by("-alternative_group", "id")
    )


def get_plan(*, plan_id: int) -> TreatmentPlan:
    """A plan of the current organization with its items, or 404."""
    plan = (
        _plans().prefetch_related(Prefetch("items", queryset=_items())).filter(pk=plan_id).first()
    )
    if plan is None:
        raise NotFound(_("Treatment plan not found."))
    return plan


def get_plan_item(*, plan: TreatmentPlan, item_id: int) -> PlanItem:
    item = PlanItem.objects.select_related("plan", "item").filter(plan=plan, pk=item_id).first()
    if item is None:
        raise NotFound(_("Plan item not found."))
    return item


def plan_items_by_id(*, plan: TreatmentPlan, item_ids: list[int]) -> dict[int, PlanItem]:
    """The named items of `plan`; a missing or foreign id is a 404."""
    items = {
        i.pk: i for i in PlanItem.objects.select_related("plan").filter(plan=plan, pk__in=item_ids)
    }
    if len(items) != len(set(item_ids)):
        raise NotFound(_("Plan item not found."))
    return items


@dataclass(frozen=True)
class PlanDetail:
    plan: TreatmentPlan
    items: list[PlanItem]
    executions: list[PlanItemExecution]
    changes: list[PlanChangeRequest]
    alternatives: list[TreatmentPlan]

    @property
    def pending_change(self) -> PlanChangeRequest | None:
        return next((c for c in self.changes if c.status == PlanChangeRequest.Status.PENDING), None)


def plan_detail(*, plan_id: int) -> PlanDetail:
    """Everything the plan page shows, in a fixed number of queries."""
    plan = get_plan(plan_id=plan_id)
    items = list(plan.items.all())
    executions = list(
        PlanItemExecution.objects.filter(plan_item__plan=plan)
        .select_related("clinic", "doctor", "confirmed_by", "bill_line__bill", "plan_item")
        .order_by("confirmed_at", "id")
    )
    changes = list(
        PlanChangeRequest.objects.filter(plan=plan)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at", "-id")
    )
    alternatives = list(
        TreatmentPlan.objects.filter(alternative_group=plan.alternative_group)
        .exclude(pk=plan.pk)
        .order_by("id")
        if plan.alternative_group
        else []
    )
    return PlanDetail(plan, items, executions, changes, alternatives)


def get_change(*, change_id: int) -> PlanChangeRequest:
    change = (
        PlanChangeRequest.objects.select_related(
            "plan__patient", "plan__doctor", "plan__clinic", "requested_by", "decided_by"
        )
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        raise NotFound(_("Plan change not found."))
    return change


def change_list(*, status: str | None = None) -> QuerySet[PlanChangeRequest]:
    """Plan changes of the organization, newest first (those awaiting approval first asked
    for, when filtered to them)."""
    changes = PlanChangeRequest.objects.select_related(
        "plan__patient", "plan__doctor", "plan__clinic", "requested_by", "decided_by"
    ).prefetch_related(Prefetch("plan__items", queryset=_items()))
    if status:
        changes = changes.filter(status=status)
    if status == PlanChangeRequest.Status.PENDING:
        return changes.order_by("requested_at", "id")
    return changes.order_by("-requested_at", "-id")


def pending_changes() -> QuerySet[PlanChangeRequest]:
    return change_list(status=PlanChangeRequest.Status.PENDING)


@dataclass(frozen=True)
class TodayPlan:
    """An accepted plan with work left, of a patient expected at the clinic today."""

    plan: TreatmentPlan
    open_items: list[PlanItem]
    appointment_start: datetime
    appointment_doctor: Staff


def todays_plans(clinic: Clinic, doctor: Staff | None, day: date) -> list[TodayPlan]:
    """Accepted plans with remaining items of the patients who have an appointment at
    `clinic` on `day` (with `doctor`, when given), by appointment time. Three queries."""
    start, end = day_bounds(day, day, clinic)
    appointments = (
        Appointment.objects.filter(clinic=clinic, start__gte=start, start__lt=end)
        .exclude(status__in=RELEASED_STATUSES)
        .select_related("doctor")
        .order_by("start", "id")
    )
    if doctor is not None:
        appointments = appointments.filter(doctor=doctor)
    first: dict[int, Appointment] = {}
    for appointment in appointments:
        first.setdefault(appointment.patient_id, appointment)
    if not first:
        return []
    plans = (
        _plans()
        .filter(
            patient_id__in=first,
            status=TreatmentPlan.Status.ACCEPTED,
            items__status__in=OPEN_ITEM_STATUSES,
        )
        .distinct()
        .prefetch_related(
            Prefetch(
                "items",
                queryset=_items().filter(status__in=OPEN_ITEM_STATUSES),
                to_attr="open_items",
            )
        )
    )
    rows: list[TodayPlan] = []
    for plan in plans:
        appointment = first[plan.patient_id]
        open_items: list[Any] = getattr(plan, "open_items", [])
        rows.append(TodayPlan(plan, open_items, appointment.start, appointment.doctor))
    rows.sort(key=lambda r: (r.appointment_start, r.plan.patient_id, r.plan.pk))
    return rows
