"""Coupon business actions: templates (K1), issuing named and bearer coupons (K2), voiding,
and recording / reversing their use on bills (K4, called by the discount source)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing.models import Bill, BillDiscount, BillLine, CatalogueItem, Category
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today, day_bounds
from chairside.core.errors import Conflict, FieldErrors, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import quantize_money
from chairside.patients.models import Patient
from chairside.promotions.codes import code_generate, code_problem, normalize
from chairside.promotions.models import (
    Coupon,
    CouponBatch,
    CouponKind,
    CouponStatus,
    CouponTemplate,
    CouponUse,
    Entitlement,
    ValidityKind,
)
from chairside.promotions.selectors.coupons import (
    OPEN_STATUSES,
    effective_status,
    entitlements_left,
    usable_problem,
)

ZERO = Decimal("0.00")
BATCH_MAX = 20_000


class CouponErrorCode(StrEnum):
    LIMIT_REACHED = "coupon_limit_reached"
    TEMPLATE_INACTIVE = "coupon_template_inactive"
    NOT_USABLE = "coupon_not_usable"
    NOT_COMBINABLE = "coupon_not_combinable"
    NOT_YOURS = "coupon_not_yours"
    BAD_CODE = "coupon_bad_code"
    ALREADY_CLOSED = "coupon_closed"


def _same_org(clinic: Clinic, *objects: object) -> None:
    for obj in objects:
        org_id = getattr(obj, "organization_id", None)
        if org_id is not None and org_id != clinic.organization_id:
            raise ValidationFailed(_("That belongs to another organization."))


# --- templates --------------------------------------------------------------------------


@dataclass
class TemplateData:
    """Everything a coupon template is set up with (see CouponTemplate for the meaning)."""

    name: str
    kind: str
    description: str = ""
    amount: Decimal | None = None
    percent_off: Decimal | None = None
    max_discount: Decimal | None = None
    service_items: Sequence[CatalogueItem] = ()
    entitlements: Sequence[tuple[CatalogueItem, int]] = ()
    validity_kind: str = ValidityKind.FIXED
    valid_from: date | None = None
    valid_until: date | None = None
    valid_days: int | None = None
    min_spend: Decimal = ZERO
    categories: Sequence[str] = ()
    items: Sequence[CatalogueItem] = ()
    clinics: Sequence[Clinic] = ()
    members_only: bool = False
    combinable: bool = True
    per_person_limit: int = 0
    allow_bearer: bool = False
    giftable: bool = False
    is_active: bool = True


def _validate(data: TemplateData) -> None:
    errors = FieldErrors()
    if not data.name.strip():
        errors.add("name", _("Enter a name."))
    if data.kind not in CouponKind.values:
        errors.add("kind", _("Choose a kind."))
    if data.kind == CouponKind.CASH_VOUCHER and (
        data.amount is None or quantize_money(data.amount) <= 0
    ):
        errors.add("amount", _("Enter the amount off, above zero."))
    if data.kind == CouponKind.DISCOUNT and (
        data.percent_off is None or not ZERO < data.percent_off <= 100
    ):
        errors.add("percent_off", _("Enter a percentage above 0 and at most 100."))
    if data.max_discount is not None and quantize_money(data.max_discount) <= 0:
        errors.add("max_discount", _("Enter an amount above zero."))
    if data.kind == CouponKind.SERVICE_VOUCHER and not data.service_items:
        errors.add("service_items", _("Choose at least one service the voucher pays for."))
    if data.kind == CouponKind.COMBO:
        if not data.entitlements:
            errors.add("entitlements", _("Add at least one service with its count."))
        elif any(count < 1 for _item, count in data.entitlements):
            errors.add("entitlements", _("Each count must be at least 1."))
        elif len({item.pk for item, _count in data.entitlements}) != len(data.entitlements):
            errors.add("entitlements", _("Each service may appear only once."))
    if data.validity_kind == ValidityKind.FIXED:
        if data.valid_until is None:
            errors.add("valid_until", _("Enter the last valid day."))
        elif data.valid_from is not None and data.valid_from > data.valid_until:
            errors.add("valid_until", _("The last valid day is before the first."))
    elif data.validity_kind == ValidityKind.AFTER_ISSUE:
        if not data.valid_days or data.valid_days < 1:
            errors.add("valid_days", _("Enter how many days the coupon is valid, at least 1."))
    else:
        errors.add("validity_kind", _("Choose how long the coupon is valid."))
    if quantize_money(data.min_spend) < 0:
        errors.add("min_spend", _("The minimum spend cannot be negative."))
    if any(c not in Category.values for c in data.categories):
        errors.add("categories", _("Choose categories from the list."))
    if data.per_person_limit < 0:
        errors.add("per_person_limit", _("The limit cannot be negative."))
    errors.raise_if_any()


def _apply(template: CouponTemplate, data: TemplateData) -> None:
    kind = data.kind
    template.name = data.name.strip()[:60]
    template.kind = kind
    template.description = data.description.strip()[:200]
    template.amount = (
        quantize_money(data.amount)
        if kind == CouponKind.CASH_VOUCHER and data.amount is not None
        else None
    )
    template.percent_off = data.percent_off if kind == CouponKind.DISCOUNT else None
    template.max_discount = (
        quantize_money(data.max_discount)
        if kind == CouponKind.DISCOUNT and data.max_discount is not None
        else None
    )
    template.validity_kind = data.validity_kind
    fixed = data.validity_kind == ValidityKind.FIXED
    template.valid_from = data.valid_from if fixed else None
    template.valid_until = data.valid_until if fixed else None
    template.valid_days = None if fixed else data.valid_days
    template.min_spend = quantize_money(data.min_spend)
    template.categories = sorted(set(data.categories))
    template.members_only = data.members_only
    template.combinable = data.combinable
    template.per_person_limit = data.per_person_limit
    template.allow_bearer = data.allow_bearer
    template.giftable = data.giftable
    template.is_active = data.is_active


def _relations(template: CouponTemplate, data: TemplateData) -> None:
    template.service_items.set(
        list(data.service_items) if data.kind == CouponKind.SERVICE_VOUCHER else []
    )
    template.items.set(list(data.items))
    template.clinics.set(list(data.clinics))
    if data.kind == CouponKind.COMBO:
        wanted = {item.pk: count for item, count in data.entitlements}
        existing = {e.item_id: e for e in Entitlement.objects.filter(template=template)}
        used = set(
            CouponUse.objects.filter(coupon__template=template).values_list(
                "entitlement_id", flat=True
            )
        )
        for item_id, entitlement in existing.items():
            if item_id not in wanted:
                if entitlement.pk in used:
                    raise Conflict(
                        _("A service already used on issued cards cannot be removed."),
                        code=CouponErrorCode.ALREADY_CLOSED,
                    )
                entitlement.delete()
        for item, count in data.entitlements:
            if item.pk in existing:
                row = existing[item.pk]
                if row.count != count:
                    row.count = count
                    row.save(update_fields=["count"])
            else:
                Entitlement.objects.create(
                    organization_id=template.organization_id,
                    template=template,
                    item=item,
                    count=count,
                )
    else:
        if Entitlement.objects.filter(template=template).exists():
            if CouponUse.objects.filter(coupon__template=template).exists():
                raise Conflict(
                    _("This template's cards were used; its kind cannot change."),
                    code=CouponErrorCode.ALREADY_CLOSED,
                )
            Entitlement.objects.filter(template=template).delete()


def _check_relations(clinic: Clinic, data: TemplateData) -> None:
    _same_org(
        clinic,
        *data.service_items,
        *data.items,
        *data.clinics,
        *(item for item, _count in data.entitlements),
    )


@transaction.atomic
def coupon_template_create(*, actor: Staff, clinic: Clinic, data: TemplateData) -> CouponTemplate:
    """Set up a new coupon or card template for the organization."""
    _validate(data)
    _check_relations(clinic, data)
    template = CouponTemplate(organization_id=clinic.organization_id, created_by=actor)
    _apply(template, data)
    template.save()
    _relations(template, data)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=template,
        actor=actor,
        clinic=clinic,
        after=snapshot(template),
        summary=_("Coupon template %(name)s created") % {"name": template.name},
    )
    return template


@transaction.atomic
def coupon_template_update(
    *, actor: Staff, clinic: Clinic, template: CouponTemplate, data: TemplateData
) -> CouponTemplate:
    """Change a template. Coupons already issued keep their dates; rules apply at use."""
    _validate(data)
    _check_relations(clinic, data)
    template = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    if template.kind != data.kind and template.coupons.exists():
        raise Conflict(
            _("Coupons of this template were issued; its kind cannot change."),
            code=CouponErrorCode.ALREADY_CLOSED,
        )
    before = snapshot(template)
    _apply(template, data)
    template.save()
    _relations(template, data)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=template,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(template),
        summary=_("Coupon template %(name)s changed") % {"name": template.name},
    )
    return template


@transaction.atomic
def coupon_template_delete(*, actor: Staff, clinic: Clinic, template: CouponTemplate) -> None:
    """Remove a template no coupon was issued from; otherwise deactivate it instead."""
    template = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    if Coupon.objects.filter(template=template).exists():
        raise Conflict(
            _("Coupons of this template were issued; deactivate it instead."),
            code=CouponErrorCode.ALREADY_CLOSED,
        )
    before = snapshot(template)
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=template,
        actor=actor,
        clinic=clinic,
        before=before,
        summary=_("Coupon template %(name)s deleted") % {"name": template.name},
    )
    template.delete()


# --- issuing ----------------------------------------------------------------------------


def validity_of(
    template: CouponTemplate, clinic: Clinic, now: datetime
) -> tuple[datetime | None, datetime]:
    """When a coupon issued now becomes valid and when it expires (clinic days)."""
    if template.validity_kind == ValidityKind.AFTER_ISSUE:
        today = clinic_today(clinic)
        last = today + timedelta(days=(template.valid_days or 1) - 1)
        return None, day_bounds(last, last, clinic)[1]
    assert template.valid_until is not None
    first = template.valid_from
    start = day_bounds(first, first, clinic)[0] if first is not None else None
    return start, day_bounds(template.valid_until, template.valid_until, clinic)[1]


def _require_issuable(template: CouponTemplate, clinic: Clinic, now: datetime) -> None:
    _same_org(clinic, template)
    if not template.is_active:
        raise Conflict(
            _("This coupon template is not active."), code=CouponErrorCode.TEMPLATE_INACTIVE
        )
    _start, end = validity_of(template, clinic, now)
    if end <= now:
        raise Conflict(
            _("This coupon template's validity has ended."),
            code=CouponErrorCode.TEMPLATE_INACTIVE,
        )


def new_coupon_code(organization_id: int) -> str:
    """A code no coupon of the organization has yet (issuing, and a gift's fresh code)."""
    for _attempt in range(20):
        code = code_generate()
        if not Coupon.all_tenants.filter(organization_id=organization_id, code=code).exists():
            return code
    raise RuntimeError("could not draw an unused coupon code")  # pragma: no cover


def require_under_limit(template: CouponTemplate, patient: Patient) -> None:
    """Refuse one more coupon of `template` for `patient` at its per-person limit (void
    coupons do not count). The caller holds the patient's row lock, so that issues and
    gift claims running at once count each other."""
    if not template.per_person_limit:
        return
    held = (
        Coupon.objects.filter(template=template, holder=patient)
        .exclude(status=CouponStatus.VOID)
        .count()
    )
    if held >= template.per_person_limit:
        raise Conflict(
            _("%(name)s already holds %(count)s of this coupon, the limit per person.")
            % {"name": patient.name, "count": held},
            code=CouponErrorCode.LIMIT_REACHED,
        )


@transaction.atomic
def coupon_issue(
    *,
    actor: Staff | None,
    clinic: Clinic,
    template: CouponTemplate,
    patient: Patient,
    source: str = "staff",
) -> Coupon:
    """Give one named coupon to `patient`, within the template's per-person limit.

    The patient's row is locked so concurrent issues of the same template count each other.
    `actor` is None when the patient gets it themselves (a flash sale, points).
    """
    _same_org(clinic, patient)
    now = timezone.now()
    _require_issuable(template, clinic, now)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    require_under_limit(template, patient)
    start, end = validity_of(template, clinic, now)
    coupon = Coupon.objects.create(
        organization_id=clinic.organization_id,
        template=template,
        holder=patient,
        code=new_coupon_code(clinic.organization_id),
        issued_at=now,
        valid_from=start,
        expires_at=end,
        issued_by=actor,
        issued_clinic=clinic,
        source=source[:20],
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=coupon,
        actor=actor,
        clinic=clinic,
        after=snapshot(coupon),
        summary=_("Coupon %(template)s issued to %(name)s")
        % {"template": template.name, "name": patient.name},
    )
    return coupon


def _bulk_codes(organization_id: int, count: int) -> list[str]:
    """`count` fresh codes, unique among themselves and in the organization."""
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        drawn = {code_generate() for _ in range(wanted)} - codes
        taken = set(
            Coupon.all_tenants.filter(organization_id=organization_id, code__in=drawn).values_list(
                "code", flat=True
            )
        )
        codes |= drawn - taken
    return sorted(codes)


@transaction.atomic
def coupon_batch_issue(
    *, actor: Staff, clinic: Clinic, template: CouponTemplate, count: int, note: str = ""
) -> CouponBatch:
    """Issue `count` bearer coupons in one batch (to print or hand out), in one insert."""
    if not 1 <= count <= BATCH_MAX:
        raise ValidationFailed(
            _("Issue between 1 and %(max)s coupons in a batch.") % {"max": BATCH_MAX},
            field="count",
        )
    now = timezone.now()
    _require_issuable(template, clinic, now)
    start, end = validity_of(template, clinic, now)
    batch = CouponBatch.objects.create(
        organization_id=clinic.organization_id,
        template=template,
        clinic=clinic,
        count=count,
        note=note.strip()[:200],
        created_by=actor,
        created_at=now,
    )
    for _attempt in range(5):
        # A code drawn here may be taken by a concurrent issue before the insert: then
        # the savepoint rolls back and every code is drawn again.
        rows = [
            Coupon(
                organization_id=clinic.organization_id,
                template=template,
                holder=None,
                code=code,
                issued_at=now,
                valid_from=start,
                expires_at=end,
                issued_by=actor,
                issued_clinic=clinic,
                batch=batch,
                source="batch",
            )
            for code in _bulk_codes(clinic.organization_id, count)
        ]
        try:
            with transaction.atomic():
                Coupon.objects.bulk_create(rows, batch_size=1000)
            break
        except IntegrityError:  # pragma: no cover - a collision with a concurrent issue
            continue
    else:  # pragma: no cover
        raise Conflict(_("Could not issue the batch; try again."))
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=batch,
        actor=actor,
        clinic=clinic,
        after=snapshot(batch),
        summary=_("%(count)s bearer coupons of %(template)s issued")
        % {"count": count, "template": template.name},
    )
    return batch


