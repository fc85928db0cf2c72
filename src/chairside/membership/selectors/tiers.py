"""Reads of membership set-up: tiers with their discounts, points rules, gifts, and the
booking windows held back for members."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from chairside.core.errors import NotFound
from chairside.membership.models import MemberWindow, PointsEntry, PointsGift, PointsRule, Tier


def tier_list(*, active: bool | None = None) -> QuerySet[Tier]:
    tiers = Tier.objects.select_related("fee_item").prefetch_related("benefits")
    if active is not None:
        tiers = tiers.filter(is_active=active)
    return tiers.order_by("rank", "id")


def get_tier(*, tier_id: int) -> Tier:
    tier = tier_list().filter(pk=tier_id).first()
    if tier is None:
        raise NotFound(_("Member tier not found."))
    return tier


def tier_names_by_rank() -> dict[int, str]:
    """{rank: tier name}: a window is kept for a rank, and shown by its tier's name."""
    return dict(Tier.objects.values_list("rank", "name"))


def gift_list(*, active: bool | None = None) -> QuerySet[PointsGift]:
    """Gifts, cheapest first; each annotated `redeemed` (whether the ledger names it, so it
    can only be deactivated, not removed)."""
    gifts = PointsGift.objects.annotate(
        redeemed=Exists(PointsEntry.objects.filter(gift_id=OuterRef("pk")))
    )
    if active is not None:
        gifts = gifts.filter(is_active=active)
    return gifts.order_by("points_cost", "id")


def get_gift(*, gift_id: int) -> PointsGift:
    gift = gift_list().filter(pk=gift_id).first()
    if gift is None:
        raise NotFound(_("Gift not found."))
    return gift


def points_rule_list(*, active: bool | None = None) -> QuerySet[PointsRule]:
    rules = PointsRule.objects.all()
    if active is not None:
        rules = rules.filter(is_active=active)
    return rules.order_by("-is_active", "category", "id")


def get_points_rule(*, rule_id: int) -> PointsRule:
    rule = PointsRule.objects.filter(pk=rule_id).first()
    if rule is None:
        raise NotFound(_("Points rule not found."))
    return rule


def member_window_list(*, clinic_id: int | None = None) -> QuerySet[MemberWindow]:
    """Held-back windows by clinic, weekday and time, their clinic joined."""
    windows = MemberWindow.objects.select_related("clinic")
    if clinic_id is not None:
        windows = windows.filter(clinic_id=clinic_id)
    return windows.order_by("clinic_id", "weekday", "start", "id")


def get_member_window(*, window_id: int) -> MemberWindow:
    window = member_window_list().filter(pk=window_id).first()
    if window is None:
        raise NotFound(_("Booking window not found."))
    return window
