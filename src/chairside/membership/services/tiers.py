"""Setting up membership (M1, M3, M4): tiers and their category discounts, points rules,
gifts, the organization's family-tier rule, and booking windows held back for members."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from chairside.billing.models import Category
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, FieldErrors, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.membership.models import (
    FamilyTierMode,
    MembershipSettings,
    MemberWindow,
    PointsGift,
    PointsRule,
    Qualification,
    Tier,
    TierBenefit,
)
from chairside.membership.services.common import membership_settings, same_org

TIER_FIELDS = (
    "code",
    "name",
    "rank",
    "qualification",
    "threshold",
    "period_days",
    "requires_qualification",
    "fee_item",
    "validity_months",
    "member_day",
    "member_day_rate",
    "free_cleanings_per_year",
    "free_cleaning_codes",
    "priority_booking",
    "expert_consultation",
    "is_active",
)


def _check_tier(tier: Tier) -> None:
    errors = FieldErrors()
    tier.code = (tier.code or "").strip()
    tier.name = (tier.name or "").strip()
    if not tier.code:
        errors.add("code", _("Enter a code."))
    if not tier.name:
        errors.add("name", _("Enter a name."))
    if tier.qualification not in Qualification.values:
        errors.add("qualification", _("Choose how the tier is reached."))
    if tier.threshold is None or Decimal(tier.threshold) < 0:
        errors.add("threshold", _("Enter a qualifying total of zero or more."))
    if not tier.period_days or tier.period_days < 1:
        errors.add("period_days", _("Enter a period of at least one day."))
    if not tier.validity_months or tier.validity_months < 1:
        errors.add("validity_months", _("Enter a validity of at least one month."))
    if tier.member_day is not None and not 1 <= tier.member_day <= 31:
        errors.add("member_day", _("Enter a day of the month from 1 to 31."))
    rate = tier.member_day_rate
    if rate is not None and not Decimal(0) < Decimal(rate) <= 1:
        errors.add("member_day_rate", _("Enter a rate above 0 and at most 1 (0.95 is 九五折)."))
    codes = tier.free_cleaning_codes
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        errors.add("free_cleaning_codes", _("List the catalogue codes of the cleanings."))
    elif tier.free_cleanings_per_year and not codes:
        errors.add("free_cleaning_codes", _("Name the catalogue items a free cleaning covers."))
    errors.raise_if_any()


def _save_tier(tier: Tier) -> None:
    try:
        with transaction.atomic():
            tier.save()
    except IntegrityError:
        raise Conflict(_("Another tier already has this code or rank."), field="code") from None


@transaction.atomic
def tier_create(*, actor: Staff, clinic: Clinic, **fields: Any) -> Tier:
    unknown = set(fields) - set(TIER_FIELDS)
    if unknown:
        raise TypeError(f"unknown tier fields: {sorted(unknown)}")
    same_org(clinic, fields.get("fee_item"))
    tier = Tier(organization_id=clinic.organization_id, **fields)
    _check_tier(tier)
    _save_tier(tier)
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=tier,
        actor=actor,
        clinic=clinic,
        after=snapshot(tier),
        summary=_("Member tier %(name)s added") % {"name": tier.name},
    )
    return tier


@transaction.atomic
def tier_update(*, actor: Staff, clinic: Clinic, tier: Tier, **changes: Any) -> Tier:
    unknown = set(changes) - set(TIER_FIELDS)
    if unknown:
        raise TypeError(f"unknown tier fields: {sorted(unknown)}")
    same_org(clinic, tier, changes.get("fee_item"))
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    before = snapshot(tier)
    for name, value in changes.items():
        setattr(tier, name, value)
    _check_tier(tier)
    _save_tier(tier)
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=tier,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(tier),
        summary=_("Member tier %(name)s changed") % {"name": tier.name},
    )
    return tier


@transaction.atomic
def tier_benefits_set(
    *, actor: Staff, clinic: Clinic, tier: Tier, rates: Mapping[str, Decimal]
) -> list[TierBenefit]:
    """Replace the tier's category discounts with `rates` ({"basic": 0.90, ...})."""
    same_org(clinic, tier)
    errors = FieldErrors()
    for category, rate in rates.items():
        if category not in Category.values:
            errors.add("category", _("Choose a catalogue category."))
        elif not Decimal(0) < Decimal(rate) <= 1:
            errors.add("rate", _("Enter a rate above 0 and at most 1 (0.90 is 九折)."))
    errors.raise_if_any()
    tier = Tier.objects.select_for_update().get(pk=tier.pk)
    before = {b.category: str(b.rate) for b in TierBenefit.objects.filter(tier=tier)}
    TierBenefit.objects.filter(tier=tier).delete()
    benefits = TierBenefit.objects.bulk_create(
        TierBenefit(
            organization_id=tier.organization_id,
            tier=tier,
            category=category,
            rate=Decimal(rate).quantize(Decimal("0.001")),
        )
        for category, rate in sorted(rates.items())
    )
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=tier,
        actor=actor,
        clinic=clinic,
        before={"benefits": before},
        after={"benefits": {b.category: str(b.rate) for b in benefits}},
        summary=_("Discounts of member tier %(name)s set") % {"name": tier.name},
    )
    return benefits


