"""Membership's listener of billing events (named in CHAIRSIDE_BILLING_LISTENERS): points
on payments, claw-back on refunds, tier upgrades at once."""

from __future__ import annotations

from collections.abc import Sequence

from chairside.billing.models import Bill, Payment, Refund
from chairside.membership.services.points import (
    points_clawback_for_refund,
    points_earn_for_payments,
)


class MembershipBillingListener:
    def bill_paid(self, bill: Bill, payments: Sequence[Payment]) -> None:
        points_earn_for_payments(bill, payments)

    def bill_refunded(self, bill: Bill, refund: Refund) -> None:
        points_clawback_for_refund(bill, refund)
