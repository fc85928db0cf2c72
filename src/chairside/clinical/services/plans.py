"""Treatment plans (C2): alternatives, the patient's choice, item statuses, approved changes.

Rules the services keep (and the tests check):

- A plan belongs to the clinic it was written in, but it is the organization's: it can be
  viewed, accepted and executed at any clinic of the organization (a patient may continue
  treatment at another branch); what it charges lands on the acting clinic's bill.
- Alternatives share `alternative_group` (the id of the group's first plan). Accepting one
  declines the group's other open (draft or proposed) plans; a group has at most one
  accepted (or completed) plan.
- Items of a draft or proposed plan are edited freely; an accepted plan changes only through
  a PlanChangeRequest approved by someone holding plans.approve. A change keeps what was
  executed: an item with executions cannot be removed, reduced below its executed quantity,
  or given another service or price (add a new item for the rest instead).
- An item is *open* (planned, in progress) or *closed* (done, cancelled). The plan total is
  what the plan costs the patient: open items count their planned quantity, closed items
  what was executed of them. A plan whose items are all closed is completed.
- Manual item statuses: planned <-> in progress while nothing is executed; "done" needs at
  least one execution (work is never done without being charged; the rest is dropped);
  "cancelled" drops what is not executed (executions stay billed). A closed item reopens
  only through an approved change.
- Cancelling a plan cancels its open items; executions stay billed. A completed, declined or
  cancelled plan cannot be cancelled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import CatalogueItem, Unit
from chairside.billing.selectors.catalogue import prices_at
from chairside.clinical.models import PlanChangeRequest, PlanItem, TreatmentPlan
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import quantize_money
from chairside.core.teeth import ToothSet
from chairside.core.tenancy import current_tenant
from chairside.patients.models import Patient

MAX_ITEMS = 100
MAX_QUANTITY = 1000
MAX_UNIT_PRICE = Decimal("9999999.99")

OPEN_PLAN_STATUSES = (TreatmentPlan.Status.DRAFT, TreatmentPlan.Status.PROPOSED)
EDITABLE_STATUSES = OPEN_PLAN_STATUSES
OPEN_ITEM_STATUSES = (PlanItem.Status.PLANNED, PlanItem.Status.IN_PROGRESS)
CLOSED_ITEM_STATUSES = (PlanItem.Status.DONE, PlanItem.Status.CANCELLED)
# A group's plan in one of these states is "the one the patient chose".
CHOSEN_STATUSES = (TreatmentPlan.Status.ACCEPTED, TreatmentPlan.Status.COMPLETED)


class PlanErrorCode(StrEnum):
    WRONG_STATUS = "plan_wrong_status"
    ALREADY_CHOSEN = "plan_group_already_accepted"
    CHANGE_PENDING = "plan_change_pending"
    EXECUTED_ITEM = "plan_item_executed"
    NOT_EXECUTED = "plan_item_not_executed"
    ITEM_CLOSED = "plan_item_closed"
    TOO_MUCH = "plan_execution_exceeds_remaining"


@dataclass(frozen=True)
class PlanItemInput:
    """One line as the plan builder (or the API) sends it.

    `quantity` None means: the number of teeth for a per-tooth service, 2 for a per-arch
    service on both arches, else 1. `unit_price` None means the clinic's price (for an
    existing item in a change: its current price). `plan_item_id` names an existing item
    in a change request; None is a new line.
    """

    item_id: int
    quantity: int | None = None
    teeth: Sequence[int | str] | str = ()
    arch: str = ""
    unit_price: Decimal | None = None
    note: str = ""
    plan_item_id: int | None = None


@dataclass
class _Line:
    """A validated line, ready to be written."""

    item: CatalogueItem
    quantity: int
    teeth: ToothSet
    arch: str
    unit_price: Decimal
    note: str
    plan_item_id: int | None = None
    errors: dict[str, list[Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "plan_item_id": self.plan_item_id,
            "item_id": self.item.pk,
            "quantity": self.quantity,
            "teeth": list(self.teeth.codes),
            "arch": self.arch,
            "unit_price": str(self.unit_price),
            "note": self.note,
        }


# --- helpers --------------------------------------------------------------------------


def require_same_organization(*objects: Any) -> None:
    organization_id = current_tenant().organization_id
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", organization_id) != organization_id:
            raise NotFound(_("Not found."))


def _clean_text(value: str | None, *, field: str, limit: int, required: Any = None) -> str:
    value = (value or "").strip()
    if required is not None and not value:
        raise ValidationFailed(required, field=field)
    if len(value) > limit:
        raise ValidationFailed(
            gettext("This is too long (at most %(limit)d characters).") % {"limit": limit},
            field=field,
        )
    return value


def _wrong_status(plan: TreatmentPlan) -> Conflict:
    return Conflict(
        gettext("This plan is %(status)s; that cannot be done now.")
        % {"status": plan.get_status_display()},
        code=PlanErrorCode.WRONG_STATUS,
    )


def _lock_plan(plan: TreatmentPlan) -> TreatmentPlan:
    locked: TreatmentPlan | None = (
        TreatmentPlan.objects.select_for_update().filter(pk=plan.pk).first()
    )
    if locked is None:
        raise NotFound(_("Treatment plan not found."))
    return locked


def _audit(
    action: str,
    instance: Any,
    actor: Staff,
    clinic: Clinic,
    summary: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    audit_record(
        action=action,
        instance=instance,
        actor=actor,
        clinic=clinic,
        before=before,
        after=after,
        summary=summary,
    )


def item_counted_quantity(item: PlanItem) -> int:
    """What an item contributes to the plan total: planned if open, executed if closed."""
    return item.executed_quantity if item.status in CLOSED_ITEM_STATUSES else item.quantity


def plan_total_of(items: Iterable[PlanItem]) -> Decimal:
    return quantize_money(
        sum(
            (quantize_money(i.unit_price * item_counted_quantity(i)) for i in items),
            Decimal("0.00"),
        )
    )


def refresh_plan_total(plan: TreatmentPlan) -> list[PlanItem]:
    """Set plan.total from its items (and completed when all are closed); saves the plan."""
    items = list(PlanItem.objects.filter(plan=plan).order_by("position", "id"))
    plan.total = plan_total_of(items)
    fields = ["total", "updated_at"]
    if (
        plan.status == TreatmentPlan.Status.ACCEPTED
        and items
        and all(i.status in CLOSED_ITEM_STATUSES for i in items)
    ):
        plan.status = TreatmentPlan.Status.COMPLETED
        fields.append("status")
    plan.save(update_fields=fields)
    return items


def _default_quantity(item: CatalogueItem, teeth: ToothSet, arch: str) -> int:
    if item.unit == Unit.PER_TOOTH and len(teeth):
        return len(teeth)
    if item.unit == Unit.PER_ARCH and arch == PlanItem.Arch.BOTH:
        return 2
    return 1


def _resolve_lines(
    inputs: Sequence[PlanItemInput],
    *,
    clinic: Clinic,
    existing: dict[int, PlanItem] | None = None,
) -> list[_Line]:
    """Validate the builder's lines; every problem is reported at once, per line."""
    errors: dict[str, list[Any]] = {}
    executed_problem = False
    if not inputs:
        raise ValidationFailed(_("Add at least one item to the plan."), field="items")
    if len(inputs) > MAX_ITEMS:
        raise ValidationFailed(
            gettext("A plan has at most %(count)d items.") % {"count": MAX_ITEMS}, field="items"
        )
    wanted = {i.item_id for i in inputs}
    catalogue = {c.pk: c for c in CatalogueItem.objects.filter(pk__in=wanted)}
    prices = prices_at(catalogue.values(), clinic)
    lines: list[_Line] = []
    seen_existing: set[int] = set()
    for index, given in enumerate(inputs):
        prefix = f"items.{index}"
        line_errors: dict[str, list[Any]] = {}
        current = None
        if given.plan_item_id is not None:
            current = (existing or {}).get(given.plan_item_id)
            if current is None or given.plan_item_id in seen_existing:
                line_errors.setdefault("plan_item_id", []).append(
                    _("This item is not on the plan.")
                )
            else:
                seen_existing.add(given.plan_item_id)
        item = catalogue.get(given.item_id)
        if item is None:
            line_errors.setdefault("item_id", []).append(_("Choose a service of the catalogue."))
        elif not item.is_active and (current is None or current.item_id != item.pk):
            line_errors.setdefault("item_id", []).append(_("This service is no longer offered."))
        try:
            teeth = (
                ToothSet.parse(given.teeth)
                if isinstance(given.teeth, str)
                else ToothSet(given.teeth)
            )
        except (ValidationFailed, TypeError) as error:
            teeth = ToothSet()
            line_errors.setdefault("teeth", []).append(getattr(error, "message", str(error)))
        arch = given.arch or ""
        if arch not in PlanItem.Arch.values:
            line_errors.setdefault("arch", []).append(_("Choose upper, lower or both arches."))
            arch = ""
        quantity = given.quantity
        if quantity is None:
            quantity = _default_quantity(item, teeth, arch) if item is not None else 1
        if isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            line_errors.setdefault("quantity", []).append(
                gettext("Enter a quantity from 1 to %(limit)d.") % {"limit": MAX_QUANTITY}
            )
        unit_price: Decimal | None = None
        if given.unit_price is not None:
            try:
                unit_price = quantize_money(given.unit_price)
            except (ValidationFailed, TypeError):
                unit_price = None
            if unit_price is None or not Decimal("0") <= unit_price <= MAX_UNIT_PRICE:
                line_errors.setdefault("unit_price", []).append(
                    _("Enter a price from 0 to 9,999,999.99.")
                )
        elif current is not None and item is not None and current.item_id == item.pk:
            unit_price = current.unit_price
        elif item is not None:
            unit_price = prices[item.pk]
        note = (given.note or "").strip()
        if len(note) > 200:
            line_errors.setdefault("note", []).append(
                gettext("This is too long (at most %(limit)d characters).") % {"limit": 200}
            )
        if current is not None and current.executed_quantity and item is not None:
            if current.item_id != item.pk or (
                unit_price is not None and unit_price != current.unit_price
            ):
                executed_problem = True
                line_errors.setdefault("item_id", []).append(
                    _(
                        "Part of this item is already executed: its service and price stay; "
                        "add a new item for anything else."
                    )
                )
            if isinstance(quantity, int) and quantity < current.executed_quantity:
                executed_problem = True
                line_errors.setdefault("quantity", []).append(
                    gettext("%(done)d already executed: the quantity cannot be lower.")
                    % {"done": current.executed_quantity}
                )
        for name, messages in line_errors.items():
            errors.setdefault(f"{prefix}.{name}", []).extend(messages)
        if not line_errors and item is not None and unit_price is not None:
            lines.append(
                _Line(
                    item=item,
                    quantity=quantity,
                    teeth=teeth,
                    arch=arch,
                    unit_price=unit_price,
                    note=note,
                    plan_item_id=given.plan_item_id,
                )
            )
    for item_id, current in (existing or {}).items():
        if item_id not in seen_existing and current.executed_quantity:
            executed_problem = True
            errors.setdefault("items", []).append(
                gettext(
                    "%(name)s is partly executed (%(done)d of %(quantity)d) and cannot be "
                    "removed; reduce it to what was executed instead."
                )
                % {
                    "name": current.name,
                    "done": current.executed_quantity,
                    "quantity": current.quantity,
                }
            )
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(
            first, fields=errors, code=PlanErrorCode.EXECUTED_ITEM if executed_problem else None
        )
    return lines


