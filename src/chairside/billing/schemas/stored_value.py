"""API schemas of stored-value cards (储值卡), their ledger and top-up bonus rules."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from chairside.billing.models import StoredValueAccount, StoredValueEntry, TopUpBonusRule
from chairside.billing.schemas.catalogue import AmountIn, MoneyOut
from chairside.billing.selectors.stored_value import BonusPreview
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text

Day = Annotated[date, Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))]
# Money over the counter: a card is never topped up from itself or from insurance.
CounterMethod = Literal["cash", "wechat", "alipay", "bank_card"]
CardStatus = Literal["active", "frozen", "closed"]


# --- cards ----------------------------------------------------------------------------


class AccountQuery(PageQuery):
    q: Text = Field(
        "", max_length=50, description="Card number prefix, or the owner's name, pinyin, phone."
    )
    patient_id: ObjectId | None = Field(
        None, description="The cards this patient may use: their own and shared family cards."
    )
    status: CardStatus | None = None


class AccountOpenIn(Schema):
    patient_id: ObjectId = Field(description="The owner; one card per patient.")
    shared_with_family: bool = False


class AccountUpdateIn(Schema):
    """Share the card with the owner's family, or freeze, unfreeze, close or reopen it."""

    shared_with_family: bool | None = None
    status: CardStatus | None = Field(
        None, description="frozen stops top-ups and spending; closed needs a zero balance."
    )


class AccountOut(Schema):
    id: int
    number: str
    status: CardStatus
    status_label: str
    owner_id: int
    owner_name: str
    owner_record_no: str
    shared_with_family: bool
    principal_balance: MoneyOut = Field(description="本金: money paid in.")
    bonus_balance: MoneyOut = Field(description="赠金: bonus from top-up promotions.")
    balance: MoneyOut
    opened_at_clinic_id: int
    created_at: datetime

    @staticmethod
    def of(account: StoredValueAccount) -> AccountOut:
        return AccountOut(
            id=account.pk,
            number=account.number,
            status=account.status,  # type: ignore[arg-type]
            status_label=str(account.get_status_display()),
            owner_id=account.owner_id,
            owner_name=account.owner.name,
            owner_record_no=account.owner.record_no,
            shared_with_family=account.shared_with_family,
            principal_balance=account.principal_balance,
            bonus_balance=account.bonus_balance,
            balance=account.balance,
            opened_at_clinic_id=account.opened_at_clinic_id,
            created_at=account.created_at,
        )


class AccountPage(PageOut):
    items: list[AccountOut]


class EntryOut(Schema):
    id: int
    account_id: int
    kind: Literal["top_up", "spend", "return", "refund"]
    kind_label: str
    principal_delta: MoneyOut
    bonus_delta: MoneyOut
    principal_after: MoneyOut
    bonus_after: MoneyOut
    clinic_id: int
    clinic_name: str
    patient_id: int
    patient_name: str
    payment_id: int | None
    method: str | None = Field(description="How the money crossed the counter, if it did.")
    bill_id: int | None
    bonus_rule_id: int | None
    note: str
    created_by_name: str
    created_at: datetime

    @staticmethod
    def of(entry: StoredValueEntry) -> EntryOut:
        payment = entry.payment
        return EntryOut(
            id=entry.pk,
            account_id=entry.account_id,
            kind=entry.kind,  # type: ignore[arg-type]
            kind_label=str(entry.get_kind_display()),
            principal_delta=entry.principal_delta,
            bonus_delta=entry.bonus_delta,
            principal_after=entry.principal_after,
            bonus_after=entry.bonus_after,
            clinic_id=entry.clinic_id,
            clinic_name=entry.clinic.name,
            patient_id=entry.patient_id,
            patient_name=entry.patient.name,
            payment_id=entry.payment_id,
            method=payment.method if payment is not None else None,
            bill_id=payment.bill_id if payment is not None else None,
            bonus_rule_id=entry.bonus_rule_id,
            note=entry.note,
            created_by_name=str(entry.created_by),
            created_at=entry.created_at,
        )


class EntryPage(PageOut):
    items: list[EntryOut]


class TopUpIn(Schema):
    amount: AmountIn = Field(description="Yuan paid in; the bonus is added by the rules.")
    method: CounterMethod
    reference: Text = Field("", max_length=64, description="Terminal or wallet transaction no.")
    tendered: AmountIn | None = Field(None, description="Cash handed over, for the change.")


class TopUpOut(Schema):
    entry: EntryOut
    account: AccountOut
    change: MoneyOut | None = Field(description="Cash to hand back, when tendered.")


class StoredValueRefundIn(Schema):
    amount: AmountIn = Field(description="Principal to pay out; bonus is forfeited in step.")
    method: CounterMethod
    reason: Text = Field(min_length=1, max_length=200)


class StoredValueRefundOut(Schema):
    entry: EntryOut
    account: AccountOut
    forfeited_bonus: MoneyOut


# --- bonus rules ----------------------------------------------------------------------


class BonusRuleIn(Schema):
    name: Text = Field(max_length=50, examples=["充1000送100"])
    threshold: AmountIn = Field(description="Top up at least this much ...")
    bonus: AmountIn = Field(description="... and get this much bonus.")
    starts_on: Day | None = None
    ends_on: Day | None = None


class BonusRuleUpdateIn(Schema):
    """Only the fields sent are changed; is_active false ends the promotion."""

    name: Text | None = Field(None, max_length=50)
    threshold: AmountIn | None = None
    bonus: AmountIn | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    is_active: bool | None = None


class BonusRuleOut(Schema):
    id: int
    name: str
    threshold: MoneyOut
    bonus: MoneyOut
    starts_on: date | None
    ends_on: date | None
    is_active: bool

    @staticmethod
    def of(rule: TopUpBonusRule) -> BonusRuleOut:
        return BonusRuleOut.model_validate(rule, from_attributes=True)


class BonusPreviewQuery(Schema):
    amount: AmountIn


class BonusPreviewOut(Schema):
    amount: MoneyOut
    bonus: MoneyOut
    total: MoneyOut = Field(description="What the card gains: amount plus bonus.")
    rule_id: int | None
    rule_name: str | None

    @staticmethod
    def of(preview: BonusPreview) -> BonusPreviewOut:
        return BonusPreviewOut(
            amount=preview.amount,
            bonus=preview.bonus,
            total=preview.total,
            rule_id=preview.rule.pk if preview.rule else None,
            rule_name=preview.rule.name if preview.rule else None,
        )


def forfeited(entry: StoredValueEntry) -> Decimal:
    """The bonus a pay-out entry gave up (its bonus delta, as a positive amount)."""
    return -entry.bonus_delta
