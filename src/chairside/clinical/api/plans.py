"""API of treatment plans: alternatives, the patient's choice, item statuses, approved
changes and execution confirmation that charges the acting clinic's bill.

Plans are the organization's: any clinic of it may see, accept and execute them (the
charge lands on the bill of the clinic acted in); another organization's plans are 404.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from ninja import Query, Router
from ninja.responses import Status

from chairside.clinical.models import PlanItem, TreatmentPlan
from chairside.clinical.schemas.plans import (
    ChangeQuery,
    DecisionIn,
    ExecutionIn,
    ExecutionOut,
    PlanChangeIn,
    PlanChangeOut,
    PlanIn,
    PlanItemStatusIn,
    PlanOut,
    PlanUpdateIn,
    RejectIn,
)
from chairside.clinical.selectors import plans as selectors
from chairside.clinical.services import execution as execution_services
from chairside.clinical.services import plans as services
from chairside.core.api_auth import AUTH_ERRORS, access_of, error_responses
from chairside.core.schemas import PathId
from chairside.core.selectors import get_staff
from chairside.patients.selectors import get_patient

router = Router(tags=["clinical"])

# Steps that the plan's state may not allow (409), on objects looked up by id (404).
STEP_ERRORS = error_responses(400, 401, 403, 404, 409)
READ_ERRORS = error_responses(400, 401, 403, 404)


def _plan_out(plan_id: int) -> PlanOut:
    return PlanOut.of(selectors.get_plan(plan_id=plan_id))


@router.get(
    "/patients/{int:patient_id}/plans",
    response={200: list[PlanOut], **READ_ERRORS},
    summary="A patient's treatment plans",
)
def patient_plan_list(request: HttpRequest, patient_id: PathId) -> list[PlanOut]:
    """Every plan of the patient, alternatives of a group side by side."""
    access = access_of(request)
    access.require("plans.view")
    patient = get_patient(patient_id=patient_id)
    return [PlanOut.of(p) for p in selectors.patient_plans(patient)]


@router.post("/plans", response={201: PlanOut, **STEP_ERRORS}, summary="Write a treatment plan")
def plan_create(request: HttpRequest, payload: PlanIn) -> Status[PlanOut]:
    """A draft plan at the acting clinic; prices default to the clinic's."""
    access = access_of(request)
    access.require("plans.write")
    patient = get_patient(patient_id=payload.patient_id)
    doctor = None if payload.doctor_id is None else get_staff(staff_id=payload.doctor_id)
    alternative_to = (
        None
        if payload.alternative_to is None
        else selectors.get_plan(plan_id=payload.alternative_to)
    )
    plan = services.plan_create(
        actor=access.staff,
        clinic=access.clinic,
        patient=patient,
        title=payload.title,
        doctor=doctor,
        items=[i.to_input() for i in payload.items],
        note=payload.note,
        alternative_to=alternative_to,
    )
    return Status(201, _plan_out(plan.pk))


@router.get("/plans/{int:plan_id}", response={200: PlanOut, **READ_ERRORS}, summary="A plan")
def plan_get(request: HttpRequest, plan_id: PathId) -> PlanOut:
    access = access_of(request)
    access.require("plans.view")
    return _plan_out(plan_id)


@router.patch("/plans/{int:plan_id}", response={200: PlanOut, **STEP_ERRORS}, summary="Edit a plan")
def plan_update(request: HttpRequest, plan_id: PathId, payload: PlanUpdateIn) -> PlanOut:
    """Draft and proposed plans only; an accepted plan changes through /changes."""
    access = access_of(request)
    access.require("plans.write")
    plan = selectors.get_plan(plan_id=plan_id)
    doctor = None if payload.doctor_id is None else get_staff(staff_id=payload.doctor_id)
    services.plan_update(
        actor=access.staff,
        clinic=access.clinic,
        plan=plan,
        title=payload.title,
        note=payload.note,
        doctor=doctor,
        items=None if payload.items is None else [i.to_input() for i in payload.items],
    )
    return _plan_out(plan_id)


def _step(request: HttpRequest, plan_id: int, step: Callable[..., TreatmentPlan]) -> PlanOut:
    access = access_of(request)
    access.require("plans.write")
    plan = selectors.get_plan(plan_id=plan_id)
    step(actor=access.staff, clinic=access.clinic, plan=plan)
    return _plan_out(plan_id)


@router.post(
    "/plans/{int:plan_id}/propose",
    response={200: PlanOut, **STEP_ERRORS},
    summary="Propose a draft plan to the patient",
)
def plan_propose(request: HttpRequest, plan_id: PathId) -> PlanOut:
    return _step(request, plan_id, services.plan_propose)


@router.post(
    "/plans/{int:plan_id}/accept",
    response={200: PlanOut, **STEP_ERRORS},
    summary="Record that the patient accepted the plan",
)
def plan_accept(request: HttpRequest, plan_id: PathId) -> PlanOut:
    """The group's other open alternatives are declined."""
    return _step(request, plan_id, services.plan_accept)


