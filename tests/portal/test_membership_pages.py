"""The portal's member card, coupons and flash-sale pages through the test client: each shows
the signed-in household's own data only (another family's coupon never appears, another
organization's portal cannot reach them), and a flash sale goes claim -> pay (the fake
processor's signed notification) -> coupon in My coupons, with the patient-facing refusals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.test import Client

from chairside.core.tenancy import tenant_scope
from chairside.membership.models import Member, Tier
from chairside.membership.services.members import member_enrol
from chairside.membership.services.tiers import tier_benefits_set, tier_create
from chairside.patients.models import Patient
from chairside.promotions.codes import code_format
from chairside.promotions.models import Coupon, CouponTemplate, FlashSale, FlashSaleClaim
from chairside.promotions.services import flash_sales as fs
from chairside.promotions.services.coupons import coupon_issue
from tests.portal.conftest import (
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


def template_of(organization_id: int, name: str = "洁牙抵用券") -> CouponTemplate:
    with tenant_scope(organization_id):
        return CouponTemplate.objects.create(
            organization_id=organization_id,
            name=name,
            kind="cash_voucher",
            amount=D("100.00"),
            validity_kind="after_issue",
            valid_days=90,
        )


@dataclass
class Shop:
    portal: Portal
    template: CouponTemplate
    gold: Tier

    def issue(self, patient: Patient) -> Coupon:
        world = self.portal.world
        with tenant_scope(world.org, world.clinic1):
            return coupon_issue(
                actor=world.frontdesk, clinic=world.clinic1, template=self.template, patient=patient
            )

    def enrol(self, patient: Patient) -> Member:
        world = self.portal.world
        with tenant_scope(world.org, world.clinic1):
            return member_enrol(
                actor=world.frontdesk, clinic=world.clinic1, patient=patient, tier=self.gold
            )

    def sale(self, **values: object) -> FlashSale:
        world = self.portal.world
        fields: dict[str, object] = {
            "title": "9.9元洁牙",
            "template": self.template,
            "price": D("9.90"),
            "stock": 5,
            "starts_at": NOW - timedelta(hours=1),
            "ends_at": NOW + timedelta(days=1),
        }
        fields.update(values)
        with tenant_scope(world.org, world.clinic1):
            return fs.flash_sale_create(actor=world.boss, clinic=world.hq, **fields)  # type: ignore[arg-type]


@pytest.fixture
def shop(portal: Portal) -> Shop:
    world = portal.world
    with tenant_scope(world.org, world.clinic1):
        gold = tier_create(
            actor=world.boss,
            clinic=world.clinic1,
            code="gold",
            name="Gold card",
            rank=1,
            threshold=D(0),
            member_day=18,
            member_day_rate=D("0.95"),
            free_cleanings_per_year=2,
            free_cleaning_codes=["scaling"],
        )
        tier_benefits_set(
            actor=world.boss, clinic=world.clinic1, tier=gold, rates={"basic": D("0.90")}
        )
    return Shop(portal, template_of(world.org.pk), gold)


@pytest.fixture
def zhang_client(client: Client, portal: Portal) -> Client:
    return sign_in(english(client), portal.org, ZHANG_MOBILE)


def wang_client(portal: Portal) -> Client:
    return sign_in(english(Client()), portal.org, WANG_MOBILE)


def claims() -> list[FlashSaleClaim]:
    return list(FlashSaleClaim.all_tenants.order_by("id"))


def follow_message(client: Client, response: object) -> str:
    assert response.status_code == 302  # type: ignore[attr-defined]
    return html(client.get(response["Location"]))  # type: ignore[index]


# --- links and sign-in ------------------------------------------------------------------


def test_the_home_page_links_to_the_three_pages(zhang_client: Client, portal: Portal) -> None:
    page = html(zhang_client.get(portal_url(portal.org, "home")))

    for name in ("card", "coupons", "flash_sales"):
        assert f'href="{portal_url(portal.org, name)}"' in page


@pytest.mark.parametrize("name", ["card", "coupons", "flash_sales"])
def test_the_pages_need_a_sign_in(client: Client, portal: Portal, name: str) -> None:
    response = client.get(portal_url(portal.org, name))

    assert response.status_code == 302
    assert response["Location"].startswith(portal_url(portal.org, "login"))


# --- my member card -------------------------------------------------------------------


def test_the_member_card_shows_tier_number_points_benefits_and_qr(
    zhang_client: Client, portal: Portal, shop: Shop
) -> None:
    member = shop.enrol(portal.zhang)
    other = shop.enrol(portal.wang)
    Member.all_tenants.filter(pk=member.pk).update(points_balance=120)

    response = zhang_client.get(portal_url(portal.org, "card"))

    assert response.status_code == 200
    page = html(response)
    assert "Gold card" in page
    assert member.card_number in page
    assert ">120<" in page
    assert "10% off" in page  # basic treatment at 0.90
    assert "2 left this year" in page
    assert "Day 18 of every month" in page
    assert member.expires_on.isoformat() in page
    assert '<svg width="' in page
    assert 'class="qr"' in page
    assert other.card_number not in page


def test_the_card_rates_read_in_chinese_by_default(
    client: Client, portal: Portal, shop: Shop
) -> None:
    shop.enrol(portal.zhang)
    page = html(sign_in(client, portal.org, ZHANG_MOBILE).get(portal_url(portal.org, "card")))

    assert "九折" in page
    assert "我的会员卡" in page or "My member card" in page


def test_a_patient_who_is_not_a_member_sees_a_friendly_empty_state(
    portal: Portal, shop: Shop
) -> None:
    shop.enrol(portal.zhang)
    response = wang_client(portal).get(portal_url(portal.org, "card"))

    assert response.status_code == 200
    assert "You are not a member yet." in html(response)
    assert "Gold card" not in html(response)


# --- my coupons -----------------------------------------------------------------------


def _section(page: str, name: str) -> str:
    start = page.index(f'<section id="{name}"')
    return page[start : page.index("</section>", start)]


def test_coupons_are_the_households_own_grouped_with_codes_in_fours(
    zhang_client: Client, portal: Portal, shop: Shop
) -> None:
    mine = shop.issue(portal.zhang)
    spouse = shop.issue(portal.li)
    used = shop.issue(portal.zhang)
    expired = shop.issue(portal.zhang)
    strangers = shop.issue(portal.wang)
    Coupon.all_tenants.filter(pk=used.pk).update(status="used")
    Coupon.all_tenants.filter(pk=expired.pk).update(expires_at=NOW - timedelta(minutes=1))

    response = zhang_client.get(portal_url(portal.org, "coupons"))

    assert response.status_code == 200
    page = html(response)
    usable = _section(page, "usable")
    assert code_format(mine.code) in usable
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{1,4})+", code_format(mine.code))
    assert code_format(spouse.code) in usable  # the family, as the portal shows it
    assert "For 李四" in usable
    assert code_format(used.code) in _section(page, "used")
    assert code_format(expired.code) in _section(page, "expired")
    assert code_format(used.code) not in usable
    assert "until 2026-12-12" in usable  # the last day of 90 from the 14th of September
    assert strangers.code not in page
    assert code_format(strangers.code) not in page


def test_another_family_never_sees_our_coupons(portal: Portal, shop: Shop) -> None:
    mine = shop.issue(portal.zhang)

    page = html(wang_client(portal).get(portal_url(portal.org, "coupons")))

    assert code_format(mine.code) not in page
    assert "No coupons to use." in page


def test_another_organizations_portal_shows_none_of_ours(
    client: Client, portal: Portal, shop: Shop
) -> None:
    """赵六 of organization B signs in with 张三's mobile on B's portal."""
    mine = shop.issue(portal.zhang)
    shop.enrol(portal.zhang)
    org_b = portal.world.org_b
    b = sign_in(english(client), org_b, ZHANG_MOBILE)

    coupons = html(b.get(portal_url(org_b, "coupons")))
    card = html(b.get(portal_url(org_b, "card")))

    assert code_format(mine.code) not in coupons
    assert "No coupons to use." in coupons
    assert "You are not a member yet." in card


# --- flash sales ----------------------------------------------------------------------


def _hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


def test_claim_pay_and_the_coupon_arrives_in_my_coupons(
    zhang_client: Client, portal: Portal, shop: Shop
) -> None:
    sale = shop.sale(stock=2)
    listing = zhang_client.get(portal_url(portal.org, "flash_sales"))
    assert listing.status_code == 200
    assert "9.9元洁牙" in html(listing)
    claim_url = portal_url(portal.org, "flash_sale_claim_new", sale.pk)

    first = zhang_client.post(claim_url)
    second = zhang_client.post(claim_url)  # a double tap

    [claim] = claims()
    assert claim.patient_id == portal.zhang.pk
    assert claim.status == "reserved"
    assert (
        first["Location"]
        == second["Location"]
        == portal_url(portal.org, "flash_sale_claim", claim.pk)
    )
    assert FlashSale.all_tenants.get(pk=sale.pk).sold == 1
    detail = html(zhang_client.get(first["Location"]))
    assert "Pay ¥9.90" in detail

    pay = zhang_client.post(portal_url(portal.org, "flash_sale_pay", claim.pk))
    assert pay.status_code == 200
    fields = _hidden_fields(html(pay))
    assert fields["reference"] == claim.reference
    assert fields["processor"] == "fake"
    paid_url = portal_url(portal.org, "flash_sale_paid", claim.pk)
    paid = zhang_client.post(paid_url, fields)
    again = zhang_client.post(paid_url, fields)  # a resubmitted form: nothing more happens

    assert paid["Location"] == portal_url(portal.org, "coupons")
    assert again.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "issued"
    assert Coupon.all_tenants.filter(holder=portal.zhang).count() == 1
    coupons = html(zhang_client.get(paid["Location"]))
    assert "Paid. Your coupon is in My coupons." in coupons
    assert code_format(claim.coupon.code) in _section(coupons, "usable")
    assert "洁牙抵用券" in coupons

    limit = zhang_client.post(claim_url)
    assert "You have already claimed the most this sale allows per person (1)." in (
        follow_message(zhang_client, limit)
    )
    assert len(claims()) == 1


def test_a_family_member_can_be_chosen_to_claim_for(
    zhang_client: Client, portal: Portal, shop: Shop
) -> None:
    sale = shop.sale()
    zhang_client.post(
        portal_url(portal.org, "flash_sale_claim_new", sale.pk), {"patient": portal.li.pk}
    )
    stranger = zhang_client.post(
        portal_url(portal.org, "flash_sale_claim_new", sale.pk), {"patient": portal.wang.pk}
    )

    assert [c.patient_id for c in claims()] == [portal.li.pk]
    assert stranger.status_code == 404


def test_sold_out_shows_the_message(zhang_client: Client, portal: Portal, shop: Shop) -> None:
    sale = shop.sale(stock=1)
    with tenant_scope(portal.org, portal.world.clinic1):
        fs.flash_sale_claim(sale=sale, patient=portal.wang)

    listing = html(zhang_client.get(portal_url(portal.org, "flash_sales")))
    response = zhang_client.post(portal_url(portal.org, "flash_sale_claim_new", sale.pk))

    assert "Sold out" in listing
    assert response["Location"] == portal_url(portal.org, "flash_sales")
    assert "Sold out." in follow_message(zhang_client, response)
    assert [c.patient_id for c in claims()] == [portal.wang.pk]


def test_a_sale_not_open_yet_is_refused_and_not_listed(
    zhang_client: Client, portal: Portal, shop: Shop
) -> None:
    sale = shop.sale(starts_at=NOW + timedelta(hours=2), title="明日秒杀")

    listing = html(zhang_client.get(portal_url(portal.org, "flash_sales")))
    response = zhang_client.post(portal_url(portal.org, "flash_sale_claim_new", sale.pk))

    assert "明日秒杀" not in listing
    assert "No flash sales right now." in listing
    assert "This flash sale is not open now." in follow_message(zhang_client, response)
    assert claims() == []


def test_a_forged_payment_is_refused(zhang_client: Client, portal: Portal, shop: Shop) -> None:
    sale = shop.sale()
    zhang_client.post(portal_url(portal.org, "flash_sale_claim_new", sale.pk))
    [claim] = claims()
    fields = _hidden_fields(
        html(zhang_client.post(portal_url(portal.org, "flash_sale_pay", claim.pk)))
    )

    forged = zhang_client.post(
        portal_url(portal.org, "flash_sale_paid", claim.pk), {**fields, "amount": "0.01"}
    )

    assert "The payment could not be confirmed." in follow_message(zhang_client, forged)
    claim.refresh_from_db()
    assert claim.status == "reserved"
    assert not Coupon.all_tenants.exists()


def test_another_familys_order_is_not_found(
    zhang_client: Client, portal: Portal, shop: Shop
) -> None:
    sale = shop.sale()
    zhang_client.post(portal_url(portal.org, "flash_sale_claim_new", sale.pk))
    [claim] = claims()
    wang = wang_client(portal)

    assert wang.get(portal_url(portal.org, "flash_sale_claim", claim.pk)).status_code == 404
    assert wang.post(portal_url(portal.org, "flash_sale_pay", claim.pk)).status_code == 404
    assert wang.post(portal_url(portal.org, "flash_sale_paid", claim.pk)).status_code == 404
    claim.refresh_from_db()
    assert claim.payment_processor == ""


def test_another_organizations_portal_cannot_reach_our_sales_or_orders(
    client: Client, portal: Portal, shop: Shop
) -> None:
    sale = shop.sale()
    with tenant_scope(portal.org, portal.world.clinic1):
        claim = fs.flash_sale_claim(sale=sale, patient=portal.zhang)
    org_b = portal.world.org_b
    b = sign_in(english(client), org_b, ZHANG_MOBILE)

    assert "9.9元洁牙" not in html(b.get(portal_url(org_b, "flash_sales")))
    assert b.post(portal_url(org_b, "flash_sale_claim_new", sale.pk)).status_code == 404
    assert b.get(portal_url(org_b, "flash_sale_claim", claim.pk)).status_code == 404
    assert b.post(portal_url(org_b, "flash_sale_pay", claim.pk)).status_code == 404
    assert len(claims()) == 1


def test_posts_need_the_csrf_token(portal: Portal, shop: Shop) -> None:
    sale = shop.sale()
    guarded = Client(enforce_csrf_checks=True)
    guarded.cookies = sign_in(english(Client()), portal.org, ZHANG_MOBILE).cookies

    response = guarded.post(portal_url(portal.org, "flash_sale_claim_new", sale.pk))

    assert response.status_code == 403
    assert claims() == []


def test_claiming_is_post_only(zhang_client: Client, portal: Portal, shop: Shop) -> None:
    sale = shop.sale()

    assert (
        zhang_client.get(portal_url(portal.org, "flash_sale_claim_new", sale.pk)).status_code == 405
    )
    assert claims() == []
