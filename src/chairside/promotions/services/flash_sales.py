"""Flash sales (K3, 限时秒杀): setting sales up, claiming a unit of stock, paying online,
issuing the coupon, and giving back the stock of unpaid or cancelled claims.

Never oversold, never beyond the per-person limit, no unit lost by a crash:

- the sale row is the lock. A claim locks it (`select_for_update`), counts the patient's
  live claims and the stock under that lock, then writes the claim and `sold + 1` in the same
  transaction. A worker that dies mid-claim takes its transaction with it: PostgreSQL rolls
  back both rows together, so the counter never drifts from the claims.
- the database holds the rules too: `sold <= stock` is a check constraint, and a partial
  unique index on (sale, patient, sequence) over the live claims holds the per-person limit.
- the cache holds only a "sold out" hint (at most HINT_SECONDS old) that turns the crowd
  away without a database round-trip once the stock is gone; it never grants a unit. With
  Redis it is shared by every worker; with the local-memory default each process keeps its
  own, and correctness is the same. Giving stock back clears it, and the reconcile task
  clears every hint, so a lost clear costs at most HINT_SECONDS of "sold out".
- a reservation waits `payment_minutes` for its payment; `flash_sale_claims_expire` (run by
  beat every minute) gives the unit back.

Lock order everywhere: the sale row first, then claim rows.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import audit_record, changed_fields, snapshot
from chairside.core.errors import (
    Conflict,
    DomainError,
    FieldErrors,
    NotFound,
    ValidationFailed,
)
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.core.money import quantize_money
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.promotions.models import (
    LIVE_CLAIM_STATUSES,
    CouponTemplate,
    FlashSale,
    FlashSaleClaim,
    FlashSaleClaimStatus,
)
from chairside.promotions.payments import (
    PaymentIntent,
    PaymentProcessor,
    PaymentResult,
    payment_processor,
)

logger = logging.getLogger(__name__)

MAX_PRICE = Decimal("9999999999.99")
MAX_STOCK = 1_000_000
MAX_LIMIT = 99
MAX_PAYMENT_MINUTES = 24 * 60
HINT_SECONDS = 30
Status = FlashSaleClaimStatus

# Called inside the claim's transaction once the unit is reserved and before it commits.
# Tests set it to kill the database connection there, as a crashing worker would.
after_reserve_hook: Callable[[FlashSaleClaim], None] | None = None


class FlashSaleError(StrEnum):
    SOLD_OUT = "flash_sale_sold_out"
    LIMIT_REACHED = "flash_sale_limit_reached"
    NOT_OPEN = "flash_sale_not_open"
    NOT_HERE = "flash_sale_not_here"
    CLAIM_CLOSED = "flash_sale_claim_closed"
    PAYMENT_MISMATCH = "flash_sale_payment_mismatch"


# --- the sold-out hint ----------------------------------------------------------------------


def _hint_key(sale: FlashSale) -> str:
    return f"chairside:flash-sale:{sale.organization_id}:{sale.pk}:sold-out"


def sold_out_hint(sale: FlashSale) -> bool:
    return bool(cache.get(_hint_key(sale)))


def _hint_sold_out(sale: FlashSale) -> None:
    cache.set(_hint_key(sale), True, timeout=HINT_SECONDS)


def _hint_clear_on_commit(sale: FlashSale) -> None:
    key = _hint_key(sale)
    transaction.on_commit(lambda: cache.delete(key))


# --- setting sales up -----------------------------------------------------------------------

EDITABLE_FIELDS = frozenset(
    {
        "title",
        "description",
        "template",
        "price",
        "stock",
        "starts_at",
        "ends_at",
        "per_person_limit",
        "payment_minutes",
        "is_active",
    }
)


def _clean(values: dict[str, Any], errors: FieldErrors, *, sale: FlashSale | None) -> None:
    """Validate and normalise sale fields in place."""
    if "title" in values:
        values["title"] = (values["title"] or "").strip()
        if not values["title"]:
            errors.add("title", _("Enter a title."))
        elif len(values["title"]) > 100:
            errors.add("title", _("The title is too long (at most 100 characters)."))
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
        if len(values["description"]) > 500:
            errors.add("description", _("The description is too long (at most 500 characters)."))
    if "template" in values:
        template = values["template"]
        if not isinstance(template, CouponTemplate):
            errors.add("template_id", _("Choose the coupon to sell."))
        elif not template.is_active and (sale is None or sale.template_id != template.pk):
            errors.add("template_id", _("This coupon template is retired."))
    if "price" in values:
        try:
            price = quantize_money(values["price"])
        except (DomainError, TypeError, ValueError):
            errors.add("price", _("Enter a price such as 9.90."))
        else:
            if price < 0 or price > MAX_PRICE:
                errors.add("price", _("Enter a price from 0 to 9999999999.99."))
            values["price"] = price
    if "stock" in values:
        stock = values["stock"]
        if not isinstance(stock, int) or stock < 1 or stock > MAX_STOCK:
            errors.add("stock", _("Enter a stock from 1 to 1000000."))
        elif sale is not None and stock < sale.sold:
            errors.add(
                "stock",
                _("%(sold)s units are already claimed; the stock cannot be smaller.")
                % {"sold": sale.sold},
            )
    if "per_person_limit" in values:
        limit = values["per_person_limit"]
        if not isinstance(limit, int) or limit < 1 or limit > MAX_LIMIT:
            errors.add("per_person_limit", _("Enter a limit per person from 1 to 99."))
    if "payment_minutes" in values:
        minutes = values["payment_minutes"]
        if not isinstance(minutes, int) or minutes < 1 or minutes > MAX_PAYMENT_MINUTES:
            errors.add("payment_minutes", _("Enter a payment window from 1 to 1440 minutes."))
    for name in ("starts_at", "ends_at"):
        if name in values:
            value = values[name]
            if not isinstance(value, datetime) or timezone.is_naive(value):
                errors.add(name, _("Enter a date and time."))
    starts = values.get("starts_at", sale.starts_at if sale else None)
    ends = values.get("ends_at", sale.ends_at if sale else None)
    if (
        isinstance(starts, datetime)
        and isinstance(ends, datetime)
        and not (timezone.is_naive(starts) or timezone.is_naive(ends))
        and ends <= starts
    ):
        errors.add("ends_at", _("The sale must end after it starts."))


def _clean_clinics(
    clinics: Iterable[Clinic], errors: FieldErrors, organization_id: int
) -> list[Clinic]:
    chosen = list(clinics)
    for clinic in chosen:
        if clinic.organization_id != organization_id or clinic.kind != Clinic.Kind.CLINIC:
            errors.add("clinic_ids", _("Choose clinics of your organization."))
            break
    return chosen


@transaction.atomic
def flash_sale_create(
    *,
    actor: Staff,
    clinic: Clinic,
    title: str,
    template: CouponTemplate,
    price: Decimal | int | str,
    stock: int,
    starts_at: datetime,
    ends_at: datetime,
    per_person_limit: int = 1,
    payment_minutes: int = 15,
    clinics: Iterable[Clinic] = (),
    description: str = "",
    is_active: bool = True,
) -> FlashSale:
    """Put `stock` units of a coupon template on sale at `price` between two instants,
    for every clinic or only `clinics`."""
    values: dict[str, Any] = {
        "title": title,
        "description": description,
        "template": template,
        "price": price,
        "stock": stock,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "per_person_limit": per_person_limit,
        "payment_minutes": payment_minutes,
    }
    errors = FieldErrors()
    _clean(values, errors, sale=None)
    chosen = _clean_clinics(clinics, errors, clinic.organization_id)
    errors.raise_if_any()
    sale = FlashSale(**values, is_active=bool(is_active), created_by=actor)
    sale.save()
    sale.clinics.set(chosen)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=sale,
        actor=actor,
        clinic=clinic,
        after={**snapshot(sale), "clinics": [c.pk for c in chosen]},
        summary=gettext("Flash sale %(title)s set up") % {"title": sale.title},
    )
    return sale


@transaction.atomic
def flash_sale_update(
    *,
    actor: Staff,
    clinic: Clinic,
    sale: FlashSale,
    clinics: Iterable[Clinic] | None = None,
    **changes: Any,
) -> FlashSale:
    """Change a sale's settings; the stock never goes below what is already claimed."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}")
    sale = FlashSale.objects.select_for_update().get(pk=sale.pk)
    before = {**snapshot(sale), "clinics": sorted(sale.clinics.values_list("pk", flat=True))}
    errors = FieldErrors()
    _clean(changes, errors, sale=sale)
    chosen = None if clinics is None else _clean_clinics(clinics, errors, sale.organization_id)
    errors.raise_if_any()
    for name, value in changes.items():
        setattr(sale, name, bool(value) if name == "is_active" else value)
    sale.save()
    if chosen is not None:
        sale.clinics.set(chosen)
    after = {**snapshot(sale), "clinics": sorted(sale.clinics.values_list("pk", flat=True))}
    changed = changed_fields(before, after)
    if changed:
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=sale,
            actor=actor,
            clinic=clinic,
            before={k: before.get(k) for k in changed},
            after={k: after[k] for k in changed},
            summary=gettext("Flash sale %(title)s changed") % {"title": sale.title},
        )
    # More stock, a later end or re-activation may put a "sold out" sale back on sale.
    _hint_clear_on_commit(sale)
    return sale


