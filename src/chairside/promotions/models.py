"""Models of promotions: coupon templates, issued coupons and their uses (K1, K2, K4).

Coupon uses are an append-only ledger: a use is never deleted, a reversal (the bill was
voided or refunded in full) stamps `reversed_at`, and what is left of a combo card is
derived from the entitlement counts less the uses not reversed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.billing.models import Bill, CatalogueItem
from chairside.core.models import Clinic, Staff
from chairside.core.money import money_field
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient
from chairside.scheduling.models import Appointment

ZERO = Decimal("0.00")


class CouponKind(models.TextChoices):
    CASH_VOUCHER = "cash_voucher", _("Cash voucher")
    DISCOUNT = "discount", _("Discount coupon")
    SERVICE_VOUCHER = "service_voucher", _("Service voucher")
    COMBO = "combo", _("Combo card")


class ValidityKind(models.TextChoices):
    FIXED = "fixed", _("Fixed dates")
    AFTER_ISSUE = "after_issue", _("Days after issue")


class CouponTemplate(TenantModel):
    """What a coupon gives and the rules of using it, set up once per organization."""

    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=CouponKind.choices)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Cash voucher: yuan off.
    amount = money_field(_("amount off"), null=True, blank=True)
    # Discount coupon: percent off (15 = 15% off, i.e. 8.5折), optionally capped.
    percent_off = models.DecimalField(
        _("percent off"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    max_discount = money_field(_("discount cap"), null=True, blank=True)
    # Service voucher: one of these items free.
    service_items = models.ManyToManyField(
        CatalogueItem, blank=True, related_name="+", verbose_name=_("free services")
    )
    validity_kind = models.CharField(
        _("validity"), max_length=15, choices=ValidityKind.choices, default=ValidityKind.FIXED
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("valid days after issue"), null=True, blank=True)
    # Tested on what is left of the applicable lines after the member-tier discount.
    min_spend = money_field(_("minimum spend"), default=ZERO)
    # Empty lists: every category / item applies.
    categories = models.JSONField(_("categories"), default=list, blank=True)
    items = models.ManyToManyField(
        CatalogueItem, blank=True, related_name="+", verbose_name=_("applicable services")
    )
    # Empty: every clinic of the organization.
    clinics = models.ManyToManyField(
        Clinic, blank=True, related_name="+", verbose_name=_("clinics")
    )
    members_only = models.BooleanField(_("members only"), default=False)
    combinable = models.BooleanField(_("combinable with other coupons"), default=True)
    # 0: no limit.
    per_person_limit = models.PositiveIntegerField(_("limit per person"), default=0)
    allow_bearer = models.BooleanField(_("allow bearer use"), default=False)
    giftable = models.BooleanField(_("giftable"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering: ClassVar[list[str]] = ["-is_active", "name", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gt=0),
                name="coupon_template_amount_positive",
            ),
            models.CheckConstraint(
                condition=Q(percent_off__isnull=True)
                | (Q(percent_off__gt=0) & Q(percent_off__lte=100)),
                name="coupon_template_percent_in_range",
            ),
            models.CheckConstraint(
                condition=Q(min_spend__gte=0), name="coupon_template_min_spend_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="coupon_template_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Entitlement(TenantModel):
    """One line of a combo card: `count` uses of a catalogue item."""

    template = models.ForeignKey(
        CouponTemplate, on_delete=models.CASCADE, related_name="entitlements"
    )
    item = models.ForeignKey(
        CatalogueItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("service")
    )
    count = models.PositiveIntegerField(_("count"), default=1)

    class Meta:
        verbose_name = _("entitlement")
        verbose_name_plural = _("entitlements")
        ordering: ClassVar[list[str]] = ["template", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=Q(count__gte=1), name="entitlement_count_positive"),
            models.UniqueConstraint(
                fields=["organization", "template", "item"], name="entitlement_item_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item} x{self.count}"


class CouponBatch(TenantModel):
    """Bearer coupons issued together (printed or handed out), exportable to Excel."""

    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="batches")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    count = models.PositiveIntegerField(_("count"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.template} #{self.pk}"


class CouponStatus(models.TextChoices):
    UNUSED = "unused", _("Unused")
    PARTLY_USED = "partly_used", _("Partly used")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    VOID = "void", _("Void")


class Coupon(TenantModel):
    """An issued coupon: held by a patient (named) or by whoever has the code (bearer)."""

    template = models.ForeignKey(CouponTemplate, on_delete=models.PROTECT, related_name="coupons")
    holder = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("holder"),
    )
    # The 13 characters without grouping (see promotions.codes).
    code = models.CharField(_("code"), max_length=20)
    status = models.CharField(
        _("status"), max_length=15, choices=CouponStatus.choices, default=CouponStatus.UNUSED
    )
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    # Not before this moment (fixed-date templates that start later).
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    issued_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    issued_clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    batch = models.ForeignKey(
        CouponBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="coupons"
    )
    # How it was issued: staff, batch, flash_sale, points ...
    source = models.CharField(max_length=20, default="staff")
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    void_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering: ClassVar[list[str]] = ["-issued_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "code"], name="coupon_code_unique"),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "holder", "status"], name="coupon_holder_status_idx"
            ),
            models.Index(fields=["organization", "template", "holder"], name="coupon_tpl_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class CouponUse(TenantModel):
    """One use of a coupon on a confirmed bill (append-only; reversal stamps reversed_at)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="uses")
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    count = models.PositiveIntegerField(_("count"), default=1)
    amount = money_field(_("amount"))
    created_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("coupon use")
        verbose_name_plural = _("coupon uses")
        ordering: ClassVar[list[str]] = ["coupon", "created_at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(count__gte=1) & Q(amount__gte=0), name="coupon_use_in_range"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "bill"], name="coupon_use_bill_idx"),
        ]