def _write_new_items(plan: TreatmentPlan, lines: Sequence[_Line], start: int = 1) -> None:
    PlanItem.objects.bulk_create(
        [
            PlanItem(
                organization_id=plan.organization_id,
                plan=plan,
                position=start + n,
                item=line.item,
                name=line.item.name,
                teeth=line.teeth,
                arch=line.arch,
                quantity=line.quantity,
                unit_price=line.unit_price,
                note=line.note,
            )
            for n, line in enumerate(lines)
        ]
    )


def _items_snapshot(plan: TreatmentPlan) -> list[dict[str, Any]]:
    return [
        {
            "id": i.pk,
            "item": i.item_id,
            "teeth": str(i.teeth or ""),
            "arch": i.arch,
            "quantity": i.quantity,
            "unit_price": str(i.unit_price),
            "executed": i.executed_quantity,
            "status": i.status,
        }
        for i in PlanItem.objects.filter(plan=plan).order_by("position", "id")
    ]


def _plan_state(plan: TreatmentPlan) -> dict[str, Any]:
    return {**snapshot(plan), "items": _items_snapshot(plan)}


# --- plans ----------------------------------------------------------------------------


@transaction.atomic
def plan_create(
    *,
    actor: Staff,
    clinic: Clinic,
    patient: Patient,
    title: str,
    doctor: Staff | None = None,
    items: Sequence[PlanItemInput],
    note: str = "",
    alternative_to: TreatmentPlan | None = None,
) -> TreatmentPlan:
    """Write a draft plan for `patient` at `clinic`, optionally as an alternative to another
    plan of the same patient. Prices default to the clinic's."""
    doctor = doctor or actor
    require_same_organization(patient, doctor, alternative_to)
    title = _clean_text(title, field="title", limit=100, required=_("Give the plan a title."))
    note = _clean_text(note, field="note", limit=2000)
    group: int | None = None
    if alternative_to is not None:
        anchor = _lock_plan(alternative_to)
        if anchor.patient_id != patient.pk:
            raise ValidationFailed(
                _("An alternative must be for the same patient."), field="alternative_to"
            )
        group = anchor.alternative_group or anchor.pk
        if anchor.alternative_group is None:
            anchor.alternative_group = group
            anchor.save(update_fields=["alternative_group", "updated_at"])
        if TreatmentPlan.objects.filter(
            alternative_group=group, status__in=CHOSEN_STATUSES
        ).exists():
            raise Conflict(
                _(
                    "The patient has already accepted a plan of this group; "
                    "request a change to it instead."
                ),
                code=PlanErrorCode.ALREADY_CHOSEN,
            )
    lines = _resolve_lines(items, clinic=clinic)
    plan = TreatmentPlan.objects.create(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        doctor=doctor,
        title=title,
        note=note,
        alternative_group=group,
        created_by=actor,
    )
    if group is None:
        plan.alternative_group = plan.pk
        plan.save(update_fields=["alternative_group"])
    _write_new_items(plan, lines)
    refresh_plan_total(plan)
    _audit(
        AuditEntry.Action.CREATE,
        plan,
        actor,
        clinic,
        gettext("Treatment plan written: %(title)s") % {"title": plan.title},
        after=_plan_state(plan),
    )
    return plan


