"""Bills (B2, B4): open, add and change lines, run the discount pipeline, approve a manual
discount, confirm (amounts fixed, arrears = net) and void.

A draft bill's amounts are recomputed after every change, so the row always satisfies the
database's invariant paid_total + arrears == total - discount_total (on a draft nothing is
paid, so its arrears is its net amount; lists of arrears count confirmed bills only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing.discounts import (
    ManualDiscount,
    PipelineResult,
    PricedLine,
    pipeline_run,
    sources_of,
)
from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import (
    Bill,
    BillDiscount,
    BillingSettings,
    BillLine,
    BillNumberSequence,
    CatalogueItem,
    DiscountStep,
)
from chairside.billing.selectors.catalogue import price_at
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today, day_bounds
from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import quantize_money
from chairside.core.teeth import ToothSet
from chairside.patients.models import Patient

ZERO = Decimal("0.00")
MAX_QUANTITY = 999


# --- helpers shared by the billing services --------------------------------------------


def lock_bill(bill: Bill, clinic: Clinic) -> Bill:
    """The bill row, locked for the rest of the transaction; 404 outside the clinic."""
    locked = Bill.objects.select_for_update().filter(pk=bill.pk, clinic=clinic).first()
    if locked is None:
        raise NotFound(_("Bill not found."))
    return locked


def require_draft(bill: Bill) -> None:
    if bill.status != Bill.Status.DRAFT:
        raise Conflict(
            _("Bill %(number)s is no longer a draft; its lines and discounts are fixed.")
            % {"number": bill.number},
            code=BillingErrorCode.BILL_NOT_DRAFT,
        )


def billing_settings(organization_id: int) -> BillingSettings:
    found = BillingSettings.objects.filter(organization_id=organization_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return BillingSettings.objects.create(organization_id=organization_id)
    except IntegrityError:
        return BillingSettings.objects.get(organization_id=organization_id)


def _same_org(clinic: Clinic, *objects: object) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", None) != clinic.organization_id:
            raise NotFound(_("Not found."))


def _audit(
    bill: Bill, actor: Staff, clinic: Clinic, summary: str, before: dict[str, Any] | None
) -> None:
    audit_record(
        action=AuditEntry.Action.CREATE if before is None else AuditEntry.Action.UPDATE,
        instance=bill,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(bill),
        summary=summary,
    )


# --- numbers and opening ----------------------------------------------------------------


def _next_number(clinic: Clinic) -> str:
    day = clinic_today(clinic)
    sequences = BillNumberSequence.objects.select_for_update()
    sequence = sequences.filter(clinic=clinic, day=day).first()
    if sequence is None:
        try:
            with transaction.atomic():
                sequence = BillNumberSequence.objects.create(
                    organization_id=clinic.organization_id, clinic=clinic, day=day
                )
        except IntegrityError:
            # Someone else made today's sequence at the same moment: take theirs, locked.
            sequence = sequences.get(clinic=clinic, day=day)
    value = sequence.next_value
    sequence.next_value = value + 1
    sequence.save(update_fields=["next_value"])
    return f"{clinic.code.upper()}-{day:%Y%m%d}-{value:04d}"


@transaction.atomic
def bill_create(*, actor: Staff, clinic: Clinic, patient: Patient, note: str = "") -> Bill:
    """A new draft bill for `patient` at `clinic`, numbered <CLINIC>-YYYYMMDD-NNNN."""
    _same_org(clinic, patient)
    bill = Bill.objects.create(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        number=_next_number(clinic),
        note=note.strip()[:200],
        created_by=actor,
        created_at=timezone.now(),
    )
    _audit(bill, actor, clinic, _("Bill %(number)s opened") % {"number": bill.number}, None)
    return bill


@transaction.atomic
def bill_open_for_visit(*, actor: Staff, clinic: Clinic, patient: Patient) -> Bill:
    """The patient's draft bill opened today at `clinic`, or a new one."""
    _same_org(clinic, patient)
    # One opener at a time per patient, so two charges at once never open two bills.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    today = clinic_today(clinic)
    start, end = day_bounds(today, today, clinic)
    existing = (
        Bill.objects.filter(
            clinic=clinic,
            patient=patient,
            status=Bill.Status.DRAFT,
            created_at__gte=start,
            created_at__lt=end,
        )
        .order_by("created_at", "id")
        .first()
    )
    if existing is not None:
        return existing
    return bill_create(actor=actor, clinic=clinic, patient=patient)