# --- claiming --------------------------------------------------------------------------------


def _new_reference() -> str:
    # Unguessable: the payment callback finds the claim by it.
    return "FS" + secrets.token_hex(12).upper()


def _check_open(sale: FlashSale, now: datetime, clinic: Clinic) -> None:
    if not sale.is_active or now < sale.starts_at or now >= sale.ends_at:
        raise Conflict(_("This flash sale is not open now."), code=FlashSaleError.NOT_OPEN)
    allowed = set(sale.clinics.values_list("pk", flat=True))
    if allowed and clinic.pk not in allowed:
        raise Conflict(
            _("This flash sale is not offered at %(clinic)s.") % {"clinic": clinic.name},
            code=FlashSaleError.NOT_HERE,
        )


def _sold_out() -> Conflict:
    return Conflict(_("Sold out."), code=FlashSaleError.SOLD_OUT)


def _take_unit(sale: FlashSale, patient: Patient) -> int:
    """Under the sale's lock: the patient's free sequence number, having checked the
    per-person limit and the stock. Raises Conflict when either is used up."""
    taken = set(
        FlashSaleClaim.objects.filter(
            sale=sale, patient=patient, status__in=LIVE_CLAIM_STATUSES
        ).values_list("sequence", flat=True)
    )
    if len(taken) >= sale.per_person_limit:
        raise Conflict(
            _("You have already claimed the most this sale allows per person (%(limit)s).")
            % {"limit": sale.per_person_limit},
            code=FlashSaleError.LIMIT_REACHED,
        )
    if sale.sold >= sale.stock:
        _hint_sold_out(sale)
        raise _sold_out()
    return next(n for n in range(1, sale.per_person_limit + 1) if n not in taken)


