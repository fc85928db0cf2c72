"""The stored-value API: cards, their ledger, top-ups with idempotency keys, pay-outs,
sharing and status, bonus rules and the bonus preview; isolation of every operation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from chairside.billing.models import (
    Payment,
    StoredValueAccount,
    StoredValueEntry,
    TopUpBonusRule,
)
from chairside.billing.services import stored_value as sv
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import FamilyRelation
from chairside.patients.services import family_link
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.billing.conftest import Shop
from tests.conftest import World
from tests.core.test_api import is_error

D = Decimal
MISSING = 987654
MINE = ("/stored-value", "/top-up-bonus-rules")

TOP_UP = {"amount": "1000", "method": "cash", "tendered": "1000"}
STORED_VALUE_ENDPOINTS = [
    Endpoint("GET", "/top-up-bonus-rules"),
    Endpoint(
        "POST", "/top-up-bonus-rules", {"name": "充2000送200", "threshold": "2000", "bonus": "200"}
    ),
    Endpoint("PATCH", "/top-up-bonus-rules/{rule}", {"is_active": False}),
    Endpoint("GET", "/stored-value/bonus-preview?amount=1000"),
    Endpoint("GET", "/stored-value/accounts"),
    Endpoint("POST", "/stored-value/accounts", {"patient_id": "{patient}"}),
    Endpoint("GET", "/stored-value/accounts/{account}"),
    Endpoint("PATCH", "/stored-value/accounts/{account}", {"status": "frozen"}),
    Endpoint("GET", "/stored-value/accounts/{account}/entries"),
    Endpoint("POST", "/stored-value/accounts/{account}/top-ups", TOP_UP),
    Endpoint(
        "POST",
        "/stored-value/accounts/{account}/refunds",
        {"amount": "10", "method": "cash", "reason": "退卡"},
    ),
]
FOREIGN = [
    Endpoint("PATCH", "/top-up-bonus-rules/{rule}", {"is_active": False}),
    Endpoint("GET", "/stored-value/accounts?patient_id={patient}"),
    Endpoint("POST", "/stored-value/accounts", {"patient_id": "{patient}"}),
    Endpoint("GET", "/stored-value/accounts/{account}"),
    Endpoint("PATCH", "/stored-value/accounts/{account}", {"status": "frozen"}),
    Endpoint("GET", "/stored-value/accounts/{account}/entries"),
    Endpoint("POST", "/stored-value/accounts/{account}/top-ups", TOP_UP),
    Endpoint(
        "POST",
        "/stored-value/accounts/{account}/refunds",
        {"amount": "10", "method": "cash", "reason": "退卡"},
    ),
]


@dataclass
class Cards:
    rule: TopUpBonusRule
    card: StoredValueAccount  # 张三's: 1000 principal + 100 bonus

    def ids(self, shop: Shop) -> dict[str, int]:
        return {"rule": self.rule.pk, "account": self.card.pk, "patient": shop.li.pk}


@pytest.fixture
def cards(world: World, shop: Shop) -> Cards:
    with tenant_scope(world.org, world.clinic1):
        rule = sv.top_up_bonus_rule_create(
            actor=world.boss,
            clinic=world.clinic1,
            name="充1000送100",
            threshold=D("1000"),
            bonus=D("100"),
        )
        card = sv.stored_value_account_open(
            actor=world.frontdesk, clinic=world.clinic1, owner=shop.zhang
        )
        sv.stored_value_top_up(
            actor=world.frontdesk,
            clinic=world.clinic1,
            account=card,
            amount=D("1000"),
            method="cash",
        )
    return Cards(rule, card)


def _counts(world: World) -> tuple[int, ...]:
    with tenant_scope(world.org):
        return (
            StoredValueAccount.objects.count(),
            StoredValueEntry.objects.count(),
            Payment.objects.count(),
            TopUpBonusRule.objects.filter(is_active=True).count(),
            AuditEntry.objects.count(),
        )


def test_every_stored_value_operation_is_covered(db: None) -> None:
    documented = {
        op for op in documented_operations(tags={"billing"}) if op.split()[1].startswith(MINE)
    }
    assert documented == {e.shape.split("?")[0] for e in STORED_VALUE_ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_cards_rules_and_patients_are_404(
    world: World, shop: Shop, cards: Cards, endpoint: Endpoint
) -> None:
    before = _counts(world)
    api = ApiClient(world.boss_b)
    ids = cards.ids(shop)

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, dict.fromkeys(ids, MISSING))

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(world) == before


def test_another_organizations_lists_show_none_of_ours(
    world: World, shop: Shop, cards: Cards
) -> None:
    api = ApiClient(world.boss_b)
    assert api.get("/top-up-bonus-rules").json == []
    assert api.get("/stored-value/accounts").json["items"] == []
    assert api.get("/stored-value/accounts", q="SV").json["items"] == []
    assert api.get("/stored-value/bonus-preview", amount="1000").json["bonus"] == "0.00"


@pytest.mark.parametrize("endpoint", STORED_VALUE_ENDPOINTS, ids=str)
def test_front_desk_acting_in_another_clinic_is_refused(
    world: World, shop: Shop, cards: Cards, endpoint: Endpoint
) -> None:
    before = _counts(world)
    response = endpoint.call(ApiClient(world.frontdesk, clinic=world.clinic2), cards.ids(shop))
    assert response.status == 403
    assert is_error(response.json, "permission_denied")
    assert _counts(world) == before


def test_a_card_is_the_organizations_and_its_money_rows_carry_the_clinic(
    world: World, shop: Shop, cards: Cards
) -> None:
    """Opened at clinic 1, topped up by clinic 2's front desk at clinic 2."""
    api = ApiClient(shop.frontdesk2)
    seen = api.get(f"/stored-value/accounts/{cards.card.pk}")
    assert seen.status == 200
    assert (seen.json["principal_balance"], seen.json["bonus_balance"], seen.json["balance"]) == (
        "1000.00",
        "100.00",
        "1100.00",
    )
    topped = api.post(
        f"/stored-value/accounts/{cards.card.pk}/top-ups",
        {"amount": "200", "method": "cash", "tendered": "300"},
    )
    assert topped.status == 201, topped
    assert topped.json["entry"]["clinic_id"] == world.clinic2.pk
    assert topped.json["change"] == "100.00"
    assert topped.json["account"]["balance"] == "1300.00"
    with tenant_scope(world.org):
        payment = Payment.objects.get(pk=topped.json["entry"]["payment_id"])
        assert (payment.clinic, payment.received_by) == (world.clinic2, shop.frontdesk2)


