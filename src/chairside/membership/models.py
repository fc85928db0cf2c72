"""Membership (M1-M5): tiers and their benefits, members and their cards, tier changes, the
points ledger with its rules and gifts, counted benefit uses, and booking windows held back
for members. (The spend that qualifies for a tier is read from billing's payment ledger.)

Ledgers (points, tier changes) are append-only. `Member.points_balance` is the
running total of the member's points ledger, kept on the row so that a redemption can lock
one row and check it; the database refuses a negative balance.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import Bill, BillLine, CatalogueItem, Category
from chairside.core.models import Clinic, Staff
from chairside.core.money import money_field
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient

ZERO = Decimal("0.00")


class FamilyTierMode(models.TextChoices):
    OWN = "own", _("Each member's own tier")
    FAMILY_BEST = "family_best", _("The family shares its best member's tier")


class MembershipSettings(TenantModel):
    """Per-organization membership rules."""

    family_tier_mode = models.CharField(
        _("family tier"),
        max_length=20,
        choices=FamilyTierMode.choices,
        default=FamilyTierMode.OWN,
    )
    # M4: what the referrer (an active member) earns once a patient they referred has paid
    # their first bill in full; 0 turns referral rewards off.
    referral_points = models.PositiveIntegerField(_("points per referral"), default=0)

    class Meta:
        verbose_name = _("membership settings")
        verbose_name_plural = _("membership settings")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="membership_settings_unique"),
        ]


class Qualification(models.TextChoices):
    POINTS = "points", _("Points earned")
    SPEND = "spend", _("Cumulative spend")


class Tier(TenantModel):
    """A member tier (银卡, 金卡, 钻石卡 ...) of an organization, ranked low to high.

    A member reaches the tier when the qualifying total (points earned, or yuan spent, over
    the last `period_days`) reaches `threshold`; upgrades happen at once, downgrades only at
    the review at the end of a member's period.
    """

    code = models.SlugField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    rank = models.PositiveSmallIntegerField(_("rank"))
    qualification = models.CharField(
        _("qualifies by"), max_length=10, choices=Qualification.choices, default=Qualification.SPEND
    )
    threshold = money_field(_("qualifying total"), default=ZERO)
    period_days = models.PositiveIntegerField(_("qualifying period (days)"), default=365)
    # M7: enrolment straight into this tier needs the qualifying total already.
    requires_qualification = models.BooleanField(
        _("enrolment needs the qualification"), default=False
    )
    fee_item = models.ForeignKey(
        CatalogueItem,
        verbose_name=_("membership fee item"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    validity_months = models.PositiveSmallIntegerField(_("valid for (months)"), default=12)
    member_day = models.PositiveSmallIntegerField(
        _("member day (day of month)"), null=True, blank=True
    )
    member_day_rate = models.DecimalField(
        _("extra member-day rate"), max_digits=4, decimal_places=3, null=True, blank=True
    )
    free_cleanings_per_year = models.PositiveSmallIntegerField(
        _("free cleanings a year"), default=0
    )
    # Catalogue codes (of basic treatment) a free cleaning may cover, e.g. ["scaling"].
    free_cleaning_codes = models.JSONField(_("cleaning item codes"), default=list, blank=True)
    priority_booking = models.BooleanField(_("priority booking"), default=False)
    expert_consultation = models.BooleanField(_("expert consultation"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("member tier")
        verbose_name_plural = _("member tiers")
        ordering: ClassVar[list[str]] = ["rank", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "code"], name="tier_code_unique"),
            models.UniqueConstraint(fields=["organization", "rank"], name="tier_rank_unique"),
            models.CheckConstraint(
                condition=Q(threshold__gte=0), name="tier_threshold_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(member_day__isnull=True) | Q(member_day__gte=1, member_day__lte=31),
                name="tier_member_day_in_month",
            ),
            models.CheckConstraint(
                condition=Q(member_day_rate__isnull=True)
                | Q(member_day_rate__gt=0, member_day_rate__lte=1),
                name="tier_member_day_rate_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class TierBenefit(TenantModel):
    """A tier's discount rate on one catalogue category: 0.90 is 九折 (10 % off)."""

    tier = models.ForeignKey(Tier, on_delete=models.CASCADE, related_name="benefits")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    rate = models.DecimalField(_("rate"), max_digits=4, decimal_places=3)

    class Meta:
        verbose_name = _("tier discount")
        verbose_name_plural = _("tier discounts")
        ordering: ClassVar[list[str]] = ["tier", "category"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "tier", "category"], name="tier_benefit_unique"
            ),
            models.CheckConstraint(condition=Q(rate__gt=0, rate__lte=1), name="tier_rate_in_range"),
        ]


class MemberNumberSequence(TenantModel):
    """The next member card number of an organization (row-locked when taken)."""

    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="member_sequence_unique"),
        ]