@transaction.atomic
def plan_update(
    *,
    actor: Staff,
    clinic: Clinic,
    plan: TreatmentPlan,
    title: str | None = None,
    items: Sequence[PlanItemInput] | None = None,
    note: str | None = None,
    doctor: Staff | None = None,
) -> TreatmentPlan:
    """Edit a draft or proposed plan; `items` (when given) replaces the whole item list."""
    plan = _lock_plan(plan)
    if plan.status not in EDITABLE_STATUSES:
        raise _wrong_status(plan)
    require_same_organization(doctor)
    before = _plan_state(plan)
    if title is not None:
        plan.title = _clean_text(
            title, field="title", limit=100, required=_("Give the plan a title.")
        )
    if note is not None:
        plan.note = _clean_text(note, field="note", limit=2000)
    if doctor is not None:
        plan.doctor = doctor
    if items is not None:
        lines = _resolve_lines(items, clinic=clinic)
        # Nothing of a plan that is not yet accepted was executed: its lines are replaced.
        PlanItem.objects.filter(plan=plan).delete()
        _write_new_items(plan, lines)
    plan.save()
    refresh_plan_total(plan)
    after = _plan_state(plan)
    if before != after:
        _audit(
            AuditEntry.Action.UPDATE,
            plan,
            actor,
            clinic,
            gettext("Treatment plan edited"),
            before=before,
            after=after,
        )
    return plan


