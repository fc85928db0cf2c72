"""API schemas of flash sales: the sale, its figures, claims, payment intents and the
payment processor's callback."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from chairside.billing.schemas.catalogue import MoneyOut, PriceIn
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.promotions.models import FlashSale, FlashSaleClaim, FlashSaleClaimStatus
from chairside.promotions.payments import PaymentIntent
from chairside.promotions.selectors.flash_sales import FlashSaleStats

Stock = Annotated[int, Field(ge=1, le=1_000_000)]
Limit = Annotated[int, Field(ge=1, le=99)]
Minutes = Annotated[int, Field(ge=1, le=1440)]


class FlashSaleQuery(PageQuery):
    phase: Literal["upcoming", "running", "ended", "all"] = Field(
        "all", description="Not started yet, open now, over (or switched off), or all."
    )
    q: Text = Field("", max_length=100, description="Part of the title.")


class FlashSaleIn(Schema):
    title: Text = Field(max_length=100)
    description: Text = Field("", max_length=500)
    template_id: ObjectId = Field(description="The coupon template sold.")
    price: PriceIn = Field(description="Price in yuan.")
    stock: Stock
    starts_at: datetime
    ends_at: datetime
    per_person_limit: Limit = 1
    payment_minutes: Minutes = Field(15, description="How long a claim waits for payment.")
    clinic_ids: list[ObjectId] = Field(
        default_factory=list, max_length=100, description="Empty: every clinic."
    )
    is_active: bool = True


class FlashSaleUpdateIn(Schema):
    """Only the fields sent are changed."""

    title: Text | None = Field(None, max_length=100)
    description: Text | None = Field(None, max_length=500)
    template_id: ObjectId | None = None
    price: PriceIn | None = None
    stock: Stock | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_person_limit: Limit | None = None
    payment_minutes: Minutes | None = None
    clinic_ids: list[ObjectId] | None = Field(None, max_length=100)
    is_active: bool | None = None


class FlashSaleOut(Schema):
    id: int
    title: str
    description: str
    template_id: int
    template_name: str
    price: MoneyOut
    stock: int
    sold: int = Field(description="Units held by live claims (reserved, paid or issued).")
    remaining: int
    starts_at: datetime
    ends_at: datetime
    per_person_limit: int
    payment_minutes: int
    clinic_ids: list[int] = Field(description="Empty: every clinic.")
    is_active: bool

    @staticmethod
    def of(sale: FlashSale) -> FlashSaleOut:
        return FlashSaleOut(
            id=sale.pk,
            title=sale.title,
            description=sale.description,
            template_id=sale.template_id,
            template_name=sale.template.name,
            price=sale.price,
            stock=sale.stock,
            sold=sale.sold,
            remaining=sale.stock - sale.sold,
            starts_at=sale.starts_at,
            ends_at=sale.ends_at,
            per_person_limit=sale.per_person_limit,
            payment_minutes=sale.payment_minutes,
            clinic_ids=[c.pk for c in sale.clinics.all()],
            is_active=sale.is_active,
        )


class FlashSalePage(PageOut):
    items: list[FlashSaleOut]


class FlashSaleStatsOut(Schema):
    stock: int
    sold: int
    remaining: int
    reserved: int
    paid: int
    issued: int
    expired: int
    cancelled: int
    claimants: int
    counter_matches: bool = Field(description="The stock counter equals the live claims.")

    @staticmethod
    def of(stats: FlashSaleStats) -> FlashSaleStatsOut:
        return FlashSaleStatsOut(**stats.__dict__)


class ClaimIn(Schema):
    patient_id: ObjectId


class ClaimQuery(PageQuery):
    status: FlashSaleClaimStatus | None = None


class ClaimOut(Schema):
    id: int
    sale_id: int
    sale_title: str
    patient_id: int
    patient_name: str
    clinic_id: int
    status: FlashSaleClaimStatus
    status_label: str
    amount: MoneyOut
    reference: str = Field(description="Our order number, sent to the payment processor.")
    payment_reference: str = Field(description="The processor's transaction id, once paid.")
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None
    issued_at: datetime | None
    coupon_id: int | None
    coupon_code: str | None

    @staticmethod
    def of(claim: FlashSaleClaim) -> ClaimOut:
        return ClaimOut(
            id=claim.pk,
            sale_id=claim.sale_id,
            sale_title=claim.sale.title,
            patient_id=claim.patient_id,
            patient_name=claim.patient.name,
            clinic_id=claim.clinic_id,
            status=FlashSaleClaimStatus(claim.status),
            status_label=str(claim.get_status_display()),
            amount=claim.amount,
            reference=claim.reference,
            payment_reference=claim.payment_reference,
            expires_at=claim.expires_at,
            created_at=claim.created_at,
            paid_at=claim.paid_at,
            issued_at=claim.issued_at,
            coupon_id=claim.coupon_id,
            coupon_code=claim.coupon.code if claim.coupon_id and claim.coupon else None,
        )


class ClaimPage(PageOut):
    items: list[ClaimOut]


class PaymentIntentOut(Schema):
    processor: str
    reference: str
    amount: MoneyOut
    pay_url: str
    qr_payload: str
    simulated_callback: dict[str, Any] | None = Field(
        description="Fake processor only: the signed notification to post to "
        "/flash-sales/payment-callback to pretend the patient paid."
    )

    @staticmethod
    def of(intent: PaymentIntent) -> PaymentIntentOut:
        return PaymentIntentOut(
            processor=intent.processor,
            reference=intent.reference,
            amount=intent.amount,
            pay_url=intent.pay_url,
            qr_payload=intent.qr_payload,
            simulated_callback=intent.simulated_callback,
        )


class PaymentCallbackIn(Schema):
    """The fake processor's notification (a real adapter reads its own format)."""

    processor: Text = Field("fake", max_length=30)
    reference: Text = Field(max_length=64)
    transaction_id: Text = Field(max_length=64)
    amount: Text = Field(max_length=20, pattern=r"^\d{1,10}\.\d{2}$", examples=["9.90"])
    status: Text = Field(max_length=20)
    signature: Text = Field(max_length=128)


class PaymentCallbackOut(Schema):
    reference: str
    status: FlashSaleClaimStatus
