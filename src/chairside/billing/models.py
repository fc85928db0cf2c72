"""The service catalogue (B1), bills and their lines (B2), discounts (B4), the payment ledger
and refunds (B3), daily close, and stored-value cards with their ledger (B5).

Money columns are Decimal(12, 2) yuan; amounts are made with core.money (half-up to the
fen). Ledgers (payments, stored-value entries) are append-only: a row is never updated
after it is written, except to stamp the daily close that counted it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chairside.core.models import Clinic, Staff
from chairside.core.money import money_field
from chairside.core.teeth import ToothSetField
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient

ZERO = Decimal("0.00")


class Category(models.TextChoices):
    """Catalogue categories; tier discounts and revenue reports go by these."""

    REGISTRATION = "registration", _("Registration")
    BASIC = "basic", _("Basic treatment")
    RESTORATIVE = "restorative", _("Restorative")
    ENDODONTIC = "endodontic", _("Endodontic")
    PERIODONTAL = "periodontal", _("Periodontal")
    SURGERY = "surgery", _("Oral surgery")
    ORTHODONTICS = "orthodontics", _("Orthodontics")
    IMPLANT = "implant", _("Implant")
    PREVENTION = "prevention", _("Prevention")
    COSMETIC = "cosmetic", _("Cosmetic")
    IMAGING = "imaging", _("Imaging")


class Unit(models.TextChoices):
    PER_TOOTH = "tooth", _("per tooth")
    PER_ARCH = "arch", _("per arch")
    PER_VISIT = "visit", _("per visit")
    PER_ITEM = "item", _("per item")


class CatalogueItem(TenantModel):
    """A service the organization sells, at its list price (clinics may override it)."""

    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    name_pinyin = models.CharField(max_length=300, blank=True, editable=False)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.PER_ITEM)
    price = money_field(_("list price"))
    # 医保 code; blank when the item is not covered by medical insurance.
    insurance_code = models.CharField(_("insurance code"), max_length=40, blank=True)
    member_discount_allowed = models.BooleanField(_("member discounts apply"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("catalogue item")
        verbose_name_plural = _("catalogue")
        ordering: ClassVar[list[str]] = ["category", "code", "id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "code"], name="catalogue_code_unique"),
            models.CheckConstraint(condition=Q(price__gte=0), name="catalogue_price_not_negative"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "category", "is_active"], name="catalogue_cat_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_insured(self) -> bool:
        return bool(self.insurance_code)


class ClinicPrice(TenantModel):
    """A clinic's own price for a catalogue item, replacing the list price there."""

    item = models.ForeignKey(CatalogueItem, on_delete=models.CASCADE, related_name="clinic_prices")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    price = money_field(_("clinic price"))

    class Meta:
        verbose_name = _("clinic price")
        verbose_name_plural = _("clinic prices")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "item", "clinic"], name="clinic_price_unique"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="clinic_price_not_negative"),
        ]


class BillingSettings(TenantModel):
    """Per-organization rules of the cashier desk."""

    # A manual discount above this share of the bill (after earlier discounts) needs a
    # second person holding billing.discount_approve.
    manual_discount_limit_percent = models.DecimalField(
        _("manual discount without approval, up to (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10.00"),
    )

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="billing_settings_unique"),
        ]


class BillNumberSequence(TenantModel):
    """The next bill number of a clinic on a day (locked with select_for_update)."""

    clinic = models.ForeignKey(Clinic, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    next_value = models.PositiveIntegerField(default=1)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "clinic", "day"], name="bill_number_sequence_unique"
            ),
        ]