def test_opening_and_searching_cards(world: World, shop: Shop, cards: Cards) -> None:
    api = ApiClient(world.frontdesk)
    opened = api.post("/stored-value/accounts", {"patient_id": shop.li.pk})
    assert opened.status == 201, opened
    assert opened.json["number"] == "SV00000002"
    assert opened.json["owner_name"] == "李四"
    again = api.post("/stored-value/accounts", {"patient_id": shop.li.pk})
    assert again.status == 409
    assert is_error(again.json, "card_exists")
    by_number = api.get("/stored-value/accounts", q="SV00000001")
    assert [c["owner_name"] for c in by_number.json["items"]] == ["张三"]
    by_pinyin = api.get("/stored-value/accounts", q="ls")
    assert [c["number"] for c in by_pinyin.json["items"]] == ["SV00000002"]
    mine = api.get("/stored-value/accounts", patient_id=shop.zhang.pk)
    assert [c["number"] for c in mine.json["items"]] == ["SV00000001"]


def test_top_ups_with_an_idempotency_key_charge_once(
    world: World, shop: Shop, cards: Cards
) -> None:
    api = ApiClient(world.frontdesk)
    api.headers["Idempotency-Key"] = "pos-42"
    url = f"/stored-value/accounts/{cards.card.pk}/top-ups"
    body = {"amount": "3000", "method": "alipay", "reference": "ALI-1"}
    first = api.post(url, body)
    again = api.post(url, body)
    assert first.status == again.status == 201
    assert first.json["entry"]["id"] == again.json["entry"]["id"]
    assert first.json["entry"]["bonus_delta"] == "100.00"
    assert first.json["entry"]["method"] == "alipay"
    assert again.json["account"]["balance"] == "4200.00"
    other = api.post(url, {**body, "amount": "3001"})
    assert other.status == 409
    assert is_error(other.json, "idempotency_mismatch")
    with tenant_scope(world.org):
        assert Payment.objects.filter(kind=Payment.Kind.TOP_UP).count() == 2  # fixture + one


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "0", "method": "cash"},
        {"amount": "10.001", "method": "cash"},
        {"amount": "10", "method": "stored_value"},
        {"amount": "10", "method": "insurance"},
        {"amount": "10", "method": "wechat", "tendered": "20"},
    ],
)
def test_bad_top_ups_are_400(world: World, shop: Shop, cards: Cards, body: dict[str, str]) -> None:
    before = _counts(world)
    response = ApiClient(world.frontdesk).post(
        f"/stored-value/accounts/{cards.card.pk}/top-ups", body
    )
    assert response.status == 400, response
    assert _counts(world) == before


