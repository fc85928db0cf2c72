"""Setting up membership (M1, M3, M4): tiers and their category discounts, points rules,
gifts, the organization's rules (family tiers, referral points), and booking windows held
back for members. Rules, gifts and windows are edited and deactivated; one is removed only
when nothing refers to it (a redeemed gift never is)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from chairside.billing.models import Category
from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import Conflict, FieldErrors
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.membership.errors import MembershipErrorCode
from chairside.membership.models import (
    FamilyTierMode,
    MembershipSettings,
    MemberWindow,
    PointsEntry,
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


MAX_REFERRAL_POINTS = 100_000
RULE_FIELDS = ("name", "category", "points_per_yuan", "is_active")
GIFT_FIELDS = ("name", "points_cost", "stock", "is_active")
WINDOW_FIELDS = ("window_clinic", "weekday", "start", "end", "min_rank")


def _lock_settings(organization_id: int) -> MembershipSettings:
    """The organization's settings row, locked: writes of points rules queue behind it."""
    found = membership_settings(organization_id)
    return MembershipSettings.objects.select_for_update().get(pk=found.pk)


@transaction.atomic
def membership_settings_update(
    *,
    actor: Staff,
    clinic: Clinic,
    family_tier_mode: str | None = None,
    referral_points: int | None = None,
) -> MembershipSettings:
    """Change the organization's membership rules; None leaves a rule as it is."""
    errors = FieldErrors()
    if family_tier_mode is not None and family_tier_mode not in FamilyTierMode.values:
        errors.add("family_tier_mode", _("Choose how families share tiers."))
    if referral_points is not None and (
        isinstance(referral_points, bool) or not 0 <= referral_points <= MAX_REFERRAL_POINTS
    ):
        errors.add(
            "referral_points",
            _("Enter from 0 (no referral points) to %(max)d points.")
            % {"max": MAX_REFERRAL_POINTS},
        )
    errors.raise_if_any()
    found = _lock_settings(clinic.organization_id)
    before = snapshot(found)
    if family_tier_mode is not None:
        found.family_tier_mode = family_tier_mode
    if referral_points is not None:
        found.referral_points = referral_points
    found.save(update_fields=["family_tier_mode", "referral_points"])
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


# --- points rules -----------------------------------------------------------------------


def _check_rule(rule: PointsRule) -> None:
    errors = FieldErrors()
    rule.name = (rule.name or "").strip()[:50]
    if not rule.name:
        errors.add("name", _("Enter a name."))
    if rule.category and rule.category not in Category.values:
        errors.add("category", _("Choose a catalogue category."))
    if rule.points_per_yuan is None or Decimal(rule.points_per_yuan) < 0:
        errors.add("points_per_yuan", _("Enter zero or more points per yuan."))
    errors.raise_if_any()
    if not rule.is_active:
        return
    # Earning picks one rate per category: two active rules for it would leave it to chance.
    overlap = PointsRule.objects.filter(is_active=True, category=rule.category)
    if rule.pk is not None:
        overlap = overlap.exclude(pk=rule.pk)
    other = overlap.first()
    if other is not None:
        raise Conflict(
            _("The active rule %(name)s already covers this category; change or deactivate it.")
            % {"name": other.name},
            code=MembershipErrorCode.RULE_OVERLAP,
            field="category",
        )


