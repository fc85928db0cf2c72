"""The membership pages: the tier list and editing a tier with its discounts (HQ), the
member list with filters and pages, a member's card with ledger and benefits used;
permissions (403) and another organization's objects (404)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.membership.models import Member, TierBenefit
from chairside.membership.services.members import member_enrol
from chairside.membership.services.points import points_adjust
from tests.billing.conftest import Shop
from tests.conftest import World
from tests.membership.conftest import Club, checkout

D = Decimal
Signer = Callable[[Staff], Client]


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


@pytest.fixture
def members(world: World, shop: Shop, club: Club) -> list[Member]:
    with tenant_scope(world.org, world.clinic1):
        gold = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang, tier=club.gold
        )
        silver = member_enrol(
            actor=world.frontdesk, clinic=world.clinic1, patient=shop.li, tier=club.silver
        )
        points_adjust(
            actor=world.boss, clinic=world.clinic1, member=gold, points=120, reason="开业赠送"
        )
        checkout(world, shop.zhang, [(shop.cleaning, 1)])  # the free cleaning
    return [gold, silver]


def test_tier_list_shows_benefits(world: World, club: Club, as_staff: Signer) -> None:
    page = as_staff(world.frontdesk).get(reverse("membership:tiers"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "金卡" in html
    assert "钻石卡" in html
    assert "2 free cleanings a year" in html
    assert reverse("membership:tier_create") not in html  # the front desk cannot add


def test_tier_list_empty_state(world: World, shop: Shop, as_staff: Signer) -> None:
    page = as_staff(world.boss).get(reverse("membership:tiers"))
    assert "No member tiers yet" in page.content.decode()


def test_hq_adds_a_tier_with_discounts(
    world: World, shop: Shop, club: Club, as_staff: Signer
) -> None:
    client = as_staff(world.boss)
    form = {
        "code": "platinum",
        "name": "白金卡",
        "rank": "4",
        "qualification": "spend",
        "threshold": "20000",
        "period_days": "365",
        "validity_months": "12",
        "free_cleanings_per_year": "0",
        "is_active": "on",
        "basic": "0.75",
    }
    created = client.post(reverse("membership:tier_create"), form)
    assert created.status_code == 302, created.content.decode()[:2000]
    with tenant_scope(world.org):
        [benefit] = TierBenefit.objects.filter(tier__code="platinum")
    assert (benefit.category, benefit.rate) == ("basic", D("0.750"))

    duplicate = client.post(reverse("membership:tier_create"), form | {"code": "gold"})
    assert duplicate.status_code == 400
    assert "Another tier already has this code or rank." in duplicate.content.decode()
    bad = client.post(
        reverse("membership:tier_create"), form | {"code": "p2", "rank": "7", "basic": "1.5"}
    )
    assert bad.status_code == 400
    assert "Enter a rate above 0 and at most 1" in bad.content.decode()


def test_hq_edits_a_tier(world: World, club: Club, as_staff: Signer) -> None:
    client = as_staff(world.boss)
    url = reverse("membership:tier_edit", args=[club.gold.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'value="0.900"' in page.content.decode()
    saved = client.post(
        url,
        {
            "name": "黄金卡",
            "rank": "2",
            "qualification": "spend",
            "threshold": "1000",
            "period_days": "365",
            "validity_months": "12",
            "free_cleanings_per_year": "1",
            "free_cleaning_codes": "scaling, polish",
            "is_active": "on",
            "basic": "0.88",
        },
    )
    assert saved.status_code == 302
    club.gold.refresh_from_db()
    assert (club.gold.name, club.gold.free_cleaning_codes) == ("黄金卡", ["scaling", "polish"])
    with tenant_scope(world.org):
        assert list(TierBenefit.objects.filter(tier=club.gold).values_list("category", "rate")) == [
            ("basic", D("0.880"))
        ]


def test_the_front_desk_cannot_set_up_tiers(world: World, club: Club, as_staff: Signer) -> None:
    client = as_staff(world.frontdesk)
    assert client.get(reverse("membership:tier_create")).status_code == 403
    assert client.get(reverse("membership:tier_edit", args=[club.gold.pk])).status_code == 403


def test_another_organizations_tier_and_member_are_404(
    world: World, club: Club, members: list[Member], as_staff: Signer
) -> None:
    client = as_staff(world.boss_b)
    assert client.get(reverse("membership:tier_edit", args=[club.gold.pk])).status_code == 404
    assert client.get(reverse("membership:member_detail", args=[members[0].pk])).status_code == 404
    listed = client.get(reverse("membership:members")).content.decode()
    assert "张三" not in listed


def test_member_list_filters_and_pages(
    world: World, club: Club, members: list[Member], as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)
    url = reverse("membership:members")
    everyone = client.get(url).content.decode()
    assert "M00000001" in everyone
    assert "M00000002" in everyone
    gold = client.get(url, {"tier": club.gold.pk}).content.decode()
    assert "M00000001" in gold
    assert "M00000002" not in gold
    searched = client.get(url, {"q": "李"}).content.decode()
    assert "M00000002" in searched
    assert "M00000001" not in searched
    none = client.get(url, {"status": "expired"}).content.decode()
    assert "No members match the search." in none


def test_member_card_shows_ledger_and_benefits(
    world: World, members: list[Member], as_staff: Signer
) -> None:
    page = as_staff(world.frontdesk).get(reverse("membership:member_detail", args=[members[0].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "开业赠送" in html
    assert "+120" in html
    assert "Free cleaning" in html
    assert "1 / 2" in html  # free cleanings left this year