@router.post(
    "/plans/{int:plan_id}/decline",
    response={200: PlanOut, **STEP_ERRORS},
    summary="Record that the patient declined the plan",
)
def plan_decline(request: HttpRequest, plan_id: PathId) -> PlanOut:
    return _step(request, plan_id, services.plan_decline)


@router.post(
    "/plans/{int:plan_id}/cancel",
    response={200: PlanOut, **STEP_ERRORS},
    summary="Cancel a plan",
)
def plan_cancel(request: HttpRequest, plan_id: PathId) -> PlanOut:
    """Open items are cancelled; what was executed stays billed."""
    return _step(request, plan_id, services.plan_cancel)


@router.patch(
    "/plans/{int:plan_id}/items/{int:item_id}",
    response={200: PlanOut, **STEP_ERRORS},
    summary="Set a plan item's status",
)
def plan_item_status(
    request: HttpRequest, plan_id: PathId, item_id: PathId, payload: PlanItemStatusIn
) -> PlanOut:
    """Planned / in progress / done (needs an execution) / cancelled, on accepted plans."""
    access = access_of(request)
    access.require("plans.write")
    plan = selectors.get_plan(plan_id=plan_id)
    item = selectors.get_plan_item(plan=plan, item_id=item_id)
    services.plan_item_set_status(
        actor=access.staff, clinic=access.clinic, item=item, status=payload.status
    )
    return _plan_out(plan_id)


@router.post(
    "/plans/{int:plan_id}/changes",
    response={201: PlanChangeOut, **STEP_ERRORS},
    summary="Request a change of an accepted plan",
)
def plan_change_request(
    request: HttpRequest, plan_id: PathId, payload: PlanChangeIn
) -> Status[PlanChangeOut]:
    """`items` is the whole proposed list; it applies once someone with plans.approve
    approves it."""
    access = access_of(request)
    access.require("plans.write")
    plan = selectors.get_plan(plan_id=plan_id)
    change = services.plan_change_request(
        actor=access.staff,
        clinic=access.clinic,
        plan=plan,
        items=[i.to_input() for i in payload.items],
        reason=payload.reason,
    )
    return Status(201, PlanChangeOut.of(selectors.get_change(change_id=change.pk)))


@router.get(
    "/plan-changes",
    response={200: list[PlanChangeOut], **AUTH_ERRORS},
    summary="Plan changes (e.g. those awaiting approval)",
)
def plan_change_list(request: HttpRequest, filters: Query[ChangeQuery]) -> list[PlanChangeOut]:
    access = access_of(request)
    access.require("plans.view")
    changes = selectors.change_list(status=filters.status)[:200]
    return [PlanChangeOut.of(c) for c in changes]


@router.post(
    "/plan-changes/{int:change_id}/approve",
    response={200: PlanChangeOut, **STEP_ERRORS},
    summary="Approve a plan change (applies it)",
)
def plan_change_approve(
    request: HttpRequest, change_id: PathId, payload: DecisionIn | None = None
) -> PlanChangeOut:
    access = access_of(request)
    access.require("plans.approve")
    change = selectors.get_change(change_id=change_id)
    services.plan_change_approve(
        actor=access.staff,
        clinic=access.clinic,
        change=change,
        note=payload.note if payload is not None else "",
    )
    return PlanChangeOut.of(selectors.get_change(change_id=change_id))


@router.post(
    "/plan-changes/{int:change_id}/reject",
    response={200: PlanChangeOut, **STEP_ERRORS},
    summary="Reject a plan change",
)
def plan_change_reject(request: HttpRequest, change_id: PathId, payload: RejectIn) -> PlanChangeOut:
    access = access_of(request)
    access.require("plans.approve")
    change = selectors.get_change(change_id=change_id)
    services.plan_change_reject(
        actor=access.staff, clinic=access.clinic, change=change, note=payload.note
    )
    return PlanChangeOut.of(selectors.get_change(change_id=change_id))


@router.post(
    "/plans/{int:plan_id}/executions",
    response={201: list[ExecutionOut], **STEP_ERRORS},
    summary="Confirm executed items and charge them",
)
def plan_execute(
    request: HttpRequest, plan_id: PathId, payload: ExecutionIn
) -> Status[list[ExecutionOut]]:
    """Each line adds a bill line to the patient's open bill at the acting clinic."""
    access = access_of(request)
    access.require("plans.execute")
    plan = selectors.get_plan(plan_id=plan_id)
    items: dict[int, PlanItem] = selectors.plan_items_by_id(
        plan=plan, item_ids=[line.item_id for line in payload.items]
    )
    doctor = None if payload.doctor_id is None else get_staff(staff_id=payload.doctor_id)
    executions = execution_services.plan_execute(
        actor=access.staff,
        clinic=access.clinic,
        executions=[(items[line.item_id], line.quantity) for line in payload.items],
        doctor=doctor,
    )
    return Status(201, [ExecutionOut.of(e) for e in executions])
