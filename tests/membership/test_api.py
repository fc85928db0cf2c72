"""The membership API: every operation's isolation (another organization's tiers, members
and gifts are 404 like missing ones and nothing changes; a front desk acting in a clinic
where it holds no role is refused), permissions, and the main flows."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from chairside.billing.models import Category
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import (
    Member,
    MembershipSettings,
    MemberWindow,
    PointsEntry,
    PointsGift,
    PointsRule,
    Tier,
    TierBenefit,
)
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import points_adjust
from chairside.membership.services.tiers import member_window_create
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.billing.conftest import Shop
from tests.clock import SHANGHAI, Clock
from tests.conftest import World
from tests.core.test_api import is_error
from tests.membership.conftest import Club

D = Decimal
MISSING = 987654

ENDPOINTS = [
    Endpoint("GET", "/membership/tiers"),
    Endpoint("POST", "/membership/tiers", {"code": "vip", "name": "VIP", "rank": 9}),
    Endpoint("GET", "/membership/tiers/{tier}"),
    Endpoint("PATCH", "/membership/tiers/{tier}", {"name": "改名"}),
    Endpoint(
        "PUT",
        "/membership/tiers/{tier}/benefits",
        {"benefits": [{"category": "basic", "rate": "0.85"}]},
    ),
    Endpoint("GET", "/membership/points-rules"),
    Endpoint("POST", "/membership/points-rules", {"name": "新规则", "points_per_yuan": "1"}),
    Endpoint("PATCH", "/membership/points-rules/{rule}", {"points_per_yuan": "0.5"}),
    Endpoint("DELETE", "/membership/points-rules/{rule}"),
    Endpoint("GET", "/membership/gifts"),
    Endpoint("POST", "/membership/gifts", {"name": "杯子", "points_cost": 10}),
    Endpoint("PATCH", "/membership/gifts/{gift}", {"is_active": False}),
    Endpoint("DELETE", "/membership/gifts/{gift}"),
    Endpoint("GET", "/membership/settings"),
    Endpoint("PUT", "/membership/settings", {"family_tier_mode": "family_best"}),
    Endpoint("GET", "/membership/windows"),
    Endpoint(
        "POST",
        "/membership/windows",
        {"weekday": 1, "start": "09:00", "end": "10:00", "min_rank": 2},
    ),
    Endpoint("PATCH", "/membership/windows/{window}", {"min_rank": 3}),
    Endpoint("DELETE", "/membership/windows/{window}"),
    Endpoint("GET", "/membership/members"),
    Endpoint("POST", "/membership/members", {"patient_id": "{patient}", "tier_id": "{tier}"}),
    Endpoint("GET", "/membership/members/{member}"),
    Endpoint("POST", "/membership/members/{member}/renew", {}),
    Endpoint("GET", "/membership/members/{member}/points"),
    Endpoint("POST", "/membership/members/{member}/points/adjust", {"points": 5, "reason": "补录"}),
    Endpoint(
        "POST", "/membership/members/{member}/points/activity", {"points": 5, "reason": "打卡"}
    ),
    Endpoint("POST", "/membership/members/{member}/points/redeem", {"gift_id": "{gift}"}),
    Endpoint("GET", "/membership/renewals"),
]
# A's objects as seen from organization B (and B's own objects mixed with A's).
FOREIGN = [
    Endpoint("GET", "/membership/tiers/{tier}"),
    Endpoint("PATCH", "/membership/tiers/{tier}", {"name": "改名"}),
    Endpoint(
        "PUT",
        "/membership/tiers/{tier}/benefits",
        {"benefits": [{"category": "basic", "rate": "0.85"}]},
    ),
    Endpoint(
        "POST", "/membership/tiers", {"code": "x", "name": "X", "rank": 9, "fee_item_id": "{item}"}
    ),
    Endpoint("POST", "/membership/members", {"patient_id": "{patient}", "tier_id": "{tier_b}"}),
    Endpoint("POST", "/membership/members", {"patient_id": "{patient_b}", "tier_id": "{tier}"}),
    Endpoint("GET", "/membership/members/{member}"),
    Endpoint("POST", "/membership/members/{member}/renew", {}),
    Endpoint("GET", "/membership/members/{member}/points"),
    Endpoint("POST", "/membership/members/{member}/points/adjust", {"points": 5, "reason": "补录"}),
    Endpoint(
        "POST", "/membership/members/{member}/points/activity", {"points": 5, "reason": "打卡"}
    ),
    Endpoint("POST", "/membership/members/{member}/points/redeem", {"gift_id": "{gift}"}),
    Endpoint("POST", "/membership/members/{member_b}/points/redeem", {"gift_id": "{gift}"}),
    Endpoint("PATCH", "/membership/points-rules/{rule}", {"points_per_yuan": "0.5"}),
    Endpoint("DELETE", "/membership/points-rules/{rule}"),
    Endpoint("PATCH", "/membership/gifts/{gift}", {"is_active": False}),
    Endpoint("DELETE", "/membership/gifts/{gift}"),
    Endpoint("PATCH", "/membership/windows/{window}", {"min_rank": 3}),
    Endpoint("DELETE", "/membership/windows/{window}"),
    Endpoint(
        "POST",
        "/membership/windows",
        {"clinic_id": "{clinic}", "weekday": 1, "start": "09:00", "end": "10:00", "min_rank": 1},
    ),
    Endpoint("PATCH", "/membership/windows/{window_b}", {"clinic_id": "{clinic}"}),
]


@pytest.fixture
def data(world: World, shop: Shop, club: Club) -> dict[str, int]:
    with tenant_scope(world.org, world.clinic1):
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.gold
        )
        points_adjust(actor=world.boss, clinic=world.clinic1, member=member, points=300, reason="x")
        window = member_window_create(
            actor=world.boss,
            clinic=world.clinic1,
            window_clinic=world.clinic1,
            weekday=0,
            start=time(9),
            end=time(10),
            min_rank=2,
        )
        rule = PointsRule.objects.filter(category="").get()
    with tenant_scope(world.org_b, world.clinic_b):
        member_b = member_enrol(
            actor=world.boss_b, clinic=world.clinic_b, patient=shop.patient_b, tier=club.tier_b
        )
        points_adjust(
            actor=world.boss_b, clinic=world.clinic_b, member=member_b, points=300, reason="x"
        )
        window_b = member_window_create(
            actor=world.boss_b,
            clinic=world.clinic_b,
            window_clinic=world.clinic_b,
            weekday=0,
            start=time(9),
            end=time(10),
            min_rank=1,
        )
    return {
        "rule": rule.pk,
        "window": window.pk,
        "window_b": window_b.pk,
        "clinic": world.clinic1.pk,
        "tier": club.gold.pk,
        "member": member.pk,
        "gift": club.brush.pk,
        "patient": shop.li.pk,
        "item": shop.cleaning.pk,
        "tier_b": club.tier_b.pk,
        "patient_b": shop.patient_b.pk,
        "member_b": member_b.pk,
    }


MODELS = (Tier, TierBenefit, Member, PointsEntry, PointsGift, PointsRule, MemberWindow, AuditEntry)


def _counts(world: World) -> dict[str, Any]:
    found: dict[str, Any] = {
        m.__name__: m.all_tenants.filter(organization=world.org).count() for m in MODELS
    }
    found["balance"] = list(
        Member.all_tenants.filter(organization=world.org).values_list("points_balance", flat=True)
    )
    found["tiers"] = list(
        Tier.all_tenants.filter(organization=world.org).values_list("name", "rank")
    )
    found["rules"] = list(
        PointsRule.all_tenants.filter(organization=world.org)
        .order_by("id")
        .values_list("name", "points_per_yuan", "is_active")
    )
    found["gifts"] = list(
        PointsGift.all_tenants.filter(organization=world.org)
        .order_by("id")
        .values_list("name", "points_cost", "stock", "is_active")
    )
    found["windows"] = list(
        MemberWindow.all_tenants.order_by("id").values_list("clinic_id", "weekday", "min_rank")
    )
    found["settings"] = list(
        MembershipSettings.all_tenants.order_by("id").values_list(
            "organization_id", "family_tier_mode", "referral_points"
        )
    )
    return found


def test_every_membership_operation_is_covered(db: None) -> None:
    assert documented_operations(tags={"membership"}) == {e.shape for e in ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_objects_are_404_like_missing_ones(
    world: World, data: dict[str, int], endpoint: Endpoint
) -> None:
    before = _counts(world)
    api = ApiClient(world.boss_b)

    foreign = endpoint.call(api, data)
    missing = endpoint.call(api, {k: v if k.endswith("_b") else MISSING for k, v in data.items()})

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(world) == before


def test_another_organizations_lists_show_none_of_ours(world: World, data: dict[str, int]) -> None:
    api = ApiClient(world.boss_b)
    assert [t["code"] for t in api.get("/membership/tiers").json["items"]] == ["b-gold"]
    assert [m["id"] for m in api.get("/membership/members").json["items"]] == [data["member_b"]]
    assert api.get("/membership/gifts").json["items"] == []
    assert api.get("/membership/points-rules").json["items"] == []
    assert [m["id"] for m in api.get("/membership/renewals").json["due"]] == []


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, data: dict[str, int], endpoint: Endpoint
) -> None:
    before = _counts(world)
    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), data)
    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert _counts(world) == before


def test_the_front_desk_enrols_but_does_not_set_up_tiers_or_adjust_points(
    world: World, shop: Shop, data: dict[str, int]
) -> None:
    api = ApiClient(world.frontdesk)
    assert api.post("/membership/tiers", {"code": "v", "name": "V", "rank": 9}).status == 403
    adjust = api.post(
        f"/membership/members/{data['member']}/points/adjust", {"points": 1, "reason": "x"}
    )
    assert adjust.status == 403

    enrolled = api.post("/membership/members", {"patient_id": shop.li.pk, "tier_id": data["tier"]})

    assert enrolled.status == 201, enrolled
    body = enrolled.json
    assert (body["card_number"], body["tier_name"], body["status"]) == (
        "M00000002",
        "金卡",
        "active",
    )
    assert body["free_cleanings_left"] == 2
    assert [c["reason"] for c in body["tier_changes"]] == ["enrol"]
    again = api.post("/membership/members", {"patient_id": shop.li.pk, "tier_id": data["tier"]})
    assert again.status == 409
    assert is_error(again.json, "already_member")


def test_the_boss_sets_up_a_tier_with_benefits(world: World, shop: Shop, club: Club) -> None:
    api = ApiClient(world.boss)
    created = api.post(
        "/membership/tiers",
        {
            "code": "platinum",
            "name": "白金卡",
            "rank": 4,
            "threshold": "20000",
            "fee_item_id": club.fee.pk,
            "member_day": 8,
            "member_day_rate": "0.95",
        },
    )
    assert created.status == 201, created
    tier_id = created.json["id"]
    assert (created.json["fee_item_name"], created.json["member_day_rate"]) == ("会员费", "0.950")
    duplicate = api.post("/membership/tiers", {"code": "platinum", "name": "X", "rank": 5})
    assert duplicate.status == 409

    benefits = api.put(
        f"/membership/tiers/{tier_id}/benefits",
        {
            "benefits": [
                {"category": "basic", "rate": "0.8"},
                {"category": "implant", "rate": "0.9"},
            ]
        },
    )
    assert benefits.status == 200, benefits
    assert [(b["category"], b["rate"]) for b in benefits.json["benefits"]] == [
        ("basic", "0.800"),
        ("implant", "0.900"),
    ]
    bad = api.put(
        f"/membership/tiers/{tier_id}/benefits",
        {"benefits": [{"category": "basic", "rate": "1.5"}]},
    )
    assert bad.status in (400, 422)

    retired = api.patch(f"/membership/tiers/{tier_id}", {"is_active": False, "member_day": None})
    assert (retired.json["is_active"], retired.json["member_day"]) == (False, None)
    listed = api.get("/membership/tiers").json["items"]
    assert [t["code"] for t in listed] == ["silver", "gold", "diamond", "platinum"]


def test_points_adjust_redeem_and_ledger(world: World, club: Club, data: dict[str, int]) -> None:
    api = ApiClient(world.boss)
    member = data["member"]

    redeemed = api.post(f"/membership/members/{member}/points/redeem", {"gift_id": club.brush.pk})
    assert redeemed.status == 201, redeemed
    assert (redeemed.json["points"], redeemed.json["balance_after"]) == (-200, 100)
    short = api.post(f"/membership/members/{member}/points/redeem", {"gift_id": club.brush.pk})
    assert short.status == 409
    assert is_error(short.json, "insufficient_points")

    ledger = api.get(f"/membership/members/{member}/points")
    assert [(e["kind"], e["points"]) for e in ledger.json["items"]] == [
        ("redeem", -200),
        ("adjust", 300),
    ]
    only = api.get(f"/membership/members/{member}/points", kind="adjust")
    assert [e["kind"] for e in only.json["items"]] == ["adjust"]
    detail = api.get(f"/membership/members/{member}").json
    assert detail["points_balance"] == 100


def test_member_list_filters(world: World, shop: Shop, club: Club, data: dict[str, int]) -> None:
    with tenant_scope(world.org, world.clinic1):
        member_enrol(actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.silver)
    api = ApiClient(world.boss)

    def cards(**params: Any) -> list[str]:
        return [m["patient_name"] for m in api.get("/membership/members", **params).json["items"]]

    assert cards() == ["李四", "张三"]
    assert cards(tier_id=club.gold.pk) == ["张三"]
    assert cards(q="M00000001") == ["张三"]
    assert cards(q="李") == ["李四"]
    assert cards(status="expired") == []
    assert cards(expiring_before="2027-09-14") == []
    assert cards(expiring_before="2027-09-15") == ["李四", "张三"]
    paged = api.get("/membership/members", page_size=1, page=2).json
    assert (paged["total"], paged["pages"], len(paged["items"])) == (2, 2, 1)


def test_renewal_report(world: World, club: Club, data: dict[str, int], clock: Clock) -> None:
    api = ApiClient(world.boss)
    assert api.get("/membership/renewals").json["due"] == []
    clock.set(datetime(2027, 8, 20, 10, 0, tzinfo=SHANGHAI))
    api = ApiClient(world.boss)  # a token issued now: the first one has expired
    report = api.get("/membership/renewals").json
    assert [m["id"] for m in report["due"]] == [data["member"]]
    renewed = api.post(f"/membership/members/{data['member']}/renew", {})
    assert renewed.status == 200, renewed
    assert renewed.json["expires_on"] == "2028-09-14"
    report = api.get("/membership/renewals").json
    assert ([m["id"] for m in report["renewed"]], report["due"]) == ([data["member"]], [])


def test_checkout_through_the_api_shows_which_benefit_gave_what_in_chinese(
    world: World, shop: Shop, club: Club, clock: Clock
) -> None:
    """Enrol, bill a cleaning and a filling on member day, confirm, pay: the bill names
    each benefit in Chinese, the cleaning is free, points are earned on what was paid."""
    clock.set(datetime(2026, 9, 18, 10, 0, tzinfo=SHANGHAI))
    api = ApiClient(world.frontdesk, language="zh-hans")
    member = api.post("/membership/members", {"patient_id": shop.li.pk, "tier_id": club.gold.pk})
    assert member.status == 201, member
    bill = api.post("/bills", {"patient_id": shop.li.pk}).json
    for item in (shop.cleaning, shop.filling):
        assert api.post(f"/bills/{bill['id']}/lines", {"item_id": item.pk}).status == 201

    confirmed = api.post(f"/bills/{bill['id']}/confirm")
    assert confirmed.status == 200, confirmed
    discounts = [(d["label"], d["amount"]) for d in confirmed.json["discounts"]]
    assert [amount for _label, amount in discounts] == ["200.00", "15.00", "14.25"]
    with translation.override("zh-hans"):
        restorative = str(Category.RESTORATIVE.label)
    # The free cleaning and the member day read as the translations say
    # ("金卡免费洁牙（本年剩余 1 次）", "会员日额外九五折"); the tier and rate are data.
    assert discounts[0][0] == "金卡免费洁牙（本年剩余 1 次）"
    assert discounts[1][0] == f"金卡 {restorative} 九五折"
    assert discounts[2][0] == "会员日额外九五折"
    paid = api.post(
        f"/bills/{bill['id']}/payments",
        {"tenders": [{"method": "wechat", "amount": confirmed.json["arrears"]}]},
    )
    assert paid.status in (200, 201), paid
    ledger = api.get(f"/membership/members/{member.json['id']}/points").json["items"]
    # ¥270.75 paid, all on the filling (restorative, 2 points per ¥10): 54 points.
    assert [(e["kind"], e["points"], e["amount"]) for e in ledger] == [("earn", 54, "270.75")]