class Bill(TenantModel):
    """One patient's charges at one clinic, usually one visit (执行账单).

    A draft collects lines and discounts; confirming it fixes the amounts, after which
    only payments and refunds move. Invariant (checked by the database too):
    paid_total + arrears == total - discount_total, and 0 <= refunded_total <= paid_total.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONFIRMED = "confirmed", _("Confirmed")
        VOID = "void", _("Void")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("bill number"), max_length=30)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    total = money_field(_("amount"), default=ZERO)
    discount_total = money_field(_("discounts"), default=ZERO)
    paid_total = money_field(_("paid"), default=ZERO)
    refunded_total = money_field(_("refunded"), default=ZERO)
    arrears = money_field(_("arrears"), default=ZERO)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "number"], name="bill_number_unique"),
            models.CheckConstraint(
                condition=Q(paid_total__gte=0)
                & Q(arrears__gte=0)
                & Q(discount_total__gte=0)
                & Q(refunded_total__gte=0)
                & Q(refunded_total__lte=models.F("paid_total")),
                name="bill_amounts_in_range",
            ),
            # Rounded to the fen: SQLite keeps decimals as binary floats, so the difference
            # of two amounts can be off in the 15th place (PostgreSQL's numeric is exact).
            models.CheckConstraint(
                condition=Q(
                    paid_total=Round(
                        models.F("total") - models.F("discount_total") - models.F("arrears"), 2
                    )
                ),
                name="bill_paid_plus_arrears_is_net",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "patient", "created_at"], name="bill_patient_idx"),
            models.Index(fields=["organization", "clinic", "created_at"], name="bill_clinic_idx"),
            models.Index(
                fields=["organization", "clinic"],
                condition=Q(arrears__gt=0),
                name="bill_arrears_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def net_total(self) -> Decimal:
        """What the patient owes for the bill: amount less discounts."""
        return self.total - self.discount_total


class BillLine(TenantModel):
    """A charge: a catalogue item (a registration fee, an executed plan item) x quantity.

    Name, category, price and insurance code are copied from the catalogue so that a later
    price change never rewrites a bill. `discount` is this line's share of the bill's
    discounts, set when the bill is confirmed or its discounts change.
    """

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(CatalogueItem, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    teeth = ToothSetField(_("teeth"), blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = money_field(_("unit price"))
    amount = money_field(_("amount"))
    discount = money_field(_("discount"), default=ZERO)
    insurance_code = models.CharField(_("insurance code"), max_length=40, blank=True)
    # An insured item the patient chose to pay for themselves (自费).
    self_paid = models.BooleanField(_("self-paid"), default=False)
    member_discount_allowed = models.BooleanField(default=True)
    doctor = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering: ClassVar[list[str]] = ["bill", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1)
                & Q(unit_price__gte=0)
                & Q(amount__gte=0)
                & Q(discount__gte=0)
                & Q(discount__lte=models.F("amount")),
                name="bill_line_amounts_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} x{self.quantity}"

    @property
    def net_amount(self) -> Decimal:
        return self.amount - self.discount


class DiscountStep(models.TextChoices):
    """The fixed order in which discounts apply, shown on the bill in this order."""

    TIER = "tier", _("Member tier discount")
    COUPON = "coupon", _("Coupon")
    MANUAL = "manual", _("Manual discount")


DISCOUNT_ORDER = {DiscountStep.TIER: 1, DiscountStep.COUPON: 2, DiscountStep.MANUAL: 3}


class BillDiscount(TenantModel):
    """One discount on a draft or confirmed bill, and how it splits over the lines.

    `reference` names what gave it (a tier code, a coupon id) for the source that owns it.
    A manual discount above the limit stays pending until someone approves it; a bill with
    a pending discount cannot be confirmed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting approval")
        APPROVED = "approved", _("Approved")

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="discounts")
    step = models.CharField(_("kind"), max_length=10, choices=DiscountStep.choices)
    position = models.PositiveSmallIntegerField(default=1)
    label = models.CharField(_("description"), max_length=100)
    reference = models.CharField(max_length=60, blank=True)
    amount = money_field(_("amount"))
    # {"<line id>": "12.50", ...}: the line shares, adding up to `amount`.
    allocation = models.JSONField(default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.APPROVED
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("discount")
        verbose_name_plural = _("discounts")
        ordering: ClassVar[list[str]] = ["bill", "position", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bill_discount_positive"),
        ]


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    BANK_CARD = "bank_card", _("Bank card")
    INSURANCE = "insurance", _("Medical insurance")
    STORED_VALUE = "stored_value", _("Stored value")


class DailyClose(TenantModel):
    """A clinic's closed business day (日结): totals per method and per staff, then frozen.

    Once a day is closed, no payment, refund or top-up can be recorded at the clinic on
    that day; the totals are copied here so the close reads the same forever.
    """

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    business_date = models.DateField(_("business day"))
    # {"by_method": {"cash": "100.00", ...}, "by_staff": {"<staff id>": {...}}, ...}
    totals = models.JSONField(default=dict)
    received_total = money_field(_("received"), default=ZERO)
    refunded_total = money_field(_("refunded"), default=ZERO)
    note = models.CharField(_("note"), max_length=200, blank=True)
    closed_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("daily close")
        verbose_name_plural = _("daily closes")
        ordering: ClassVar[list[str]] = ["-business_date", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "clinic", "business_date"], name="daily_close_unique"
            ),
        ]


class CheckoutRequest(TenantModel):
    """An idempotency key of a money request (a bill payment, a top-up): a retry with the
    same key gets the first answer back instead of charging again. The unique key makes
    racing retries safe."""

    key = models.CharField(max_length=100)
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # SHA-256 of the request body: the same key with another body is refused.
    request_digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "key"], name="checkout_key_unique"),
        ]


