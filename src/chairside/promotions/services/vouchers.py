"""Vouchers booked in the portal (K4, redemption by booking): a visit booked with a service
voucher or one unit of a combo card's entitlement reserves it; the cashier's confirmation of
a bill that uses it marks the booking redeemed, a voided or refunded bill gives it back.

Reserving happens under the coupon's row lock, so two tabs booking the same voucher at once
make one booking with it: the second sees the first's reservation and is refused.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from enum import StrEnum

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from chairside.billing.models import Bill
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Staff
from chairside.promotions.models import (
    Coupon,
    CouponKind,
    CouponUse,
    Entitlement,
    VoucherBooking,
)
from chairside.promotions.selectors.coupons import (
    entitlements_left,
    last_valid_day,
    usable_problem,
)
from chairside.promotions.selectors.vouchers import (
    BOOKABLE_KINDS,
    bill_day,
    reserving,
    vouchers_booked_for_day,
)
from chairside.scheduling.models import Appointment


class VoucherError(StrEnum):
    """Refusals of booking with a voucher; their messages are written for the patient."""

    NOT_BOOKABLE = "voucher_not_bookable"
    ALREADY_BOOKED = "voucher_already_booked"
    NOT_FOR_SERVICE = "voucher_not_for_service"
    OUTSIDE_VALIDITY = "voucher_outside_validity"


VOUCHER_ERRORS = frozenset(e.value for e in VoucherError)


def _not_bookable(message: str) -> ValidationFailed:
    return ValidationFailed(message, code=VoucherError.NOT_BOOKABLE, field="voucher")


def _check_voucher(
    coupon: Coupon, entitlement: Entitlement | None, appointment: Appointment
) -> int:
    """Refuse a voucher that cannot pay for `appointment`; return the units left on it."""
    template = coupon.template
    if coupon.holder_id != appointment.patient_id:
        raise _not_bookable(_("This voucher belongs to someone else."))
    if template.kind not in BOOKABLE_KINDS:
        raise _not_bookable(_("Only a service voucher or a combo card can be booked."))
    if coupon.expires_at is not None and coupon.expires_at <= appointment.start:
        last_day = last_valid_day(coupon, appointment.clinic)
        raise ValidationFailed(
            _("This voucher is valid until %(day)s. Please choose a time before then.")
            % {"day": date_format(last_day, "Y-m-d") if last_day else ""},
            code=VoucherError.OUTSIDE_VALIDITY,
            field="start",
        )
    if coupon.valid_from is not None and coupon.valid_from > appointment.start:
        raise ValidationFailed(
            _("This voucher is not valid yet at that time. Please choose a later time."),
            code=VoucherError.OUTSIDE_VALIDITY,
            field="start",
        )
    # Checked as of the visit: the validity above, status, template, clinic, members only.
    problem = usable_problem(
        coupon, clinic=appointment.clinic, patient=appointment.patient, now=appointment.start
    )
    if problem is not None:
        raise _not_bookable(problem)
    kind = appointment.appointment_type
    codes = set(kind.service_codes or []) if kind is not None else set()
    if template.kind == CouponKind.SERVICE_VOUCHER:
        if entitlement is not None:
            raise _not_bookable(_("This voucher has no separate services to choose from."))
        items = {item.code for item in template.service_items.all()}
        left = 1
    else:
        if entitlement is None or entitlement.template_id != template.pk:
            raise _not_bookable(_("Choose which service of the card to book."))
        items = {entitlement.item.code}
        slots = entitlements_left(coupon)
        left = next((s.left for s in slots if s.entitlement.pk == entitlement.pk), 0)
    # A service linked to catalogue items must be one the voucher pays for.
    if codes and not codes & items:
        raise ValidationFailed(
            _("This voucher does not cover this service. Please choose another service."),
            code=VoucherError.NOT_FOR_SERVICE,
            field="appointment_type_id",
        )
    return left


@transaction.atomic
def voucher_book(
    *,
    coupon: Coupon,
    entitlement: Entitlement | None,
    appointment: Appointment,
    actor: Staff | None = None,
) -> VoucherBooking:
    """Book `appointment` with `coupon` (one unit of `entitlement` for a combo card).

    Called in the transaction that books the appointment. The coupon row is locked first,
    so concurrent bookings of one voucher count each other's reservations: a voucher (or
    an entitlement) is never reserved beyond what is left of it.
    """
    locked = (
        Coupon.objects.select_for_update(of=("self",))
        .select_related("template", "holder", "issued_clinic")
        .get(pk=coupon.pk)
    )
    left = _check_voucher(locked, entitlement, appointment)
    held = (
        VoucherBooking.objects.filter(reserving(), coupon=locked)
        .filter(entitlement=entitlement)
        .exclude(appointment=appointment)
        .count()
    )
    if left - held < 1:
        raise Conflict(
            _("This voucher is already booked for another visit.")
            if entitlement is None
            else _("Every %(item)s of this card is already used or booked.")
            % {"item": entitlement.item.name},
            code=VoucherError.ALREADY_BOOKED,
            field="voucher",
        )
    booking = VoucherBooking.objects.create(
        organization_id=appointment.organization_id,
        coupon=locked,
        entitlement=entitlement,
        appointment=appointment,
        created_at=timezone.now(),
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=booking,
        actor=actor,
        clinic=appointment.clinic,
        after=snapshot(booking),
        summary=_("Appointment %(appointment)s booked with voucher %(code)s")
        % {"appointment": appointment.pk, "code": locked.code},
    )
    return booking


def voucher_bookings_redeem(*, bill: Bill, coupons: Sequence[Coupon]) -> list[VoucherBooking]:
    """Mark redeemed the bookings of the bill's day that the confirmed `bill` used their
    voucher for (called by the coupon discount source inside the confirmation): a service
    voucher's booking, and as many bookings of each combo entitlement as units were used."""
    if not coupons:
        return []
    bookings = [
        b
        for b in vouchers_booked_for_day(
            patient=bill.patient, clinic=bill.clinic, day=bill_day(bill)
        )
        if b.coupon_id in {c.pk for c in coupons}
    ]
    if not bookings:
        return []
    used: dict[tuple[int, int | None], int] = defaultdict(int)
    for use in CouponUse.objects.filter(bill=bill, reversed_at__isnull=True):
        used[(use.coupon_id, use.entitlement_id)] += use.count
    now = timezone.now()
    redeemed = []
    for booking in bookings:
        key = (booking.coupon_id, booking.entitlement_id)
        if used.get(key, 0) < 1:
            continue
        used[key] -= 1
        booking.bill = bill
        booking.redeemed_at = now
        booking.save(update_fields=["bill", "redeemed_at"])
        redeemed.append(booking)
    return redeemed


def voucher_bookings_release(*, bill: Bill) -> int:
    """A voided or fully refunded bill gave its coupons back: the bookings it redeemed hold
    their voucher again while their appointment is still ahead. Returns how many."""
    return VoucherBooking.objects.filter(bill=bill).update(bill=None, redeemed_at=None)
