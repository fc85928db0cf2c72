"""API schemas of members, their points ledger and the renewal report."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from chairside.billing.schemas.catalogue import MoneyOut
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.membership.models import BenefitUse, Member, PointsEntry, TierChange


class MemberQuery(PageQuery):
    q: Text = Field(
        "", max_length=50, description="Card number, or the patient's name, pinyin, phone."
    )
    tier_id: ObjectId | None = None
    status: Literal["active", "expired", "cancelled"] | None = None
    expiring_before: date | None = Field(None, description="Expiring before this day.")


class EnrolIn(Schema):
    patient_id: ObjectId
    tier_id: ObjectId


class RenewIn(Schema):
    tier_id: ObjectId | None = Field(None, description="Renew into another tier; default its own.")


class MemberOut(Schema):
    id: int
    card_number: str
    patient_id: int
    patient_name: str
    tier_id: int
    tier_name: str
    tier_rank: int
    status: str
    enrolled_at: datetime
    expires_on: date
    review_on: date
    qualifying_total: MoneyOut
    points_balance: int
    fee_bill_id: int | None

    @staticmethod
    def of(member: Member) -> MemberOut:
        return MemberOut(
            id=member.pk,
            card_number=member.card_number,
            patient_id=member.patient_id,
            patient_name=member.patient.name,
            tier_id=member.tier_id,
            tier_name=member.tier.name,
            tier_rank=member.tier.rank,
            status=member.status,
            enrolled_at=member.enrolled_at,
            expires_on=member.expires_on,
            review_on=member.review_on,
            qualifying_total=member.qualifying_total,
            points_balance=member.points_balance,
            fee_bill_id=member.fee_bill_id,
        )


class MemberPage(PageOut):
    items: list[MemberOut]


class TierChangeOut(Schema):
    from_tier: str
    to_tier: str
    reason: str
    created_at: datetime

    @staticmethod
    def of(change: TierChange) -> TierChangeOut:
        return TierChangeOut(
            from_tier=change.from_tier.name if change.from_tier else "",
            to_tier=change.to_tier.name,
            reason=change.reason,
            created_at=change.created_at,
        )


class BenefitUseOut(Schema):
    kind: str
    year: int
    bill_id: int
    bill_number: str
    created_at: datetime
    released: bool

    @staticmethod
    def of(use: BenefitUse) -> BenefitUseOut:
        return BenefitUseOut(
            kind=use.kind,
            year=use.year,
            bill_id=use.bill_id,
            bill_number=use.bill.number,
            created_at=use.created_at,
            released=use.released_at is not None,
        )


class MemberDetailOut(MemberOut):
    free_cleanings_left: int
    tier_changes: list[TierChangeOut]
    benefits_used: list[BenefitUseOut]


class PointsQuery(PageQuery):
    kind: (
        Literal["earn", "redeem", "expire", "clawback", "adjust", "referral", "activity"] | None
    ) = None


class PointsEntryOut(Schema):
    id: int
    kind: str
    points: int
    balance_after: int
    expires_on: date | None
    reference: str
    bill_id: int | None
    amount: MoneyOut
    gift_id: int | None
    note: str
    created_at: datetime

    @staticmethod
    def of(entry: PointsEntry) -> PointsEntryOut:
        return PointsEntryOut(
            id=entry.pk,
            kind=entry.kind,
            points=entry.points,
            balance_after=entry.balance_after,
            expires_on=entry.expires_on,
            reference=entry.reference,
            bill_id=entry.bill_id,
            amount=entry.amount,
            gift_id=entry.gift_id,
            note=entry.note,
            created_at=entry.created_at,
        )


class PointsPage(PageOut):
    items: list[PointsEntryOut]


class AdjustIn(Schema):
    points: int = Field(ge=-1_000_000, le=1_000_000, description="Positive adds, negative takes.")
    reason: Text = Field(max_length=200)
    kind: Literal["adjust", "referral"] = "adjust"


class ActivityIn(Schema):
    points: int = Field(ge=1, le=1_000_000)
    reason: Text = Field(min_length=1, max_length=200, description="The activity, e.g. 打卡.")


class RedeemIn(Schema):
    gift_id: ObjectId
    quantity: int = Field(1, ge=1, le=99)


class RenewalReportOut(Schema):
    today: date
    window_days: int
    due: list[MemberOut]
    reminded: list[MemberOut]
    renewed: list[MemberOut]
    lapsed: list[MemberOut]
