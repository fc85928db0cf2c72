"""Points (M4): an append-only ledger per member whose sum is `Member.points_balance`.

- Earned on money actually paid on a bill (not medical insurance, which the patient did
  not pay; stored-value spends count, top-ups do not), per catalogue category by the
  organization's points rules (a category's own rule wins over the rule for all).
- Clawed back when a payment is refunded, in proportion to the refund; what was already
  spent cannot be taken back below zero (the entry's note says so).
- Expire one year after they were earned: the expiry takes the points that expire first
  (first in, first out), so spending uses the oldest points.
- Redeemed for gifts (stock counted), or adjusted by hand with a reason; awarded by hand
  for activities (a check-in, a shared article, a completed profile or review).
- Referral points are in services.referrals.

Every change locks the member row first, so concurrent changes queue and the balance,
which the database keeps at zero or above, never goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.billing.models import Bill, BillLine, Payment, PaymentMethod, Refund
from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.money import Money
from chairside.membership.errors import MembershipErrorCode
from chairside.membership.models import Member, PointsEntry, PointsGift, PointsRule
from chairside.membership.services.common import add_months, same_org
from chairside.membership.services.members import lock_member, member_tier_refresh

ZERO = Decimal("0.00")
MAX_ADJUST = 1_000_000
POINTS_VALID_MONTHS = 12
# The kinds staff may add by hand.
HAND_KINDS = (PointsEntry.Kind.ADJUST, PointsEntry.Kind.REFERRAL, PointsEntry.Kind.ACTIVITY)


def append_points(
    member: Member,
    *,
    kind: str,
    points: int,
    actor: Staff | None,
    reference: str = "",
    bill: Bill | None = None,
    amount: Decimal = ZERO,
    gift: PointsGift | None = None,
    expires_on: date | None = None,
    note: str = "",
) -> PointsEntry:
    """Write one ledger row on a *locked* member and move the running balance with it."""
    balance = member.points_balance + points
    if balance < 0:
        raise Conflict(
            _("Card %(card)s has %(balance)d points; %(wanted)d are needed.")
            % {"card": member.card_number, "balance": member.points_balance, "wanted": -points},
            code=MembershipErrorCode.INSUFFICIENT_POINTS,
        )
    entry = PointsEntry.objects.create(
        organization_id=member.organization_id,
        member=member,
        kind=kind,
        points=points,
        balance_after=balance,
        expires_on=expires_on,
        reference=reference[:40],
        bill=bill,
        amount=amount,
        gift=gift,
        note=note[:200],
        created_by=actor,
        created_at=timezone.now(),
    )
    member.points_balance = balance
    member.save(update_fields=["points_balance"])
    return entry


def _own_member(bill: Bill) -> Member | None:
    found = Member.objects.filter(patient_id=bill.patient_id).first()
    if found is None:
        return None
    return lock_member(found)


def points_for(bill: Bill, paid: Decimal) -> int:
    """Points for `paid` yuan of `bill`: split over its lines by what is due on each, then
    each part times its category's rate; fractions of a point are dropped."""
    rules = list(PointsRule.objects.filter(is_active=True))
    if not rules or paid <= 0:
        return 0
    general = next((r.points_per_yuan for r in rules if not r.category), None)
    by_category = {r.category: r.points_per_yuan for r in rules if r.category}
    lines = [
        line
        for line in BillLine.objects.filter(bill=bill).order_by("id")
        if line.amount - line.discount > 0
    ]
    if not lines:
        return 0
    parts = Money(paid).allocate([line.amount - line.discount for line in lines])
    total = Decimal(0)
    for line, part in zip(lines, parts, strict=True):
        rate = by_category.get(line.category, general)
        if rate:
            total += part.amount * rate
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def points_earn_for_payments(bill: Bill, payments: Sequence[Payment]) -> PointsEntry | None:
    """Earn points on a bill payment (called by billing's listener, inside its transaction)
    and upgrade the member at once if the new total reaches a higher tier."""
    member = _own_member(bill)
    if member is None or member.status != Member.Status.ACTIVE:
        return None
    paid = sum(
        (p.amount for p in payments if p.method != PaymentMethod.INSURANCE and p.amount > 0),
        ZERO,
    )
    points = points_for(bill, paid)
    entry = None
    today = clinic_today(bill.clinic)
    actor = payments[0].received_by if payments else None
    if points > 0:
        entry = append_points(
            member,
            kind=PointsEntry.Kind.EARN,
            points=points,
            actor=actor,
            reference=f"payment:{payments[0].pk}",
            bill=bill,
            amount=paid,
            expires_on=add_months(today, POINTS_VALID_MONTHS),
        )
    member_tier_refresh(member=member, today=today, actor=actor)
    return entry


