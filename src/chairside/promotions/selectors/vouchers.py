"""Reads of vouchers booked in the portal (K4, redemption by booking): which service vouchers
and combo-card entitlements a household can still book, what each has reserved, and which
booked voucher a cashier's bill should suggest.

A booking *reserves* its voucher (or one unit of the entitlement) while its appointment is
still ahead and no bill has redeemed it: the reservation is read from the appointment's
status, so cancelling the appointment or a no-show releases it without any write.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from chairside.billing.models import Bill, CatalogueItem
from chairside.core.clock import day_bounds, local
from chairside.core.models import Clinic
from chairside.patients.models import Patient
from chairside.promotions.models import (
    Coupon,
    CouponKind,
    CouponUse,
    Entitlement,
    VoucherBooking,
)
from chairside.promotions.selectors.coupons import (
    OPEN_STATUSES,
    coupon_list,
    last_valid_day,
    patient_is_member,
)
from chairside.scheduling.models import ACTIVE_STATUSES, RELEASED_STATUSES, AppointmentStatus

# The kinds of coupon that name the service they pay for, so a visit can be booked with them.
BOOKABLE_KINDS = (CouponKind.SERVICE_VOUCHER, CouponKind.COMBO)
# Appointments still ahead of the patient: their voucher stays reserved.
RESERVING_STATUSES = tuple(s for s in ACTIVE_STATUSES if s != AppointmentStatus.COMPLETED)


def reserving() -> Q:
    """The voucher bookings that hold their voucher now."""
    return Q(appointment__status__in=RESERVING_STATUSES, bill__isnull=True)


def reservations(coupon_ids: Iterable[int]) -> QuerySet[VoucherBooking]:
    """The bookings holding any of these coupons, soonest visit first."""
    return (
        VoucherBooking.objects.filter(reserving(), coupon_id__in=list(coupon_ids))
        .select_related("appointment", "appointment__clinic", "entitlement")
        .order_by("appointment__start", "id")
    )


@dataclass(frozen=True)
class VoucherOption:
    """Something a visit can be booked with: a service voucher, or one entitlement of a combo
    card; with how many units are left on it and the bookings holding some of them."""

    coupon: Coupon
    entitlement: Entitlement | None
    left: int
    reserved: list[VoucherBooking] = field(default_factory=list)

    @property
    def available(self) -> int:
        return max(self.left - len(self.reserved), 0)

    @property
    def items(self) -> list[CatalogueItem]:
        """The catalogue services the voucher pays for."""
        if self.entitlement is not None:
            return [self.entitlement.item]
        return list(self.coupon.template.service_items.all())

    @property
    def service_names(self) -> str:
        return " / ".join(item.name for item in self.items)

    @property
    def item_codes(self) -> set[str]:
        return {item.code for item in self.items}

    @property
    def key(self) -> tuple[int, int | None]:
        return (self.coupon.pk, self.entitlement.pk if self.entitlement is not None else None)

    def query(self) -> dict[str, int | None]:
        """The address parameters that name this option in the booking pages."""
        return {"voucher": self.coupon.pk, "entitlement": self.key[1]}


def _open(coupon: Coupon, now: datetime) -> bool:
    template = coupon.template
    return (
        template.kind in BOOKABLE_KINDS
        and template.is_active
        and coupon.holder_id is not None
        and coupon.status in OPEN_STATUSES
        and (coupon.expires_at is None or coupon.expires_at > now)
    )


def voucher_options(
    coupons: Iterable[Coupon], *, now: datetime | None = None
) -> list[VoucherOption]:
    """The bookable options of these (held) coupons: open service vouchers and the
    entitlements of open combo cards with uses left, each with its live reservations.

    A members-only voucher of a patient who is not a member is left out. The coupons should
    come from `wallet` (template, service items and entitlements prefetched): the reads do
    not grow with the number of coupons."""
    now = now or timezone.now()
    candidates = [c for c in coupons if _open(c, now)]
    held: dict[tuple[int, int | None], list[VoucherBooking]] = defaultdict(list)
    for booking in reservations(c.pk for c in candidates):
        held[(booking.coupon_id, booking.entitlement_id)].append(booking)
    options: list[VoucherOption] = []
    used = _units_used(c.pk for c in candidates if c.template.kind == CouponKind.COMBO)
    # Asked once per holder (and clinic), not once per members-only coupon they hold.
    is_member: dict[tuple[int, int], bool] = {}
    for coupon in candidates:
        template = coupon.template
        if template.members_only:
            assert coupon.holder is not None
            asked = (coupon.holder.pk, coupon.issued_clinic_id)
            if asked not in is_member:
                is_member[asked] = patient_is_member(coupon.holder, coupon.issued_clinic)
            if not is_member[asked]:
                continue
        if template.kind == CouponKind.SERVICE_VOUCHER:
            options.append(VoucherOption(coupon, None, 1, held[(coupon.pk, None)]))
            continue
        for entitlement in template.entitlements.all():
            left = max(entitlement.count - used.get((coupon.pk, entitlement.pk), 0), 0)
            reserved = held[(coupon.pk, entitlement.pk)]
            if left or reserved:
                options.append(VoucherOption(coupon, entitlement, left, reserved))
    return options


def _units_used(coupon_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Units of each combo entitlement used on bills (uses not reversed), in one query."""
    rows = (
        CouponUse.objects.filter(
            coupon_id__in=list(coupon_ids), reversed_at__isnull=True, entitlement__isnull=False
        )
        .values_list("coupon_id", "entitlement_id")
        .annotate(total=Sum("count"))
    )
    return {
        (coupon_id, entitlement_id): int(total or 0) for coupon_id, entitlement_id, total in rows
    }


