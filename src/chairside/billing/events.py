"""Billing's announcements to other apps, without billing importing them.

Each dotted path in the setting `CHAIRSIDE_BILLING_LISTENERS` names a class (instantiated
once) or an object with any of these methods, called inside the transaction that did the
work (raising there rolls the whole action back):

- `bill_paid(bill, payments)`: after a checkout wrote its payments;
- `bill_refunded(bill, refund)`: after a refund was paid out.

Membership listens, to earn and claw back points and to upgrade tiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from chairside.billing.models import Bill, Payment, Refund


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> tuple[Any, ...]:
    listeners = []
    for path in paths:
        obj = import_string(path)
        listeners.append(obj() if isinstance(obj, type) else obj)
    return tuple(listeners)


def listeners() -> tuple[Any, ...]:
    return _load(tuple(getattr(settings, "CHAIRSIDE_BILLING_LISTENERS", ())))


def bill_paid(bill: Bill, payments: Sequence[Payment]) -> None:
    for listener in listeners():
        handler = getattr(listener, "bill_paid", None)
        if handler is not None:
            handler(bill, payments)


def bill_refunded(bill: Bill, refund: Refund) -> None:
    for listener in listeners():
        handler = getattr(listener, "bill_refunded", None)
        if handler is not None:
            handler(bill, refund)