def points_clawback_for_refund(bill: Bill, refund: Refund) -> PointsEntry | None:
    """Take back the points a refunded payment earned, in proportion to the refund."""
    if refund.method == PaymentMethod.INSURANCE:
        return None
    member = _own_member(bill)
    if member is None:
        return None
    on_bill = PointsEntry.objects.filter(member=member, bill=bill)
    earned = on_bill.filter(kind=PointsEntry.Kind.EARN).aggregate(
        points=Sum("points"), amount=Sum("amount")
    )
    earned_points, earned_amount = earned["points"] or 0, earned["amount"] or ZERO
    if earned_points <= 0 or earned_amount <= 0:
        return None
    taken = -(on_bill.filter(kind=PointsEntry.Kind.CLAWBACK).aggregate(p=Sum("points"))["p"] or 0)
    due = int(
        (Decimal(earned_points) * refund.amount / earned_amount).to_integral_value(
            rounding=ROUND_HALF_UP
        )
    )
    due = min(due, earned_points - taken)
    take = min(due, member.points_balance)
    if take <= 0:
        return None
    note = ""
    if take < due:
        note = _("%(lost)d points were already spent and could not be taken back.") % {
            "lost": due - take
        }
    return append_points(
        member,
        kind=PointsEntry.Kind.CLAWBACK,
        points=-take,
        actor=refund.decided_by,
        reference=f"refund:{refund.pk}",
        bill=bill,
        amount=-refund.amount,
        note=note,
    )


@transaction.atomic
def points_redeem(
    *, actor: Staff, clinic: Clinic, member: Member, gift: PointsGift, quantity: int = 1
) -> PointsEntry:
    """Exchange points for `quantity` of a gift; refused when points or stock run short."""
    same_org(clinic, member, gift)
    if isinstance(quantity, bool) or not 1 <= quantity <= 99:
        raise ValidationFailed(_("Enter a quantity from 1 to 99."), field="quantity")
    member = lock_member(member)
    if member.status != Member.Status.ACTIVE:
        raise Conflict(
            _("Membership %(card)s is not active.") % {"card": member.card_number},
            code=MembershipErrorCode.MEMBER_NOT_ACTIVE,
        )
    gift = PointsGift.objects.select_for_update().get(pk=gift.pk)
    if not gift.is_active:
        raise Conflict(
            _("%(gift)s is no longer offered.") % {"gift": gift.name},
            code=MembershipErrorCode.GIFT_INACTIVE,
        )
    if gift.stock is not None:
        if gift.stock < quantity:
            raise Conflict(
                _("Only %(stock)d of %(gift)s left.") % {"stock": gift.stock, "gift": gift.name},
                code=MembershipErrorCode.OUT_OF_STOCK,
            )
        gift.stock -= quantity
        gift.save(update_fields=["stock"])
    entry = append_points(
        member,
        kind=PointsEntry.Kind.REDEEM,
        points=-gift.points_cost * quantity,
        actor=actor,
        reference=f"gift:{gift.pk}",
        gift=gift,
        note=f"{gift.name} x{quantity}",
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=entry,
        actor=actor,
        clinic=clinic,
        after=snapshot(entry),
        summary=_("%(points)d points of card %(card)s redeemed for %(gift)s x%(quantity)d")
        % {
            "points": -entry.points,
            "card": member.card_number,
            "gift": gift.name,
            "quantity": quantity,
        },
    )
    return entry


