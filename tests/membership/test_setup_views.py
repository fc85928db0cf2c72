"""The membership set-up pages: points rules and gifts (added, edited, deactivated, removed
only when nothing refers to them), the referral reward, the booking windows held back for
members (listed by tier), and activity points from a member's page; permissions (403)
and another organization's objects (404)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import (
    Member,
    MembershipSettings,
    MemberWindow,
    PointsEntry,
    PointsGift,
    PointsRule,
)
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import points_adjust, points_redeem
from chairside.membership.services.tiers import member_window_create
from tests.billing.conftest import Shop
from tests.conftest import World
from tests.membership.conftest import Club

D = Decimal
Signer = Callable[[Staff], Client]


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


def text(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


# --- points rules, gifts, the referral reward ---------------------------------------------


def test_the_points_page_lists_rules_gifts_and_the_referral_reward(
    world: World, club: Club, as_staff: Signer
) -> None:
    page = as_staff(world.frontdesk).get(reverse("membership:points_setup"))

    assert page.status_code == 200
    html = text(page)
    for name in ("全部", "充填", "毛巾", "电动牙刷"):
        assert name in html
    assert "No points for referrals." in html
    assert reverse("membership:rule_create") not in html  # the front desk only looks


def test_hq_adds_edits_and_removes_a_rule(world: World, club: Club, as_staff: Signer) -> None:
    client = as_staff(world.boss)
    added = client.post(
        reverse("membership:rule_create"),
        {"name": "种植积分", "category": "implant", "points_per_yuan": "0.05", "is_active": "on"},
    )
    assert added.status_code == 302, text(added)[:2000]
    with tenant_scope(world.org):
        rule = PointsRule.objects.get(category="implant")
    assert rule.points_per_yuan == D("0.05")

    overlap = client.post(
        reverse("membership:rule_create"),
        {"name": "又一条", "category": "implant", "points_per_yuan": "1", "is_active": "on"},
    )
    assert overlap.status_code == 400
    assert "The active rule 种植积分 already covers this category" in text(overlap)

    url = reverse("membership:rule_edit", args=[rule.pk])
    assert 'value="0.05"' in text(client.get(url))
    off = client.post(url, {"name": "种植积分", "category": "implant", "points_per_yuan": "0.1"})
    assert off.status_code == 302
    rule.refresh_from_db()
    assert (rule.is_active, rule.points_per_yuan) == (False, D("0.1"))
    assert "Inactive" in text(client.get(reverse("membership:points_setup")))

    removed = client.post(reverse("membership:rule_delete", args=[rule.pk]))
    assert removed.status_code == 302
    with tenant_scope(world.org):
        assert not PointsRule.objects.filter(pk=rule.pk).exists()


def test_a_redeemed_gift_is_deactivated_not_removed(
    world: World, shop: Shop, club: Club, as_staff: Signer
) -> None:
    with tenant_scope(world.org, world.clinic1):
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
        )
        points_adjust(actor=world.boss, clinic=world.clinic1, member=member, points=50, reason="x")
        points_redeem(actor=world.boss, clinic=world.clinic1, member=member, gift=club.towel)
    client = as_staff(world.boss)

    listing = text(client.get(reverse("membership:points_setup")))
    assert reverse("membership:gift_delete", args=[club.towel.pk]) not in listing
    assert reverse("membership:gift_delete", args=[club.brush.pk]) in listing
    refused = client.post(reverse("membership:gift_delete", args=[club.towel.pk]), follow=True)
    assert "毛巾 was redeemed already; deactivate it instead." in text(refused)

    saved = client.post(
        reverse("membership:gift_edit", args=[club.towel.pk]),
        {"name": "毛巾", "points_cost": "60", "stock": ""},
    )
    assert saved.status_code == 302
    with tenant_scope(world.org):
        towel = PointsGift.objects.get(pk=club.towel.pk)
        assert (towel.points_cost, towel.stock, towel.is_active) == (60, None, False)
        assert PointsEntry.objects.filter(gift=towel).count() == 1

    assert client.post(reverse("membership:gift_delete", args=[club.brush.pk])).status_code == 302
    with tenant_scope(world.org):
        assert not PointsGift.objects.filter(pk=club.brush.pk).exists()


def test_hq_adds_a_gift_and_sets_the_referral_reward(
    world: World, club: Club, as_staff: Signer
) -> None:
    client = as_staff(world.boss)
    bad = client.post(reverse("membership:gift_create"), {"name": "", "points_cost": "0"})
    assert bad.status_code == 400
    added = client.post(
        reverse("membership:gift_create"),
        {"name": "牙线", "points_cost": "30", "stock": "100", "is_active": "on"},
    )
    assert added.status_code == 302

    saved = client.post(reverse("membership:referral_update"), {"referral_points": "150"})

    assert saved.status_code == 302
    with tenant_scope(world.org):
        assert PointsGift.objects.filter(name="牙线", stock=100).exists()
        assert MembershipSettings.objects.get().referral_points == 150
    assert 'value="150"' in text(client.get(reverse("membership:points_setup")))
    negative = client.post(reverse("membership:referral_update"), {"referral_points": "-1"})
    assert negative.status_code == 400


def test_the_front_desk_cannot_change_points_set_up(
    world: World, club: Club, as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)
    rule = club_rule(world)
    for url in (
        reverse("membership:rule_create"),
        reverse("membership:rule_edit", args=[rule.pk]),
        reverse("membership:gift_edit", args=[club.towel.pk]),
    ):
        assert client.get(url).status_code == 403
    for url in (
        reverse("membership:rule_delete", args=[rule.pk]),
        reverse("membership:gift_delete", args=[club.brush.pk]),
        reverse("membership:referral_update"),
    ):
        assert client.post(url, {"referral_points": "5"}).status_code == 403
    with tenant_scope(world.org):
        assert PointsRule.objects.count() == 2
        assert PointsGift.objects.count() == 2


def club_rule(world: World) -> PointsRule:
    with tenant_scope(world.org):
        return PointsRule.objects.get(category="")


def test_another_organizations_rules_and_gifts_are_404(
    world: World, club: Club, as_staff: Signer
) -> None:
    client = as_staff(world.boss_b)
    rule = club_rule(world)
    assert client.get(reverse("membership:rule_edit", args=[rule.pk])).status_code == 404
    assert client.get(reverse("membership:gift_edit", args=[club.towel.pk])).status_code == 404
    assert client.post(reverse("membership:rule_delete", args=[rule.pk])).status_code == 404
    assert client.post(reverse("membership:gift_delete", args=[club.brush.pk])).status_code == 404
    assert "毛巾" not in text(client.get(reverse("membership:points_setup")))
    with tenant_scope(world.org):
        assert PointsRule.objects.count() == 2
        assert PointsGift.objects.count() == 2


# --- windows ------------------------------------------------------------------------------


def _window(world: World, **values: object) -> MemberWindow:
    fields: dict[str, object] = {
        "actor": world.boss,
        "clinic": world.clinic1,
        "window_clinic": world.clinic1,
        "weekday": 5,
        "start": time(9),
        "end": time(10),
        "min_rank": 2,
    }
    fields.update(values)
    with tenant_scope(world.org, world.clinic1):
        return member_window_create(**fields)  # type: ignore[arg-type]


def test_windows_are_listed_by_tier_and_added(world: World, club: Club, as_staff: Signer) -> None:
    _window(world)
    client = as_staff(world.boss)
    page = text(client.get(reverse("membership:windows")))
    assert "金卡 and above" in page
    assert "Saturday" in page
    assert "09:00–10:00" in page
    # Tiers without priority booking never get these windows: the page says which.
    assert "银卡" in page

    added = client.post(
        reverse("membership:windows"),
        {
            "clinic": world.clinic2.pk,
            "weekday": "0",
            "start": "14:00",
            "end": "15:00",
            "min_rank": str(club.diamond.rank),
        },
    )
    assert added.status_code == 302, text(added)[:3000]
    upside_down = client.post(
        reverse("membership:windows"),
        {"clinic": world.clinic1.pk, "weekday": "0", "start": "15:00", "end": "14:00"}
        | {"min_rank": "1"},
    )
    assert upside_down.status_code == 400
    assert "The end must be after the start." in text(upside_down)
    page = text(client.get(reverse("membership:windows")))
    assert page.index("金卡 and above") < page.index("钻石卡 and above")
    with tenant_scope(world.org):
        assert MemberWindow.objects.filter(clinic=world.clinic2, min_rank=3).count() == 1


def test_a_window_is_edited_and_removed(world: World, club: Club, as_staff: Signer) -> None:
    window = _window(world)
    client = as_staff(world.boss)
    url = reverse("membership:window_edit", args=[window.pk])
    assert client.get(url).status_code == 200

    saved = client.post(
        url,
        {"clinic": world.clinic1.pk, "weekday": "6", "start": "08:30", "end": "09:30"}
        | {"min_rank": str(club.diamond.rank)},
    )

    assert saved.status_code == 302
    window.refresh_from_db()
    assert (window.weekday, window.start, window.min_rank) == (6, time(8, 30), 3)
    assert client.post(reverse("membership:window_delete", args=[window.pk])).status_code == 302
    with tenant_scope(world.org):
        assert not MemberWindow.objects.exists()


def test_the_window_page_keeps_a_flat_number_of_queries(
    world: World, club: Club, as_staff: Signer
) -> None:
    client = as_staff(world.boss)
    _window(world)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("membership:windows")).status_code == 200
        return len(captured)

    queries()
    one = queries()
    for i in range(6):
        _window(world, weekday=i, min_rank=1 + i % 3, window_clinic=world.clinic2)
    assert queries() == one


def test_the_front_desk_sees_windows_but_cannot_change_them(
    world: World, club: Club, as_staff: Signer
) -> None:
    window = _window(world)
    client = as_staff(world.frontdesk)
    page = text(client.get(reverse("membership:windows")))
    assert "金卡 and above" in page
    assert reverse("membership:window_edit", args=[window.pk]) not in page
    assert client.get(reverse("membership:window_edit", args=[window.pk])).status_code == 403
    assert client.post(reverse("membership:window_delete", args=[window.pk])).status_code == 403
    created = client.post(
        reverse("membership:windows"),
        {"clinic": world.clinic1.pk, "weekday": "0", "start": "09:00", "end": "10:00"}
        | {"min_rank": "1"},
    )
    assert created.status_code == 403
    with tenant_scope(world.org):
        assert MemberWindow.objects.count() == 1


def test_another_organizations_windows_are_404(world: World, club: Club, as_staff: Signer) -> None:
    window = _window(world)
    client = as_staff(world.boss_b)
    assert client.get(reverse("membership:window_edit", args=[window.pk])).status_code == 404
    assert client.post(reverse("membership:window_delete", args=[window.pk])).status_code == 404
    # Nor can B move its own window into one of A's clinics: the clinic is not a choice.
    page = text(client.get(reverse("membership:windows")))
    assert "Downtown Clinic" not in page
    with tenant_scope(world.org):
        assert MemberWindow.objects.count() == 1


# --- activity points ------------------------------------------------------------------------


def test_activity_points_are_awarded_from_the_member_page(
    world: World, shop: Shop, club: Club, as_staff: Signer
) -> None:
    with tenant_scope(world.org, world.clinic1):
        member = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.silver
        )
    url = reverse("membership:member_detail", args=[member.pk])
    assert "Award activity points" not in text(as_staff(world.frontdesk).get(url))
    manager = as_staff(shop.manager)
    assert "Award activity points" in text(manager.get(url))

    awarded = manager.post(
        reverse("membership:member_activity", args=[member.pk]),
        {"points": "30", "reason": "口腔健康讲座签到"},
        follow=True,
    )

    html = text(awarded)
    assert "30 activity points added to card M00000001." in html
    assert "口腔健康讲座签到" in html
    with tenant_scope(world.org):
        entry = PointsEntry.objects.get(member=member)
        assert (entry.kind, entry.points, entry.created_by) == ("activity", 30, shop.manager)
    blank = manager.post(
        reverse("membership:member_activity", args=[member.pk]),
        {"points": "30", "reason": ""},
        follow=True,
    )
    assert "This field is required." in text(blank)
    refused = as_staff(world.frontdesk).post(
        reverse("membership:member_activity", args=[member.pk]), {"points": "5", "reason": "x"}
    )
    assert refused.status_code == 403
    foreign = as_staff(world.boss_b).post(
        reverse("membership:member_activity", args=[member.pk]), {"points": "5", "reason": "x"}
    )
    assert foreign.status_code == 404
    with tenant_scope(world.org):
        assert Member.objects.get(pk=member.pk).points_balance == 30