def _set_status(
    plan: TreatmentPlan,
    status: str,
    *,
    actor: Staff,
    clinic: Clinic,
    summary: str,
    **extra: Any,
) -> None:
    before = snapshot(plan)
    plan.status = status
    for key, value in extra.items():
        setattr(plan, key, value)
    plan.save()
    after = snapshot(plan)
    fields = [k for k in after if before.get(k) != after.get(k) and k != "updated_at"]
    _audit(
        AuditEntry.Action.UPDATE,
        plan,
        actor,
        clinic,
        summary,
        before={k: before[k] for k in fields},
        after={k: after[k] for k in fields},
    )


@transaction.atomic
def plan_propose(*, actor: Staff, clinic: Clinic, plan: TreatmentPlan) -> TreatmentPlan:
    """Show a draft to the patient: it is now an option they may accept or decline."""
    plan = _lock_plan(plan)
    if plan.status != TreatmentPlan.Status.DRAFT:
        raise _wrong_status(plan)
    _set_status(
        plan,
        TreatmentPlan.Status.PROPOSED,
        actor=actor,
        clinic=clinic,
        summary=gettext("Treatment plan proposed to the patient"),
    )
    return plan


@transaction.atomic
def plan_accept(*, actor: Staff, clinic: Clinic, plan: TreatmentPlan) -> TreatmentPlan:
    """Record that the patient chose this plan (`actor` recorded it); the group's other
    open alternatives are declined."""
    plan = _lock_plan(plan)
    group = plan.alternative_group or plan.pk
    # Lock the whole group, in id order, so two clerks accepting two alternatives at once
    # cannot both succeed.
    siblings = list(
        TreatmentPlan.objects.select_for_update()
        .filter(alternative_group=group)
        .exclude(pk=plan.pk)
        .order_by("pk")
    )
    if plan.status not in OPEN_PLAN_STATUSES:
        raise _wrong_status(plan)
    if any(s.status in CHOSEN_STATUSES for s in siblings):
        raise Conflict(
            _("The patient has already accepted another plan of this group."),
            code=PlanErrorCode.ALREADY_CHOSEN,
        )
    _set_status(
        plan,
        TreatmentPlan.Status.ACCEPTED,
        actor=actor,
        clinic=clinic,
        summary=gettext("The patient accepted the plan"),
        accepted_at=timezone.now(),
        accepted_recorded_by=actor,
    )
    for sibling in siblings:
        if sibling.status in OPEN_PLAN_STATUSES:
            _set_status(
                sibling,
                TreatmentPlan.Status.DECLINED,
                actor=actor,
                clinic=clinic,
                summary=gettext("Declined: the patient accepted %(title)s") % {"title": plan.title},
            )
    return plan