@transaction.atomic
def points_rule_create(
    *,
    actor: Staff,
    clinic: Clinic,
    name: str,
    points_per_yuan: Decimal,
    category: str = "",
    is_active: bool = True,
) -> PointsRule:
    """Add a rate of points per yuan paid, for one category or (blank) for every other."""
    _lock_settings(clinic.organization_id)
    rule = PointsRule(
        organization_id=clinic.organization_id,
        name=name,
        category=category or "",
        points_per_yuan=points_per_yuan,
        is_active=is_active,
    )
    _check_rule(rule)
    rule.save()
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
def points_rule_update(
    *, actor: Staff, clinic: Clinic, rule: PointsRule, **changes: Any
) -> PointsRule:
    """Change a rule (name, category, rate) or deactivate it (is_active=False). Points
    already earned stay as they are; the new rate applies to later payments."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise TypeError(f"unknown points rule fields: {sorted(unknown)}")
    same_org(clinic, rule)
    _lock_settings(clinic.organization_id)
    rule = PointsRule.objects.select_for_update().get(pk=rule.pk)
    before = snapshot(rule)
    for name, value in changes.items():
        setattr(rule, name, "" if name == "category" and value is None else value)
    _check_rule(rule)
    rule.save()
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=rule,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(rule),
        summary=_("Points rule %(name)s changed") % {"name": rule.name},
    )
    return rule


@transaction.atomic
def points_rule_delete(*, actor: Staff, clinic: Clinic, rule: PointsRule) -> None:
    """Remove a rule. No ledger row points at a rule (an entry keeps the points and the
    amount it came from), so removing one rewrites no history; the audit log keeps it."""
    same_org(clinic, rule)
    rule = PointsRule.objects.select_for_update().get(pk=rule.pk)
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=rule,
        actor=actor,
        clinic=clinic,
        before=snapshot(rule),
        summary=_("Points rule %(name)s deleted") % {"name": rule.name},
    )
    rule.delete()


# --- gifts --------------------------------------------------------------------------------


def _check_gift(gift: PointsGift) -> None:
    errors = FieldErrors()
    gift.name = (gift.name or "").strip()[:50]
    if not gift.name:
        errors.add("name", _("Enter a name."))
    if isinstance(gift.points_cost, bool) or not gift.points_cost or gift.points_cost < 1:
        errors.add("points_cost", _("Enter at least one point."))
    if gift.stock is not None and gift.stock < 0:
        errors.add("stock", _("Enter a stock of zero or more."))
    errors.raise_if_any()


@transaction.atomic
def gift_create(
    *,
    actor: Staff,
    clinic: Clinic,
    name: str,
    points_cost: int,
    stock: int | None = None,
    is_active: bool = True,
) -> PointsGift:
    gift = PointsGift(
        organization_id=clinic.organization_id,
        name=name,
        points_cost=points_cost,
        stock=stock,
        is_active=is_active,
    )
    _check_gift(gift)
    gift.save()
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
def gift_update(*, actor: Staff, clinic: Clinic, gift: PointsGift, **changes: Any) -> PointsGift:
    """Change a gift (name, cost, stock: None is unlimited) or deactivate it. Redemptions
    already made keep the points they cost."""
    unknown = set(changes) - set(GIFT_FIELDS)
    if unknown:
        raise TypeError(f"unknown gift fields: {sorted(unknown)}")
    same_org(clinic, gift)
    gift = PointsGift.objects.select_for_update().get(pk=gift.pk)
    before = snapshot(gift)
    for name, value in changes.items():
        setattr(gift, name, value)
    _check_gift(gift)
    gift.save()
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=gift,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(gift),
        summary=_("Points gift %(name)s changed") % {"name": gift.name},
    )
    return gift


@transaction.atomic
def gift_delete(*, actor: Staff, clinic: Clinic, gift: PointsGift) -> None:
    """Remove a gift nobody redeemed; one in the points ledger can only be deactivated."""
    same_org(clinic, gift)
    gift = PointsGift.objects.select_for_update().get(pk=gift.pk)
    if PointsEntry.objects.filter(gift=gift).exists():
        raise Conflict(
            _("%(gift)s was redeemed already; deactivate it instead.") % {"gift": gift.name},
            code=MembershipErrorCode.IN_USE,
        )
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=gift,
        actor=actor,
        clinic=clinic,
        before=snapshot(gift),
        summary=_("Points gift %(name)s deleted") % {"name": gift.name},
    )
    gift.delete()


# --- booking windows held back for members --------------------------------------------------


def _check_window(window: MemberWindow) -> None:
    errors = FieldErrors()
    if window.clinic.kind != Clinic.Kind.CLINIC:
        errors.add("clinic", _("Choose a clinic that sees patients."))
    if window.weekday is None or not 0 <= window.weekday <= 6:
        errors.add("weekday", _("Choose a weekday."))
    times = (window.start, window.end)
    if any(t is None or t.tzinfo is not None for t in times):
        errors.add("start", _("Enter the clinic's local times."))
    elif window.start >= window.end:
        errors.add("end", _("The end must be after the start."))
    if window.min_rank is None or window.min_rank < 1:
        errors.add("min_rank", _("Enter a tier rank of at least 1."))
    errors.raise_if_any()


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
    window = MemberWindow(
        organization_id=clinic.organization_id,
        clinic=window_clinic,
        weekday=weekday,
        start=start,
        end=end,
        min_rank=min_rank,
    )
    _check_window(window)
    window.save()
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


@transaction.atomic
def member_window_update(
    *, actor: Staff, clinic: Clinic, window: MemberWindow, **changes: Any
) -> MemberWindow:
    """Move a held-back window (clinic, weekday, times) or change the lowest rank for it."""
    unknown = set(changes) - set(WINDOW_FIELDS)
    if unknown:
        raise TypeError(f"unknown window fields: {sorted(unknown)}")
    same_org(clinic, window, changes.get("window_clinic"))
    window = MemberWindow.objects.select_for_update().select_related("clinic").get(pk=window.pk)
    before = snapshot(window)
    for name, value in changes.items():
        setattr(window, "clinic" if name == "window_clinic" else name, value)
    _check_window(window)
    window.save()
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=window,
        actor=actor,
        clinic=clinic,
        before=before,
        after=snapshot(window),
        summary=_("Booking window for members at %(clinic)s changed")
        % {"clinic": window.clinic.name},
    )
    return window


@transaction.atomic
def member_window_delete(*, actor: Staff, clinic: Clinic, window: MemberWindow) -> None:
    """Stop holding a window back. Nothing refers to a window (bookings made in it stay),
    so it is removed; the audit log keeps what it was."""
    same_org(clinic, window)
    window = MemberWindow.objects.select_for_update().select_related("clinic").get(pk=window.pk)
    audit_record(
        action=AuditEntry.Action.DELETE,
        instance=window,
        actor=actor,
        clinic=clinic,
        before=snapshot(window),
        summary=_("Booking window for members at %(clinic)s no longer held back")
        % {"clinic": window.clinic.name},
    )
    window.delete()