# --- the pipeline, stored ---------------------------------------------------------------


def _current_state(
    bill: Bill,
) -> tuple[dict[str, list[str]], ManualDiscount | None, BillDiscount | None]:
    selected: dict[str, list[str]] = {}
    manual: ManualDiscount | None = None
    manual_row: BillDiscount | None = None
    for discount in BillDiscount.objects.filter(bill=bill).order_by("position", "id"):
        if discount.step == DiscountStep.MANUAL:
            manual = ManualDiscount.from_reference(discount.reference, discount.reason)
            manual_row = discount
        elif discount.reference:
            selected.setdefault(discount.step, []).append(discount.reference)
    return selected, manual, manual_row


def _store(
    bill: Bill,
    lines: list[BillLine],
    result: PipelineResult,
    actor: Staff,
    kept_manual: BillDiscount | None,
    can_approve: bool,
) -> None:
    BillDiscount.objects.filter(bill=bill).delete()
    now = timezone.now()
    rows = []
    for applied in result.discounts:
        row = BillDiscount(
            organization_id=bill.organization_id,
            bill=bill,
            step=applied.step,
            position=applied.position,
            label=applied.label,
            reference=applied.reference,
            amount=applied.amount,
            allocation={str(k): str(v) for k, v in applied.allocation.items()},
            status=BillDiscount.Status.PENDING if applied.pending else BillDiscount.Status.APPROVED,
            reason=applied.reason,
            created_by=actor,
            created_at=now,
        )
        if applied.over_limit and not applied.pending:
            if can_approve:
                row.approved_by, row.approved_at = actor, now
            elif kept_manual is not None:
                row.approved_by_id = kept_manual.approved_by_id
                row.approved_at = kept_manual.approved_at
        rows.append(row)
    BillDiscount.objects.bulk_create(rows)
    changed = []
    for line in lines:
        share = result.line_discounts.get(line.pk, ZERO)
        if line.discount != share:
            line.discount = share
            changed.append(line)
    if changed:
        BillLine.objects.bulk_update(changed, ["discount"])
    bill.total = sum((line.amount for line in lines), ZERO)
    bill.discount_total = result.total
    bill.arrears = bill.total - bill.discount_total - bill.paid_total
    bill.save(update_fields=["total", "discount_total", "arrears"])


def _recompute(
    bill: Bill,
    actor: Staff,
    *,
    selected: Mapping[str, Sequence[str]] | None = None,
    manual: ManualDiscount | None = None,
    keep: bool = True,
    can_approve: bool = False,
) -> PipelineResult:
    """Run the pipeline on a locked draft and store it. With `keep`, the cashier's picks
    and manual discount stay as they were (after a change of lines)."""
    kept_manual: BillDiscount | None = None
    if keep:
        selected, manual, kept_manual = _current_state(bill)
    lines = list(BillLine.objects.filter(bill=bill).order_by("id"))
    limit = billing_settings(bill.organization_id).manual_discount_limit_percent
    approved = None
    if kept_manual is not None and kept_manual.status == BillDiscount.Status.APPROVED:
        approved = kept_manual.amount
    result = pipeline_run(
        bill=bill,
        lines=[
            PricedLine(line.pk, line.category, line.member_discount_allowed, line.amount)
            for line in lines
        ],
        selected=selected or {},
        manual=manual,
        manual_limit_percent=limit,
        can_approve=can_approve,
        approved_manual_amount=approved,
    )
    _store(bill, lines, result, actor, kept_manual, can_approve)
    return result


# --- lines --------------------------------------------------------------------------------


def _quantity(quantity: int) -> int:
    if isinstance(quantity, bool) or not 1 <= int(quantity) <= MAX_QUANTITY:
        raise ValidationFailed(
            _("Enter a quantity from 1 to %(max)d.") % {"max": MAX_QUANTITY}, field="quantity"
        )
    return int(quantity)


