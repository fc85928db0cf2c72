"""Giving a coupon to a friend through the portal pages: the holder makes a link from My
coupons, the friend opens it (signed out: what it is, the giver's name masked, sign in to
claim; signed in: claim it for someone of the household), and the coupon moves. A claimed,
taken-back or expired link says so; another family cannot manage someone's coupon, and
another organization's portal does not know the link."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import Client

from chairside.core.tenancy import tenant_scope
from chairside.promotions.models import Coupon, CouponGift, CouponTemplate, CouponTransfer
from chairside.promotions.services.coupons import coupon_issue
from tests.clock import Clock
from tests.portal.conftest import (
    LI_MOBILE,
    NOW,
    WANG_MOBILE,
    ZHANG_MOBILE,
    Portal,
    english,
    portal_url,
    sign_in,
)


def html(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined, no-any-return]


def make_template(portal: Portal, *, giftable: bool = True, **values: object) -> CouponTemplate:
    world = portal.world
    fields: dict[str, object] = {
        "organization_id": world.org.pk,
        "name": "洁牙抵用券",
        "kind": "cash_voucher",
        "amount": D("100.00"),
        "validity_kind": "after_issue",
        "valid_days": 90,
        "giftable": giftable,
    }
    fields.update(values)
    with tenant_scope(world.org):
        return CouponTemplate.objects.create(**fields)


def issue(portal: Portal, template: CouponTemplate, patient: object) -> Coupon:
    world = portal.world
    with tenant_scope(world.org, world.clinic1):
        return coupon_issue(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=template,
            patient=patient,  # type: ignore[arg-type]
        )


def client_of(portal: Portal, phone: str) -> Client:
    return sign_in(english(Client()), portal.org, phone)


@pytest.fixture
def wang_coupon(portal: Portal) -> Coupon:
    """王五 (another family) holds a giftable ¥100 voucher."""
    return issue(portal, make_template(portal), portal.wang)


def make_link(portal: Portal, giver: Client, coupon: Coupon) -> str:
    """The giver makes the link on the gift page; returns its path."""
    page = portal_url(portal.org, "coupon_gift", coupon.pk)
    made = giver.post(page)
    assert made.status_code == 302
    shown = html(giver.get(page))
    found = re.search(r'value="http://testserver(/p/smile/gift/[-\w]+/)"', shown)
    assert found, shown
    return found.group(1)


def holder_of(coupon: Coupon) -> int | None:
    return Coupon.all_tenants.get(pk=coupon.pk).holder_id


def test_my_coupons_offers_giving_only_giftable_unused_coupons(
    portal: Portal, wang_coupon: Coupon
) -> None:
    plain = issue(portal, make_template(portal, giftable=False, name="不可转赠"), portal.wang)

    page = html(client_of(portal, WANG_MOBILE).get(portal_url(portal.org, "coupons")))

    assert portal_url(portal.org, "coupon_gift", wang_coupon.pk) in page
    assert portal_url(portal.org, "coupon_gift", plain.pk) not in page
    assert "Give to a friend" in page


def test_a_friend_opens_the_link_signs_in_and_claims_it(
    portal: Portal, wang_coupon: Coupon
) -> None:
    wang = client_of(portal, WANG_MOBILE)
    link = make_link(portal, wang, wang_coupon)
    assert CouponGift.all_tenants.get().expires_at == NOW + timedelta(hours=48)

    # Signed out: what it is and who gives it (masked), and a sign-in that comes back.
    visitor = english(Client())
    opened = visitor.get(link)
    assert opened.status_code == 200
    page = html(opened)
    assert "洁牙抵用券" in page
    assert "王** gives you a coupon" in page
    assert "王五" not in page
    assert WANG_MOBILE not in page
    assert WANG_MOBILE[-4:] not in page
    assert "Sign in to claim" in page
    assert f"{portal_url(portal.org, 'login')}?next=" in page

    # 张三 signs in (his household: himself, 张小宝 on his mobile, his spouse 李四).
    friend = sign_in(visitor, portal.org, ZHANG_MOBILE)
    page = html(friend.get(link))
    assert "Claim it" in page
    for person in (portal.zhang, portal.baby, portal.li):
        assert f'value="{person.pk}"' in page
    claimed = friend.post(link + "claim/", {"patient": portal.baby.pk})

    assert claimed.status_code == 302
    assert claimed["Location"] == portal_url(portal.org, "coupons")
    assert "洁牙抵用券 is now in My coupons for 张小宝." in html(friend.get(claimed["Location"]))
    assert holder_of(wang_coupon) == portal.baby.pk
    assert CouponTransfer.all_tenants.filter(coupon=wang_coupon).count() == 1
    # The link now says so, and the giver's wallet no longer has the coupon.
    assert "This gift has already been claimed." in html(friend.get(link))
    assert "Claim it" not in html(friend.get(link))
    wallet = html(wang.get(portal_url(portal.org, "coupons")))
    assert "洁牙抵用券" not in wallet
    assert "Claim it" not in html(client_of(portal, LI_MOBILE).get(link))


def test_the_giver_takes_the_link_back(portal: Portal, wang_coupon: Coupon) -> None:
    wang = client_of(portal, WANG_MOBILE)
    link = make_link(portal, wang, wang_coupon)

    taken = wang.post(portal_url(portal.org, "coupon_gift_cancel", wang_coupon.pk))

    assert taken.status_code == 302
    assert "The link is taken back; the coupon stays yours." in html(wang.get(taken["Location"]))
    friend = client_of(portal, ZHANG_MOBILE)
    assert "The giver took this gift back." in html(friend.get(link))
    refused = friend.post(link + "claim/", {"patient": portal.zhang.pk})
    assert "The giver took this gift back." in html(friend.get(refused["Location"]))
    assert holder_of(wang_coupon) == portal.wang.pk


def test_an_expired_link_says_so(portal: Portal, wang_coupon: Coupon, clock: Clock) -> None:
    link = make_link(portal, client_of(portal, WANG_MOBILE), wang_coupon)
    clock.set(NOW + timedelta(hours=49))

    page = html(english(Client()).get(link))

    assert "This gift link has expired." in page
    assert "Sign in to claim" not in page


def test_the_giver_cannot_claim_their_own_link(portal: Portal, wang_coupon: Coupon) -> None:
    wang = client_of(portal, WANG_MOBILE)
    link = make_link(portal, wang, wang_coupon)

    page = html(wang.get(link))
    assert "This is your own coupon" in page
    assert "Claim it" not in page
    refused = wang.post(link + "claim/", {"patient": portal.wang.pk})
    assert "This is your own coupon" in html(wang.get(refused["Location"]))
    assert holder_of(wang_coupon) == portal.wang.pk


def test_the_per_person_limit_is_shown_to_the_friend(portal: Portal) -> None:
    template = make_template(portal, per_person_limit=1)
    mine = issue(portal, template, portal.wang)
    issue(portal, template, portal.zhang)
    link = make_link(portal, client_of(portal, WANG_MOBILE), mine)
    friend = client_of(portal, ZHANG_MOBILE)

    refused = friend.post(link + "claim/", {"patient": portal.zhang.pk})

    assert "张三 already holds 1 of this coupon, the limit per person." in html(
        friend.get(refused["Location"])
    )
    assert holder_of(mine) == portal.wang.pk


def test_a_coupon_that_cannot_be_given_says_why(portal: Portal) -> None:
    plain = issue(portal, make_template(portal, giftable=False), portal.wang)
    wang = client_of(portal, WANG_MOBILE)
    page = portal_url(portal.org, "coupon_gift", plain.pk)

    assert "This coupon cannot be given to someone else." in html(wang.get(page))
    refused = wang.post(page)
    assert "This coupon cannot be given to someone else." in html(wang.get(refused["Location"]))
    assert not CouponGift.all_tenants.exists()


def test_another_family_cannot_manage_someones_coupon(portal: Portal, wang_coupon: Coupon) -> None:
    other = client_of(portal, ZHANG_MOBILE)
    page = portal_url(portal.org, "coupon_gift", wang_coupon.pk)

    assert other.get(page).status_code == 404
    assert other.post(page).status_code == 404
    assert (
        other.post(portal_url(portal.org, "coupon_gift_cancel", wang_coupon.pk)).status_code == 404
    )
    assert not CouponGift.all_tenants.exists()


def test_another_organizations_portal_does_not_know_the_link(
    portal: Portal, wang_coupon: Coupon
) -> None:
    link = make_link(portal, client_of(portal, WANG_MOBILE), wang_coupon)
    foreign = link.replace("/p/smile/", f"/p/{portal.world.org_b.slug}/")
    # 赵六 of organization B has 张三's mobile: signed in there, the link is still unknown.
    visitor = sign_in(english(Client()), portal.world.org_b, ZHANG_MOBILE)

    assert visitor.get(foreign).status_code == 404
    assert visitor.post(foreign + "claim/", {"patient": portal.zhao_b.pk}).status_code == 404
    assert holder_of(wang_coupon) == portal.wang.pk
    assert english(Client()).get(link.replace("/gift/", "/gift/x")).status_code == 404


def test_claiming_needs_a_sign_in(portal: Portal, wang_coupon: Coupon) -> None:
    link = make_link(portal, client_of(portal, WANG_MOBILE), wang_coupon)

    response = english(Client()).post(link + "claim/", {"patient": portal.zhang.pk})

    assert response.status_code == 302
    assert response["Location"].startswith(portal_url(portal.org, "login"))
    assert holder_of(wang_coupon) == portal.wang.pk