@transaction.atomic
def plan_decline(*, actor: Staff, clinic: Clinic, plan: TreatmentPlan) -> TreatmentPlan:
    """Record that the patient does not want this (draft or proposed) plan."""
    plan = _lock_plan(plan)
    if plan.status not in OPEN_PLAN_STATUSES:
        raise _wrong_status(plan)
    _set_status(
        plan,
        TreatmentPlan.Status.DECLINED,
        actor=actor,
        clinic=clinic,
        summary=gettext("The patient declined the plan"),
    )
    return plan


@transaction.atomic
def plan_cancel(*, actor: Staff, clinic: Clinic, plan: TreatmentPlan) -> TreatmentPlan:
    """Stop a plan. Its open items are cancelled; what was executed stays billed, and the
    total then counts only that."""
    plan = _lock_plan(plan)
    if plan.status not in (*OPEN_PLAN_STATUSES, TreatmentPlan.Status.ACCEPTED):
        raise _wrong_status(plan)
    before = _plan_state(plan)
    PlanItem.objects.filter(plan=plan, status__in=OPEN_ITEM_STATUSES).update(
        status=PlanItem.Status.CANCELLED
    )
    plan.status = TreatmentPlan.Status.CANCELLED
    plan.save()
    refresh_plan_total(plan)
    _audit(
        AuditEntry.Action.UPDATE,
        plan,
        actor,
        clinic,
        gettext("Treatment plan cancelled"),
        before=before,
        after=_plan_state(plan),
    )
    return plan