@transaction.atomic
def bill_line_add(
    *,
    actor: Staff,
    clinic: Clinic,
    bill: Bill,
    item: CatalogueItem,
    quantity: int = 1,
    teeth: ToothSet | Sequence[int] | str | None = None,
    doctor: Staff | None = None,
    self_paid: bool = False,
    unit_price: Decimal | None = None,
) -> BillLine:
    """Charge `quantity` x `item` on a draft bill, at the clinic's price unless given."""
    _same_org(clinic, item, doctor)
    bill = lock_bill(bill, clinic)
    require_draft(bill)
    if not item.is_active:
        raise ValidationFailed(
            _("%(item)s is no longer offered.") % {"item": item.name},
            code=BillingErrorCode.ITEM_INACTIVE,
            field="item_id",
        )
    if self_paid and not item.is_insured:
        raise ValidationFailed(
            _("Only items covered by medical insurance can be marked self-paid."),
            code=BillingErrorCode.NOT_INSURED,
            field="self_paid",
        )
    quantity = _quantity(quantity)
    price = price_at(item, clinic) if unit_price is None else quantize_money(unit_price)
    if price < 0:
        raise ValidationFailed(_("A price cannot be negative."), field="unit_price")
    if teeth is None:
        tooth_set = ToothSet()
    elif isinstance(teeth, ToothSet):
        tooth_set = teeth
    elif isinstance(teeth, str):
        tooth_set = ToothSet.parse(teeth)
    else:
        tooth_set = ToothSet(teeth)
    line = BillLine.objects.create(
        organization_id=bill.organization_id,
        bill=bill,
        item=item,
        name=item.name,
        category=item.category,
        teeth=tooth_set,
        quantity=quantity,
        unit_price=price,
        amount=quantize_money(price * quantity),
        insurance_code=item.insurance_code,
        self_paid=self_paid,
        member_discount_allowed=item.member_discount_allowed,
        doctor=doctor,
        created_by=actor,
        created_at=timezone.now(),
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=line,
        actor=actor,
        clinic=clinic,
        after=snapshot(line),
        summary=_("%(item)s x%(quantity)d added to bill %(number)s")
        % {"item": item.name, "quantity": quantity, "number": bill.number},
    )
    _recompute(bill, actor)
    return line


def _lock_line(line: BillLine, clinic: Clinic) -> tuple[Bill, BillLine]:
    bill = lock_bill(line.bill, clinic)
    require_draft(bill)
    fresh = BillLine.objects.filter(pk=line.pk, bill=bill).first()
    if fresh is None:
        raise NotFound(_("Bill line not found."))
    return bill, fresh


@transaction.atomic
def bill_line_update(
    *,
    actor: Staff,
    clinic: Clinic,
    line: BillLine,
    quantity: int | None = None,
    self_paid: bool | None = None,
) -> BillLine:
    bill, line = _lock_line(line, clinic)
    before = snapshot(line)
    if quantity is not None:
        line.quantity = _quantity(quantity)
        line.amount = quantize_money(line.unit_price * line.quantity)
    if self_paid is not None:
        if self_paid and not line.insurance_code:
            raise ValidationFailed(
                _("Only items covered by medical insurance can be marked self-paid."),
                code=BillingErrorCode.NOT_INSURED,
                field="self_paid",
            )
        line.self_paid = self_paid
    line.save(update_fields=["quantity", "amount", "self_paid"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=line,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(line),
        summary=_("Line %(item)s of bill %(number)s changed")
        % {"item": line.name, "number": bill.number},
    )
    _recompute(bill, actor)
    line.refresh_from_db()
    return line


@transaction.atomic
def bill_line_remove(*, actor: Staff, clinic: Clinic, line: BillLine) -> Bill:
    """Take a line off a draft bill (a draft's lines are not money yet: it is deleted)."""
    bill, line = _lock_line(line, clinic)
    before = snapshot(line)
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=line,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=_("Line %(item)s removed from bill %(number)s")
        % {"item": line.name, "number": bill.number},
    )
    line.delete()
    _recompute(bill, actor)
    return bill


# --- discounts ---------------------------------------------------------------------------


@transaction.atomic
def bill_discounts_apply(
    *,
    actor: Staff,
    clinic: Clinic,
    bill: Bill,
    selected: Mapping[str, Sequence[str]] | None = None,
    manual: ManualDiscount | None = None,
    can_approve: bool,
) -> Bill:
    """Recompute the whole pipeline of a draft with the cashier's picks per step (e.g.
    {"coupon": ["17"]}) and manual discount (None: none). A manual discount above the limit
    is pending unless `can_approve`."""
    bill = lock_bill(bill, clinic)
    require_draft(bill)
    before = snapshot(bill)
    result = _recompute(
        bill, actor, selected=selected, manual=manual, keep=False, can_approve=can_approve
    )
    summary = _("Discounts of bill %(number)s set: %(amount)s") % {
        "number": bill.number,
        "amount": bill.discount_total,
    }
    if result.has_pending:
        summary = _("Discounts of bill %(number)s set; a manual discount awaits approval") % {
            "number": bill.number
        }
    _audit(bill, actor, clinic, summary, before)
    return bill


