"""The coupon step of the billing discount pipeline (K4): the patient's wallet, bearer codes.

A bill discount of this step has the reference "coupon:<id>" (picked from the patient's
own wallet) or "code:<code>" (typed or scanned at the desk; the code is the secret, so an
id alone never reaches a coupon the patient does not hold). Rules apply in `propose`,
seeing each line after the member-tier discount; `confirmed` records the uses on the
locked coupons, `released` reverses them.

A voucher the patient booked today's appointment with (in the portal) comes first among the
offers, labelled as booked with it; confirming a bill that uses it marks the booking
redeemed, and releasing the bill gives the booking its voucher back.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from chairside.billing.discounts import DiscountContext, DiscountOffer, ProposedDiscount
from chairside.billing.models import Bill, BillDiscount, BillLine, DiscountStep
from chairside.core.clock import local
from chairside.core.errors import ValidationFailed
from chairside.core.models import Staff
from chairside.core.money import Money
from chairside.promotions.codes import normalize
from chairside.promotions.models import Coupon, CouponKind, CouponTemplate, VoucherBooking
from chairside.promotions.selectors.coupons import (
    entitlements_left,
    last_valid_day,
    usable_coupons,
    usable_problem,
)
from chairside.promotions.selectors.vouchers import vouchers_booked_for_bill
from chairside.promotions.services.coupons import (
    CouponErrorCode,
    coupon_for_reference,
    coupons_release_from_bill,
    coupons_use_on_bill,
)
from chairside.promotions.services.vouchers import (
    voucher_bookings_redeem,
    voucher_bookings_release,
)

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def rule_summary(template: CouponTemplate) -> str:
    """What a coupon gives, in a few words (for offers, wallets and lists)."""
    if template.kind == CouponKind.CASH_VOUCHER:
        text = _("¥%(amount)s off") % {"amount": template.amount}
    elif template.kind == CouponKind.DISCOUNT:
        text = _("%(percent)s%% off") % {
            "percent": f"{(template.percent_off or ZERO).normalize():f}"
        }
        if template.max_discount:
            text += _(", at most ¥%(amount)s") % {"amount": template.max_discount}
    elif template.kind == CouponKind.SERVICE_VOUCHER:
        text = _("one free: %(items)s") % {
            "items": "/".join(i.name for i in template.service_items.all())
        }
    else:
        text = ", ".join(f"{e.item.name} x{e.count}" for e in template.entitlements.all())
    if template.min_spend:
        text += _(" (minimum spend ¥%(amount)s)") % {"amount": template.min_spend}
    return text


def offer_label(coupon: Coupon, bill: Bill) -> str:
    label = f"{coupon.template.name} · {rule_summary(coupon.template)}"
    if coupon.template.kind == CouponKind.COMBO:
        left = ", ".join(f"{e.entitlement.item.name} {e.left}" for e in entitlements_left(coupon))
        label += " · " + _("left: %(left)s") % {"left": left}
    last_day = last_valid_day(coupon, bill.clinic)
    if last_day is not None:
        label += " · " + _("until %(day)s") % {"day": date_format(last_day, "Y-m-d")}
    return label


def booked_label(booking: VoucherBooking, bill: Bill) -> str:
    """How the cashier is told the patient booked today's visit with this voucher."""
    when = local(booking.appointment.start, bill.clinic)
    text = _("Booked with this voucher for the %(time)s visit") % {"time": f"{when:%H:%M}"}
    if booking.entitlement is not None:
        text += f" ({booking.entitlement.item.name})"
    return text


def _applies(categories: set[str], item_ids: set[int], category: str, item_id: int) -> bool:
    """Whether a line falls under a template's categories or services (none: every line)."""
    if not categories and not item_ids:
        return True
    return category in categories or item_id in item_ids