# --- items ----------------------------------------------------------------------------


@transaction.atomic
def plan_item_set_status(*, actor: Staff, clinic: Clinic, item: PlanItem, status: str) -> PlanItem:
    """Set an item's status by hand (see the module's rules)."""
    plan = _lock_plan(item.plan)
    locked: PlanItem | None = PlanItem.objects.select_for_update().filter(pk=item.pk).first()
    if locked is None:
        raise NotFound(_("Plan item not found."))
    item = locked
    if plan.status != TreatmentPlan.Status.ACCEPTED:
        raise _wrong_status(plan)
    if status not in PlanItem.Status.values:
        raise ValidationFailed(_("Choose a valid status."), field="status")
    if status == item.status:
        return item
    if item.status in CLOSED_ITEM_STATUSES:
        raise Conflict(
            _("This item is closed; reopen it through a plan change."),
            code=PlanErrorCode.ITEM_CLOSED,
            field="status",
        )
    if status == PlanItem.Status.PLANNED and item.executed_quantity:
        raise Conflict(
            _("Part of this item is executed; it is in progress."),
            code=PlanErrorCode.EXECUTED_ITEM,
            field="status",
        )
    if status == PlanItem.Status.DONE and not item.executed_quantity:
        raise Conflict(
            _("Confirm the execution first: nothing of this item has been executed."),
            code=PlanErrorCode.NOT_EXECUTED,
            field="status",
        )
    before = snapshot(item)
    item.status = status
    item.save(update_fields=["status"])
    _audit(
        AuditEntry.Action.UPDATE,
        item,
        actor,
        clinic,
        gettext("Plan item %(name)s: %(status)s")
        % {"name": item.name, "status": item.get_status_display()},
        before={"status": before["status"]},
        after={"status": item.status},
    )
    refresh_plan_total(plan)
    item.plan = plan
    return item


# --- changes of accepted plans ----------------------------------------------------------


@transaction.atomic
def plan_change_request(
    *,
    actor: Staff,
    clinic: Clinic,
    plan: TreatmentPlan,
    items: Sequence[PlanItemInput],
    reason: str,
) -> PlanChangeRequest:
    """Propose a new item list for an accepted plan; it applies once approved.

    `items` is the whole proposed list: existing items by `plan_item_id`, new ones
    without; existing items left out are removed (which executed items cannot be).
    """
    plan = _lock_plan(plan)
    if plan.status != TreatmentPlan.Status.ACCEPTED:
        raise _wrong_status(plan)
    reason = _clean_text(reason, field="reason", limit=200, required=_("Say why the plan changes."))
    if PlanChangeRequest.objects.filter(
        plan=plan, status=PlanChangeRequest.Status.PENDING
    ).exists():
        raise Conflict(
            _("A change of this plan is already awaiting approval."),
            code=PlanErrorCode.CHANGE_PENDING,
        )
    existing = {i.pk: i for i in PlanItem.objects.filter(plan=plan)}
    lines = _resolve_lines(items, clinic=clinic, existing=existing)
    change = PlanChangeRequest.objects.create(
        organization_id=plan.organization_id,
        plan=plan,
        items=[line.as_json() for line in lines],
        reason=reason,
        requested_by=actor,
    )
    _audit(
        AuditEntry.Action.CREATE,
        change,
        actor,
        clinic,
        gettext("Change of plan %(title)s requested") % {"title": plan.title},
        after=snapshot(change),
    )
    return change


def change_lines(change: PlanChangeRequest) -> list[PlanItemInput]:
    """A change's stored proposal as builder lines (for re-validation and display)."""
    return [
        PlanItemInput(
            item_id=int(row["item_id"]),
            quantity=int(row["quantity"]),
            teeth=[int(t) for t in row.get("teeth", [])],
            arch=str(row.get("arch", "")),
            unit_price=Decimal(str(row["unit_price"])),
            note=str(row.get("note", "")),
            plan_item_id=row.get("plan_item_id"),
        )
        for row in change.items
    ]


