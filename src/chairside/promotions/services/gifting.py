"""Giving a coupon to a friend (转赠): the holder makes a one-time link (valid 48 hours, one
open link per coupon, cancellable); the friend opens it in the portal and claims it.

Claiming moves the coupon to the recipient within the template's per-person limit, writes
an append-only CouponTransfer and an audit entry, and gives the coupon a fresh code, so
the code the giver saw (a screenshot, a coupon that allows bearer use) is worthless: the
giver can no longer use it. Everything happens under row locks taken in one order (the
link, then the coupon, then the recipient): two friends claiming one link at the same
moment get one coupon between them, and a coupon used at a desk meanwhile is not given.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from enum import StrEnum

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, NotFound
from chairside.core.models import AuditEntry
from chairside.patients.models import Patient
from chairside.promotions.models import (
    Coupon,
    CouponGift,
    CouponGiftStatus,
    CouponTransfer,
)
from chairside.promotions.selectors.coupons import patient_is_member
from chairside.promotions.selectors.gifting import gift_claim_problem, gift_problem, gift_status
from chairside.promotions.services.coupons import new_coupon_code, require_under_limit

GIFT_VALID_FOR = timedelta(hours=48)


class GiftErrorCode(StrEnum):
    NOT_GIFTABLE = "coupon_not_giftable"
    CLOSED = "gift_closed"
    OWN_COUPON = "gift_own_coupon"
    # Raised by services.coupons.require_under_limit (the same code); listed so the portal
    # shows it.
    LIMIT_REACHED = "coupon_limit_reached"
    MEMBERS_ONLY = "coupon_members_only"


def _lock_coupon(coupon: Coupon) -> Coupon:
    return Coupon.objects.select_for_update().select_related("template").get(pk=coupon.pk)


def _closed_message(status: str) -> str:
    if status == CouponGiftStatus.CLAIMED:
        return _("This gift has already been claimed.")
    if status == CouponGiftStatus.CANCELLED:
        return _("The giver took this gift back.")
    return _("This gift link has expired.")


@transaction.atomic
def coupon_gift_create(*, coupon: Coupon, giver: Patient) -> CouponGift:
    """Make a link to give `coupon` (held by `giver`) to a friend, valid 48 hours (or until
    the coupon expires, if sooner). A coupon has one open link at a time: asking again
    while one is open hands back that one."""
    coupon = _lock_coupon(coupon)
    if coupon.holder_id != giver.pk:
        raise NotFound(_("Coupon not found."))
    now = timezone.now()
    problem = gift_problem(coupon, now=now)
    if problem is not None:
        raise Conflict(problem, code=GiftErrorCode.NOT_GIFTABLE)
    live = CouponGift.objects.filter(coupon=coupon, status=CouponGiftStatus.OPEN)
    current = live.filter(expires_at__gt=now).first()
    if current is not None:
        return current
    # A link past its time is stamped expired, so the new one is the only open one.
    live.update(status=CouponGiftStatus.EXPIRED, closed_at=now)
    expires_at = now + GIFT_VALID_FOR
    if coupon.expires_at is not None:
        expires_at = min(expires_at, coupon.expires_at)
    gift = CouponGift.objects.create(
        organization_id=coupon.organization_id,
        coupon=coupon,
        giver=giver,
        token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=expires_at,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=gift,
        actor=None,
        clinic=None,
        after={k: v for k, v in snapshot(gift).items() if k != "token"},
        summary=_("%(name)s made a link to give coupon %(code)s to a friend")
        % {"name": giver.name, "code": coupon.code},
    )
    return gift


@transaction.atomic
def coupon_gift_cancel(*, gift: CouponGift, giver: Patient) -> CouponGift:
    """Take back a link not yet claimed; the coupon stays with the giver."""
    gift = CouponGift.objects.select_for_update().get(pk=gift.pk)
    if gift.giver_id != giver.pk:
        raise NotFound(_("Not found."))
    status = gift_status(gift)
    if status != CouponGiftStatus.OPEN:
        raise Conflict(_closed_message(status), code=GiftErrorCode.CLOSED)
    before = snapshot(gift)
    gift.status = CouponGiftStatus.CANCELLED
    gift.closed_at = timezone.now()
    gift.save(update_fields=["status", "closed_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=gift,
        actor=None,
        clinic=None,
        before={k: v for k, v in before.items() if k != "token"},
        after={k: v for k, v in snapshot(gift).items() if k != "token"},
        summary=_("%(name)s took back the gift link of coupon %(code)s")
        % {"name": giver.name, "code": gift.coupon.code},
    )
    return gift


def _check_recipient(coupon: Coupon, recipient: Patient) -> None:
    template = coupon.template
    if template.members_only and not patient_is_member(recipient, recipient.first_clinic):
        raise Conflict(
            _("This coupon is for members only; %(name)s is not a member.")
            % {"name": recipient.name},
            code=GiftErrorCode.MEMBERS_ONLY,
        )
    require_under_limit(template, recipient)


@transaction.atomic
def coupon_gift_claim(*, gift: CouponGift, recipient: Patient) -> Coupon:
    """Claim a gift link for `recipient`: the coupon becomes theirs (with a fresh code).

    Refused when the link was claimed, taken back or expired; when the coupon can no longer
    be given (used, voided, expired, booked for a visit meanwhile); when the recipient is
    the giver; and when the recipient is at the template's per-person limit or the coupon
    is for members only and they are not one.
    """
    gift = CouponGift.objects.select_for_update().get(pk=gift.pk)
    if recipient.organization_id != gift.organization_id:
        raise NotFound(_("Not found."))
    now = timezone.now()
    status = gift_status(gift, now)
    if status != CouponGiftStatus.OPEN:
        raise Conflict(_closed_message(status), code=GiftErrorCode.CLOSED)
    coupon = _lock_coupon(gift.coupon)
    # The giver opening their own link hears so, as long as the coupon is still theirs.
    if recipient.pk == gift.giver_id == coupon.holder_id:
        raise Conflict(
            _("This is your own coupon: send the link to the friend it is for."),
            code=GiftErrorCode.OWN_COUPON,
        )
    problem = gift_claim_problem(gift, coupon=coupon, now=now)
    if problem is not None:
        raise Conflict(problem, code=GiftErrorCode.NOT_GIFTABLE)
    # Locked as coupon_issue locks it, so an issue and a claim for her count each other.
    Patient.objects.select_for_update().filter(pk=recipient.pk).first()
    _check_recipient(coupon, recipient)

    before = snapshot(coupon)
    coupon.holder = recipient
    coupon.code = new_coupon_code(coupon.organization_id)
    coupon.save(update_fields=["holder", "code"])
    gift.status = CouponGiftStatus.CLAIMED
    gift.claimed_by = recipient
    gift.closed_at = now
    gift.save(update_fields=["status", "claimed_by", "closed_at"])
    CouponTransfer.objects.create(
        organization_id=coupon.organization_id,
        coupon=coupon,
        from_patient_id=gift.giver_id,
        to_patient=recipient,
        gift=gift,
        at=now,
    )
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=coupon,
        actor=None,
        clinic=recipient.first_clinic,
        before=before,
        after=snapshot(coupon),
        summary=_("Coupon %(template)s given by %(giver)s to %(recipient)s")
        % {
            "template": coupon.template.name,
            "giver": gift.giver.name,
            "recipient": recipient.name,
        },
    )
    return coupon