def flash_sale_claim(
    *,
    sale: FlashSale,
    patient: Patient,
    now: datetime | None = None,
    clinic: Clinic | None = None,
    actor: Staff | None = None,
) -> FlashSaleClaim:
    """Reserve one unit of `sale` for `patient` (the portal calls this, in the patient's
    tenant scope; staff may too, as `actor`, at `clinic`; without `clinic` the patient's
    first clinic). The unit is held for the sale's payment window.

    Raises Conflict (flash_sale_sold_out, flash_sale_limit_reached, flash_sale_not_open,
    flash_sale_not_here)."""
    now = now or timezone.now()
    if patient.organization_id != sale.organization_id:
        raise NotFound(_("Flash sale not found."))
    if sold_out_hint(sale):
        raise _sold_out()
    clinic = clinic or patient.first_clinic
    try:
        with transaction.atomic():
            locked = FlashSale.objects.select_for_update().get(pk=sale.pk)
            _check_open(locked, now, clinic)
            sequence = _take_unit(locked, patient)
            FlashSale.objects.filter(pk=locked.pk).update(sold=F("sold") + 1)
            claim = FlashSaleClaim.objects.create(
                organization_id=locked.organization_id,
                sale=locked,
                patient=patient,
                clinic=clinic,
                sequence=sequence,
                amount=locked.price,
                reference=_new_reference(),
                expires_at=now + timedelta(minutes=locked.payment_minutes),
                created_at=now,
                created_by=actor,
            )
            if after_reserve_hook is not None:
                after_reserve_hook(claim)
            audit_record(
                action=AuditEntry.Action.CREATE,
                instance=claim,
                actor=actor,
                clinic=clinic,
                after=snapshot(claim),
                summary=gettext("Flash sale %(title)s claimed by %(patient)s")
                % {"title": locked.title, "patient": patient.name},
            )
    except IntegrityError:
        # Only reachable without the sale lock (it serialises claims): the database's own
        # rules (sold <= stock, one live claim per sequence) refused the row.
        raise _sold_out() from None
    claim.sale = locked
    return claim