def _lock_change(change: PlanChangeRequest) -> PlanChangeRequest:
    locked: PlanChangeRequest | None = (
        PlanChangeRequest.objects.select_for_update().filter(pk=change.pk).first()
    )
    if locked is None:
        raise NotFound(_("Plan change not found."))
    if locked.status != PlanChangeRequest.Status.PENDING:
        raise Conflict(_("This change has already been decided."), code=PlanErrorCode.WRONG_STATUS)
    return locked


@transaction.atomic
def plan_change_approve(
    *, actor: Staff, clinic: Clinic, change: PlanChangeRequest, note: str = ""
) -> PlanChangeRequest:
    """Apply an approved change to its plan. The proposal is checked again against the
    plan as it is now (items may have been executed since it was requested)."""
    plan = _lock_plan(change.plan)
    change = _lock_change(change)
    note = _clean_text(note, field="note", limit=200)
    if plan.status != TreatmentPlan.Status.ACCEPTED:
        raise _wrong_status(plan)
    before = _plan_state(plan)
    existing = {i.pk: i for i in PlanItem.objects.select_for_update().filter(plan=plan)}
    try:
        lines = _resolve_lines(change_lines(change), clinic=clinic, existing=existing)
    except ValidationFailed as error:
        raise Conflict(
            gettext("The plan has changed since this was requested: %(problem)s")
            % {"problem": error.message},
            code=PlanErrorCode.EXECUTED_ITEM,
        ) from error
    kept = {line.plan_item_id for line in lines if line.plan_item_id is not None}
    # Removed items had no executions (checked above): they are cancelled, not deleted, so
    # the plan's history still shows them, after the proposal's lines.
    dropped = [current for item_id, current in sorted(existing.items()) if item_id not in kept]
    for position, current in enumerate(dropped, start=len(lines) + 1):
        current.status = PlanItem.Status.CANCELLED
        current.position = position
        current.save(update_fields=["status", "position"])
    new_lines = []
    for position, line in enumerate(lines, start=1):
        if line.plan_item_id is None:
            new_lines.append((position, line))
            continue
        current = existing[line.plan_item_id]
        current.position = position
        if current.item_id != line.item.pk:
            current.item = line.item
            current.name = line.item.name
        current.quantity = line.quantity
        current.teeth = line.teeth
        current.arch = line.arch
        current.unit_price = line.unit_price
        current.note = line.note
        if current.executed_quantity >= current.quantity:
            current.status = PlanItem.Status.DONE
        elif current.executed_quantity:
            current.status = PlanItem.Status.IN_PROGRESS
        elif current.status != PlanItem.Status.IN_PROGRESS:
            current.status = PlanItem.Status.PLANNED
        current.save()
    for position, line in new_lines:
        _write_new_items(plan, [line], start=position)
    refresh_plan_total(plan)
    change.status = PlanChangeRequest.Status.APPROVED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_note = note
    change.save()
    _audit(
        AuditEntry.Action.UPDATE,
        change,
        actor,
        clinic,
        gettext("Plan change approved"),
        after={"status": change.status, "decision_note": note},
    )
    _audit(
        AuditEntry.Action.UPDATE,
        plan,
        actor,
        clinic,
        gettext("Plan changed by an approved request (%(reason)s)") % {"reason": change.reason},
        before=before,
        after=_plan_state(plan),
    )
    return change


@transaction.atomic
def plan_change_reject(
    *, actor: Staff, clinic: Clinic, change: PlanChangeRequest, note: str
) -> PlanChangeRequest:
    """Refuse a change; the plan stays as it was."""
    change = _lock_change(change)
    note = _clean_text(note, field="note", limit=200, required=_("Say why the change is rejected."))
    change.status = PlanChangeRequest.Status.REJECTED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_note = note
    change.save()
    _audit(
        AuditEntry.Action.UPDATE,
        change,
        actor,
        clinic,
        gettext("Plan change rejected"),
        after={"status": change.status, "decision_note": note},
    )
    return change
