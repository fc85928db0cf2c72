"""Stored value under concurrency on PostgreSQL, with real threads: fifty cashiers spending
one card at once never take it below zero, racing retries of one top-up charge once, and
cards opened at the same moment get distinct numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import (
    Bill,
    Payment,
    PaymentMethod,
    StoredValueAccount,
    StoredValueEntry,
)
from chairside.billing.selectors.stored_value import ledger_totals
from chairside.billing.services import stored_value as sv
from chairside.billing.services.bills import bill_confirm, bill_create, bill_line_add
from chairside.billing.services.payments import Checkout, Tender, bill_pay
from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.billing.conftest import Shop
from tests.billing.test_stored_value import assert_ledger_matches
from tests.concurrency import run_concurrently
from tests.conftest import World

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

D = Decimal
THREADS = 50


def _bills(world: World, shop: Shop, count: int, amount: str) -> list[Bill]:
    bills = []
    for _ in range(count):
        bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=shop.zhang)
        bill_line_add(
            actor=world.frontdesk,
            clinic=world.clinic1,
            bill=bill,
            item=shop.filling,
            unit_price=D(amount),
        )
        bills.append(bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill))
    return bills


def _card_topped_up(world: World, shop: Shop) -> StoredValueAccount:
    """Zhang's new card, topped up with 1000 in cash (plus the bonus of any rule in force)."""
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
    return card


def _pay_all_at_once(
    world: World, card: StoredValueAccount, bills: list[Bill], amount: str
) -> list[Any]:
    """One cashier per bill pays `amount` of it with the card, all at the same moment."""

    def spend(i: int) -> Checkout:
        with tenant_scope(world.org, world.clinic1):
            return bill_pay(
                actor=world.frontdesk,
                clinic=world.clinic1,
                bill=bills[i],
                tenders=[
                    Tender(method=PaymentMethod.STORED_VALUE, amount=D(amount), account_id=card.pk)
                ],
            )

    return run_concurrently(spend, len(bills))


def test_fifty_concurrent_spends_never_take_the_card_below_zero(world: World, shop: Shop) -> None:
    with tenant_scope(world.org, world.clinic1):
        card = _card_topped_up(world, shop)
        bills = _bills(world, shop, THREADS, "30")

    results = _pay_all_at_once(world, card, bills, "30")

    paid = [r for r in results if isinstance(r, Checkout)]
    refused = [r for r in results if not isinstance(r, Checkout)]
    assert len(paid) == 33
    assert len(refused) == THREADS - 33
    assert all(
        isinstance(r, Conflict) and r.code == BillingErrorCode.INSUFFICIENT_BALANCE for r in refused
    ), refused
    with tenant_scope(world.org):
        card = StoredValueAccount.objects.get(pk=card.pk)
        assert (card.principal_balance, card.bonus_balance) == (D("10.00"), D("0.00"))
        assert ledger_totals(card).balance == D("10.00")
        assert StoredValueEntry.objects.filter(account=card, kind="spend").count() == 33
        # A refused spend leaves no payment behind: the cashier's rows match the card's.
        assert Payment.objects.filter(kind=Payment.Kind.BILL_PAYMENT).count() == 33
        assert Bill.objects.filter(arrears=0).count() == 33
        assert_ledger_matches(card)


def test_fifty_concurrent_spends_of_principal_and_bonus_keep_both_in_step(
    world: World, shop: Shop
) -> None:
    with tenant_scope(world.org, world.clinic1):
        sv.top_up_bonus_rule_create(
            actor=world.boss,
            clinic=world.clinic1,
            name="充1000送100",
            threshold=D("1000"),
            bonus=D("100"),
        )
        card = _card_topped_up(world, shop)
        bills = _bills(world, shop, THREADS, "23.45")

    results = _pay_all_at_once(world, card, bills, "23.45")

    paid = [r for r in results if isinstance(r, Checkout)]
    assert len(paid) == 46  # 46 x 23.45 = 1078.70 of 1100; a 47th would need 1102.15
    with tenant_scope(world.org):
        card = StoredValueAccount.objects.get(pk=card.pk)
        assert card.balance == D("21.30")
        assert_ledger_matches(card)


def test_racing_retries_of_one_top_up_charge_once(world: World, shop: Shop) -> None:
    with tenant_scope(world.org, world.clinic1):
        card = sv.stored_value_account_open(
            actor=world.frontdesk, clinic=world.clinic1, owner=shop.zhang
        )

    def top_up(i: int) -> StoredValueEntry:
        with tenant_scope(world.org, world.clinic1):
            return sv.stored_value_top_up(
                actor=world.frontdesk,
                clinic=world.clinic1,
                account=card,
                amount=D("500"),
                method="wechat",
                reference="WX-1",
                idempotency_key="top-up-1",
            )

    results = run_concurrently(top_up, 20)

    # Each retry waits for the first at the unique key, then gets its entry back.
    assert all(isinstance(r, StoredValueEntry) for r in results), results
    assert len({r.pk for r in results}) == 1
    with tenant_scope(world.org):
        assert Payment.objects.filter(kind=Payment.Kind.TOP_UP).count() == 1
        assert StoredValueAccount.objects.get(pk=card.pk).balance == D("500.00")


def test_cards_opened_at_the_same_moment_get_distinct_numbers(world: World) -> None:
    with tenant_scope(world.org, world.clinic1):
        patients: list[Patient] = [
            patient_create(actor=world.frontdesk, clinic=world.clinic1, name=f"患者{i}")
            for i in range(THREADS)
        ]

    def open_card(i: int) -> Any:
        with tenant_scope(world.org, world.clinic1):
            return sv.stored_value_account_open(
                actor=world.frontdesk, clinic=world.clinic1, owner=patients[i]
            )

    results = run_concurrently(open_card, THREADS)

    assert all(isinstance(r, StoredValueAccount) for r in results), results
    numbers = sorted(r.number for r in results)
    assert numbers == [f"SV{n:08d}" for n in range(1, THREADS + 1)]