def flash_sale_claim_cancel(
    *, actor: Staff | None, clinic: Clinic | None, claim: FlashSaleClaim
) -> FlashSaleClaim:
    """Give back an unpaid reservation's unit at once (the patient changed their mind)."""
    with transaction.atomic():
        sale = FlashSale.objects.select_for_update().get(pk=claim.sale_id)
        claim = FlashSaleClaim.objects.select_for_update().get(pk=claim.pk)
        if claim.status != Status.RESERVED:
            raise Conflict(
                _("Only an unpaid reservation can be cancelled."),
                code=FlashSaleError.CLAIM_CLOSED,
            )
        _close(sale, [claim], Status.CANCELLED, timezone.now())
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=claim,
            actor=actor,
            clinic=clinic,
            before={"status": Status.RESERVED.value},
            after={"status": claim.status},
            summary=gettext("Flash sale claim %(reference)s cancelled")
            % {"reference": claim.reference},
        )
    return claim


def _close(sale: FlashSale, claims: list[FlashSaleClaim], status: Status, now: datetime) -> None:
    """Under the sale's lock: end reservations and give their units back."""
    if not claims:
        return
    FlashSaleClaim.objects.filter(pk__in=[c.pk for c in claims]).update(
        status=status, closed_at=now
    )
    FlashSale.objects.filter(pk=sale.pk).update(sold=F("sold") - len(claims))
    for claim in claims:
        claim.status = status
        claim.closed_at = now
    _hint_clear_on_commit(sale)


def flash_sale_claims_expire(*, now: datetime | None = None) -> int:
    """Expire the current organization's reservations whose payment window has passed and
    give their units back; one transaction per sale. Returns how many expired."""
    now = now or timezone.now()
    sale_ids = list(
        FlashSaleClaim.objects.filter(status=Status.RESERVED, expires_at__lte=now)
        .values_list("sale_id", flat=True)
        .distinct()
    )
    expired = 0
    for sale_id in sale_ids:
        with transaction.atomic():
            sale = FlashSale.objects.select_for_update().get(pk=sale_id)
            claims = list(
                FlashSaleClaim.objects.select_for_update().filter(
                    sale=sale, status=Status.RESERVED, expires_at__lte=now
                )
            )
            _close(sale, claims, Status.EXPIRED, now)
            for claim in claims:
                audit_record(
                    action=AuditEntry.Action.UPDATE,
                    instance=claim,
                    actor=None,
                    clinic=None,
                    before={"status": Status.RESERVED.value},
                    after={"status": claim.status},
                    summary=gettext("Flash sale claim %(reference)s expired unpaid")
                    % {"reference": claim.reference},
                )
            expired += len(claims)
    return expired


