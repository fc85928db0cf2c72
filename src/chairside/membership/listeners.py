"""Membership's listener of billing events (named in CHAIRSIDE_BILLING_LISTENERS): points
on payments, claw-back on refunds, tier upgrades at once, and the referrer's points when a
referred patient has paid a first bill (which a refund does not take back: see
services.referrals)."""

from __future__ import annotations

from collections.abc import Sequence

from chairside.billing.models import Bill, Payment, Refund
from chairside.membership.services.points import (
    points_clawback_for_refund,
    points_earn_for_payments,
)
from chairside.membership.services.referrals import referral_reward_for_bill


class MembershipBillingListener:
    def bill_paid(self, bill: Bill, payments: Sequence[Payment]) -> None:
        points_earn_for_payments(bill, payments)
        referral_reward_for_bill(bill, actor=payments[0].received_by if payments else None)

    def bill_refunded(self, bill: Bill, refund: Refund) -> None:
        points_clawback_for_refund(bill, refund)
