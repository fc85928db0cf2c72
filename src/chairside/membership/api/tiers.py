"""API of membership set-up: tiers and their discounts, points rules, gifts, settings.
Rules and gifts are edited, deactivated (`is_active: false`) or removed if nothing refers
to them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.responses import Status

from chairside.billing.selectors.catalogue import get_catalogue_item
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.schemas import PathId
from chairside.membership.schemas.tiers import (
    BenefitsIn,
    GiftIn,
    GiftListOut,
    GiftOut,
    GiftUpdateIn,
    PointsRuleIn,
    PointsRuleListOut,
    PointsRuleOut,
    PointsRuleUpdateIn,
    SettingsIn,
    SettingsOut,
    TierIn,
    TierListOut,
    TierOut,
    TierUpdateIn,
)
from chairside.membership.selectors import tiers as selectors
from chairside.membership.services import tiers as services
from chairside.membership.services.common import membership_settings

router = Router(tags=["membership"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


def _tier_fields(data: dict[str, Any]) -> dict[str, Any]:
    if "fee_item_id" in data:
        item_id = data.pop("fee_item_id")
        data["fee_item"] = None if item_id is None else get_catalogue_item(item_id=item_id)
    return data


@router.get("/membership/tiers", response={200: TierListOut, **AUTH_ERRORS}, summary="Member tiers")
def tier_list(request: HttpRequest) -> TierListOut:
    access = access_of(request)
    access.require("membership.view")
    return TierListOut(items=[TierOut.of(t) for t in selectors.tier_list()])


@router.post(
    "/membership/tiers", response={201: TierOut, **WRITE_ERRORS}, summary="Add a member tier"
)
def tier_create(request: HttpRequest, payload: TierIn) -> Status[TierOut]:
    access = access_of(request)
    access.require("membership.manage")
    tier = services.tier_create(
        actor=access.staff, clinic=access.clinic, **_tier_fields(payload.model_dump())
    )
    return Status(201, TierOut.of(selectors.get_tier(tier_id=tier.pk)))


@router.get(
    "/membership/tiers/{int:tier_id}",
    response={200: TierOut, **LOOKUP_ERRORS},
    summary="A member tier with its discounts",
)
def tier_detail(request: HttpRequest, tier_id: PathId) -> TierOut:
    access = access_of(request)
    access.require("membership.view")
    return TierOut.of(selectors.get_tier(tier_id=tier_id))


@router.patch(
    "/membership/tiers/{int:tier_id}",
    response={200: TierOut, **WRITE_ERRORS},
    summary="Edit or retire a member tier",
)
def tier_update(request: HttpRequest, tier_id: PathId, payload: TierUpdateIn) -> TierOut:
    access = access_of(request)
    access.require("membership.manage")
    tier = selectors.get_tier(tier_id=tier_id)
    sent = payload.model_dump(exclude_unset=True)
    # Null means "leave as it is", except where null is a value (no fee, no member day).
    nullable = {"fee_item_id", "member_day", "member_day_rate"}
    changes = {k: v for k, v in sent.items() if v is not None or k in nullable}
    if changes:
        services.tier_update(
            actor=access.staff, clinic=access.clinic, tier=tier, **_tier_fields(changes)
        )
    return TierOut.of(selectors.get_tier(tier_id=tier_id))


@router.put(
    "/membership/tiers/{int:tier_id}/benefits",
    response={200: TierOut, **WRITE_ERRORS},
    summary="Set a tier's discount rate per catalogue category",
)
def tier_benefits_set(request: HttpRequest, tier_id: PathId, payload: BenefitsIn) -> TierOut:
    access = access_of(request)
    access.require("membership.manage")
    tier = selectors.get_tier(tier_id=tier_id)
    services.tier_benefits_set(
        actor=access.staff,
        clinic=access.clinic,
        tier=tier,
        rates={b.category: b.rate for b in payload.benefits},
    )
    return TierOut.of(selectors.get_tier(tier_id=tier_id))


@router.get(
    "/membership/points-rules",
    response={200: PointsRuleListOut, **AUTH_ERRORS},
    summary="Points earning rules",
)
def points_rule_list(request: HttpRequest) -> PointsRuleListOut:
    access = access_of(request)
    access.require("membership.view")
    return PointsRuleListOut(items=[PointsRuleOut.of(r) for r in selectors.points_rule_list()])


@router.post(
    "/membership/points-rules",
    response={201: PointsRuleOut, **WRITE_ERRORS},
    summary="Add a points earning rule",
)
def points_rule_create(request: HttpRequest, payload: PointsRuleIn) -> Status[PointsRuleOut]:
    access = access_of(request)
    access.require("membership.manage")
    rule = services.points_rule_create(
        actor=access.staff,
        clinic=access.clinic,
        name=payload.name,
        category=payload.category or "",
        points_per_yuan=payload.points_per_yuan,
    )
    return Status(201, PointsRuleOut.of(rule))


@router.patch(
    "/membership/points-rules/{int:rule_id}",
    response={200: PointsRuleOut, **WRITE_ERRORS},
    summary="Edit or deactivate a points earning rule",
)
def points_rule_update(
    request: HttpRequest, rule_id: PathId, payload: PointsRuleUpdateIn
) -> PointsRuleOut:
    access = access_of(request)
    access.require("membership.manage")
    rule = selectors.get_points_rule(rule_id=rule_id)
    sent = payload.model_dump(exclude_unset=True)
    # Null leaves a field as it is, except the category, where null is "every category".
    changes = {k: v for k, v in sent.items() if v is not None or k == "category"}
    if changes:
        rule = services.points_rule_update(
            actor=access.staff, clinic=access.clinic, rule=rule, **changes
        )
    return PointsRuleOut.of(rule)


@router.delete(
    "/membership/points-rules/{int:rule_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a points earning rule",
)
def points_rule_delete(request: HttpRequest, rule_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("membership.manage")
    rule = selectors.get_points_rule(rule_id=rule_id)
    services.points_rule_delete(actor=access.staff, clinic=access.clinic, rule=rule)
    return Status(204, None)


@router.get("/membership/gifts", response={200: GiftListOut, **AUTH_ERRORS}, summary="Points gifts")
def gift_list(request: HttpRequest) -> GiftListOut:
    access = access_of(request)
    access.require("membership.view")
    return GiftListOut(items=[GiftOut.of(g) for g in selectors.gift_list()])


@router.post(
    "/membership/gifts", response={201: GiftOut, **WRITE_ERRORS}, summary="Add a points gift"
)
def gift_create(request: HttpRequest, payload: GiftIn) -> Status[GiftOut]:
    access = access_of(request)
    access.require("membership.manage")
    gift = services.gift_create(
        actor=access.staff,
        clinic=access.clinic,
        name=payload.name,
        points_cost=payload.points_cost,
        stock=payload.stock,
    )
    return Status(201, GiftOut.of(gift))


@router.patch(
    "/membership/gifts/{int:gift_id}",
    response={200: GiftOut, **WRITE_ERRORS},
    summary="Edit or deactivate a points gift",
)
def gift_update(request: HttpRequest, gift_id: PathId, payload: GiftUpdateIn) -> GiftOut:
    access = access_of(request)
    access.require("membership.manage")
    gift = selectors.get_gift(gift_id=gift_id)
    sent = payload.model_dump(exclude_unset=True)
    # Null leaves a field as it is, except the stock, where null is "unlimited".
    changes = {k: v for k, v in sent.items() if v is not None or k == "stock"}
    if changes:
        services.gift_update(actor=access.staff, clinic=access.clinic, gift=gift, **changes)
    return GiftOut.of(selectors.get_gift(gift_id=gift_id))


@router.delete(
    "/membership/gifts/{int:gift_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a points gift nobody redeemed (deactivate one that was)",
)
def gift_delete(request: HttpRequest, gift_id: PathId) -> Status[None]:
    access = access_of(request)
    access.require("membership.manage")
    gift = selectors.get_gift(gift_id=gift_id)
    services.gift_delete(actor=access.staff, clinic=access.clinic, gift=gift)
    return Status(204, None)


@router.get(
    "/membership/settings", response={200: SettingsOut, **AUTH_ERRORS}, summary="Membership rules"
)
def settings_detail(request: HttpRequest) -> SettingsOut:
    access = access_of(request)
    access.require("membership.view")
    return SettingsOut.of(membership_settings(access.organization.pk))


@router.put(
    "/membership/settings",
    response={200: SettingsOut, **WRITE_ERRORS},
    summary="Change the membership rules",
)
def settings_update(request: HttpRequest, payload: SettingsIn) -> SettingsOut:
    access = access_of(request)
    access.require("membership.manage")
    found = services.membership_settings_update(
        actor=access.staff,
        clinic=access.clinic,
        family_tier_mode=payload.family_tier_mode,
        referral_points=payload.referral_points,
    )
    return SettingsOut.of(found)