@transaction.atomic
def membership_settings_update(
    *, actor: Staff, clinic: Clinic, family_tier_mode: str
) -> MembershipSettings:
    if family_tier_mode not in FamilyTierMode.values:
        raise ValidationFailed(_("Choose how families share tiers."), field="family_tier_mode")
    found = membership_settings(clinic.organization_id)
    found = MembershipSettings.objects.select_for_update().get(pk=found.pk)
    before = snapshot(found)
    found.family_tier_mode = family_tier_mode
    found.save(update_fields=["family_tier_mode"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=found,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(found),
        summary=_("Membership settings changed"),
    )
    return found


@transaction.atomic
def points_rule_create(
    *, actor: Staff, clinic: Clinic, name: str, points_per_yuan: Decimal, category: str = ""
) -> PointsRule:
    if category and category not in Category.values:
        raise ValidationFailed(_("Choose a catalogue category."), field="category")
    if Decimal(points_per_yuan) < 0:
        raise ValidationFailed(_("Enter zero or more points per yuan."), field="points_per_yuan")
    if not name.strip():
        raise ValidationFailed(_("Enter a name."), field="name")
    rule = PointsRule.objects.create(
        organization_id=clinic.organization_id,
        name=name.strip()[:50],
        category=category,
        points_per_yuan=points_per_yuan,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=rule,
        actor=actor,
        clinic=clinic,
        after=snapshot(rule),
        summary=_("Points rule %(name)s added") % {"name": rule.name},
    )
    return rule


@transaction.atomic
def gift_create(
    *, actor: Staff, clinic: Clinic, name: str, points_cost: int, stock: int | None = None
) -> PointsGift:
    errors = FieldErrors()
    if not name.strip():
        errors.add("name", _("Enter a name."))
    if points_cost < 1:
        errors.add("points_cost", _("Enter at least one point."))
    if stock is not None and stock < 0:
        errors.add("stock", _("Enter a stock of zero or more."))
    errors.raise_if_any()
    gift = PointsGift.objects.create(
        organization_id=clinic.organization_id,
        name=name.strip()[:50],
        points_cost=points_cost,
        stock=stock,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=gift,
        actor=actor,
        clinic=clinic,
        after=snapshot(gift),
        summary=_("Points gift %(name)s added") % {"name": gift.name},
    )
    return gift


@transaction.atomic
def member_window_create(
    *,
    actor: Staff,
    clinic: Clinic,
    window_clinic: Clinic,
    weekday: int,
    start: time,
    end: time,
    min_rank: int,
) -> MemberWindow:
    """Hold back `start`-`end` every `weekday` (0 = Monday) at `window_clinic` for members
    of tiers with priority booking ranked `min_rank` or higher."""
    same_org(clinic, window_clinic)
    errors = FieldErrors()
    if not 0 <= weekday <= 6:
        errors.add("weekday", _("Choose a weekday."))
    if start >= end:
        errors.add("end", _("The end must be after the start."))
    if min_rank < 1:
        errors.add("min_rank", _("Enter a tier rank of at least 1."))
    errors.raise_if_any()
    window = MemberWindow.objects.create(
        organization_id=clinic.organization_id,
        clinic=window_clinic,
        weekday=weekday,
        start=start,
        end=end,
        min_rank=min_rank,
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=window,
        actor=actor,
        clinic=clinic,
        after=snapshot(window),
        summary=_("Booking window for members held back at %(clinic)s")
        % {"clinic": window_clinic.name},
    )
    return window