# --- giving a coupon to a friend (转赠) --------------------------------------------------


class CouponGiftStatus(models.TextChoices):
    OPEN = "open", _("Waiting to be claimed")
    CLAIMED = "claimed", _("Claimed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class CouponGift(TenantModel):
    """A one-time link a patient made to give one of their coupons to a friend.

    The token is the secret of the link (like a coupon code, it is what lets someone in).
    A coupon has at most one open link at a time (a partial unique index); an open link
    past `expires_at` is expired even before a later write stamps it so.
    """

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="gifts")
    giver = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("giver")
    )
    token = models.CharField(max_length=64)
    status = models.CharField(
        _("status"), max_length=10, choices=CouponGiftStatus.choices, default=CouponGiftStatus.OPEN
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    claimed_by = models.ForeignKey(
        Patient, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("coupon gift link")
        verbose_name_plural = _("coupon gift links")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "token"], name="coupon_gift_token"),
            models.UniqueConstraint(
                fields=["coupon"],
                condition=Q(status="open"),
                name="coupon_gift_one_open_per_coupon",
            ),
            models.CheckConstraint(
                condition=Q(created_at__lt=models.F("expires_at")),
                name="coupon_gift_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.coupon} ({self.status})"


class CouponTransfer(TenantModel):
    """A coupon moving from one patient to another (append-only)."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="transfers")
    from_patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("from")
    )
    to_patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("to")
    )
    # The link it went through (None: a move not made through a gift link).
    gift = models.OneToOneField(
        CouponGift, on_delete=models.PROTECT, null=True, blank=True, related_name="transfer"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon transfer")
        verbose_name_plural = _("coupon transfers")
        ordering: ClassVar[list[str]] = ["coupon", "at", "id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=~Q(from_patient=models.F("to_patient")),
                name="coupon_transfer_to_someone_else",
            ),
        ]


# --- K3 flash sales (限时秒杀) ------------------------------------------------------------


class FlashSale(TenantModel):
    """A fixed stock of one coupon template sold online at a price between two instants.

    `sold` counts the live claims (reserved, paid or issued) and is changed only in the
    same transaction as the claim rows, under this row's lock; the check constraint
    `sold <= stock` makes overselling impossible even for code that forgets the lock.
    """

    title = models.CharField(_("title"), max_length=100)
    description = models.CharField(_("description"), max_length=500, blank=True)
    template = models.ForeignKey(
        CouponTemplate,
        on_delete=models.PROTECT,
        related_name="flash_sales",
        verbose_name=_("coupon sold"),
    )
    price = money_field(_("price"))
    stock = models.PositiveIntegerField(_("stock"))
    sold = models.PositiveIntegerField(_("sold"), default=0)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    per_person_limit = models.PositiveSmallIntegerField(_("limit per person"), default=1)
    # How long a claim waits for its payment before the stock goes back.
    payment_minutes = models.PositiveSmallIntegerField(_("payment window (minutes)"), default=15)
    # Empty: sold for every clinic of the organization.
    clinics = models.ManyToManyField(
        Clinic, blank=True, related_name="+", verbose_name=_("clinics")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("flash sale")
        verbose_name_plural = _("flash sales")
        ordering: ClassVar[list[str]] = ["-starts_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(
                condition=Q(sold__lte=models.F("stock")), name="flash_sale_not_oversold"
            ),
            models.CheckConstraint(condition=Q(stock__gte=1), name="flash_sale_stock_positive"),
            models.CheckConstraint(condition=Q(price__gte=0), name="flash_sale_price_not_negative"),
            models.CheckConstraint(
                condition=Q(per_person_limit__gte=1), name="flash_sale_limit_positive"
            ),
            models.CheckConstraint(
                condition=Q(payment_minutes__gte=1), name="flash_sale_payment_window_positive"
            ),
            models.CheckConstraint(
                condition=Q(starts_at__lt=models.F("ends_at")), name="flash_sale_period_ordered"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "ends_at"], name="flash_sale_ends_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class FlashSaleClaimStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved, awaiting payment")
    PAID = "paid", _("Paid")
    ISSUED = "issued", _("Coupon issued")
    EXPIRED = "expired", _("Expired unpaid")
    CANCELLED = "cancelled", _("Cancelled")


# The claims that hold a unit of stock.
LIVE_CLAIM_STATUSES = (
    FlashSaleClaimStatus.RESERVED,
    FlashSaleClaimStatus.PAID,
    FlashSaleClaimStatus.ISSUED,
)


class FlashSaleClaim(TenantModel):
    """A patient's claim of one unit of a flash sale: reserved, then paid online, then the
    coupon issued. `sequence` is the claim's place (1..limit) in the patient's allowance;
    a unique index over the live claims holds the per-person limit in the database."""

    sale = models.ForeignKey(FlashSale, on_delete=models.PROTECT, related_name="claims")
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="+", verbose_name=_("patient")
    )
    # Where it was claimed (the portal's clinic, or the staff member's).
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveSmallIntegerField()
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=FlashSaleClaimStatus.choices,
        default=FlashSaleClaimStatus.RESERVED,
    )
    amount = money_field(_("amount"))
    # Ours, sent to the payment processor as the order number (out_trade_no).
    reference = models.CharField(_("order number"), max_length=32)
    # The processor's transaction id, once paid.
    payment_reference = models.CharField(_("payment reference"), max_length=64, blank=True)
    payment_processor = models.CharField(max_length=30, blank=True)
    expires_at = models.DateTimeField(_("pay before"))
    created_at = models.DateTimeField(_("claimed at"), default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    coupon = models.OneToOneField(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="flash_sale_claim"
    )
    created_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("flash sale claim")
        verbose_name_plural = _("flash sale claims")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="flash_sale_claim_reference_unique"
            ),
            models.UniqueConstraint(
                fields=["sale", "patient", "sequence"],
                condition=Q(status__in=["reserved", "paid", "issued"]),
                name="flash_sale_claim_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="flash_sale_claim_sequence_positive"
            ),
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["sale", "status"], name="flash_sale_claim_status_idx"),
            models.Index(fields=["status", "expires_at"], name="flash_sale_claim_expiry_idx"),
            models.Index(fields=["organization", "patient"], name="flash_sale_claim_patient_idx"),
        ]

    def __str__(self) -> str:
        return self.reference


# --- K4 vouchers booked in the portal -----------------------------------------------------


class VoucherBooking(TenantModel):
    """An appointment booked with a service voucher, or with one unit of a combo card's
    entitlement (K4: redemption by booking).

    The voucher is *reserved* while the appointment is still ahead (booked, confirmed,
    arrived or in treatment) and no bill has redeemed it for this booking: it cannot be
    booked a second time. A cancelled appointment or a no-show releases it without any
    write (the reservation is read from the appointment's status, see
    selectors.vouchers); the cashier's confirmation of a bill that uses it stamps `bill`.
    """

    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, related_name="bookings", verbose_name=_("voucher")
    )
    # A combo card: the entitlement one unit of which is booked; None for a service voucher.
    entitlement = models.ForeignKey(
        Entitlement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    appointment = models.OneToOneField(
        Appointment, on_delete=models.PROTECT, related_name="+", verbose_name=_("appointment")
    )
    # The bill that redeemed the voucher for this appointment (cleared if that bill is
    # voided or refunded in full and the use reversed).
    bill = models.ForeignKey(
        Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("voucher booking")
        verbose_name_plural = _("voucher bookings")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "coupon"], name="voucher_booking_coupon_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.coupon} → {self.appointment_id}"
