"""Machine-readable error codes of billing, beside the shared ones in core.errors."""

from enum import StrEnum


class BillingErrorCode(StrEnum):
    DAY_CLOSED = "day_closed"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