@transaction.atomic
def bill_discount_approve(*, actor: Staff, clinic: Clinic, discount: BillDiscount) -> BillDiscount:
    """Approve a pending manual discount (the caller holds billing.discount_approve)."""
    bill = lock_bill(discount.bill, clinic)
    require_draft(bill)
    row = BillDiscount.objects.filter(pk=discount.pk, bill=bill).first()
    if row is None:
        raise NotFound(_("Discount not found."))
    if row.status != BillDiscount.Status.PENDING:
        raise Conflict(
            _("This discount is not awaiting approval."),
            code=BillingErrorCode.DISCOUNT_NOT_PENDING,
        )
    before = snapshot(row)
    row.status = BillDiscount.Status.APPROVED
    row.approved_by = actor
    row.approved_at = timezone.now()
    row.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=row,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(row),
        summary=_("Discount of %(amount)s on bill %(number)s approved")
        % {"amount": row.amount, "number": bill.number},
    )
    return row


# --- confirm and void --------------------------------------------------------------------


def _by_step(bill: Bill) -> dict[str, list[BillDiscount]]:
    grouped: dict[str, list[BillDiscount]] = {}
    for discount in BillDiscount.objects.filter(bill=bill).order_by("position", "id"):
        grouped.setdefault(discount.step, []).append(discount)
    return grouped


def discounts_release(bill: Bill, actor: Staff) -> None:
    """Tell the sources a confirmed bill's discounts are given back (void, whole refund)."""
    grouped = _by_step(bill)
    for step in (DiscountStep.TIER, DiscountStep.COUPON):
        for source in sources_of(step):
            source.released(bill, grouped.get(step, []), actor)


@transaction.atomic
def bill_confirm(*, actor: Staff, clinic: Clinic, bill: Bill) -> Bill:
    """Fix the amounts of a draft: from now on only payments and refunds move it."""
    bill = lock_bill(bill, clinic)
    require_draft(bill)
    if not BillLine.objects.filter(bill=bill).exists():
        raise ValidationFailed(
            _("Add at least one line before confirming the bill."),
            code=BillingErrorCode.BILL_EMPTY,
        )
    grouped = _by_step(bill)
    if any(d.status == BillDiscount.Status.PENDING for ds in grouped.values() for d in ds):
        raise Conflict(
            _("A manual discount on this bill awaits approval."),
            code=BillingErrorCode.DISCOUNT_PENDING,
        )
    before = snapshot(bill)
    for step in (DiscountStep.TIER, DiscountStep.COUPON):
        for source in sources_of(step):
            source.confirmed(bill, grouped.get(step, []), actor)
    bill.status = Bill.Status.CONFIRMED
    bill.confirmed_by = actor
    bill.confirmed_at = timezone.now()
    bill.arrears = bill.total - bill.discount_total - bill.paid_total
    bill.save(update_fields=["status", "confirmed_by", "confirmed_at", "arrears"])
    _audit(
        bill,
        actor,
        clinic,
        _("Bill %(number)s confirmed: %(amount)s due")
        % {
            "number": bill.number,
            "amount": bill.arrears,
        },
        before,
    )
    return bill


@transaction.atomic
def bill_void(*, actor: Staff, clinic: Clinic, bill: Bill, reason: str) -> Bill:
    """Cancel a bill on which no money was received; it stays on file, marked void."""
    bill = lock_bill(bill, clinic)
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for voiding the bill."), field="reason")
    if bill.status == Bill.Status.VOID:
        raise Conflict(_("This bill is already void."), code=BillingErrorCode.BILL_NOT_DRAFT)
    if bill.paid_total > 0 or bill.payments.exists():
        raise Conflict(
            _("Money was received on this bill; refund it instead of voiding it."),
            code=BillingErrorCode.BILL_HAS_PAYMENTS,
        )
    before = snapshot(bill)
    was_confirmed = bill.status == Bill.Status.CONFIRMED
    bill.status = Bill.Status.VOID
    bill.voided_by = actor
    bill.voided_at = timezone.now()
    bill.void_reason = reason[:200]
    bill.save(update_fields=["status", "voided_by", "voided_at", "void_reason"])
    if was_confirmed:
        discounts_release(bill, actor)
    _audit(
        bill,
        actor,
        clinic,
        _("Bill %(number)s voided: %(reason)s") % {"number": bill.number, "reason": reason},
        before,
    )
    return bill