def household_vouchers(*, patients: Sequence[Patient]) -> list[VoucherOption]:
    """Every option of the coupons these patients hold (a household's), soonest to expire
    first, whether or not units are still free to book."""
    now = timezone.now()
    coupons = (
        coupon_list()
        .filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now),
            holder_id__in=[p.pk for p in patients],
            status__in=OPEN_STATUSES,
            template__kind__in=BOOKABLE_KINDS,
        )
        .prefetch_related(
            "template__entitlements__item", "template__service_items", "template__clinics"
        )
        .order_by(F("expires_at").asc(nulls_last=True), "id")
    )
    return voucher_options(coupons, now=now)


def find_voucher(
    options: Sequence[VoucherOption], coupon_id: int | None, entitlement_id: int | None
) -> VoucherOption | None:
    """The option named by the booking pages' `voucher` and `entitlement` parameters."""
    if coupon_id is None:
        return None
    return next((o for o in options if o.key == (coupon_id, entitlement_id)), None)


def voucher_days(option: VoucherOption, clinic: Clinic) -> tuple[date | None, date | None]:
    """The first and last clinic days a visit booked with `option` may fall on (None: open)."""
    coupon = option.coupon
    first = local(coupon.valid_from, clinic).date() if coupon.valid_from else None
    return first, last_valid_day(coupon, clinic)


def voucher_clinic_ids(option: VoucherOption) -> set[int]:
    """The clinics the voucher is valid at; empty: every clinic of the organization."""
    return {c.pk for c in option.coupon.template.clinics.all()}


# --- the appointment's and the bill's side ----------------------------------------------


def appointment_voucher(*, appointment_id: int) -> VoucherBooking | None:
    """The voucher an appointment was booked with, if any."""
    return (
        VoucherBooking.objects.filter(appointment_id=appointment_id)
        .select_related("coupon__template", "entitlement__item")
        .first()
    )


def bill_day(bill: Bill) -> date:
    """The clinic day a bill is for: the day it was opened."""
    return local(bill.created_at, bill.clinic).date()


def vouchers_booked_for_day(*, patient: Patient, clinic: Clinic, day: date) -> list[VoucherBooking]:
    """The not yet redeemed vouchers of `patient`'s appointments at `clinic` on `day` (those
    that took place or are still ahead), earliest appointment first."""
    start, end = day_bounds(day, day, clinic)
    return list(
        VoucherBooking.objects.filter(
            appointment__patient=patient,
            appointment__clinic=clinic,
            appointment__start__gte=start,
            appointment__start__lt=end,
            bill__isnull=True,
        )
        # Appointments that did not take place: their voucher was never used for them.
        .exclude(appointment__status__in=RELEASED_STATUSES)
        .select_related("appointment", "entitlement__item")
        .order_by("appointment__start", "id")
    )


def vouchers_booked_for_bill(bill: Bill) -> dict[int, VoucherBooking]:
    """The bookings whose voucher the cashier should suggest for `bill`, by coupon id."""
    found: dict[int, VoucherBooking] = {}
    for booking in vouchers_booked_for_day(
        patient=bill.patient, clinic=bill.clinic, day=bill_day(bill)
    ):
        found.setdefault(booking.coupon_id, booking)
    return found
