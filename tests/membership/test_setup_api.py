"""The membership set-up API beyond tiers: points rules and gifts edited, deactivated and
removed only when nothing refers to them; the referral reward setting; activity points;
the booking windows held back for members. Lists keep a flat number of queries."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.core.tenancy import tenant_scope
from chairside.membership.models import MemberWindow, PointsGift, PointsRule
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import points_adjust, points_redeem
from chairside.membership.services.tiers import gift_create, member_window_create
from tests.apiclient import ApiClient
from tests.billing.conftest import Shop
from tests.conftest import World
from tests.core.test_api import is_error
from tests.membership.conftest import Club

D = Decimal


def test_a_rule_is_edited_deactivated_and_removed(world: World, club: Club) -> None:
    api = ApiClient(world.boss)
    rules = {r["name"]: r for r in api.get("/membership/points-rules").json["items"]}
    general = rules["全部"]["id"]

    edited = api.patch(
        f"/membership/points-rules/{general}", {"name": "消费积分", "points_per_yuan": "0.5"}
    )
    assert edited.status == 200, edited
    assert (edited.json["name"], edited.json["points_per_yuan"], edited.json["category"]) == (
        "消费积分",
        "0.5",
        "",
    )

    # A second active rule for restorative would make earning pick one by chance.
    overlap = api.patch(f"/membership/points-rules/{general}", {"category": "restorative"})
    assert overlap.status == 409
    assert is_error(overlap.json, "points_rule_overlap")
    twice = api.post(
        "/membership/points-rules",
        {"name": "又一条", "category": "restorative", "points_per_yuan": "1"},
    )
    assert twice.status == 409

    off = api.patch(f"/membership/points-rules/{rules['充填']['id']}", {"is_active": False})
    assert off.json["is_active"] is False
    moved = api.patch(f"/membership/points-rules/{general}", {"category": "restorative"})
    assert (moved.status, moved.json["category"]) == (200, "restorative")
    back = api.patch(f"/membership/points-rules/{general}", {"category": None})
    assert back.json["category"] == ""

    removed = api.delete(f"/membership/points-rules/{rules['充填']['id']}")
    assert removed.status == 204
    assert [r["name"] for r in api.get("/membership/points-rules").json["items"]] == ["消费积分"]


def test_a_redeemed_gift_is_deactivated_never_removed(world: World, shop: Shop, club: Club) -> None:
    with tenant_scope(world.org, world.clinic1):
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
        )
        points_adjust(actor=world.boss, clinic=world.clinic1, member=member, points=60, reason="x")
        points_redeem(actor=world.boss, clinic=world.clinic1, member=member, gift=club.towel)
    api = ApiClient(world.boss)

    refused = api.delete(f"/membership/gifts/{club.towel.pk}")
    assert refused.status == 409
    assert is_error(refused.json, "in_use")

    edited = api.patch(
        f"/membership/gifts/{club.towel.pk}",
        {"name": "浴巾", "points_cost": 80, "stock": None, "is_active": False},
    )
    assert edited.status == 200, edited
    assert {k: edited.json[k] for k in ("name", "points_cost", "stock", "is_active")} == {
        "name": "浴巾",
        "points_cost": 80,
        "stock": None,
        "is_active": False,
    }
    assert edited.json["redeemed"] is True
    # A member cannot redeem a deactivated gift.
    redeem = api.post(f"/membership/members/{member.pk}/points/redeem", {"gift_id": club.towel.pk})
    assert redeem.status == 409
    assert is_error(redeem.json, "gift_inactive")

    unused = api.delete(f"/membership/gifts/{club.brush.pk}")
    assert unused.status == 204
    with tenant_scope(world.org):
        assert list(PointsGift.objects.values_list("name", flat=True)) == ["浴巾"]


def test_gift_and_rule_lists_keep_a_flat_number_of_queries(world: World, club: Club) -> None:
    api = ApiClient(world.boss)

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status == 200
        return len(captured)

    api.get("/membership/settings")  # the token's first use writes once
    few_gifts, few_rules = queries("/membership/gifts"), queries("/membership/points-rules")
    with tenant_scope(world.org, world.clinic1):
        for i in range(6):
            gift_create(actor=world.boss, clinic=world.clinic1, name=f"礼品{i}", points_cost=5)
        PointsRule.objects.bulk_create(
            PointsRule(organization=world.org, name=f"停用{i}", points_per_yuan=1, is_active=False)
            for i in range(6)
        )
    assert queries("/membership/gifts") == few_gifts
    assert queries("/membership/points-rules") == few_rules


def test_the_referral_reward_setting(world: World, club: Club) -> None:
    api = ApiClient(world.boss)
    assert api.get("/membership/settings").json == {
        "family_tier_mode": "own",
        "referral_points": 0,
    }
    changed = api.put("/membership/settings", {"referral_points": 150})
    assert changed.json == {"family_tier_mode": "own", "referral_points": 150}
    # A rule left out stays as it is.
    family = api.put("/membership/settings", {"family_tier_mode": "family_best"})
    assert family.json == {"family_tier_mode": "family_best", "referral_points": 150}
    assert api.put("/membership/settings", {"referral_points": -1}).status in (400, 422)


def test_activity_points_need_a_reason_and_an_active_card(
    world: World, shop: Shop, club: Club
) -> None:
    with tenant_scope(world.org, world.clinic1):
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
        )
    api = ApiClient(world.boss)
    url = f"/membership/members/{member.pk}/points/activity"

    awarded = api.post(url, {"points": 20, "reason": "周打卡"})

    assert awarded.status == 201, awarded
    assert (awarded.json["kind"], awarded.json["points"], awarded.json["note"]) == (
        "activity",
        20,
        "周打卡",
    )
    assert awarded.json["expires_on"] == "2027-09-14"
    ledger = api.get(f"/membership/members/{member.pk}/points", kind="activity").json["items"]
    assert [e["points"] for e in ledger] == [20]
    assert api.post(url, {"points": -5, "reason": "x"}).status in (400, 422)
    assert api.post(url, {"points": 5, "reason": "   "}).status == 400
    # The front desk (no points permission) is refused.
    assert ApiClient(world.frontdesk).post(url, {"points": 5, "reason": "x"}).status == 403
    with tenant_scope(world.org):
        member.status = member.Status.CANCELLED
        member.save(update_fields=["status"])
    cancelled = api.post(url, {"points": 5, "reason": "x"})
    assert cancelled.status == 409
    assert is_error(cancelled.json, "member_not_active")


def test_windows_are_listed_added_moved_and_removed(world: World, club: Club) -> None:
    api = ApiClient(world.boss)
    created = api.post(
        "/membership/windows",
        {"weekday": 5, "start": "09:00", "end": "10:30", "min_rank": club.gold.rank},
    )
    assert created.status == 201, created
    window = created.json
    assert (window["clinic_id"], window["tier_name"], window["start"], window["end"]) == (
        world.clinic1.pk,
        "金卡",
        "09:00:00",
        "10:30:00",
    )
    bad = api.post(
        "/membership/windows", {"weekday": 5, "start": "11:00", "end": "10:00", "min_rank": 1}
    )
    assert bad.status == 400
    zoned = api.post(
        "/membership/windows",
        {"weekday": 5, "start": "09:00+08:00", "end": "10:00+08:00", "min_rank": 1},
    )
    assert zoned.status in (400, 422)  # a clinic's local time of day carries no zone
    hq = api.post(
        "/membership/windows",
        {"clinic_id": world.hq.pk, "weekday": 5, "start": "09:00", "end": "10:00", "min_rank": 1},
    )
    assert hq.status == 400

    moved = api.patch(
        f"/membership/windows/{window['id']}",
        {"clinic_id": world.clinic2.pk, "min_rank": club.diamond.rank},
    )
    assert moved.status == 200, moved
    assert (moved.json["clinic_name"], moved.json["tier_name"]) == ("Riverside Clinic", "钻石卡")
    upside_down = api.patch(f"/membership/windows/{window['id']}", {"end": "08:00"})
    assert upside_down.status == 400

    listed = api.get("/membership/windows", clinic_id=world.clinic2.pk).json["items"]
    assert [w["id"] for w in listed] == [window["id"]]
    assert api.get("/membership/windows", clinic_id=world.clinic1.pk).json["items"] == []

    assert api.delete(f"/membership/windows/{window['id']}").status == 204
    with tenant_scope(world.org):
        assert not MemberWindow.objects.exists()


def test_the_window_list_keeps_a_flat_number_of_queries(world: World, club: Club) -> None:
    api = ApiClient(world.boss)

    def add(count: int) -> None:
        with tenant_scope(world.org, world.clinic1):
            for i in range(count):
                member_window_create(
                    actor=world.boss,
                    clinic=world.clinic1,
                    window_clinic=world.clinic1 if i % 2 else world.clinic2,
                    weekday=i % 7,
                    start=time(9),
                    end=time(10),
                    min_rank=1 + i % 3,
                )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/membership/windows").status == 200
        return len(captured)

    add(1)
    api.get("/membership/settings")  # the token's first use writes once
    one = queries()
    add(8)
    assert queries() == one


@pytest.mark.parametrize(
    "path", ["/membership/gifts", "/membership/points-rules", "/membership/windows"]
)
def test_another_organizations_set_up_lists_are_empty(world: World, club: Club, path: str) -> None:
    with tenant_scope(world.org, world.clinic1):
        member_window_create(
            actor=world.boss,
            clinic=world.clinic1,
            window_clinic=world.clinic1,
            weekday=0,
            start=time(9),
            end=time(10),
            min_rank=1,
        )
    assert ApiClient(world.boss_b).get(path).json["items"] == []