class Payment(TenantModel):
    """The counter's money ledger: every amount received or paid back, by method.

    A bill payment or stored-value top-up is positive; a refund is a negative row of the
    same method. Rows are never changed, only stamped by the daily close that counts them.
    """

    class Kind(models.TextChoices):
        BILL_PAYMENT = "bill_payment", _("Bill payment")
        BILL_REFUND = "bill_refund", _("Bill refund")
        TOP_UP = "top_up", _("Stored-value top-up")
        TOP_UP_REFUND = "top_up_refund", _("Stored-value refund")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    checkout = models.ForeignKey(
        CheckoutRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    method = models.CharField(_("payment method"), max_length=15, choices=PaymentMethod.choices)
    amount = money_field(_("amount"))
    # Cash handed over, when more than the amount; the change is tendered - amount.
    tendered = money_field(_("tendered"), null=True, blank=True)
    # The terminal's or wallet's transaction number, for reconciliation.
    reference = models.CharField(_("transaction reference"), max_length=64, blank=True)
    business_date = models.DateField(_("business day"))
    received_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    daily_close = models.ForeignKey(
        DailyClose, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering: ClassVar[list[str]] = ["created_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["bill_payment", "top_up"], amount__gt=0)
                    | Q(kind__in=["bill_refund", "top_up_refund"], amount__lt=0)
                ),
                name="payment_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["bill_payment", "bill_refund"], bill__isnull=False)
                | Q(kind__in=["top_up", "top_up_refund"], bill__isnull=True),
                name="payment_bill_matches_kind",
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "clinic", "business_date"], name="payment_day_idx"
            ),
            models.Index(
                fields=["organization", "patient", "created_at"], name="payment_patient_idx"
            ),
        ]


class Refund(TenantModel):
    """A request to pay back part of a bill by one method; approved, then paid out.

    Never more than what was paid on the bill by that method, less earlier refunds.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting approval")
        REFUNDED = "refunded", _("Refunded")
        REJECTED = "rejected", _("Rejected")

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="refunds")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(_("payment method"), max_length=15, choices=PaymentMethod.choices)
    amount = money_field(_("amount"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED
    )
    requested_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)
    payment = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refund"
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering: ClassVar[list[str]] = ["-requested_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "clinic", "status"], name="refund_status_idx"),
        ]


class TopUpBonusRule(TenantModel):
    """A top-up promotion (充值赠送): top up at least `threshold`, get `bonus` on the card.

    The rule with the highest threshold the amount reaches applies; one rule per top-up.
    """

    name = models.CharField(_("name"), max_length=50)
    threshold = money_field(_("top up at least"))
    bonus = money_field(_("bonus"))
    starts_on = models.DateField(_("from"), null=True, blank=True)
    ends_on = models.DateField(_("until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("top-up bonus rule")
        verbose_name_plural = _("top-up bonus rules")
        ordering: ClassVar[list[str]] = ["-threshold", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(threshold__gt=0) & Q(bonus__gt=0), name="top_up_bonus_positive"
            ),
        ]


class StoredValueNumberSequence(TenantModel):
    """The next stored-value card number of an organization (row-locked when taken)."""

    next_value = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="stored_value_sequence_unique"),
        ]


class StoredValueAccount(TenantModel):
    """A stored-value card (储值卡) held by a patient, optionally shared with their family.

    The balances are the ledger's running totals, kept on the row so a spend can lock one
    row and check it; the database refuses a negative balance, and tests compare the row
    with the sum of its entries. Principal (本金) is money paid in; bonus (赠金) came free
    with a top-up and is never paid out.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", pgettext_lazy("stored-value card", "Closed")

    owner = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("card number"), max_length=30)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    shared_with_family = models.BooleanField(_("family members may use it"), default=False)
    principal_balance = money_field(_("principal"), default=ZERO)
    bonus_balance = money_field(_("bonus"), default=ZERO)
    opened_at_clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("stored-value card")
        verbose_name_plural = _("stored-value cards")
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="stored_value_number_unique"
            ),
            models.UniqueConstraint(
                fields=["organization", "owner"], name="stored_value_one_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(principal_balance__gte=0) & Q(bonus_balance__gte=0),
                name="stored_value_never_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def balance(self) -> Decimal:
        return self.principal_balance + self.bonus_balance


class StoredValueEntry(TenantModel):
    """One movement on a stored-value card, with the balances after it. Append-only."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        SPEND = "spend", _("Spend")
        RETURN = "return", _("Returned from a bill refund")
        REFUND = "refund", _("Paid out")

    account = models.ForeignKey(
        StoredValueAccount, on_delete=models.PROTECT, related_name="entries"
    )
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    principal_delta = money_field(_("principal"))
    bonus_delta = money_field(_("bonus"))
    principal_after = money_field(_("principal after"))
    bonus_after = money_field(_("bonus after"))
    # The patient who spent (a family member of the owner, on a shared card).
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    bonus_rule = models.ForeignKey(
        TopUpBonusRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("stored-value entry")
        verbose_name_plural = _("stored-value entries")
        ordering: ClassVar[list[str]] = ["account", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(principal_after__gte=0) & Q(bonus_after__gte=0),
                name="stored_value_entry_never_negative",
            ),
        ]