def test_pay_outs_need_refund_approval_and_forfeit_bonus(
    world: World, shop: Shop, cards: Cards
) -> None:
    url = f"/stored-value/accounts/{cards.card.pk}/refunds"
    body = {"amount": "500", "method": "cash", "reason": "搬家"}
    refused = ApiClient(world.frontdesk).post(url, body)
    assert refused.status == 403
    paid = ApiClient(shop.manager).post(url, body)
    assert paid.status == 201, paid
    assert paid.json["forfeited_bonus"] == "50.00"
    assert paid.json["entry"]["principal_delta"] == "-500.00"
    assert paid.json["account"]["balance"] == "550.00"
    too_much = ApiClient(shop.manager).post(url, {**body, "amount": "500.01"})
    assert too_much.status == 409
    assert is_error(too_much.json, "insufficient_balance")


def test_entries_newest_first_and_paginated(world: World, shop: Shop, cards: Cards) -> None:
    with tenant_scope(world.org, world.clinic1):
        for amount in ("1", "2", "3"):
            sv.stored_value_top_up(
                actor=world.frontdesk,
                clinic=world.clinic1,
                account=cards.card,
                amount=D(amount),
                method="wechat",
            )
    page = ApiClient(world.doctor).get(
        f"/stored-value/accounts/{cards.card.pk}/entries", page_size=2
    )
    assert page.status == 200
    assert (page.json["total"], page.json["pages"]) == (4, 2)
    assert [e["principal_delta"] for e in page.json["items"]] == ["3.00", "2.00"]
    assert page.json["items"][0]["principal_after"] == "1006.00"
    assert page.json["items"][0]["kind_label"] == "Top-up"


def test_sharing_and_status(world: World, shop: Shop, cards: Cards) -> None:
    api = ApiClient(world.frontdesk)
    url = f"/stored-value/accounts/{cards.card.pk}"
    lonely = api.patch(url, {"shared_with_family": True})
    assert lonely.status == 400
    assert "shared_with_family" in lonely.json["fields"]
    with tenant_scope(world.org, world.clinic1):
        family_link(
            actor=world.boss,
            clinic=world.clinic1,
            patient=shop.zhang,
            relative=shop.li,
            relation=FamilyRelation.SPOUSE,
        )
    shared = api.patch(url, {"shared_with_family": True})
    assert shared.status == 200
    assert shared.json["shared_with_family"] is True
    usable = api.get("/stored-value/accounts", patient_id=shop.li.pk)
    assert [c["id"] for c in usable.json["items"]] == [cards.card.pk]
    frozen = api.patch(url, {"status": "frozen"})
    assert frozen.json["status"] == "frozen"
    assert frozen.json["status_label"] == "Frozen"
    top_up = api.post(f"{url}/top-ups", {"amount": "1", "method": "cash"})
    assert top_up.status == 409
    assert is_error(top_up.json, "card_not_active")
    closing = api.patch(url, {"status": "closed"})
    assert closing.status == 409
    assert api.patch(url, {"status": "active"}).json["status"] == "active"
    assert ApiClient(world.doctor).patch(url, {"status": "frozen"}).status == 403


def test_bonus_rules_and_the_preview(world: World, shop: Shop, cards: Cards) -> None:
    boss = ApiClient(world.boss)
    created = boss.post(
        "/top-up-bonus-rules",
        {"name": "充5000送800", "threshold": "5000", "bonus": "800", "starts_on": "2026-09-01"},
    )
    assert created.status == 201, created
    assert created.json["threshold"] == "5000.00"
    bad = boss.post("/top-up-bonus-rules", {"name": "送太多", "threshold": "100", "bonus": "200"})
    assert bad.status == 400
    assert "bonus" in bad.json["fields"]
    assert (
        ApiClient(world.frontdesk)
        .post("/top-up-bonus-rules", {"name": "x", "threshold": "100", "bonus": "10"})
        .status
        == 403
    )
    front = ApiClient(world.frontdesk)
    preview = front.get("/stored-value/bonus-preview", amount="6000")
    assert preview.json == {
        "amount": "6000.00",
        "bonus": "800.00",
        "total": "6800.00",
        "rule_id": created.json["id"],
        "rule_name": "充5000送800",
    }
    assert front.get("/stored-value/bonus-preview", amount="999").json["rule_id"] is None
    ended = boss.patch(f"/top-up-bonus-rules/{created.json['id']}", {"is_active": False})
    assert ended.status == 200
    assert ended.json["is_active"] is False
    assert front.get("/stored-value/bonus-preview", amount="6000").json["bonus"] == "100.00"
    rules = front.get("/top-up-bonus-rules").json
    assert [(r["name"], r["is_active"]) for r in rules] == [
        ("充1000送100", True),
        ("充5000送800", False),
    ]
