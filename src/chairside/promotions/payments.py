"""Online payment of flash-sale claims: the interface a payment processor implements, and a
clearly named fake one for development, tests and benchmarks.

The processor is chosen by the setting ``CHAIRSIDE_PAYMENT_PROCESSOR`` (a dotted path to a
class, default ``chairside.promotions.payments.FakePaymentProcessor``). A processor has:

- ``create_payment(amount, reference, description) -> PaymentIntent``: open an order with the
  processor for ``amount`` yuan under our order number ``reference``; the intent carries the
  URL or QR-code payload the patient pays with.
- ``verify_callback(payload) -> PaymentResult``: check the processor's asynchronous
  notification (its signature first) and say which order was paid, how much, under which
  transaction id. A payload that fails verification raises ``PaymentRejected``.

A real adapter (not written yet) has this shape:

- WeChat Pay API v3: ``create_payment`` POSTs ``/v3/pay/transactions/jsapi`` (or ``native``
  for a QR code) with ``appid``, ``mchid``, ``description``, ``out_trade_no=reference``,
  ``amount.total`` in fen and ``notify_url`` pointing at ``/api/v1/flash-sales/payment-callback``,
  signed with the merchant's private key (``WECHATPAY2-SHA256-RSA2048``); the intent carries
  the ``prepay_id`` (JSAPI) or ``code_url`` (QR). ``verify_callback`` checks the
  ``Wechatpay-Signature`` header against the platform certificate, decrypts the
  AEAD_AES_256_GCM ``resource`` with the APIv3 key and reads ``out_trade_no``,
  ``transaction_id``, ``amount.total`` and ``trade_state == "SUCCESS"``. (The callback view
  must then pass the headers too; the payload is given as a mapping of both.)
- Alipay: ``alipay.trade.precreate`` (QR) or ``alipay.trade.wap.pay`` with ``out_trade_no``,
  ``total_amount`` in yuan, RSA2-signed; the notification is form-encoded, verified with
  Alipay's public key, paid when ``trade_status`` is ``TRADE_SUCCESS`` or ``TRADE_FINISHED``;
  ``trade_no`` is the transaction id.

Both retry notifications until answered with success, so confirming a payment must be
idempotent (it is: see services.flash_sales.flash_sale_payment_confirm).

Accounting: a flash-sale payment is a card sale (卡券销售), prepaid revenue for a voucher,
not a payment at the clinic counter: it is not written to billing's Payment ledger and does
not open a bill; the claim keeps the order number and the processor's transaction id, and
the card sales report reads the paid claims. Treatment revenue arises when the coupon is
redeemed at checkout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_PROCESSOR = "chairside.promotions.payments.FakePaymentProcessor"


class PaymentRejected(Exception):
    """A callback that is not a genuine notification of a completed payment."""


@dataclass(frozen=True)
class PaymentIntent:
    """An order opened with the processor: where and how the patient pays."""

    processor: str
    reference: str
    amount: Decimal
    pay_url: str
    qr_payload: str
    # Only the fake fills this: the notification its pretend bank would send once paid.
    simulated_callback: dict[str, Any] | None = field(default=None)


@dataclass(frozen=True)
class PaymentResult:
    """A verified notification: `reference` (our order number) was paid."""

    processor: str
    reference: str
    transaction_id: str
    amount: Decimal


class PaymentProcessor(Protocol):
    name: str

    def create_payment(
        self, amount: Decimal, reference: str, description: str
    ) -> PaymentIntent: ...

    def verify_callback(self, payload: Mapping[str, Any]) -> PaymentResult: ...


class FakePaymentProcessor:
    """NOT A REAL PAYMENT PROCESSOR: it moves no money. Every payment it opens is "paid" as
    soon as its simulated callback (an HMAC-signed payload, keyed by SECRET_KEY) is posted to
    the payment-callback endpoint. For development, tests, demos and benchmarks only."""

    name = "fake"

    def _signature(self, reference: str, transaction_id: str, amount: str) -> str:
        message = f"{reference}|{transaction_id}|{amount}".encode()
        key = hashlib.sha256(("fake-payments:" + settings.SECRET_KEY).encode()).digest()
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    def simulate_callback(self, reference: str, amount: Decimal) -> dict[str, Any]:
        """The signed notification the pretend bank sends when the patient has paid."""
        transaction_id = "FAKE" + uuid.uuid4().hex[:24].upper()
        text = f"{amount:.2f}"
        return {
            "processor": self.name,
            "reference": reference,
            "transaction_id": transaction_id,
            "amount": text,
            "status": "paid",
            "signature": self._signature(reference, transaction_id, text),
        }

    def create_payment(self, amount: Decimal, reference: str, description: str) -> PaymentIntent:
        callback = self.simulate_callback(reference, amount)
        return PaymentIntent(
            processor=self.name,
            reference=reference,
            amount=amount,
            pay_url=f"/api/v1/flash-sales/payment-callback#fake-pay-{reference}",
            qr_payload=json.dumps(
                {"fake_pay": reference, "amount": f"{amount:.2f}", "for": description[:60]},
                ensure_ascii=False,
            ),
            simulated_callback=callback,
        )

    def verify_callback(self, payload: Mapping[str, Any]) -> PaymentResult:
        try:
            reference = str(payload["reference"])
            transaction_id = str(payload["transaction_id"])
            amount_text = str(payload["amount"])
            signature = str(payload["signature"])
            status = str(payload.get("status", ""))
        except KeyError as missing:
            raise PaymentRejected(f"missing {missing}") from None
        expected = self._signature(reference, transaction_id, amount_text)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise PaymentRejected("bad signature")
        if status != "paid":
            raise PaymentRejected("not paid")
        try:
            amount = Decimal(amount_text)
        except InvalidOperation:
            raise PaymentRejected("bad amount") from None
        return PaymentResult(
            processor=self.name, reference=reference, transaction_id=transaction_id, amount=amount
        )


@cache
def _processor(path: str) -> PaymentProcessor:
    processor: PaymentProcessor = import_string(path)()
    return processor


def payment_processor() -> PaymentProcessor:
    """The configured processor (CHAIRSIDE_PAYMENT_PROCESSOR)."""
    return _processor(getattr(settings, "CHAIRSIDE_PAYMENT_PROCESSOR", DEFAULT_PROCESSOR))
