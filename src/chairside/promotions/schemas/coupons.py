"""API schemas of coupon templates, issued coupons, batches, uses and the code check."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from chairside.billing.models import Category
from chairside.billing.schemas.catalogue import AmountIn, MoneyOut
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.promotions.codes import code_format
from chairside.promotions.models import (
    Coupon,
    CouponBatch,
    CouponStatus,
    CouponTemplate,
    CouponTransfer,
    CouponUse,
)
from chairside.promotions.selectors.coupons import (
    CodeCheckResult,
    EntitlementLeft,
    effective_status,
)

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
Kind = Literal["cash_voucher", "discount", "service_voucher", "combo"]
Status = Literal["unused", "partly_used", "used", "expired", "void"]
CategoryName = Literal[
    "registration",
    "basic",
    "restorative",
    "endodontic",
    "periodontal",
    "surgery",
    "orthodontics",
    "implant",
    "prevention",
    "cosmetic",
    "imaging",
]
Percent = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]
MinSpend = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2)]
assert set(CategoryName.__args__) == set(Category.values)  # type: ignore[attr-defined]


# --- templates --------------------------------------------------------------------------


class EntitlementIn(Schema):
    item_id: ObjectId
    count: int = Field(ge=1, le=1000)


class EntitlementOut(Schema):
    id: int
    item_id: int
    item_name: str
    count: int


class CouponTemplateIn(Schema):
    """A coupon or card template. Fields that do not belong to the kind are ignored."""

    name: Text = Field(min_length=1, max_length=60)
    kind: Kind
    description: Text = Field("", max_length=200)
    amount: AmountIn | None = Field(None, description="cash_voucher: yuan off.")
    percent_off: Percent | None = Field(None, description="discount: 15 = 15% off (8.5折).")
    max_discount: AmountIn | None = Field(None, description="discount: at most this much off.")
    service_item_ids: list[ObjectId] = Field(
        default_factory=list, max_length=100, description="service_voucher: one of these free."
    )
    entitlements: list[EntitlementIn] = Field(
        default_factory=list, max_length=50, description="combo: services with their counts."
    )
    validity_kind: Literal["fixed", "after_issue"] = "fixed"
    valid_from: Day | None = None
    valid_until: Day | None = Field(None, description="fixed: the last valid day.")
    valid_days: int | None = Field(None, ge=1, le=3660, description="after_issue: days valid.")
    min_spend: MinSpend = Field(
        Decimal("0.00"), description="On the applicable lines, after the member-tier discount."
    )
    categories: list[CategoryName] = Field(default_factory=list, max_length=20)
    item_ids: list[ObjectId] = Field(default_factory=list, max_length=200)
    clinic_ids: list[ObjectId] = Field(
        default_factory=list, max_length=200, description="Empty: every clinic."
    )
    members_only: bool = False
    combinable: bool = True
    per_person_limit: int = Field(0, ge=0, le=1000, description="0: no limit.")
    allow_bearer: bool = Field(
        False, description="A named coupon may be used by whoever has its code."
    )
    giftable: bool = False
    is_active: bool = True


class CouponTemplateQuery(PageQuery):
    q: Text = Field("", max_length=60)
    active: bool | None = None


class CouponTemplateOut(Schema):
    id: int
    name: str
    kind: Kind
    kind_label: str
    description: str
    amount: MoneyOut | None
    percent_off: Decimal | None
    max_discount: MoneyOut | None
    service_item_ids: list[int]
    entitlements: list[EntitlementOut]
    validity_kind: Literal["fixed", "after_issue"]
    valid_from: date | None
    valid_until: date | None
    valid_days: int | None
    min_spend: MoneyOut
    categories: list[str]
    item_ids: list[int]
    clinic_ids: list[int]
    members_only: bool
    combinable: bool
    per_person_limit: int
    allow_bearer: bool
    giftable: bool
    is_active: bool
    issued: int = Field(description="Coupons issued so far.")
    created_at: datetime

    @staticmethod
    def of(template: CouponTemplate) -> CouponTemplateOut:
        return CouponTemplateOut(
            id=template.pk,
            name=template.name,
            kind=template.kind,  # type: ignore[arg-type]
            kind_label=str(template.get_kind_display()),  # type: ignore[attr-defined]
            description=template.description,
            amount=template.amount,
            percent_off=template.percent_off,
            max_discount=template.max_discount,
            service_item_ids=[i.pk for i in template.service_items.all()],
            entitlements=[
                EntitlementOut(id=e.pk, item_id=e.item_id, item_name=e.item.name, count=e.count)
                for e in template.entitlements.all()
            ],
            validity_kind=template.validity_kind,  # type: ignore[arg-type]
            valid_from=template.valid_from,
            valid_until=template.valid_until,
            valid_days=template.valid_days,
            min_spend=template.min_spend,
            categories=list(template.categories or []),
            item_ids=[i.pk for i in template.items.all()],
            clinic_ids=[c.pk for c in template.clinics.all()],
            members_only=template.members_only,
            combinable=template.combinable,
            per_person_limit=template.per_person_limit,
            allow_bearer=template.allow_bearer,
            giftable=template.giftable,
            is_active=template.is_active,
            issued=getattr(template, "issued", None) or template.coupons.count(),
            created_at=template.created_at,
        )


class CouponTemplatePage(PageOut):
    items: list[CouponTemplateOut]


# --- coupons ----------------------------------------------------------------------------


class IssueIn(Schema):
    patient_id: ObjectId


class CouponQuery(PageQuery):
    holder_id: ObjectId | None = None
    status: Status | None = None
    template_id: ObjectId | None = None
    batch_id: ObjectId | None = None
    code: Text = Field("", max_length=30, description="A code or its beginning.")


class CouponOut(Schema):
    id: int
    code: str = Field(description="As printed, in groups of four.")
    template_id: int
    template_name: str
    kind: Kind
    holder_id: int | None
    holder_name: str | None
    status: Status
    status_label: str
    issued_at: datetime
    valid_from: datetime | None
    expires_at: datetime | None
    issued_clinic_id: int
    batch_id: int | None
    source: str

    @staticmethod
    def of(coupon: Coupon) -> CouponOut:
        status = effective_status(coupon)
        return CouponOut(
            id=coupon.pk,
            code=code_format(coupon.code),
            template_id=coupon.template_id,
            template_name=coupon.template.name,
            kind=coupon.template.kind,  # type: ignore[arg-type]
            holder_id=coupon.holder_id,
            holder_name=coupon.holder.name if coupon.holder is not None else None,
            status=status,  # type: ignore[arg-type]
            status_label=str(CouponStatus(status).label),
            issued_at=coupon.issued_at,
            valid_from=coupon.valid_from,
            expires_at=coupon.expires_at,
            issued_clinic_id=coupon.issued_clinic_id,
            batch_id=coupon.batch_id,
            source=coupon.source,
        )


class CouponPage(PageOut):
    items: list[CouponOut]


class UseOut(Schema):
    id: int
    bill_id: int
    bill_number: str
    clinic_id: int
    entitlement_id: int | None
    item_name: str | None
    count: int
    amount: MoneyOut
    created_at: datetime
    reversed_at: datetime | None

    @staticmethod
    def of(use: CouponUse) -> UseOut:
        entitlement = use.entitlement
        return UseOut(
            id=use.pk,
            bill_id=use.bill_id,
            bill_number=use.bill.number,
            clinic_id=use.clinic_id,
            entitlement_id=use.entitlement_id,
            item_name=entitlement.item.name if entitlement is not None else None,
            count=use.count,
            amount=use.amount,
            created_at=use.created_at,
            reversed_at=use.reversed_at,
        )


class EntitlementLeftOut(Schema):
    entitlement_id: int
    item_id: int
    item_name: str
    count: int
    left: int

    @staticmethod
    def of(slot: EntitlementLeft) -> EntitlementLeftOut:
        e = slot.entitlement
        return EntitlementLeftOut(
            entitlement_id=e.pk,
            item_id=e.item_id,
            item_name=e.item.name,
            count=e.count,
            left=slot.left,
        )


class TransferOut(Schema):
    """The coupon moved from one patient to another (given to a friend)."""

    from_patient_id: int
    from_patient_name: str
    to_patient_id: int
    to_patient_name: str
    at: datetime

    @staticmethod
    def of(transfer: CouponTransfer) -> TransferOut:
        return TransferOut(
            from_patient_id=transfer.from_patient_id,
            from_patient_name=transfer.from_patient.name,
            to_patient_id=transfer.to_patient_id,
            to_patient_name=transfer.to_patient.name,
            at=transfer.at,
        )


class CouponDetailOut(CouponOut):
    uses: list[UseOut]
    transfers: list[TransferOut] = Field(description="Who gave it to whom, oldest first.")
    entitlements: list[EntitlementLeftOut] = Field(description="combo: what is left of each.")
    void_reason: str


class VoidIn(Schema):
    reason: Text = Field(min_length=1, max_length=200)


class WalletQuery(Schema):
    include_closed: bool = Field(False, description="Also used, expired and void coupons.")


class CodeCheckIn(Schema):
    code: Text = Field(min_length=1, max_length=40)


class CodeCheckOut(Schema):
    result: Literal[
        "valid", "invalid_check", "invalid", "unknown", "used", "expired", "void", "not_valid_yet"
    ] = Field(description="invalid_check: a typo (the check character does not match).")
    coupon: CouponOut | None

    @staticmethod
    def of(check: CodeCheckResult) -> CodeCheckOut:
        return CodeCheckOut(
            result=check.result.value,  # type: ignore[arg-type]
            coupon=CouponOut.of(check.coupon) if check.coupon is not None else None,
        )


# --- batches ----------------------------------------------------------------------------


class BatchIn(Schema):
    count: int = Field(ge=1, le=20_000)
    note: Text = Field("", max_length=200)


class BatchQuery(PageQuery):
    template_id: ObjectId | None = None


class BatchOut(Schema):
    id: int
    template_id: int
    template_name: str
    clinic_id: int
    count: int
    used: int
    note: str
    created_by_name: str
    created_at: datetime

    @staticmethod
    def of(batch: CouponBatch) -> BatchOut:
        return BatchOut(
            id=batch.pk,
            template_id=batch.template_id,
            template_name=batch.template.name,
            clinic_id=batch.clinic_id,
            count=batch.count,
            used=getattr(batch, "used", 0) or 0,
            note=batch.note,
            created_by_name=str(batch.created_by),
            created_at=batch.created_at,
        )


class BatchPage(PageOut):
    items: list[BatchOut]