class Member(TenantModel):
    """A patient's membership card: one per patient in an organization."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    card_number = models.CharField(_("card number"), max_length=30)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="members")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now)
    enrolled_clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    expires_on = models.DateField(_("expires on"))
    # The end of the current qualifying period: the review may downgrade then.
    review_on = models.DateField(_("next review"))
    # The total by the current tier's qualification, as of the last payment or review.
    qualifying_total = money_field(_("qualifying total"), default=ZERO)
    points_balance = models.IntegerField(_("points"), default=0)
    # The expiry date a renewal reminder was sent for (M6).
    reminded_for = models.DateField(null=True, blank=True)
    fee_bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering: ClassVar[list[str]] = ["-enrolled_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "card_number"], name="member_card_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "patient"], name="member_one_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(points_balance__gte=0), name="member_points_not_negative"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "status", "expires_on"], name="member_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.card_number


class TierChange(TenantModel):
    """A member's tier history. Append-only."""

    class Reason(models.TextChoices):
        ENROL = "enrol", _("Enrolled")
        UPGRADE = "upgrade", _("Upgraded")
        DOWNGRADE = "downgrade", _("Downgraded at review")
        RENEW = "renew", _("Renewed")
        EXPIRE = "expire", _("Expired")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="tier_changes")
    from_tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=10, choices=Reason.choices)
    qualifying_total = money_field(default=ZERO)
    created_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]


class PointsRule(TenantModel):
    """Points earned per yuan actually paid: for one catalogue category, or for all (blank).

    A category's own rule wins over the rule for all categories.
    """

    name = models.CharField(_("name"), max_length=50)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, blank=True)
    points_per_yuan = models.DecimalField(_("points per yuan"), max_digits=7, decimal_places=4)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        ordering: ClassVar[list[str]] = ["category", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(points_per_yuan__gte=0), name="points_rule_not_negative"
            ),
        ]


class PointsGift(TenantModel):
    """A gift members may redeem points for; `stock` None means unlimited."""

    name = models.CharField(_("name"), max_length=50)
    points_cost = models.PositiveIntegerField(_("points"))
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("points gift")
        verbose_name_plural = _("points gifts")
        ordering: ClassVar[list[str]] = ["points_cost", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="gift_cost_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class PointsEntry(TenantModel):
    """One movement of a member's points, with the balance after it. Append-only.

    Points gained (earn, referral, activity, positive adjust) expire on `expires_on`; the expiry
    takes what is left of them first-in first-out (see services.points).
    """

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        CLAWBACK = "clawback", _("Clawed back on refund")
        ADJUST = "adjust", _("Adjusted")
        REFERRAL = "referral", _("Referral")
        ACTIVITY = "activity", _("Activity")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="points_entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.IntegerField(_("points"))
    balance_after = models.IntegerField(_("balance"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    # What caused it: "payment:12", "refund:3", "gift:5", ...
    reference = models.CharField(max_length=40, blank=True)
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The yuan the points came from (earn) or went back with (clawback).
    amount = money_field(default=ZERO)
    gift = models.ForeignKey(
        PointsGift, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="points_entry_not_negative"
            ),
            models.CheckConstraint(condition=~Q(points=0), name="points_entry_not_zero"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "member", "created_at"], name="points_member_idx"),
        ]


class ReferralReward(TenantModel):
    """The points a member earned because a patient they referred paid a first bill in full.

    At most one per referred patient, ever: the unique constraint holds it under concurrent
    payments too. Append-only, and kept when that bill is refunded later (see
    services.referrals for why).
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referral_rewards")
    referred = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("referred patient")
    )
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="+")
    entry = models.OneToOneField(PointsEntry, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("referral reward")
        verbose_name_plural = _("referral rewards")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "referred"], name="referral_reward_once_per_patient"
            ),
        ]


class BenefitUse(TenantModel):
    """A counted benefit used on a bill (a free cleaning); released when the bill is voided
    or refunded in full, so the allowance comes back."""

    class Kind(models.TextChoices):
        FREE_CLEANING = "free_cleaning", _("Free cleaning")

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="benefit_uses")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    year = models.PositiveSmallIntegerField()
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="+")
    line = models.ForeignKey(BillLine, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("benefit used")
        verbose_name_plural = _("benefits used")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "line"],
                condition=Q(released_at__isnull=True),
                name="benefit_use_once_per_line",
            ),
        ]


class MemberWindow(TenantModel):
    """Booking time a clinic holds back for members of a tier rank or higher (weekly)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # 0 = Monday
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    min_rank = models.PositiveSmallIntegerField(_("lowest tier rank"))

    class Meta:
        verbose_name = _("member booking window")
        verbose_name_plural = _("member booking windows")
        ordering: ClassVar[list[str]] = ["clinic", "weekday", "start"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="member_window_order"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="member_window_weekday"),
        ]
