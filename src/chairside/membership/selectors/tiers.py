"""Reads of membership set-up: tiers with their discounts, points rules, gifts."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from chairside.core.errors import NotFound
from chairside.membership.models import PointsGift, PointsRule, Tier


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


def gift_list(*, active: bool | None = None) -> QuerySet[PointsGift]:
    gifts = PointsGift.objects.all()
    if active is not None:
        gifts = gifts.filter(is_active=active)
    return gifts.order_by("points_cost", "id")


def get_gift(*, gift_id: int) -> PointsGift:
    gift = PointsGift.objects.filter(pk=gift_id).first()
    if gift is None:
        raise NotFound(_("Gift not found."))
    return gift


def points_rule_list() -> QuerySet[PointsRule]:
    return PointsRule.objects.order_by("category", "id")
