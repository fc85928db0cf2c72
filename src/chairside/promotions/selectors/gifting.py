"""Reads of coupon gifting (转赠): which coupons may be given, a gift link by its token and
its status as the recipient sees it, and a coupon's transfer history."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.promotions.models import (
    Coupon,
    CouponGift,
    CouponGiftStatus,
    CouponStatus,
    CouponTransfer,
)
from chairside.promotions.selectors.coupons import effective_status
from chairside.promotions.selectors.vouchers import reservations

# Long enough that guessing one is hopeless (32 random bytes, see services.gifting).
TOKEN_MAX_LENGTH = 64


def gift_status(gift: CouponGift, now: datetime | None = None) -> str:
    """The stored status, or expired when an open link is past its time."""
    now = now or timezone.now()
    if gift.status == CouponGiftStatus.OPEN and gift.expires_at <= now:
        return CouponGiftStatus.EXPIRED
    return gift.status


def gift_problem(coupon: Coupon, *, now: datetime | None = None) -> str | None:
    """Why `coupon` cannot be given to a friend now, or None.

    Only a named, unused coupon of a template that allows gifting, not expired, not void,
    and not reserved by a booked visit can be given.
    """
    now = now or timezone.now()
    template = coupon.template
    if not template.giftable:
        return _("This coupon cannot be given to someone else.")
    if not template.is_active:
        return _("This coupon's template is no longer active.")
    if coupon.holder_id is None:
        return _("Only a coupon in someone's wallet can be given.")
    status = effective_status(coupon, now)
    if status == CouponStatus.EXPIRED:
        return _("This coupon has expired.")
    if status == CouponStatus.VOID:
        return _("This coupon is void.")
    if status != CouponStatus.UNUSED:
        return _("Only an unused coupon can be given.")
    if reservations([coupon.pk]).exists():
        return _("This coupon is booked for a visit; cancel the visit to give it.")
    return None


def gift_claim_problem(
    gift: CouponGift, *, coupon: Coupon | None = None, now: datetime | None = None
) -> str | None:
    """Why the coupon of an open gift link cannot be claimed now, or None: the giver no
    longer holds it, or it can no longer be given (used, voided, expired, booked meanwhile).

    `coupon` is the gift's coupon as the caller read it (locked, when claiming)."""
    if coupon is None:
        coupon = gift.coupon
    if coupon.holder_id != gift.giver_id:
        return _("This coupon is no longer the giver's to give.")
    return gift_problem(coupon, now=now)


def gift_list() -> QuerySet[CouponGift]:
    return CouponGift.objects.select_related(
        "coupon", "coupon__template", "coupon__issued_clinic", "giver", "claimed_by"
    )


def gift_by_token(token: str) -> CouponGift | None:
    """The gift link of the current organization with this token (None for anything else,
    including a token of another organization's link)."""
    token = (token or "").strip()
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return gift_list().filter(token=token).first()


def open_gift(coupon: Coupon, now: datetime | None = None) -> CouponGift | None:
    """The coupon's link still waiting to be claimed, if any."""
    now = now or timezone.now()
    return (
        gift_list().filter(coupon=coupon, status=CouponGiftStatus.OPEN, expires_at__gt=now).first()
    )


def coupon_transfers(coupon: Coupon) -> QuerySet[CouponTransfer]:
    """Where the coupon went, oldest move first, the patients joined."""
    return (
        CouponTransfer.objects.filter(coupon=coupon)
        .select_related("from_patient", "to_patient")
        .order_by("at", "id")
    )
