"""Money: half-up rounding to the fen, exact arithmetic, allocation that never loses a fen."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chairside.core.errors import ErrorCode, ValidationFailed
from chairside.core.money import Money, quantize_money

LIMIT = Decimal("1000000000")  # a billion yuan is far beyond any clinic's bill

raw_amounts = st.decimals(
    min_value=-LIMIT, max_value=LIMIT, places=4, allow_nan=False, allow_infinity=False
)
amounts = st.decimals(
    min_value=-LIMIT, max_value=LIMIT, places=2, allow_nan=False, allow_infinity=False
)
monies = amounts.map(Money)
weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=1000),
        st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(ws) > 0)


# --- quantize_money ---------------------------------------------------------------------


@given(raw_amounts)
def test_quantize_is_idempotent_and_lands_on_the_fen(value: Decimal) -> None:
    # when
    once = quantize_money(value)
    # then
    assert quantize_money(once) == once
    assert once.as_tuple().exponent == -2
    assert abs(once - value) <= Decimal("0.005")


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_exact_half_fen_rounds_away_from_zero(cents: int) -> None:
    # given an amount exactly halfway between two fen
    value = Decimal(cents) / 100 + (Decimal("0.005") if cents >= 0 else Decimal("-0.005"))
    # when
    rounded = quantize_money(value)
    # then it moves one fen further from zero (half-up), never to the even neighbour
    step = Decimal("0.01") if cents >= 0 else Decimal("-0.01")
    assert rounded == Decimal(cents) / 100 + step


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),
        ("0.004", "0.00"),
        ("2.675", "2.68"),  # 2.675 as a float is 2.67499..., the reason floats are banned
        ("-1.005", "-1.01"),
        ("-0.004", "0.00"),
        (7, "7.00"),
        (Decimal("1E+3"), "1000.00"),
    ],
)
def test_quantize_examples(value: Decimal | int | str, expected: str) -> None:
    assert str(quantize_money(value)) == expected


@pytest.mark.parametrize("value", [0.1, 1.5, 0.0, True])
def test_floats_and_bools_are_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        quantize_money(value)
    with pytest.raises(TypeError):
        Money(value)


@pytest.mark.parametrize("value", ["abc", "", "1.2.3", "NaN", "Infinity", Decimal("NaN")])
def test_non_numbers_are_invalid_money(value: Decimal | str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Money(value)
    assert caught.value.code == ErrorCode.INVALID_MONEY


def test_negative_zero_is_plain_zero() -> None:
    # when
    money = Money("-0.001")
    # then
    assert money == Money.zero()
    assert not money.amount.is_signed()
    assert str(money) == "¥0.00"


# --- construction and identity ----------------------------------------------------------


def test_equal_amounts_are_equal_and_hash_alike() -> None:
    assert Money(1) == Money("1.00") == Money(Decimal("1.0"))
    assert hash(Money(1)) == hash(Money("1.00"))
    assert Money(1).currency == "CNY"


def test_money_is_immutable() -> None:
    money = Money(1)
    with pytest.raises(FrozenInstanceError):
        money.amount = Decimal(2)  # type: ignore[misc]


# --- arithmetic -------------------------------------------------------------------------


@given(monies, monies)
def test_adding_then_subtracting_gives_back_the_original(a: Money, b: Money) -> None:
    assert a + b - b == a
    assert a + b == b + a


@given(monies, monies, monies)
def test_addition_is_associative(a: Money, b: Money, c: Money) -> None:
    assert (a + b) + c == a + (b + c)


@given(monies)
def test_negation(a: Money) -> None:
    negated = -a
    assert -negated == a
    assert a + (-a) == Money.zero()
    assert (-a).is_negative == (a.amount > 0)


@given(monies, st.integers(min_value=-1000, max_value=1000))
def test_multiplying_by_an_integer_is_repeated_addition(a: Money, n: int) -> None:
    # given
    total = Money.zero()
    for _ in range(abs(n)):
        total += a
    expected = total if n >= 0 else -total
    # then
    assert a * n == expected
    assert n * a == expected


@given(monies, st.decimals(min_value=-100, max_value=100, places=4, allow_nan=False))
def test_multiplying_by_a_decimal_rounds_half_up_once(a: Money, factor: Decimal) -> None:
    assert (a * factor).amount == quantize_money(a.amount * factor)


def test_multiplication_examples() -> None:
    assert Money(10) * Decimal("0.333") == Money("3.33")
    assert Money("0.01") * Decimal("0.5") == Money("0.01")
    assert Money("-0.01") * Decimal("0.5") == Money("-0.01")


def test_multiplying_by_a_float_is_refused() -> None:
    with pytest.raises(TypeError):
        Money(10) * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(10).percent(0.88)  # type: ignore[arg-type]


def test_money_does_not_mix_with_numbers() -> None:
    with pytest.raises(TypeError):
        Money(1) + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1) < 2  # type: ignore[operator]  # noqa: B015


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("100", Decimal("0.88"), "88.00"),
        ("99.99", Decimal("0.88"), "87.99"),  # 87.9912
        ("0.50", Decimal("0.95"), "0.48"),  # 0.475 rounds up
        ("100", 1, "100.00"),
        ("100", 0, "0.00"),
    ],
)
def test_percent_applies_a_discount_rate(amount: str, rate: Decimal | int, expected: str) -> None:
    assert Money(amount).percent(rate) == Money(expected)


def test_percent_refuses_negative_rates() -> None:
    with pytest.raises(ValueError, match="negative"):
        Money(100).percent(Decimal("-0.1"))


# --- comparison -------------------------------------------------------------------------


@given(monies, monies)
def test_ordering_follows_the_amounts(a: Money, b: Money) -> None:
    assert (a < b) == (a.amount < b.amount)
    assert (a <= b) == (a.amount <= b.amount)
    assert (a > b) == (a.amount > b.amount)
    assert (a >= b) == (a.amount >= b.amount)
    assert (a == b) == (a.amount == b.amount)


@given(st.lists(monies))
def test_sorting_money_sorts_by_amount(items: list[Money]) -> None:
    assert [m.amount for m in sorted(items)] == sorted(m.amount for m in items)


def test_truthiness_and_sign() -> None:
    assert not Money.zero()
    assert Money("0.01")
    assert Money("-0.01")
    assert Money("-0.01").is_negative
    assert not Money.zero().is_negative


def test_mixing_currencies_raises() -> None:
    # given
    yuan, dollars = Money(1), Money(1, currency="USD")
    # then
    assert yuan != dollars
    with pytest.raises(ValueError, match="mix"):
        yuan + dollars
    with pytest.raises(ValueError, match="mix"):
        yuan - dollars
    with pytest.raises(ValueError, match="mix"):
        yuan < dollars  # noqa: B015
    with pytest.raises(ValueError, match="mix"):
        yuan >= dollars  # noqa: B015


# --- allocate ---------------------------------------------------------------------------


@given(monies, weights)
def test_allocation_parts_sum_to_the_whole_and_stay_within_a_fen(
    whole: Money, shares: list[Decimal | int]
) -> None:
    # when
    parts = whole.allocate(shares)
    # then
    assert len(parts) == len(shares)
    assert sum((p.amount for p in parts), Decimal(0)) == whole.amount
    total_weight = sum(Fraction(w) for w in shares)
    for part, weight in zip(parts, shares, strict=True):
        exact = Fraction(whole.amount) * Fraction(weight) / total_weight
        assert abs(Fraction(part.amount) - exact) < Fraction(1, 100)
        if weight == 0:
            assert part == Money.zero()


def test_allocation_gives_leftover_fen_to_the_earliest_largest_remainders() -> None:
    assert Money(100).allocate([1, 1, 1]) == [Money("33.34"), Money("33.33"), Money("33.33")]
    assert Money("0.05").allocate([1, 1, 1]) == [Money("0.02"), Money("0.02"), Money("0.01")]
    assert Money("-0.05").allocate([1, 1, 1]) == [
        Money("-0.02"),
        Money("-0.02"),
        Money("-0.01"),
    ]
    assert Money(10).allocate([Decimal("0.7"), Decimal("0.3")]) == [Money(7), Money(3)]
    # exact shares 0.333.. / 0.666..: the larger remainder (0.666) gets the fen
    assert Money("0.01").allocate([1, 2]) == [Money(0), Money("0.01")]


@pytest.mark.parametrize(
    ("bad", "problem"), [([], "at least one"), ([0, 0], "all be zero"), ([1, -1], "negative")]
)
def test_allocation_refuses_meaningless_weights(bad: list[int], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Money(10).allocate(bad)


# --- text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("1234.5", "¥1,234.50"),
        ("0", "¥0.00"),
        ("-0.5", "-¥0.50"),
        ("1234567.891", "¥1,234,567.89"),
    ],
)
def test_str_shows_yuan_with_thousands_separators(amount: str, text: str) -> None:
    assert str(Money(amount)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", "12.50"),
        ("¥12.50", "12.50"),
        ("￥12.50", "12.50"),
        ("1,234.5", "1234.50"),
        (" ¥ 1,234,567 ", "1234567.00"),
        ("-¥3", "-3.00"),
        ("¥-3", "-3.00"),
        ("+7", "7.00"),
        ("0", "0.00"),
    ],
)
def test_parse_accepts_what_people_type(text: str, expected: str) -> None:
    assert Money.parse(text) == Money(expected)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "12.5.1", "1,2,3", "12,34", "¥", "12.345", "--1", "-¥-1", "1e3", "NaN", "١٢"],
)
def test_parse_rejects_junk(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        Money.parse(text)
    assert caught.value.code == ErrorCode.INVALID_MONEY


@given(monies)
def test_parse_reads_back_what_str_writes(money: Money) -> None:
    assert Money.parse(str(money)) == money
    assert Money.parse(str(money.amount)) == money
