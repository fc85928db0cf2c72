"""Machine-readable error codes of billing, beside the shared ones in core.errors."""

from enum import StrEnum


class BillingErrorCode(StrEnum):
    DAY_CLOSED = "day_closed"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    IDEMPOTENCY_MISMATCH = "idempotency_mismatch"
    BILL_NOT_DRAFT = "bill_not_draft"
    BILL_NOT_CONFIRMED = "bill_not_confirmed"
    BILL_EMPTY = "bill_empty"
    BILL_HAS_PAYMENTS = "bill_has_payments"
    DISCOUNT_PENDING = "discount_pending"
    DISCOUNT_NOT_PENDING = "discount_not_pending"
    ITEM_INACTIVE = "item_inactive"
    NOT_INSURED = "not_insured"
    OVERPAYMENT = "overpayment"
    INSURANCE_EXCEEDS_COVERED = "insurance_exceeds_covered"
    REFUND_EXCEEDS_PAID = "refund_exceeds_paid"
    REFUND_NOT_PENDING = "refund_not_pending"
    DAY_ALREADY_CLOSED = "day_already_closed"
    CARD_NOT_ACTIVE = "card_not_active"
    CARD_NOT_USABLE = "card_not_usable"
    CARD_EXISTS = "card_exists"
