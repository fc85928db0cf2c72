"""The stored-value pages: a patient's card (open, top up once per form, pay out, share,
freeze, ledger pages) and the bonus rules page; permissions (403), other organizations'
patients (404) and empty states."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from chairside.billing.models import Payment, StoredValueAccount, StoredValueEntry, TopUpBonusRule
from chairside.billing.services import stored_value as sv
from chairside.core.models import Staff
from chairside.patients.models import FamilyRelation, Patient
from chairside.patients.services import family_link
from tests.billing.conftest import Shop
from tests.conftest import World

D = Decimal
pytestmark = pytest.mark.usefixtures("in_clinic1")
Signer = Callable[[Staff], Client]
RULES = reverse("billing:bonus_rules")


@pytest.fixture
def as_staff() -> Signer:
    def sign_in(staff: Staff) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(staff)
        return client

    return sign_in


def _url(patient: Patient) -> str:
    return reverse("billing:patient_card", kwargs={"patient_id": patient.pk})


def _card(world: World, patient: Patient, top_up: str | None = None) -> StoredValueAccount:
    card = sv.stored_value_account_open(actor=world.frontdesk, clinic=world.clinic1, owner=patient)
    if top_up:
        sv.stored_value_top_up(
            actor=world.frontdesk,
            clinic=world.clinic1,
            account=card,
            amount=D(top_up),
            method="cash",
        )
    return StoredValueAccount.objects.get(pk=card.pk)


def test_a_patient_without_a_card_gets_an_empty_state_and_an_open_button(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    page = as_staff(world.frontdesk).get(_url(shop.zhang))
    assert page.status_code == 200
    text = page.content.decode()
    assert "This patient has no stored-value card yet." in text
    assert "Open a card" in text
    doctor = as_staff(world.doctor).get(_url(shop.zhang)).content.decode()
    assert "Open a card" not in doctor


def test_opening_a_card(world: World, shop: Shop, as_staff: Signer) -> None:
    response = as_staff(world.frontdesk).post(_url(shop.zhang), {"action": "open"})
    assert response.status_code == 302
    assert response["Location"] == _url(shop.zhang)
    card = StoredValueAccount.objects.get(owner=shop.zhang)
    page = as_staff(world.frontdesk).get(_url(shop.zhang)).content.decode()
    assert card.number in page
    assert "No movements on this card yet." in page


def test_staff_without_the_permission_cannot_change_a_card(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    response = as_staff(world.doctor).post(_url(shop.zhang), {"action": "open"})
    assert response.status_code == 403
    assert not StoredValueAccount.objects.exists()


def test_another_organizations_patient_is_404(world: World, shop: Shop, as_staff: Signer) -> None:
    client = as_staff(world.frontdesk)
    assert client.get(_url(shop.patient_b)).status_code == 404
    assert client.post(_url(shop.patient_b), {"action": "open"}).status_code == 404
    assert Client().get(_url(shop.zhang)).status_code == 302


def test_a_top_up_form_charges_once_however_often_it_is_sent(
    world: World, shop: Shop, as_staff: Signer
) -> None:
    TopUpBonusRule.objects.create(name="充1000送100", threshold=D("1000"), bonus=D("100"))
    _card(world, shop.zhang)
    client = as_staff(world.frontdesk)
    page = client.get(_url(shop.zhang)).content.decode()
    assert "充1000送100" in page  # the live preview knows the rules in force
    form = {
        "action": "top_up",
        "amount": "1,000",
        "method": "cash",
        "tendered": "1200",
        "idempotency_key": "form-1",
    }
    first = client.post(_url(shop.zhang), form, follow=True)
    assert first.status_code == 200
    text = first.content.decode()
    assert "Topped up ¥1,000.00, bonus ¥100.00." in text
    assert "Change due: ¥200.00." in text
    client.post(_url(shop.zhang), form)  # a double click, or the browser resending
    card = StoredValueAccount.objects.get(owner=shop.zhang)
    assert card.balance == D("1100.00")
    assert Payment.objects.filter(kind=Payment.Kind.TOP_UP).count() == 1


def test_a_refused_top_up_shows_why(world: World, shop: Shop, as_staff: Signer) -> None:
    _card(world, shop.zhang)
    response = as_staff(world.frontdesk).post(
        _url(shop.zhang), {"action": "top_up", "amount": "abc", "method": "cash"}
    )
    assert response.status_code == 400
    assert "Enter an amount such as 500 or 99.50." in response.content.decode()
    assert not StoredValueEntry.objects.exists()


def test_paying_out_needs_refund_approval(world: World, shop: Shop, as_staff: Signer) -> None:
    _card(world, shop.zhang, top_up="500")
    form = {"action": "pay_out", "amount": "200", "method": "cash", "reason": "搬家"}
    desk = as_staff(world.frontdesk)
    assert "Pay out (退卡/退款)" not in desk.get(_url(shop.zhang)).content.decode()
    assert desk.post(_url(shop.zhang), form).status_code == 403
    manager = as_staff(shop.manager)
    done = manager.post(_url(shop.zhang), form, follow=True)
    assert "Paid out ¥200.00; bonus forfeited ¥0.00." in done.content.decode()
    assert StoredValueAccount.objects.get(owner=shop.zhang).principal_balance == D("300.00")
    too_much = manager.post(_url(shop.zhang), {**form, "amount": "300.01"})
    assert too_much.status_code == 409
    assert "can be paid out" in too_much.content.decode()
    no_reason = manager.post(_url(shop.zhang), {**form, "reason": ""})
    assert no_reason.status_code == 400
    assert "Enter the reason for the pay-out." in no_reason.content.decode()


def test_sharing_and_freezing(world: World, shop: Shop, as_staff: Signer) -> None:
    family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=shop.zhang,
        relative=shop.li,
        relation=FamilyRelation.SPOUSE,
    )
    card = _card(world, shop.zhang, top_up="100")
    client = as_staff(world.frontdesk)
    client.post(_url(shop.zhang), {"action": "share"})
    assert StoredValueAccount.objects.get(pk=card.pk).shared_with_family
    relative = client.get(_url(shop.li)).content.decode()
    assert f"张三 shares card {card.number} with the family" in relative
    frozen = client.post(_url(shop.zhang), {"action": "frozen"}, follow=True).content.decode()
    assert "The card is frozen" in frozen
    assert StoredValueAccount.objects.get(pk=card.pk).status == "frozen"
    closing = client.post(_url(shop.zhang), {"action": "closed"}, follow=True).content.decode()
    assert "pay it out before closing the card" in closing
    assert StoredValueAccount.objects.get(pk=card.pk).status == "frozen"


def test_the_ledger_is_paginated_newest_first(world: World, shop: Shop, as_staff: Signer) -> None:
    card = _card(world, shop.zhang)
    for cents in range(1, 26):
        sv.stored_value_top_up(
            actor=world.frontdesk,
            clinic=world.clinic1,
            account=card,
            amount=D(cents) / 100,
            method="wechat",
        )
    client = as_staff(world.doctor)
    first = client.get(_url(shop.zhang)).content.decode()
    second = client.get(_url(shop.zhang), {"page": 2}).content.decode()
    assert "page 1 of 2" in first
    assert first.index(">0.25<") < first.index(">0.24<")
    assert ">0.01<" in second
    assert ">0.01<" not in first


def test_bonus_rules_page(world: World, shop: Shop, as_staff: Signer) -> None:
    empty = as_staff(world.frontdesk).get(RULES)
    assert empty.status_code == 200
    assert "No top-up bonus rules yet." in empty.content.decode()
    assert "New rule" not in empty.content.decode()
    assert (
        as_staff(world.frontdesk)
        .post(RULES, {"name": "x", "threshold": "100", "bonus": "10"})
        .status_code
        == 403
    )
    boss = as_staff(world.boss)
    created = boss.post(
        RULES, {"action": "create", "name": "充3000送400", "threshold": "3000", "bonus": "400"}
    )
    assert created.status_code == 302
    rule = TopUpBonusRule.objects.get()
    assert (rule.threshold, rule.bonus) == (D("3000.00"), D("400.00"))
    bad = boss.post(
        RULES,
        {
            "action": "create",
            "name": "",
            "threshold": "100",
            "bonus": "10",
            "starts_on": "2026-10-01",
            "ends_on": "2026-09-01",
        },
    )
    assert bad.status_code == 400
    assert "The end date is before the start date." in bad.content.decode()
    boss.post(RULES, {"action": "deactivate", "rule": rule.pk})
    assert not TopUpBonusRule.objects.get().is_active
    assert "Ended" in boss.get(RULES).content.decode()
