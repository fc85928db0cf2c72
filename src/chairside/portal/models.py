"""Sign-in codes sent by SMS, and each clinic's rules for online booking."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.models import Clinic
from chairside.core.tenancy import TenantModel

# free_slots answers at most 31 days at a time, so nobody can book further ahead online.
LONGEST_BOOKING_HORIZON_DAYS = 31


class PortalLoginCode(TenantModel):
    """A one-time sign-in code sent to a mobile. Only a keyed hash of the code is kept, so a
    copy of the database does not give away codes (six digits are quickly guessed from a
    plain hash)."""

    phone = models.CharField(_("mobile"), max_length=11)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("portal sign-in code")
        verbose_name_plural = _("portal sign-in codes")
        indexes: ClassVar[list[models.Index]] = [
            models.Index(
                fields=["organization", "phone", "created_at"], name="portal_code_phone_idx"
            ),
            models.Index(fields=["expires_at"], name="portal_code_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.phone[:3]}****{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"


class PortalSettings(TenantModel):
    """A clinic's rules for online self-booking. A clinic without a row uses the defaults."""

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="+")
    portal_enabled = models.BooleanField(
        _("online booking"), default=True, help_text=_("Patients may book this clinic online.")
    )
    cancel_until_hours = models.PositiveSmallIntegerField(
        _("cancel or move until (hours before)"),
        default=2,
        validators=[MaxValueValidator(24 * 14)],
        help_text=_("Patients may cancel or move a booking up to this many hours before it."),
    )
    book_days_ahead = models.PositiveSmallIntegerField(
        _("bookable days ahead"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(LONGEST_BOOKING_HORIZON_DAYS)],
        help_text=_("How many days, today included, patients see free times for."),
    )
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"),
        default=60,
        validators=[MaxValueValidator(60 * 24 * 7)],
        help_text=_("No online booking may start sooner than this."),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(
                fields=["organization", "clinic"], name="portal_settings_clinic_unique"
            ),
            models.CheckConstraint(
                condition=Q(
                    book_days_ahead__gte=1, book_days_ahead__lte=LONGEST_BOOKING_HORIZON_DAYS
                ),
                name="portal_settings_days_ahead_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.clinic_id)