def _shares(
    coupon: Coupon,
    lines: Sequence[tuple[int, str, int, int]],
    remaining: dict[int, Decimal],
) -> dict[int, Decimal]:
    """What `coupon` takes off each line (line id, category, item id, quantity), given
    what is left of the lines; empty when its rules are not met."""
    template = coupon.template
    categories = set(template.categories or [])
    item_ids = {i.pk for i in template.items.all()}
    applicable = [
        (line_id, item_id, quantity)
        for line_id, category, item_id, quantity in lines
        if remaining.get(line_id, ZERO) > 0 and _applies(categories, item_ids, category, item_id)
    ]
    base = sum((remaining[line_id] for line_id, _i, _q in applicable), ZERO)
    if base <= 0 or base < template.min_spend:
        return {}
    if template.kind in (CouponKind.CASH_VOUCHER, CouponKind.DISCOUNT):
        if template.kind == CouponKind.CASH_VOUCHER:
            amount = min(template.amount or ZERO, base)
        else:
            amount = Money(base * (template.percent_off or ZERO) / HUNDRED).amount
            if template.max_discount is not None:
                amount = min(amount, template.max_discount)
        if amount <= 0:
            return {}
        parts = Money(amount).allocate([remaining[line_id] for line_id, _i, _q in applicable])
        return {
            line_id: part.amount
            for (line_id, _i, _q), part in zip(applicable, parts, strict=True)
            if part.amount > 0
        }
    if template.kind == CouponKind.SERVICE_VOUCHER:
        free = {i.pk for i in template.service_items.all()}
        candidates = [
            (remaining[line_id] / quantity, line_id)
            for line_id, item_id, quantity in applicable
            if item_id in free
        ]
        if not candidates:
            return {}
        # The dearest unit of the services it pays for.
        unit, line_id = max(candidates, key=lambda c: (c[0], -c[1]))
        return {line_id: Money(unit).amount}
    # A combo card: whole units of each entitlement, while counts are left.
    shares: dict[int, Decimal] = {}
    for slot in entitlements_left(coupon):
        left = slot.left
        for line_id, item_id, quantity in applicable:
            if left <= 0:
                break
            if item_id != slot.entitlement.item_id:
                continue
            units = min(quantity, left)
            shares[line_id] = Money(remaining[line_id] * units / quantity).amount
            left -= units
    return {k: v for k, v in shares.items() if v > 0}


class CouponDiscountSource:
    """Coupons and cards at the cashier, as a billing DiscountSource of the coupon step."""

    step = DiscountStep.COUPON

    def offers(self, bill: Bill) -> list[DiscountOffer]:
        if bill.status != Bill.Status.DRAFT:
            return []
        booked = vouchers_booked_for_bill(bill)
        coupons = usable_coupons(patient=bill.patient, clinic=bill.clinic)
        # The vouchers booked for the bill's day first: the cashier is asked to use them.
        coupons.sort(key=lambda c: c.pk not in booked)
        offers = []
        for coupon in coupons:
            label = offer_label(coupon, bill)
            if coupon.pk in booked:
                label = f"{booked_label(booked[coupon.pk], bill)} · {label}"
            offers.append(
                DiscountOffer(
                    step=self.step,
                    reference=f"coupon:{coupon.pk}",
                    label=label,
                    description=coupon.template.description,
                )
            )
        # A code typed at the desk stays pickable while it is on the bill.
        for discount in BillDiscount.objects.filter(
            bill=bill, step=self.step, reference__startswith="code:"
        ):
            try:
                coupon = coupon_for_reference(discount.reference, bill.patient)
            except ValidationFailed:
                continue
            offers.append(
                DiscountOffer(
                    step=self.step,
                    reference=discount.reference,
                    label=offer_label(coupon, bill),
                    description=coupon.template.description,
                )
            )
        return offers

    def propose(self, context: DiscountContext) -> list[ProposedDiscount]:
        picked: list[tuple[str, Coupon]] = []
        seen: set[int] = set()
        now = timezone.now()
        for reference in dict.fromkeys(context.selected):
            kind, _sep, value = reference.partition(":")
            if kind == "code":
                reference = f"code:{normalize(value)}"
            coupon = coupon_for_reference(reference, context.patient)
            if coupon.pk in seen:
                continue
            seen.add(coupon.pk)
            problem = usable_problem(
                coupon, clinic=context.clinic, patient=context.patient, now=now
            )
            if problem is not None:
                raise ValidationFailed(
                    _("Coupon %(name)s cannot be used: %(problem)s")
                    % {"name": coupon.template.name, "problem": problem},
                    code=CouponErrorCode.NOT_USABLE,
                )
            picked.append((reference, coupon))
        if not picked:
            return []
        if len(picked) > 1:
            for _ref, coupon in picked:
                if not coupon.template.combinable:
                    raise ValidationFailed(
                        _("%(name)s cannot be combined with other coupons.")
                        % {"name": coupon.template.name},
                        code=CouponErrorCode.NOT_COMBINABLE,
                    )
        by_id = {line.line_id: line for line in context.lines}
        rows = BillLine.objects.filter(bill=context.bill).order_by("id")
        lines = [
            (row.pk, by_id[row.pk].category, row.item_id, row.quantity)
            for row in rows
            if row.pk in by_id
        ]
        remaining = {line.line_id: line.amount for line in context.lines}
        proposed = []
        for reference, coupon in picked:
            shares = _shares(coupon, lines, remaining)
            if not shares:
                continue
            for line_id, share in shares.items():
                remaining[line_id] -= share
            proposed.append(
                ProposedDiscount(label=coupon.template.name, reference=reference, shares=shares)
            )
        return proposed

    def confirmed(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        if discounts:
            used = coupons_use_on_bill(
                actor=actor, bill=bill, discounts=discounts, patient=bill.patient
            )
            voucher_bookings_redeem(bill=bill, coupons=used)

    def released(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        coupons_release_from_bill(actor=actor, bill=bill)
        voucher_bookings_release(bill=bill)