def flash_sale_counters_reconcile(*, sales: Iterable[FlashSale] | None = None) -> int:
    """Check each sale's `sold` against its live claims (and repair it, audited, if they
    ever differ), and clear the sold-out hints. Returns how many sales were repaired."""
    ids = (
        [s.pk for s in sales]
        if sales is not None
        else list(FlashSale.objects.values_list("pk", flat=True))
    )
    repaired = 0
    for sale_id in ids:
        with transaction.atomic():
            sale = FlashSale.objects.select_for_update().get(pk=sale_id)
            live = FlashSaleClaim.objects.filter(sale=sale, status__in=LIVE_CLAIM_STATUSES).count()
            if live != sale.sold:
                logger.error(
                    "Flash sale %s counted %s sold but has %s live claims", sale.pk, sale.sold, live
                )
                FlashSale.objects.filter(pk=sale.pk).update(sold=live)
                audit_record(
                    action=AuditEntry.Action.UPDATE,
                    instance=sale,
                    actor=None,
                    clinic=None,
                    before={"sold": sale.sold},
                    after={"sold": live},
                    summary=gettext("Flash sale %(title)s counter repaired")
                    % {"title": sale.title},
                )
                repaired += 1
            _hint_clear_on_commit(sale)
    return repaired


# --- paying ----------------------------------------------------------------------------------


def flash_sale_claim_pay(
    *, claim: FlashSaleClaim, processor: PaymentProcessor | None = None
) -> PaymentIntent:
    """Open the online payment of a reservation with the configured processor."""
    processor = processor or payment_processor()
    with transaction.atomic():
        claim = FlashSaleClaim.objects.select_for_update().select_related("sale").get(pk=claim.pk)
        if claim.status != Status.RESERVED or claim.expires_at <= timezone.now():
            raise Conflict(
                _("This reservation can no longer be paid."), code=FlashSaleError.CLAIM_CLOSED
            )
        claim.payment_processor = processor.name
        claim.save(update_fields=["payment_processor"])
    return processor.create_payment(claim.amount, claim.reference, claim.sale.title)


def _issue_coupon(claim: FlashSaleClaim, now: datetime) -> None:
    """Issue the coupon of a paid claim, in a savepoint: if the coupon service refuses (the
    template was changed meanwhile), the claim stays paid and the retry task tries again."""
    from chairside.promotions.services.coupons import coupon_issue

    try:
        with transaction.atomic():
            coupon = coupon_issue(
                actor=claim.created_by,
                clinic=claim.clinic,
                template=claim.sale.template,
                patient=claim.patient,
                source="flash_sale",
            )
            claim.coupon = coupon
            claim.status = Status.ISSUED
            claim.issued_at = now
            claim.save(update_fields=["coupon", "status", "issued_at"])
    except DomainError as error:
        logger.warning("Coupon of flash sale claim %s not issued: %s", claim.pk, error.message)