@transaction.atomic
def coupon_void(*, actor: Staff, clinic: Clinic, coupon: Coupon, reason: str) -> Coupon:
    """Cancel a coupon that is not fully used; what is left of it can no longer be used."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for voiding the coupon."), field="reason")
    coupon = Coupon.objects.select_for_update().get(pk=coupon.pk)
    if coupon.status not in OPEN_STATUSES:
        raise Conflict(
            _("Only an unused or partly used coupon can be voided."),
            code=CouponErrorCode.ALREADY_CLOSED,
        )
    before = snapshot(coupon)
    coupon.status = CouponStatus.VOID
    coupon.voided_at = timezone.now()
    coupon.voided_by = actor
    coupon.void_reason = reason[:200]
    coupon.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=coupon,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(coupon),
        summary=_("Coupon %(code)s voided: %(reason)s") % {"code": coupon.code, "reason": reason},
    )
    return coupon


# --- use on bills -----------------------------------------------------------------------


def coupon_for_reference(reference: str, patient: Patient) -> Coupon:
    """The coupon a bill discount reference names, if the bill's patient may use it.

    "coupon:<id>": one of the patient's own coupons (picked from the wallet);
    "code:<code>": a code typed or scanned at the desk — a bearer coupon, the patient's
    own, or someone else's named coupon whose template allows bearer use. The code is the
    secret: an id alone never reaches a coupon the patient does not hold.
    """
    kind, _sep, value = reference.partition(":")
    coupon: Coupon | None = None
    if kind == "coupon" and value.isdigit():
        coupon = (
            Coupon.objects.select_related("template")
            .filter(pk=int(value), holder_id=patient.pk)
            .first()
        )
        if coupon is None:
            raise ValidationFailed(
                _("That coupon is not in this patient's wallet."), code=CouponErrorCode.NOT_YOURS
            )
        return coupon
    if kind == "code":
        if code_problem(value) is not None:
            raise ValidationFailed(
                _("That is not a valid coupon code; check it for typos."),
                code=CouponErrorCode.BAD_CODE,
                field="code",
            )
        coupon = Coupon.objects.select_related("template").filter(code=normalize(value)).first()
        if coupon is None:
            raise ValidationFailed(
                _("No coupon has this code."), code=CouponErrorCode.BAD_CODE, field="code"
            )
        if coupon.holder_id not in (None, patient.pk) and not coupon.template.allow_bearer:
            raise ValidationFailed(
                _("This coupon belongs to another patient and cannot be used by its bearer."),
                code=CouponErrorCode.NOT_YOURS,
                field="code",
            )
        return coupon
    raise ValidationFailed(_("Unknown coupon reference."), code=CouponErrorCode.BAD_CODE)


def _units_of(bill: Bill, discount: BillDiscount, lines: dict[int, BillLine]) -> dict[int, int]:
    """How many units of each line a combo/service discount paid for.

    The share of a line is (what was left of it before this discount) x units / quantity,
    rounded to the fen, so the units are recovered exactly from the stored allocation.
    """
    earlier: dict[int, Decimal] = {}
    for other in BillDiscount.objects.filter(bill=bill, position__lt=discount.position):
        for key, value in other.allocation.items():
            earlier[int(key)] = earlier.get(int(key), ZERO) + Decimal(value)
    units: dict[int, int] = {}
    for key, value in discount.allocation.items():
        line = lines[int(key)]
        left = line.amount - earlier.get(line.pk, ZERO)
        if left <= 0:
            continue
        share = Decimal(value)
        count = int((share * line.quantity / left).to_integral_value())
        units[line.pk] = min(max(count, 1), line.quantity)
    return units


def _restore_status(coupon: Coupon) -> None:
    if coupon.status == CouponStatus.VOID:
        return
    live = CouponUse.objects.filter(coupon=coupon, reversed_at__isnull=True)
    if not live.exists():
        coupon.status = CouponStatus.UNUSED
    elif coupon.template.kind == CouponKind.COMBO:
        left = sum(e.left for e in entitlements_left(coupon))
        coupon.status = CouponStatus.PARTLY_USED if left else CouponStatus.USED
    else:
        coupon.status = CouponStatus.USED


@transaction.atomic
def coupons_use_on_bill(
    *, actor: Staff, bill: Bill, discounts: Sequence[BillDiscount], patient: Patient
) -> list[Coupon]:
    """Record the coupons a bill being confirmed uses (called inside bill_confirm).

    Every coupon row is locked first; one used up meanwhile (another bill confirmed with
    it) refuses the confirmation, so a coupon is never spent twice.
    """
    clinic = bill.clinic
    pairs = [(d, coupon_for_reference(d.reference, patient)) for d in discounts]
    ids = sorted({c.pk for _d, c in pairs})
    locked = {
        c.pk: c
        for c in Coupon.objects.select_for_update()
        .select_related("template")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    lines = {line.pk: line for line in BillLine.objects.filter(bill=bill)}
    now = timezone.now()
    touched: dict[int, tuple[Coupon, dict[str, object]]] = {}
    for discount, found in pairs:
        coupon = locked[found.pk]
        problem = usable_problem(coupon, clinic=clinic, patient=patient, now=now)
        if problem is not None:
            raise Conflict(
                _("Coupon %(code)s cannot be used: %(problem)s Remove it and recompute the bill.")
                % {"code": coupon.code, "problem": problem},
                code=CouponErrorCode.NOT_USABLE,
            )
        if coupon.pk not in touched:
            touched[coupon.pk] = (coupon, snapshot(coupon))
        kind = coupon.template.kind
        if kind == CouponKind.COMBO:
            left = {e.entitlement.item_id: e for e in entitlements_left(coupon)}
            per_entitlement: dict[int, tuple[Entitlement, int, Decimal]] = {}
            for line_id, units in _units_of(bill, discount, lines).items():
                line = lines[line_id]
                slot = left.get(line.item_id)
                if slot is None:
                    continue
                entitlement, count, amount = per_entitlement.get(
                    slot.entitlement.pk, (slot.entitlement, 0, ZERO)
                )
                per_entitlement[slot.entitlement.pk] = (
                    entitlement,
                    count + units,
                    amount + Decimal(discount.allocation[str(line_id)]),
                )
            for entitlement, count, amount in per_entitlement.values():
                remaining = next(
                    e.left for e in left.values() if e.entitlement.pk == entitlement.pk
                )
                if count > remaining:
                    raise Conflict(
                        _("Card %(code)s has only %(left)s of %(item)s left; recompute the bill.")
                        % {"code": coupon.code, "left": remaining, "item": entitlement.item},
                        code=CouponErrorCode.NOT_USABLE,
                    )
                CouponUse.objects.create(
                    organization_id=bill.organization_id,
                    coupon=coupon,
                    bill=bill,
                    clinic=clinic,
                    entitlement=entitlement,
                    count=count,
                    amount=amount,
                    created_by=actor,
                    created_at=now,
                )
        else:
            CouponUse.objects.create(
                organization_id=bill.organization_id,
                coupon=coupon,
                bill=bill,
                clinic=clinic,
                count=1,
                amount=discount.amount,
                created_by=actor,
                created_at=now,
            )
        _restore_status(coupon)
        coupon.save(update_fields=["status"])
    for coupon, before in touched.values():
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=coupon,
            actor=actor,
            clinic=clinic,
            before=before,
            after=snapshot(coupon),
            summary=_("Coupon %(code)s used on bill %(number)s")
            % {"code": coupon.code, "number": bill.number},
        )
    return [c for c, _b in touched.values()]


@transaction.atomic
def coupons_release_from_bill(*, actor: Staff, bill: Bill) -> list[Coupon]:
    """Give back the coupons a voided or fully refunded bill used: its uses are reversed
    (stamped, never deleted) and each coupon's status follows what is left."""
    uses = list(CouponUse.objects.filter(bill=bill, reversed_at__isnull=True))
    if not uses:
        return []
    now = timezone.now()
    coupons = (
        Coupon.objects.select_for_update()
        .select_related("template")
        .filter(pk__in={u.coupon_id for u in uses})
        .order_by("pk")
    )
    released = []
    for coupon in coupons:
        before = snapshot(coupon)
        CouponUse.objects.filter(coupon=coupon, bill=bill, reversed_at__isnull=True).update(
            reversed_at=now, reversed_by=actor
        )
        _restore_status(coupon)
        coupon.save(update_fields=["status"])
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=coupon,
            actor=actor,
            clinic=bill.clinic,
            before=before,
            after=snapshot(coupon),
            summary=_("Coupon %(code)s given back from bill %(number)s (%(status)s)")
            % {
                "code": coupon.code,
                "number": bill.number,
                "status": effective_status(coupon, now),
            },
        )
        released.append(coupon)
    return released
