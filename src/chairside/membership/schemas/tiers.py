"""API schemas of membership set-up: tiers with their category discounts, points rules,
gifts and the organization's settings. Rates are decimals: 0.90 is 九折 (10 % off)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import Field

from chairside.billing.models import Category
from chairside.billing.schemas.catalogue import MoneyOut
from chairside.core.schemas import ObjectId, Text
from chairside.membership.models import (
    FamilyTierMode,
    MembershipSettings,
    PointsGift,
    PointsRule,
    Qualification,
    Tier,
)

RateIn = Annotated[Decimal, Field(gt=0, le=1, max_digits=4, decimal_places=3)]
ThresholdIn = Annotated[
    Decimal, Field(ge=0, le=Decimal("9999999999.99"), max_digits=12, decimal_places=2)
]


class BenefitIn(Schema):
    category: Category
    rate: RateIn = Field(description="0.90 is 九折 (10 % off).")


class BenefitsIn(Schema):
    benefits: list[BenefitIn] = Field(max_length=20)


class BenefitOut(Schema):
    category: str
    category_label: str
    rate: str


class TierIn(Schema):
    code: Text = Field(max_length=30, pattern=r"^[-a-zA-Z0-9_]+$")
    name: Text = Field(max_length=50)
    rank: int = Field(ge=1, le=1000)
    qualification: Qualification = Qualification.SPEND
    threshold: ThresholdIn = Decimal(0)
    period_days: int = Field(365, ge=1, le=3650)
    requires_qualification: bool = False
    fee_item_id: ObjectId | None = None
    validity_months: int = Field(12, ge=1, le=120)
    member_day: int | None = Field(None, ge=1, le=31)
    member_day_rate: RateIn | None = None
    free_cleanings_per_year: int = Field(0, ge=0, le=100)
    free_cleaning_codes: list[Annotated[Text, Field(max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    priority_booking: bool = False
    expert_consultation: bool = False


class TierUpdateIn(Schema):
    """Only the fields sent are changed."""

    name: Text | None = Field(None, max_length=50)
    rank: int | None = Field(None, ge=1, le=1000)
    qualification: Qualification | None = None
    threshold: ThresholdIn | None = None
    period_days: int | None = Field(None, ge=1, le=3650)
    requires_qualification: bool | None = None
    fee_item_id: ObjectId | None = None
    validity_months: int | None = Field(None, ge=1, le=120)
    member_day: int | None = Field(None, ge=1, le=31)
    member_day_rate: RateIn | None = None
    free_cleanings_per_year: int | None = Field(None, ge=0, le=100)
    free_cleaning_codes: list[Annotated[Text, Field(max_length=40)]] | None = Field(
        None, max_length=20
    )
    priority_booking: bool | None = None
    expert_consultation: bool | None = None
    is_active: bool | None = None


class TierOut(Schema):
    id: int
    code: str
    name: str
    rank: int
    qualification: str
    threshold: MoneyOut
    period_days: int
    requires_qualification: bool
    fee_item_id: int | None
    fee_item_name: str
    validity_months: int
    member_day: int | None
    member_day_rate: str | None
    free_cleanings_per_year: int
    free_cleaning_codes: list[str]
    priority_booking: bool
    expert_consultation: bool
    is_active: bool
    benefits: list[BenefitOut]

    @staticmethod
    def of(tier: Tier) -> TierOut:
        return TierOut(
            id=tier.pk,
            code=tier.code,
            name=tier.name,
            rank=tier.rank,
            qualification=tier.qualification,
            threshold=tier.threshold,
            period_days=tier.period_days,
            requires_qualification=tier.requires_qualification,
            fee_item_id=tier.fee_item_id,
            fee_item_name=tier.fee_item.name if tier.fee_item else "",
            validity_months=tier.validity_months,
            member_day=tier.member_day,
            member_day_rate=None if tier.member_day_rate is None else f"{tier.member_day_rate:.3f}",
            free_cleanings_per_year=tier.free_cleanings_per_year,
            free_cleaning_codes=list(tier.free_cleaning_codes or []),
            priority_booking=tier.priority_booking,
            expert_consultation=tier.expert_consultation,
            is_active=tier.is_active,
            benefits=[
                BenefitOut(
                    category=b.category,
                    category_label=str(Category(b.category).label),
                    rate=f"{b.rate:.3f}",
                )
                for b in tier.benefits.all()
            ],
        )


class TierListOut(Schema):
    items: list[TierOut]


class PointsRuleIn(Schema):
    name: Text = Field(max_length=50)
    category: Category | None = Field(None, description="None: every category.")
    points_per_yuan: Decimal = Field(ge=0, le=1000, max_digits=7, decimal_places=4)


class PointsRuleOut(Schema):
    id: int
    name: str
    category: str
    points_per_yuan: str
    is_active: bool

    @staticmethod
    def of(rule: PointsRule) -> PointsRuleOut:
        return PointsRuleOut(
            id=rule.pk,
            name=rule.name,
            category=rule.category,
            points_per_yuan=f"{rule.points_per_yuan.normalize():f}",
            is_active=rule.is_active,
        )


class PointsRuleListOut(Schema):
    items: list[PointsRuleOut]


class GiftIn(Schema):
    name: Text = Field(max_length=50)
    points_cost: int = Field(ge=1, le=10_000_000)
    stock: int | None = Field(None, ge=0, le=10_000_000)


class GiftOut(Schema):
    id: int
    name: str
    points_cost: int
    stock: int | None
    is_active: bool

    @staticmethod
    def of(gift: PointsGift) -> GiftOut:
        return GiftOut(
            id=gift.pk,
            name=gift.name,
            points_cost=gift.points_cost,
            stock=gift.stock,
            is_active=gift.is_active,
        )


class GiftListOut(Schema):
    items: list[GiftOut]


class SettingsIn(Schema):
    family_tier_mode: FamilyTierMode


class SettingsOut(Schema):
    family_tier_mode: str

    @staticmethod
    def of(found: MembershipSettings) -> SettingsOut:
        return SettingsOut(family_tier_mode=found.family_tier_mode)
