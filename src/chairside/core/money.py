"""Money in yuan: exact Decimal amounts rounded half-up to the fen, never floats."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Self

from django.db import models
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import ErrorCode, ValidationFailed

CNY = "CNY"
CENT = Decimal("0.01")

# Thousands separators must group by three, so "1,2,3" is junk rather than 123.
_MONEY_TEXT = re.compile(
    r"""
    (?P<sign>[-+]?)\s*
    (?:[¥￥]|CNY|RMB)?\s*
    (?P<sign_after>[-+]?)\s*
    (?P<whole>\d{1,3}(?:,\d{3})+|\d+)
    (?:\.(?P<fraction>\d{1,2}))?
    """,
    re.VERBOSE | re.ASCII | re.IGNORECASE,
)


def quantize_money(value: Decimal | int | str) -> Decimal:
    """`value` rounded half-up to 0.01; the single rounding rule for every amount.

    Floats (and bools) raise TypeError: binary fractions cannot hold 0.1 exactly, so
    letting one in would make totals drift by a fen. Text that is not a finite number
    raises ValidationFailed(INVALID_MONEY).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"money needs a Decimal, int or str, not {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
        if not number.is_finite():
            raise InvalidOperation
        result = number.quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        # Also raised when the amount has more digits than the Decimal context holds.
        raise ValidationFailed(
            _("This is not a valid amount."), code=ErrorCode.INVALID_MONEY
        ) from None
    # -0.00 would print as "-¥0.00" and repr differently from zero.
    return result.copy_abs() if result.is_zero() else result


def _factor(value: Decimal | int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"money can be multiplied by a Decimal or int, not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("money cannot be multiplied by NaN or infinity")
    return number


@dataclass(frozen=True, slots=True, init=False)
class Money:
    """An amount of yuan, always quantized to the fen (0.01)."""

    amount: Decimal
    currency: str = CNY

    def __init__(self, amount: Decimal | int | str, currency: str = CNY) -> None:
        object.__setattr__(self, "amount", quantize_money(amount))
        object.__setattr__(self, "currency", currency)

    @classmethod
    def zero(cls) -> Self:
        return cls(0)

    @classmethod
    def parse(cls, text: str) -> Self:
        """Money from what a person typed: "12.5", "¥12.50", "1,234.5", "-¥3"."""
        match = _MONEY_TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None or (match["sign"] and match["sign_after"]):
            raise ValidationFailed(
                _("Enter an amount such as 12.50 or ¥1,234.50."), code=ErrorCode.INVALID_MONEY
            )
        sign = "-" if "-" in (match["sign"], match["sign_after"]) else ""
        digits = match["whole"].replace(",", "") + "." + (match["fraction"] or "0")
        return cls(sign + digits)

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        return Money(self.amount * _factor(factor), self.currency)

    __rmul__ = __mul__

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return not self.amount.is_zero()

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def percent(self, rate: Decimal | int) -> Money:
        """This amount times `rate`: a 0.88 discount rate (八八折) of ¥100 is ¥88."""
        factor = _factor(rate)
        if factor < 0:
            raise ValueError("a rate cannot be negative")
        return self * factor

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split into parts proportional to `weights` that add up to exactly this amount.

        Each part is its exact share rounded down to the fen; the fen left over go one
        each to the parts that lost the most in rounding (the earlier part on a tie), so
        no part is more than one fen away from its exact share.
        """
        if not weights:
            raise ValueError("allocate needs at least one weight")
        exact_weights = [Fraction(_factor(w)) for w in weights]
        if any(w < 0 for w in exact_weights):
            raise ValueError("weights cannot be negative")
        total_weight = sum(exact_weights, Fraction(0))
        if total_weight == 0:
            raise ValueError("weights cannot all be zero")

        cents = int(self.amount.scaleb(2))
        sign = -1 if cents < 0 else 1
        shares = [abs(cents) * w / total_weight for w in exact_weights]
        parts = [int(share) for share in shares]
        leftover = abs(cents) - sum(parts)
        by_loss = sorted(range(len(shares)), key=lambda i: (parts[i] - shares[i], i))
        for index in by_loss[:leftover]:
            parts[index] += 1
        return [Money(Decimal(sign * part) * CENT, self.currency) for part in parts]

    def __str__(self) -> str:
        text = f"¥{self.amount.copy_abs():,.2f}"
        return f"-{text}" if self.is_negative else text


def money_field(verbose_name: Any = None, **kwargs: Any) -> models.DecimalField[Any, Any]:
    """A model column of yuan: Decimal(12, 2), up to 9,999,999,999.99."""
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)