def flash_sale_payment_confirm(
    *, result: PaymentResult, now: datetime | None = None
) -> FlashSaleClaim:
    """Record a verified payment of the current organization's claim and issue its coupon.

    Idempotent: the same notification again (processors retry) changes nothing and issues
    no second coupon. A payment that arrives after the reservation expired takes a unit
    again if one is free; otherwise the claim stays expired with the payment recorded, to
    be refunded. Raises NotFound for an unknown order, Conflict when the amount differs or
    the claim was already paid by another transaction."""
    now = now or timezone.now()
    found = FlashSaleClaim.objects.filter(reference=result.reference).first()
    if found is None:
        raise NotFound(_("No such flash sale order."))
    with transaction.atomic():
        sale = FlashSale.objects.select_for_update().get(pk=found.sale_id)
        claim = (
            FlashSaleClaim.objects.select_for_update(of=("self",))
            .select_related("patient", "clinic", "created_by")
            .get(pk=found.pk)
        )
        claim.sale = sale
        if quantize_money(result.amount) != claim.amount:
            raise Conflict(
                _("The amount paid does not match the order."),
                code=FlashSaleError.PAYMENT_MISMATCH,
            )
        if claim.payment_reference:
            if claim.payment_reference != result.transaction_id:
                raise Conflict(
                    _("This order was already paid by another transaction."),
                    code=FlashSaleError.PAYMENT_MISMATCH,
                )
            if claim.status == Status.PAID:
                _issue_coupon(claim, now)
            return claim
        before = {"status": claim.status}
        claim.payment_reference = result.transaction_id
        claim.payment_processor = result.processor
        claim.paid_at = now
        if claim.status in (Status.EXPIRED, Status.CANCELLED):
            try:
                claim.sequence = _take_unit(sale, claim.patient)
            except Conflict:
                claim.save(update_fields=["payment_reference", "payment_processor", "paid_at"])
                audit_record(
                    action=AuditEntry.Action.UPDATE,
                    instance=claim,
                    actor=None,
                    clinic=claim.clinic,
                    before=before,
                    after={"payment_reference": claim.payment_reference},
                    summary=gettext(
                        "Flash sale order %(reference)s paid after it lapsed: refund it"
                    )
                    % {"reference": claim.reference},
                )
                return claim
            FlashSale.objects.filter(pk=sale.pk).update(sold=F("sold") + 1)
            claim.closed_at = None
        claim.status = Status.PAID
        claim.save(
            update_fields=[
                "payment_reference",
                "payment_processor",
                "paid_at",
                "status",
                "sequence",
                "closed_at",
            ]
        )
        audit_record(
            action=AuditEntry.Action.UPDATE,
            instance=claim,
            actor=None,
            clinic=claim.clinic,
            before=before,
            after={"status": claim.status, "payment_reference": claim.payment_reference},
            summary=gettext("Flash sale order %(reference)s paid") % {"reference": claim.reference},
        )
        _issue_coupon(claim, now)
    return claim


def flash_sale_payment_callback(
    *, payload: dict[str, Any], processor: PaymentProcessor | None = None
) -> FlashSaleClaim:
    """A processor's notification, from outside any tenant: verify it, find the order's
    organization by its unguessable order number, and confirm the payment there.
    Raises payments.PaymentRejected for a notification that does not verify."""
    processor = processor or payment_processor()
    result = processor.verify_callback(payload)
    # The one lookup across organizations: the order number is all the processor sends back.
    owner = (
        FlashSaleClaim.all_tenants.filter(reference=result.reference)
        .values_list("organization_id", "clinic_id")
        .first()
    )
    if owner is None:
        raise NotFound(_("No such flash sale order."))
    with tenant_scope(owner[0], owner[1]):
        return flash_sale_payment_confirm(result=result)


def flash_sale_claims_issue_pending() -> int:
    """Retry issuing the coupons of the current organization's paid claims; returns how
    many were issued."""
    issued = 0
    for claim_id in FlashSaleClaim.objects.filter(status=Status.PAID).values_list("pk", flat=True):
        with transaction.atomic():
            claim = (
                FlashSaleClaim.objects.select_for_update(of=("self",))
                .select_related("sale__template", "patient", "clinic", "created_by")
                .get(pk=claim_id)
            )
            if claim.status == Status.PAID:
                _issue_coupon(claim, timezone.now())
                issued += claim.status == Status.ISSUED
    return issued
