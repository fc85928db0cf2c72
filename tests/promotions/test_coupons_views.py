"""The coupon pages: templates (list, new with a combo's entitlements, edit), issuing from a
patient search and from the wallet, batches with the Excel export, the coupon search with
the code check, a coupon's uses and voiding; permissions, other organizations (404), empty
states; and the cashier page offering and applying coupons (wallet pick and typed code)."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from chairside.billing.models import Bill
from chairside.core.models import Staff
from chairside.core.tenancy import tenant_scope
from chairside.promotions.codes import code_format
from chairside.promotions.models import Coupon, CouponBatch, CouponStatus, CouponTemplate
from chairside.promotions.services.coupons import coupon_batch_issue, coupon_issue
from tests.conftest import World
from tests.promotions.conftest import Shop, Templates, make_bill

pytestmark = pytest.mark.usefixtures("in_clinic1")
Signer = Callable[[Staff], Client]


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


@pytest.fixture(autouse=True)
def coupon_source(settings: pytest.FixtureRequest) -> None:
    settings.CHAIRSIDE_DISCOUNT_SOURCES = [  # type: ignore[attr-defined]
        "chairside.promotions.discounts.CouponDiscountSource"
    ]


def _issue(world: World, template: CouponTemplate, patient: object) -> Coupon:
    return coupon_issue(
        actor=world.frontdesk,
        clinic=world.clinic1,
        template=template,
        patient=patient,  # type: ignore[arg-type]
    )


def test_the_template_list_starts_empty(world: World, as_staff: Signer) -> None:
    page = as_staff(world.boss).get(reverse("promotions:coupon_templates"))
    assert page.status_code == 200
    assert "No coupon templates yet" in page.content.decode()


def test_a_combo_card_template_is_set_up_on_the_form(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    client = as_staff(world.boss)
    form = {
        "name": "家庭卡",
        "kind": "combo",
        "validity_kind": "after_issue",
        "valid_days": "365",
        "per_person_limit": "0",
        "combinable": "on",
        "is_active": "on",
        "ent-TOTAL_FORMS": "6",
        "ent-INITIAL_FORMS": "0",
        "ent-0-item": str(shop.cleaning.pk),
        "ent-0-count": "2",
        "ent-1-item": str(shop.xray.pk),
        "ent-1-count": "1",
    }

    response = client.post(reverse("promotions:coupon_template_new"), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    template = CouponTemplate.objects.get(name="家庭卡")
    assert sorted((e.item.code, e.count) for e in template.entitlements.all()) == [
        ("pano", 1),
        ("scaling", 2),
    ]
    listing = client.get(reverse("promotions:coupon_templates")).content.decode()
    assert "洁治 x2, 全景片 x1" in listing
    edit = client.get(reverse("promotions:coupon_template_edit", args=[template.pk]))
    assert edit.status_code == 200
    assert 'value="365"' in edit.content.decode()


def test_a_template_form_with_missing_rules_shows_the_errors(
    world: World, as_staff: Signer
) -> None:
    response = as_staff(world.boss).post(
        reverse("promotions:coupon_template_new"),
        {
            "name": "八折",
            "kind": "discount",
            "validity_kind": "fixed",
            "per_person_limit": "0",
            "ent-TOTAL_FORMS": "6",
            "ent-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 400
    text = response.content.decode()
    assert "Enter a percentage above 0 and at most 100." in text
    assert "Enter the last valid day." in text
    assert not CouponTemplate.objects.exists()


def test_the_front_desk_cannot_set_up_templates(world: World, as_staff: Signer) -> None:
    response = as_staff(world.frontdesk).get(reverse("promotions:coupon_template_new"))
    assert response.status_code == 403


def test_a_coupon_is_issued_from_the_patient_search(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)
    found = client.get(reverse("promotions:coupon_issue"), {"q": "张三"})
    assert "张三" in found.content.decode()

    response = client.post(
        reverse("promotions:coupon_issue"),
        {"patient": shop.zhang.pk, "template": templates.limited.pk},
    )

    assert response.status_code == 302
    coupon = Coupon.objects.get(holder=shop.zhang)
    wallet = client.get(response["Location"]).content.decode()
    assert code_format(coupon.code) in wallet
    assert "限领两张" in wallet


def test_the_wallet_issues_and_shows_the_limit(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)
    url = reverse("promotions:patient_wallet", args=[shop.li.pk])
    assert "No coupons in this wallet." in client.get(url).content.decode()

    for _ in range(2):
        assert client.post(url, {"template": templates.limited.pk}).status_code == 302
    refused = client.post(url, {"template": templates.limited.pk})

    assert refused.status_code == 400
    assert "the limit per person" in refused.content.decode()
    card = _issue(world, templates.family_card, shop.li)
    text = client.get(url).content.decode()
    assert "洁治 2/2" in text
    assert code_format(card.code) in text


def test_a_batch_is_issued_and_downloaded(
    world: World, templates: Templates, as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)
    assert "No batches yet." in client.get(reverse("promotions:coupon_batches")).content.decode()

    response = client.post(
        reverse("promotions:coupon_batches"),
        {"template": templates.cash50.pk, "count": "40", "note": "社区活动"},
    )

    assert response.status_code == 302
    batch = CouponBatch.objects.get()
    assert "社区活动" in client.get(reverse("promotions:coupon_batches")).content.decode()
    export = client.get(reverse("promotions:coupon_batch_export", args=[batch.pk]))
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert len(rows) == 4 + 40
    assert rows[3] == ("No.", "Code", "Status", "Valid until")


def test_a_batch_size_out_of_range_is_refused(
    world: World, templates: Templates, as_staff: Signer
) -> None:
    response = as_staff(world.frontdesk).post(
        reverse("promotions:coupon_batches"), {"template": templates.cash50.pk, "count": "0"}
    )
    assert response.status_code == 400
    assert not CouponBatch.objects.exists()


def test_the_coupon_search_checks_a_typed_code(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    client = as_staff(world.frontdesk)
    url = reverse("promotions:coupons")
    assert "No coupons have been issued yet." in client.get(url).content.decode()
    coupon = _issue(world, templates.cash50, shop.zhang)
    typo = coupon.code[:-1] + ("2" if coupon.code[-1] != "2" else "3")

    found = client.get(url, {"code": code_format(coupon.code)}).content.decode()
    mistyped = client.get(url, {"code": typo}).content.decode()

    assert "The code is valid" in found
    assert reverse("promotions:coupon_detail", args=[coupon.pk]) in found
    assert "its check character does not match" in mistyped
    assert "No coupons match the search." in mistyped
    assert "张三" in client.get(url, {"status": "unused"}).content.decode()
    assert "No coupons match" in client.get(url, {"status": "used"}).content.decode()


def test_a_coupon_is_voided_on_its_page(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    coupon = _issue(world, templates.cash50, shop.zhang)
    client = as_staff(world.frontdesk)
    url = reverse("promotions:coupon_detail", args=[coupon.pk])
    assert "Not used yet." in client.get(url).content.decode()

    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "客户丢失"}).status_code == 302

    coupon.refresh_from_db()
    assert (coupon.status, coupon.void_reason) == (CouponStatus.VOID, "客户丢失")
    assert "客户丢失" in client.get(url).content.decode()


def test_another_organizations_coupon_pages_are_404(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    coupon = _issue(world, templates.cash50, shop.zhang)
    batch = coupon_batch_issue(
        actor=world.boss, clinic=world.clinic1, template=templates.cash50, count=2
    )
    client = as_staff(world.boss_b)
    urls = [
        reverse("promotions:coupon_detail", args=[coupon.pk]),
        reverse("promotions:coupon_template_edit", args=[templates.cash50.pk]),
        reverse("promotions:coupon_batch_export", args=[batch.pk]),
        reverse("promotions:patient_wallet", args=[shop.zhang.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(urls[0], {"reason": "x"}).status_code == 404
    with tenant_scope(world.org_b):
        assert (
            client.post(
                reverse("promotions:coupon_issue"),
                {"patient": shop.zhang.pk, "template": templates.cash50.pk},
            ).status_code
            == 404
        )
    coupon.refresh_from_db()
    assert coupon.status == CouponStatus.UNUSED


def test_a_front_desk_of_another_clinic_does_not_see_our_batch(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    batch = coupon_batch_issue(
        actor=world.boss, clinic=world.clinic1, template=templates.cash50, count=2
    )
    client = as_staff(shop.frontdesk2)
    assert client.get(reverse("promotions:coupon_batch_export", args=[batch.pk])).status_code == 404


# --- at the cashier ---------------------------------------------------------------------


def _bill(world: World, shop: Shop) -> Bill:
    return make_bill(world, shop.zhang, [(shop.filling, 2)], confirm=False)


def test_the_cashier_page_offers_the_wallet_and_applies_a_pick(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    coupon = _issue(world, templates.cash50, shop.zhang)
    bill = _bill(world, shop)
    client = as_staff(world.frontdesk)

    page = client.get(reverse("billing:bill", args=[bill.pk])).content.decode()
    assert "满300减50 · ¥50.00 off (minimum spend ¥300.00) · until 2026-12-31" in page
    # Each offer is its own checkbox (a bare <option> outside a <select> cannot be picked).
    assert f'type="checkbox" name="offer" value="coupon:coupon:{coupon.pk}"' in page

    response = client.post(
        reverse("billing:bill_discounts", args=[bill.pk]), {"offer": f"coupon:coupon:{coupon.pk}"}
    )

    assert response.status_code == 302
    bill.refresh_from_db()
    assert bill.discount_total == 50
    assert client.post(reverse("billing:bill_confirm", args=[bill.pk])).status_code == 302
    detail = client.get(reverse("promotions:coupon_detail", args=[coupon.pk])).content.decode()
    assert bill.number in detail
    assert "¥50.00" in detail


def test_the_cashier_applies_a_typed_bearer_code_and_keeps_it(
    world: World, shop: Shop, templates: Templates, as_staff: Signer
) -> None:
    batch = coupon_batch_issue(
        actor=world.boss, clinic=world.clinic1, template=templates.cash50, count=1
    )
    bearer = Coupon.objects.get(batch=batch)
    bill = _bill(world, shop)
    client = as_staff(world.frontdesk)
    url = reverse("billing:bill_discounts", args=[bill.pk])

    typo = bearer.code[:-1] + ("2" if bearer.code[-1] != "2" else "3")
    refused = client.post(url, {"coupon_code": typo})
    assert refused.status_code == 400
    assert "check it for typos" in refused.content.decode()

    assert client.post(url, {"coupon_code": code_format(bearer.code)}).status_code == 302
    bill.refresh_from_db()
    assert bill.discount_total == 50
    page = client.get(reverse("billing:bill", args=[bill.pk])).content.decode()
    assert f'value="coupon:code:{bearer.code}"' in page
    # Applying again with the code still ticked keeps it.
    again = client.post(url, {"offer": f"coupon:code:{bearer.code}"})
    assert again.status_code == 302
    bill.refresh_from_db()
    assert bill.discount_total == 50
