"""Giving a coupon to a friend (转赠) in the portal.

The holder's household opens "Give to a friend" on one of its coupons: a one-time link is
made (valid 48 hours) to send by WeChat or SMS, and can be taken back while unclaimed. The
friend opens the link, sees what the coupon is and who gives it (the giver's name masked,
nothing else about them), signs in with an SMS code if needed, and claims it for someone
of their household: the coupon then moves to My coupons there.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from chairside.core.errors import DomainError, NotFound
from chairside.core.phone import masked_name
from chairside.patients.models import Patient
from chairside.portal.views.common import (
    PortalRequest,
    SignedInRequest,
    portal_page,
    portal_url,
)
from chairside.promotions.discounts import rule_summary
from chairside.promotions.models import Coupon, CouponGift, CouponGiftStatus
from chairside.promotions.selectors.coupons import get_coupon, last_valid_day
from chairside.promotions.selectors.gifting import (
    gift_by_token,
    gift_claim_problem,
    gift_problem,
    gift_status,
    open_gift,
)
from chairside.promotions.services.gifting import (
    GiftErrorCode,
    coupon_gift_cancel,
    coupon_gift_claim,
    coupon_gift_create,
)

# The refusals a patient can act on (the rest are bugs and surface as errors).
PATIENT_ERRORS = {e.value for e in GiftErrorCode}


def _household_coupon(request: SignedInRequest, coupon_id: int) -> Coupon:
    """One of the household's coupons; anyone else's is "not found" like a missing one."""
    coupon = get_coupon(coupon_id=coupon_id)
    if coupon.holder_id not in request.household.ids:
        raise NotFound(_("Not found."))
    return coupon


def _show(request: PortalRequest, error: DomainError) -> None:
    if str(error.code) not in PATIENT_ERRORS:
        raise error
    messages.error(request, str(error.message))


@require_http_methods(["GET", "HEAD", "POST"])
@portal_page()
def coupon_gift(request: SignedInRequest, coupon_id: int) -> HttpResponse:
    """The giver's page: make the link (POST), then copy or share it, or take it back."""
    coupon = _household_coupon(request, coupon_id)
    if request.method == "POST":
        holder = request.household.get(coupon.holder_id)
        try:
            coupon_gift_create(coupon=coupon, giver=holder)
        except DomainError as e:
            _show(request, e)
        return redirect(portal_url(request, "coupon_gift", coupon.pk))
    gift = open_gift(coupon)
    link = None
    if gift is not None:
        link = request.build_absolute_uri(portal_url(request, "gift", gift.token))
    return render(
        request,
        "portal/gift_share.html",
        {
            "coupon": coupon,
            "summary": rule_summary(coupon.template),
            "last_day": last_valid_day(coupon, coupon.issued_clinic),
            "gift": gift,
            "link": link,
            "problem": None if gift is not None else gift_problem(coupon),
            "show_names": len(request.household.members) > 1,
        },
    )


@require_POST
@portal_page()
def coupon_gift_cancel_view(request: SignedInRequest, coupon_id: int) -> HttpResponse:
    coupon = _household_coupon(request, coupon_id)
    gift = open_gift(coupon)
    if gift is None:
        messages.error(request, _("There is no gift link to take back."))
    else:
        try:
            coupon_gift_cancel(gift=gift, giver=request.household.get(gift.giver_id))
        except DomainError as e:
            _show(request, e)
        else:
            messages.success(request, _("The link is taken back; the coupon stays yours."))
    return redirect(portal_url(request, "coupon_gift", coupon.pk))


def _gift(token: str) -> CouponGift:
    gift = gift_by_token(token)
    if gift is None:
        raise NotFound(_("Not found."))
    return gift


def _recipients(request: PortalRequest, gift: CouponGift) -> list[Patient]:
    if request.household is None:
        return []
    return [p for p in request.household.members if p.pk != gift.giver_id]


@require_safe
@portal_page(sign_in_required=False)
def gift_open(request: PortalRequest, token: str) -> HttpResponse:
    """What the friend sees on opening the link, signed in or not."""
    gift = _gift(token)
    coupon = gift.coupon
    status = gift_status(gift)
    # An open link whose coupon was used, voided or booked meanwhile cannot be claimed.
    problem = gift_claim_problem(gift) if status == CouponGiftStatus.OPEN else None
    recipients = _recipients(request, gift)
    return render(
        request,
        "portal/gift_claim.html",
        {
            "gift": gift,
            "template": coupon.template,
            "summary": rule_summary(coupon.template),
            "last_day": last_valid_day(coupon, coupon.issued_clinic),
            "giver": masked_name(gift.giver.name),
            "status": status,
            "status_label": dict(CouponGiftStatus.choices)[status],
            "problem": problem,
            "claimable": status == CouponGiftStatus.OPEN and problem is None,
            "signed_in": request.household is not None,
            "own": request.household is not None and not recipients,
            "recipients": recipients,
            "login_url": portal_url(request, "login", next=request.get_full_path()),
        },
    )


@require_POST
@portal_page()
def gift_claim(request: SignedInRequest, token: str) -> HttpResponse:
    gift = _gift(token)
    recipients = _recipients(request, gift)
    try:
        patient_id = int(request.POST.get("patient") or 0)
    except ValueError:
        patient_id = 0
    recipient = next((p for p in recipients if p.pk == patient_id), None)
    if recipient is None and len(recipients) == 1 and not request.POST.get("patient"):
        recipient = recipients[0]
    if recipient is None:
        if not recipients:
            messages.error(
                request, _("This is your own coupon: send the link to the friend it is for.")
            )
        else:
            messages.error(request, _("Choose who the coupon is for."))
        return redirect(portal_url(request, "gift", gift.token))
    try:
        coupon_gift_claim(gift=gift, recipient=recipient)
    except DomainError as e:
        _show(request, e)
        return redirect(portal_url(request, "gift", gift.token))
    messages.success(
        request,
        _("%(coupon)s is now in My coupons for %(name)s.")
        % {"coupon": gift.coupon.template.name, "name": recipient.name},
    )
    return redirect(portal_url(request, "coupons"))