@transaction.atomic
def points_adjust(
    *,
    actor: Staff,
    clinic: Clinic,
    member: Member,
    points: int,
    reason: str,
    kind: str = PointsEntry.Kind.ADJUST,
) -> PointsEntry:
    """Add (or with a negative number take) points by hand, with a reason. `kind` is
    "adjust", "referral" (points for bringing a patient) or "activity" (points for taking
    part in an activity, only for an active card); referral and activity points are only
    added, and expire like earned ones."""
    same_org(clinic, member)
    if kind not in HAND_KINDS:
        raise ValidationFailed(_("Choose adjust, referral or activity."), field="kind")
    if isinstance(points, bool) or points == 0 or abs(points) > MAX_ADJUST:
        raise ValidationFailed(
            _("Enter a number of points other than zero, at most %(max)d either way.")
            % {"max": MAX_ADJUST},
            field="points",
        )
    if kind == PointsEntry.Kind.REFERRAL and points < 0:
        raise ValidationFailed(_("Referral points are added, not taken."), field="points")
    if kind == PointsEntry.Kind.ACTIVITY and points < 0:
        raise ValidationFailed(_("Activity points are added, not taken."), field="points")
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give a reason for the adjustment."), field="reason")
    member = lock_member(member)
    if kind == PointsEntry.Kind.ACTIVITY and member.status != Member.Status.ACTIVE:
        raise Conflict(
            _("Membership %(card)s is not active.") % {"card": member.card_number},
            code=MembershipErrorCode.MEMBER_NOT_ACTIVE,
        )
    expires_on = None
    if points > 0:
        expires_on = add_months(clinic_today(clinic), POINTS_VALID_MONTHS)
    entry = append_points(
        member,
        kind=kind,
        points=points,
        actor=actor,
        reference="manual",
        expires_on=expires_on,
        note=reason,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=entry,
        actor=actor,
        clinic=clinic,
        after=snapshot(entry),
        summary=_("%(points)+d points on card %(card)s: %(reason)s")
        % {"points": points, "card": member.card_number, "reason": reason},
    )
    return entry


def expiring_unspent(member: Member, today: date) -> int:
    """Points gained that expire on or before `today` and were not used: gains expiring
    first are used first, so this is what those gains hold beyond every debit so far."""
    entries = PointsEntry.objects.filter(member=member)
    gained = entries.filter(points__gt=0, expires_on__lte=today).aggregate(p=Sum("points"))["p"]
    debits = entries.filter(points__lt=0).aggregate(p=Sum("points"))["p"]
    return max(0, (gained or 0) + (debits or 0))


@dataclass
class ExpiryResult:
    members: int = 0
    points: int = 0


@transaction.atomic
def points_expire(*, organization: Organization, today: date) -> ExpiryResult:
    """Write off the unspent points whose year is up (run daily; idempotent). Run inside
    the organization's tenant scope."""
    result = ExpiryResult()
    candidates = (
        PointsEntry.objects.filter(organization=organization, points__gt=0, expires_on__lte=today)
        .values_list("member_id", flat=True)
        .distinct()
    )
    for member_id in sorted(set(candidates)):
        member = Member.objects.select_for_update().get(pk=member_id)
        unspent = min(expiring_unspent(member, today), member.points_balance)
        if unspent <= 0:
            continue
        append_points(
            member,
            kind=PointsEntry.Kind.EXPIRE,
            points=-unspent,
            actor=None,
            reference=f"expiry:{today.isoformat()}",
        )
        result.members += 1
        result.points += unspent
    return result


def ledger_sum(member: Member) -> int:
    """The sum of the member's ledger (equal to points_balance; tests check it)."""
    return int(PointsEntry.objects.filter(Q(member=member)).aggregate(p=Sum("points"))["p"] or 0)
