"""API schemas of membership set-up: tiers with their category discounts, points rules,
gifts, the organization's settings and the booking windows held back for members. Rates
are decimals: 0.90 is 九折 (10 % off)."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, Field

from chairside.billing.models import Category
from chairside.billing.schemas.catalogue import MoneyOut
from chairside.core.schemas import ObjectId, Text
from chairside.membership.models import (
    FamilyTierMode,
    MembershipSettings,
    MemberWindow,
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


PointsPerYuan = Annotated[Decimal, Field(ge=0, le=1000, max_digits=7, decimal_places=4)]


class PointsRuleIn(Schema):
    name: Text = Field(max_length=50)
    category: Category | None = Field(None, description="None: every category.")
    points_per_yuan: PointsPerYuan


class PointsRuleUpdateIn(Schema):
    """Only the fields sent are changed; `is_active: false` deactivates the rule."""

    name: Text | None = Field(None, max_length=50)
    category: Category | None = Field(
        None, description="Sent as null: every category (a category's own rule wins)."
    )
    points_per_yuan: PointsPerYuan | None = None
    is_active: bool | None = None


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


class GiftUpdateIn(Schema):
    """Only the fields sent are changed; `stock: null` is unlimited; `is_active: false`
    deactivates the gift (members can no longer redeem it)."""

    name: Text | None = Field(None, max_length=50)
    points_cost: int | None = Field(None, ge=1, le=10_000_000)
    stock: int | None = Field(None, ge=0, le=10_000_000)
    is_active: bool | None = None


class GiftOut(Schema):
    id: int
    name: str
    points_cost: int
    stock: int | None
    is_active: bool
    redeemed: bool = Field(description="Redeemed at least once: it can be deactivated only.")

    @staticmethod
    def of(gift: PointsGift) -> GiftOut:
        return GiftOut(
            id=gift.pk,
            name=gift.name,
            points_cost=gift.points_cost,
            stock=gift.stock,
            is_active=gift.is_active,
            redeemed=bool(getattr(gift, "redeemed", False)),
        )


class GiftListOut(Schema):
    items: list[GiftOut]


class SettingsIn(Schema):
    """A rule left out (or null) stays as it is."""

    family_tier_mode: FamilyTierMode | None = None
    referral_points: int | None = Field(
        None,
        ge=0,
        le=100_000,
        description="Points a member earns when a patient they referred has paid a first "
        "bill in full; 0 gives none.",
    )


class SettingsOut(Schema):
    family_tier_mode: str
    referral_points: int

    @staticmethod
    def of(found: MembershipSettings) -> SettingsOut:
        return SettingsOut(
            family_tier_mode=found.family_tier_mode, referral_points=found.referral_points
        )


def _clinic_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("Give the clinic's local time without a time zone, e.g. 09:00.")
    return value


# A time of day at the clinic (its own time zone): 09:00, never 09:00+08:00.
ClinicTime = Annotated[time, AfterValidator(_clinic_time)]
Weekday = Annotated[int, Field(ge=0, le=6, description="0 is Monday.")]
MinRank = Annotated[
    int, Field(ge=1, le=1000, description="Tiers of this rank or higher with priority booking.")
]


class WindowIn(Schema):
    clinic_id: ObjectId | None = Field(None, description="Default: the clinic acted in.")
    weekday: Weekday
    start: ClinicTime
    end: ClinicTime
    min_rank: MinRank


class WindowUpdateIn(Schema):
    """Only the fields sent are changed."""

    clinic_id: ObjectId | None = None
    weekday: Weekday | None = None
    start: ClinicTime | None = None
    end: ClinicTime | None = None
    min_rank: MinRank | None = None


class WindowOut(Schema):
    id: int
    clinic_id: int
    clinic_name: str
    weekday: int
    start: time
    end: time
    min_rank: int
    tier_name: str = Field(description="The tier of that rank, if there is one.")

    @staticmethod
    def of(window: MemberWindow, tier_names: dict[int, str]) -> WindowOut:
        return WindowOut(
            id=window.pk,
            clinic_id=window.clinic_id,
            clinic_name=window.clinic.name,
            weekday=window.weekday,
            start=window.start,
            end=window.end,
            min_rank=window.min_rank,
            tier_name=tier_names.get(window.min_rank, ""),
        )


class WindowListOut(Schema):
    items: list[WindowOut]


class WindowQuery(Schema):
    clinic_id: ObjectId | None = None
