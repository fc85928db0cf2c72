"""The member tier step of the bill's discount pipeline (M3), registered in
CHAIRSIDE_DISCOUNT_SOURCES.

For the tier the patient's bill gets (their own card, or the family's best: see
services.members.benefit_member), in this order:

1. free cleanings: one cleaning line (by the catalogue codes on the tier) free per
   allowance left this year; counted (a BenefitUse) when the bill is confirmed, given back
   when it is voided or refunded in full;
2. the tier's rate per catalogue category, on lines that allow member discounts;
3. on the member day (会员日), an extra rate on what is left of those lines.

Each discount's label says which benefit gave it, e.g. "金卡 基础治疗 九折".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from chairside.billing.discounts import DiscountContext, DiscountOffer, ProposedDiscount
from chairside.billing.models import Bill, BillDiscount, BillLine, Category, DiscountStep
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict
from chairside.core.models import Staff
from chairside.core.money import Money
from chairside.membership.errors import MembershipErrorCode
from chairside.membership.models import BenefitUse, Member, Tier, TierBenefit
from chairside.membership.services.members import benefit_member

ONE = Decimal(1)
FREE_CLEANING = "free_cleaning"
_DIGITS = "零一二三四五六七八九"


def rate_label(rate: Decimal) -> str:
    """0.90 -> "九折" in Chinese, "10% off" otherwise; 0.95 -> "九五折" / "5% off"."""
    if (get_language() or "").startswith("zh"):
        tenths = (rate * 100).quantize(ONE)
        whole, rest = divmod(int(tenths), 10)
        return _DIGITS[whole] + (_DIGITS[rest] if rest else "") + "折"
    off = ((ONE - rate) * 100).normalize()
    return f"{off:f}% off"


def used_this_year(member: Member, year: int) -> int:
    return BenefitUse.objects.filter(
        member=member, kind=BenefitUse.Kind.FREE_CLEANING, year=year, released_at__isnull=True
    ).count()


class TierDiscountSource:
    step = DiscountStep.TIER

    def offers(self, bill: Bill) -> list[DiscountOffer]:
        return []

    def propose(self, context: DiscountContext) -> list[ProposedDiscount]:
        today = clinic_today(context.clinic)
        member = benefit_member(patient=context.patient, today=today)
        if member is None:
            return []
        tier = member.tier
        left = {line.line_id: line.amount for line in context.lines}
        proposed = self._free_cleanings(context, member, tier, today.year, left)
        allowed = [line for line in context.lines if line.member_discount_allowed]
        rates = {b.category: b.rate for b in TierBenefit.objects.filter(tier=tier)}
        for category in sorted({line.category for line in allowed}):
            rate = rates.get(category)
            if rate is None or rate >= ONE:
                continue
            shares = {
                line.line_id: Money(left[line.line_id] * (ONE - rate)).amount
                for line in allowed
                if line.category == category and left[line.line_id] > 0
            }
            shares = {k: v for k, v in shares.items() if v > 0}
            if not shares:
                continue
            for line_id, share in shares.items():
                left[line_id] -= share
            proposed.append(
                ProposedDiscount(
                    label=_("%(tier)s %(category)s %(rate)s")
                    % {
                        "tier": tier.name,
                        "category": Category(category).label,
                        "rate": rate_label(rate),
                    },
                    reference=f"tier:{tier.code}:{category}"[:60],
                    shares=shares,
                )
            )
        extra = tier.member_day_rate
        if tier.member_day == today.day and extra is not None and extra < ONE:
            shares = {
                line.line_id: Money(left[line.line_id] * (ONE - extra)).amount
                for line in allowed
                if left[line.line_id] > 0
            }
            shares = {k: v for k, v in shares.items() if v > 0}
            if shares:
                proposed.append(
                    ProposedDiscount(
                        label=_("Member day: extra %(rate)s") % {"rate": rate_label(extra)},
                        reference=f"member_day:{tier.code}"[:60],
                        shares=shares,
                    )
                )
        return proposed

    def _free_cleanings(
        self,
        context: DiscountContext,
        member: Member,
        tier: Tier,
        year: int,
        left: dict[int, Decimal],
    ) -> list[ProposedDiscount]:
        codes = set(tier.free_cleaning_codes or [])
        if not tier.free_cleanings_per_year or not codes:
            return []
        remaining = tier.free_cleanings_per_year - used_this_year(member, year)
        if remaining <= 0:
            return []
        candidates = (
            BillLine.objects.filter(pk__in=list(left), item__code__in=codes)
            .order_by("id")
            .values_list("pk", "unit_price")
        )
        proposed = []
        for line_id, unit_price in candidates:
            if remaining <= 0:
                break
            share = min(unit_price, left[line_id])
            if share <= 0:
                continue
            remaining -= 1
            left[line_id] -= share
            proposed.append(
                ProposedDiscount(
                    label=_("%(tier)s free cleaning (%(left)d left this year)")
                    % {"tier": tier.name, "left": remaining},
                    reference=f"{FREE_CLEANING}:{member.pk}:{line_id}",
                    shares={line_id: share},
                )
            )
        return proposed

    def confirmed(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        """Count each free cleaning; refuse when the allowance ran out meanwhile."""
        uses = [d for d in discounts if d.reference.startswith(FREE_CLEANING + ":")]
        if not uses:
            return
        year = clinic_today(bill.clinic).year
        per_member: dict[int, list[int]] = {}
        for discount in uses:
            _kind, member_ref, line_ref = discount.reference.split(":")
            per_member.setdefault(int(member_ref), []).append(int(line_ref))
        for member_id, line_ids in sorted(per_member.items()):
            # Locked, so two bills confirmed at once cannot both take the last cleaning.
            member = Member.objects.select_for_update().select_related("tier").get(pk=member_id)
            allowance = member.tier.free_cleanings_per_year
            if used_this_year(member, year) + len(line_ids) > allowance:
                raise Conflict(
                    _(
                        "The free cleanings of card %(card)s for this year are used up; "
                        "apply the discounts again."
                    )
                    % {"card": member.card_number},
                    code=MembershipErrorCode.ALLOWANCE_USED,
                )
            BenefitUse.objects.bulk_create(
                BenefitUse(
                    organization_id=bill.organization_id,
                    member=member,
                    kind=BenefitUse.Kind.FREE_CLEANING,
                    year=year,
                    bill=bill,
                    line_id=line_id,
                    created_at=timezone.now(),
                )
                for line_id in line_ids
            )

    def released(self, bill: Bill, discounts: Sequence[BillDiscount], actor: Staff) -> None:
        BenefitUse.objects.filter(bill=bill, released_at__isnull=True).update(
            released_at=timezone.now()
        )


def benefit_uses_by_year(member: Member) -> dict[int, int]:
    rows = (
        BenefitUse.objects.filter(member=member, released_at__isnull=True)
        .values("year")
        .annotate(n=Count("id"))
    )
    return {row["year"]: row["n"] for row in rows}
