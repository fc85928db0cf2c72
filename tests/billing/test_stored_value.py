"""Stored-value cards: opening, top-ups with bonus rules, spending and returns through the
cashier's bill payment and refund, pay-outs, sharing, status, and the ledger invariant
(balances == sums of the entries == the last entry's after-values, never negative)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chairside.billing.errors import BillingErrorCode
from chairside.billing.models import (
    Bill,
    CheckoutRequest,
    Payment,
    PaymentMethod,
    StoredValueAccount,
    StoredValueEntry,
    TopUpBonusRule,
)
from chairside.billing.selectors.stored_value import (
    bonus_preview,
    ledger_totals,
    stored_value_account_list,
    stored_value_cards_usable_by,
)
from chairside.billing.services import stored_value as sv
from chairside.billing.services.bills import bill_confirm, bill_create, bill_line_add
from chairside.billing.services.ledger import payment_record
from chairside.billing.services.payments import Tender, bill_pay
from chairside.billing.services.refunds import refund_request
from chairside.core.errors import Conflict, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.patients.models import FamilyRelation, Patient
from chairside.patients.services import family_link
from tests.billing.conftest import Shop
from tests.conftest import World

D = Decimal
pytestmark = pytest.mark.usefixtures("in_clinic1")


def _rules(*specs: tuple[str, str, str]) -> list[TopUpBonusRule]:
    return [
        TopUpBonusRule.objects.create(name=name, threshold=D(t), bonus=D(b)) for name, t, b in specs
    ]


def _standard_rules() -> list[TopUpBonusRule]:
    return _rules(("充1000送100", "1000", "100"), ("充3000送400", "3000", "400"))


def _card(world: World, owner: Patient, *, shared: bool = False) -> StoredValueAccount:
    return sv.stored_value_account_open(
        actor=world.frontdesk, clinic=world.clinic1, owner=owner, shared_with_family=shared
    )


def _top_up(
    world: World, account: StoredValueAccount, amount: str, **kw: object
) -> StoredValueEntry:
    kw.setdefault("method", PaymentMethod.CASH)
    return sv.stored_value_top_up(
        actor=world.frontdesk,
        clinic=world.clinic1,
        account=account,
        amount=D(amount),
        **kw,  # type: ignore[arg-type]
    )


def _confirmed_bill(world: World, shop: Shop, patient: Patient, amount: str) -> Bill:
    bill = bill_create(actor=world.frontdesk, clinic=world.clinic1, patient=patient)
    bill_line_add(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        item=shop.filling,
        unit_price=D(amount),
    )
    return bill_confirm(actor=world.frontdesk, clinic=world.clinic1, bill=bill)


def _pay_by_card(
    world: World, shop: Shop, patient: Patient, account: StoredValueAccount, amount: str
) -> Bill:
    """A bill of `amount` for `patient`, paid with the card at the cashier (bill_pay)."""
    bill = _confirmed_bill(world, shop, patient, amount)
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[
            Tender(method=PaymentMethod.STORED_VALUE, amount=D(amount), account_id=account.pk)
        ],
    )
    return bill


def _fresh(account: StoredValueAccount) -> StoredValueAccount:
    return StoredValueAccount.objects.get(pk=account.pk)


def assert_ledger_matches(account: StoredValueAccount) -> None:
    account = _fresh(account)
    totals = ledger_totals(account)
    assert (totals.principal, totals.bonus) == (account.principal_balance, account.bonus_balance)
    last = StoredValueEntry.objects.filter(account=account).order_by("-id").first()
    if last is not None:
        assert (last.principal_after, last.bonus_after) == (
            account.principal_balance,
            account.bonus_balance,
        )
    running_p = running_b = D("0.00")
    for entry in StoredValueEntry.objects.filter(account=account).order_by("id"):
        running_p += entry.principal_delta
        running_b += entry.bonus_delta
        assert (entry.principal_after, entry.bonus_after) == (running_p, running_b)
        assert running_p >= 0
        assert running_b >= 0


# --- opening --------------------------------------------------------------------------


def test_cards_are_numbered_in_sequence_and_one_per_patient(world: World, shop: Shop) -> None:
    first = _card(world, shop.zhang)
    second = _card(world, shop.li)
    assert (first.number, second.number) == ("SV00000001", "SV00000002")
    assert first.opened_at_clinic == world.clinic1
    assert first.balance == 0
    with pytest.raises(Conflict) as e:
        _card(world, shop.zhang)
    assert e.value.code == BillingErrorCode.CARD_EXISTS
    assert "SV00000001" in str(e.value.message)
    assert AuditEntry.objects.filter(
        entity_type="billing.storedvalueaccount", entity_id=str(first.pk), action="create"
    ).exists()


def test_the_database_refuses_a_second_card_for_a_patient(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredValueAccount.objects.create(
            owner=shop.zhang, number="SV99999999", opened_at_clinic=world.clinic1
        )
    assert StoredValueAccount.objects.filter(owner=shop.zhang).get() == card


def test_a_card_shared_with_the_family_needs_a_family(world: World, shop: Shop) -> None:
    with pytest.raises(ValidationFailed) as e:
        _card(world, shop.zhang, shared=True)
    assert "shared_with_family" in e.value.fields
    family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=shop.zhang,
        relative=shop.li,
        relation=FamilyRelation.SPOUSE,
    )
    shop.zhang.refresh_from_db()
    assert _card(world, shop.zhang, shared=True).shared_with_family


# --- top-ups and bonus rules ----------------------------------------------------------


def test_a_top_up_is_a_counter_payment_and_a_ledger_entry(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    entry = _top_up(world, card, "500", reference="T-1", tendered=D("600"))
    assert (entry.kind, entry.principal_delta, entry.bonus_delta) == ("top_up", D("500"), 0)
    assert (entry.principal_after, entry.bonus_after) == (D("500"), 0)
    payment = entry.payment
    assert payment is not None
    assert (payment.kind, payment.method, payment.amount, payment.tendered) == (
        Payment.Kind.TOP_UP,
        "cash",
        D("500.00"),
        D("600.00"),
    )
    assert (payment.clinic, payment.patient, payment.bill) == (world.clinic1, shop.zhang, None)
    assert payment.business_date == date(2026, 9, 14)
    assert _fresh(card).principal_balance == D("500")
    assert AuditEntry.objects.filter(
        entity_type="billing.storedvalueentry", entity_id=str(entry.pk)
    ).exists()


@pytest.mark.parametrize(
    ("amount", "bonus"),
    [("999.99", "0"), ("1000", "100"), ("2999", "100"), ("3000", "400"), ("20000", "400")],
)
def test_the_best_rule_the_amount_reaches_gives_the_bonus(
    world: World, shop: Shop, amount: str, bonus: str
) -> None:
    _standard_rules()
    card = _card(world, shop.zhang)
    entry = _top_up(world, card, amount)
    assert (entry.principal_delta, entry.bonus_delta) == (D(amount), D(bonus))
    assert _fresh(card).balance == D(amount) + D(bonus)
    assert bonus_preview(clinic=world.clinic1, amount=D(amount)).bonus == D(bonus)


def test_rules_out_of_their_dates_or_inactive_give_nothing(world: World, shop: Shop) -> None:
    TopUpBonusRule.objects.create(
        name="国庆", threshold=D("500"), bonus=D("200"), starts_on=date(2026, 10, 1)
    )
    TopUpBonusRule.objects.create(
        name="暑期", threshold=D("500"), bonus=D("150"), ends_on=date(2026, 8, 31)
    )
    TopUpBonusRule.objects.create(name="停用", threshold=D("500"), bonus=D("300"), is_active=False)
    TopUpBonusRule.objects.create(
        name="九月",
        threshold=D("500"),
        bonus=D("50"),
        starts_on=date(2026, 9, 1),
        ends_on=date(2026, 9, 14),
    )
    card = _card(world, shop.zhang)
    entry = _top_up(world, card, "800")
    assert entry.bonus_delta == D("50")
    assert entry.bonus_rule is not None
    assert entry.bonus_rule.name == "九月"


@pytest.mark.parametrize(
    ("amount", "method", "tendered", "field"),
    [
        ("0", "cash", None, "amount"),
        ("-5", "cash", None, "amount"),
        ("100", "stored_value", None, "method"),
        ("100", "insurance", None, "method"),
        ("100", "bitcoin", None, "method"),
        ("100", "wechat", "200", "tendered"),
        ("100", "cash", "50", "tendered"),
    ],
)
def test_top_up_input_is_checked(
    world: World, shop: Shop, amount: str, method: str, tendered: str | None, field: str
) -> None:
    card = _card(world, shop.zhang)
    with pytest.raises(ValidationFailed) as e:
        _top_up(world, card, amount, method=method, tendered=tendered)
    assert field in e.value.fields
    assert not Payment.objects.exists()


def test_a_retried_top_up_with_the_same_key_takes_money_once(world: World, shop: Shop) -> None:
    _standard_rules()
    card = _card(world, shop.zhang)
    first = _top_up(world, card, "1000", method="wechat", reference="W1", idempotency_key="k-1")
    again = _top_up(world, card, "1000", method="wechat", reference="W1", idempotency_key="k-1")
    assert again.pk == first.pk
    assert Payment.objects.filter(kind=Payment.Kind.TOP_UP).count() == 1
    assert _fresh(card).balance == D("1100")
    request = CheckoutRequest.objects.get(key="k-1")
    assert request.bill is None
    assert first.payment is not None
    assert first.payment.checkout == request
    with pytest.raises(Conflict) as e:
        _top_up(world, card, "2000", method="wechat", reference="W1", idempotency_key="k-1")
    assert e.value.code == BillingErrorCode.IDEMPOTENCY_MISMATCH
    assert _fresh(card).balance == D("1100")


def test_a_failed_top_up_does_not_use_up_its_key(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    sv.stored_value_set_status(
        actor=world.frontdesk, clinic=world.clinic1, account=card, status="frozen"
    )
    with pytest.raises(Conflict) as e:
        _top_up(world, card, "100", idempotency_key="k-2")
    assert e.value.code == BillingErrorCode.CARD_NOT_ACTIVE
    assert not CheckoutRequest.objects.filter(key="k-2").exists()
    sv.stored_value_set_status(
        actor=world.frontdesk, clinic=world.clinic1, account=card, status="active"
    )
    assert _top_up(world, card, "100", idempotency_key="k-2").principal_delta == D("100")


# --- spending and returns -------------------------------------------------------------


def test_a_spend_splits_between_principal_and_bonus_in_proportion(world: World, shop: Shop) -> None:
    _standard_rules()
    card = _card(world, shop.zhang)
    _top_up(world, card, "1000")  # 1000 + 100 bonus
    bill = _pay_by_card(world, shop, shop.zhang, card, "550")
    entry = StoredValueEntry.objects.get(kind="spend")
    assert (entry.principal_delta, entry.bonus_delta) == (D("-500"), D("-50"))
    assert (entry.principal_after, entry.bonus_after) == (D("500"), D("50"))
    assert entry.payment is not None
    assert entry.payment.bill == bill
    assert entry.patient == shop.zhang
    assert entry.clinic == world.clinic1
    bill.refresh_from_db()
    assert (bill.paid_total, bill.arrears) == (D("550"), 0)
    assert_ledger_matches(card)


def test_odd_amounts_split_to_the_fen(world: World, shop: Shop) -> None:
    _rules(("三送一", "300", "100"))
    card = _card(world, shop.zhang)
    _top_up(world, card, "300")  # 300 + 100
    _pay_by_card(world, shop, shop.zhang, card, "0.03")
    entry = StoredValueEntry.objects.get(kind="spend")
    assert entry.principal_delta + entry.bonus_delta == D("-0.03")
    assert entry.principal_delta == D("-0.02")
    assert_ledger_matches(card)


def test_spending_more_than_the_balance_is_refused_with_what_is_left(
    world: World, shop: Shop
) -> None:
    card = _card(world, shop.zhang)
    _top_up(world, card, "100")
    with pytest.raises(Conflict) as e:
        _pay_by_card(world, shop, shop.zhang, card, "100.01")
    assert e.value.code == BillingErrorCode.INSUFFICIENT_BALANCE
    assert "¥100.00" in str(e.value.message)
    assert not StoredValueEntry.objects.filter(kind="spend").exists()
    assert not Payment.objects.filter(kind=Payment.Kind.BILL_PAYMENT).exists()
    _pay_by_card(world, shop, shop.zhang, card, "100")
    assert _fresh(card).balance == 0
    assert_ledger_matches(card)


def test_family_members_spend_only_a_shared_card(world: World, shop: Shop) -> None:
    family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=shop.zhang,
        relative=shop.li,
        relation=FamilyRelation.CHILD,
    )
    shop.zhang.refresh_from_db()
    shop.li.refresh_from_db()
    card = _card(world, shop.zhang)
    _top_up(world, card, "500")
    with pytest.raises(Conflict) as e:
        _pay_by_card(world, shop, shop.li, card, "50")
    assert e.value.code == BillingErrorCode.CARD_NOT_USABLE
    assert stored_value_cards_usable_by(patient=shop.li) == []
    sv.stored_value_set_sharing(
        actor=world.frontdesk, clinic=world.clinic1, account=card, shared_with_family=True
    )
    assert stored_value_cards_usable_by(patient=shop.li) == [card]
    assert list(stored_value_account_list(patient=shop.li)) == [card]
    _pay_by_card(world, shop, shop.li, card, "50")
    spend = StoredValueEntry.objects.get(kind="spend")
    assert spend.patient == shop.li
    # 王五 is not in the family.
    with pytest.raises(Conflict) as e:
        _pay_by_card(world, shop, shop.wang, card, "50")
    assert e.value.code == BillingErrorCode.CARD_NOT_USABLE
    assert _fresh(card).balance == D("450")


def test_a_frozen_card_cannot_be_spent(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    _top_up(world, card, "100")
    sv.stored_value_set_status(
        actor=world.frontdesk, clinic=world.clinic1, account=card, status="frozen"
    )
    with pytest.raises(Conflict) as e:
        _pay_by_card(world, shop, shop.zhang, card, "10")
    assert e.value.code == BillingErrorCode.CARD_NOT_ACTIVE
    assert _fresh(card).balance == D("100")


def test_a_bill_refund_puts_money_back_in_the_proportion_spent(world: World, shop: Shop) -> None:
    _standard_rules()
    card = _card(world, shop.zhang)
    _top_up(world, card, "1000")  # 1000 + 100
    bill = _pay_by_card(world, shop, shop.zhang, card, "550")  # -500 / -50
    _top_up(world, card, "100")  # proportions on the card change; the return's must not
    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method=PaymentMethod.STORED_VALUE,
        amount=D("110"),
        reason="部分退款",
        can_approve=True,
    )
    back = StoredValueEntry.objects.get(kind="return")
    assert (back.principal_delta, back.bonus_delta) == (D("100"), D("10"))
    assert back.payment is not None
    assert back.payment.amount == D("-110")
    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method=PaymentMethod.STORED_VALUE,
        amount=D("440"),
        reason="全部退款",
        can_approve=True,
    )
    card = _fresh(card)
    assert (card.principal_balance, card.bonus_balance) == (D("1100"), D("100"))
    assert_ledger_matches(card)


def test_a_return_never_exceeds_what_the_bill_spent_from_the_card(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    _top_up(world, card, "300")
    bill = _pay_by_card(world, shop, shop.zhang, card, "200")
    first = payment_record(
        clinic=world.clinic1,
        patient=shop.zhang,
        kind=Payment.Kind.BILL_REFUND,
        method=PaymentMethod.STORED_VALUE,
        amount=D("-150"),
        received_by=shop.manager,
        bill=bill,
    )
    sv.stored_value_return(
        actor=shop.manager, clinic=world.clinic1, bill=bill, amount=D("150"), payment=first
    )
    second = payment_record(
        clinic=world.clinic1,
        patient=shop.zhang,
        kind=Payment.Kind.BILL_REFUND,
        method=PaymentMethod.STORED_VALUE,
        amount=D("-50.01"),
        received_by=shop.manager,
        bill=bill,
    )
    with pytest.raises(Conflict) as e:
        sv.stored_value_return(
            actor=shop.manager, clinic=world.clinic1, bill=bill, amount=D("50.01"), payment=second
        )
    assert "¥50.00" in str(e.value.message)
    assert _fresh(card).balance == D("250")


def test_a_return_to_a_bill_paid_by_two_cards_goes_back_to_both(world: World, shop: Shop) -> None:
    family_link(
        actor=world.boss,
        clinic=world.clinic1,
        patient=shop.zhang,
        relative=shop.li,
        relation=FamilyRelation.CHILD,
    )
    shop.li.refresh_from_db()
    own = _card(world, shop.li)
    parents = _card(world, shop.zhang, shared=True)
    _top_up(world, own, "100")
    _top_up(world, parents, "1000")
    bill = _confirmed_bill(world, shop, shop.li, "400")
    bill_pay(
        actor=world.frontdesk,
        clinic=world.clinic1,
        bill=bill,
        tenders=[
            Tender(method=PaymentMethod.STORED_VALUE, amount=D("100"), account_id=own.pk),
            Tender(method=PaymentMethod.STORED_VALUE, amount=D("300"), account_id=parents.pk),
        ],
    )
    refund_request(
        actor=shop.manager,
        clinic=world.clinic1,
        bill=bill,
        method=PaymentMethod.STORED_VALUE,
        amount=D("400"),
        reason="整单退",
        can_approve=True,
    )
    assert _fresh(own).balance == D("100")
    assert _fresh(parents).balance == D("1000")
    assert_ledger_matches(own)
    assert_ledger_matches(parents)


# --- pay-outs -------------------------------------------------------------------------


def test_a_pay_out_returns_principal_and_forfeits_bonus_in_proportion(
    world: World, shop: Shop
) -> None:
    _standard_rules()
    card = _card(world, shop.zhang)
    _top_up(world, card, "1000")  # 1000 + 100
    entry = sv.stored_value_refund(
        actor=shop.manager,
        clinic=world.clinic1,
        account=card,
        amount=D("400"),
        method=PaymentMethod.WECHAT,
        reason="搬家",
    )
    assert (entry.kind, entry.principal_delta, entry.bonus_delta) == (
        "refund",
        D("-400"),
        D("-40"),
    )
    payment = entry.payment
    assert payment is not None
    assert (payment.kind, payment.method, payment.amount, payment.bill) == (
        Payment.Kind.TOP_UP_REFUND,
        "wechat",
        D("-400"),
        None,
    )
    with pytest.raises(Conflict) as e:
        sv.stored_value_refund(
            actor=shop.manager,
            clinic=world.clinic1,
            account=card,
            amount=D("600.01"),
            method=PaymentMethod.CASH,
            reason="退卡",
        )
    assert e.value.code == BillingErrorCode.INSUFFICIENT_BALANCE
    last = sv.stored_value_refund(
        actor=shop.manager,
        clinic=world.clinic1,
        account=card,
        amount=D("600"),
        method=PaymentMethod.CASH,
        reason="退卡",
    )
    assert last.bonus_delta == D("-60")
    card = _fresh(card)
    assert card.balance == 0
    assert_ledger_matches(card)
    closed = sv.stored_value_set_status(
        actor=shop.manager, clinic=world.clinic1, account=card, status="closed"
    )
    assert closed.status == "closed"


def test_a_pay_out_needs_a_reason_and_a_counter_method(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    _top_up(world, card, "100")
    with pytest.raises(ValidationFailed) as e:
        sv.stored_value_refund(
            actor=shop.manager,
            clinic=world.clinic1,
            account=card,
            amount=D("1"),
            method="cash",
            reason="  ",
        )
    assert "reason" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        sv.stored_value_refund(
            actor=shop.manager,
            clinic=world.clinic1,
            account=card,
            amount=D("1"),
            method="stored_value",
            reason="x",
        )
    assert "method" in e.value.fields


@pytest.mark.parametrize(
    ("principal", "bonus", "paid_out", "forfeit"),
    [
        ("1000", "100", "400", "40"),
        ("1000", "100", "1000", "100"),
        ("333", "10", "100", "3.00"),
        ("3", "1", "1", "0.33"),
        ("500", "0", "100", "0"),
    ],
)
def test_forfeited_bonus_rule(principal: str, bonus: str, paid_out: str, forfeit: str) -> None:
    assert sv.forfeited_bonus(principal=D(principal), bonus=D(bonus), paid_out=D(paid_out)) == D(
        forfeit
    )


# --- status ---------------------------------------------------------------------------


def test_a_card_closes_only_at_zero_and_a_closed_card_takes_nothing(
    world: World, shop: Shop
) -> None:
    card = _card(world, shop.zhang)
    _top_up(world, card, "10")
    with pytest.raises(Conflict) as e:
        sv.stored_value_set_status(
            actor=world.frontdesk, clinic=world.clinic1, account=card, status="closed"
        )
    assert "¥10.00" in str(e.value.message)
    _pay_by_card(world, shop, shop.zhang, card, "10")
    sv.stored_value_set_status(
        actor=world.frontdesk, clinic=world.clinic1, account=card, status="closed"
    )
    with pytest.raises(Conflict):
        _top_up(world, card, "10")
    with pytest.raises(Conflict):
        sv.stored_value_set_status(
            actor=world.frontdesk, clinic=world.clinic1, account=card, status="frozen"
        )
    sv.stored_value_set_status(
        actor=world.frontdesk, clinic=world.clinic1, account=card, status="active"
    )
    assert _top_up(world, card, "10").principal_after == D("10")
    changes = AuditEntry.objects.filter(
        entity_type="billing.storedvalueaccount", entity_id=str(card.pk), action="update"
    )
    assert [c.after for c in changes.order_by("id")] == [
        {"status": "closed"},
        {"status": "active"},
    ]


def test_the_database_refuses_a_negative_balance(world: World, shop: Shop) -> None:
    card = _card(world, shop.zhang)
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredValueAccount.objects.filter(pk=card.pk).update(principal_balance=D("-0.01"))


# --- the invariant under mixed operations ---------------------------------------------

_OPERATION = st.one_of(
    st.tuples(st.just("top_up"), st.integers(min_value=1, max_value=600_000)),
    st.tuples(st.just("spend"), st.integers(min_value=1, max_value=300_000)),
    st.tuples(st.just("return"), st.integers(min_value=1, max_value=300_000)),
    st.tuples(st.just("pay_out"), st.integers(min_value=1, max_value=300_000)),
)


@settings(
    max_examples=25,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(_OPERATION, min_size=1, max_size=12))
def test_balances_always_equal_the_ledger_and_never_go_negative(
    world: World, shop: Shop, operations: list[tuple[str, int]]
) -> None:
    """Random top-ups (some with bonus), spends, returns and pay-outs, amounts in fen:
    whatever is refused changes nothing, and the card always equals its ledger."""
    with transaction.atomic():
        _rules(("一", "1000", "100"), ("三", "3000", "450"))
        card = _card(world, shop.zhang)
        bill = _confirmed_bill(world, shop, shop.zhang, "9999999")
        for kind, cents in operations:
            amount = D(cents) / 100
            try:
                with transaction.atomic():
                    _apply(world, shop, card, bill, kind, amount)
            except (Conflict, ValidationFailed):
                pass
            assert_ledger_matches(card)
        transaction.set_rollback(True)


def _apply(
    world: World, shop: Shop, card: StoredValueAccount, bill: Bill, kind: str, amount: Decimal
) -> None:
    actor: Staff = shop.manager
    clinic: Clinic = world.clinic1
    if kind == "top_up":
        _top_up(world, card, str(amount))
    elif kind == "spend":
        payment = payment_record(
            clinic=clinic,
            patient=shop.zhang,
            kind=Payment.Kind.BILL_PAYMENT,
            method=PaymentMethod.STORED_VALUE,
            amount=amount,
            received_by=actor,
            bill=bill,
        )
        sv.stored_value_spend(
            actor=actor,
            clinic=clinic,
            account=card,
            patient=shop.zhang,
            amount=amount,
            payment=payment,
        )
    elif kind == "return":
        if not StoredValueEntry.objects.filter(account=card, kind="spend").exists():
            return
        payment = payment_record(
            clinic=clinic,
            patient=shop.zhang,
            kind=Payment.Kind.BILL_REFUND,
            method=PaymentMethod.STORED_VALUE,
            amount=-amount,
            received_by=actor,
            bill=bill,
        )
        sv.stored_value_return(
            actor=actor, clinic=clinic, bill=bill, amount=amount, payment=payment
        )
    else:
        sv.stored_value_refund(
            actor=actor, clinic=clinic, account=card, amount=amount, method="cash", reason="退"
        )
