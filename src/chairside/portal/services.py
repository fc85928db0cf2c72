"""Every write of the patient portal: sign-in codes, and online booking, cancelling and moving
within the clinic's rules (the scheduling services do the booking itself).

Sign-in never tells whether a mobile is registered: asking for a code answers the same way
for every valid number, and a wrong code, an expired one and a number without a code give
the same refusal.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chairside.core import ratelimit
from chairside.core.audit import audit_record, changed_fields, snapshot
from chairside.core.clock import local
from chairside.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.phone import normalize_mobile
from chairside.core.tenancy import TenantScopeError, current_tenant
from chairside.messaging.models import ChannelType, MessageKind
from chairside.messaging.services import message_send
from chairside.patients.models import Patient
from chairside.portal import rules
from chairside.portal.errors import PortalErrorCode, RateLimited, is_for_patients
from chairside.portal.models import PortalLoginCode, PortalSettings
from chairside.promotions.models import Coupon, Entitlement
from chairside.promotions.services.vouchers import VOUCHER_ERRORS, voucher_book
from chairside.scheduling.errors import SchedulingErrorCode
from chairside.scheduling.models import (
    ACTIVE_STATUSES,
    Appointment,
    AppointmentSource,
    AppointmentType,
)
from chairside.scheduling.selectors import recall_for_token
from chairside.scheduling.services import (
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
    recall_link_booking,
)

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
LOGIN_CODE_TEMPLATE = "portal.login_code"
# Sending: one code a minute and five an hour per mobile (whichever organization asks: it
# is the same phone being woken up), twenty an hour per address. Checking: thirty tries an
# hour per address, on top of five per code.
CODE_PER_PHONE_MINUTE = ratelimit.Limit("code-phone-minute", 1, 60)
CODE_PER_PHONE_HOUR = ratelimit.Limit("code-phone-hour", 5, 60 * 60)
CODE_PER_ADDRESS_HOUR = ratelimit.Limit("code-address-hour", 20, 60 * 60)
VERIFY_PER_ADDRESS_HOUR = ratelimit.Limit("verify-address-hour", 30, 60 * 60)
# A household cannot take a clinic's whole week from a phone.
MAX_UPCOMING_ONLINE_BOOKINGS = 3

_CODE = re.compile(rf"\d{{{CODE_DIGITS}}}")


def _require_tenant(organization: Organization) -> None:
    if current_tenant().organization_id != organization.pk:
        raise TenantScopeError("portal service called outside the organization's tenant scope")


# --- sign-in codes --------------------------------------------------------------------


def _patients_with_mobile(phone: str) -> list[Patient]:
    """The patients registered with this mobile: those its sign-in code lets in."""
    return list(Patient.objects.filter(phone=phone, is_archived=False).order_by("id"))


def _code_hash(organization_id: int, phone: str, code: str) -> str:
    # Keyed with SECRET_KEY: a million possible codes are no secret behind a plain hash.
    return salted_hmac(
        "chairside.portal.login_code", f"{organization_id}:{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _too_many_codes() -> RateLimited:
    return RateLimited(
        _("Too many codes were requested. Please wait a while and try again."), field="phone"
    )


def login_code_request(*, organization: Organization, phone: str, client_ip: str) -> str:
    """Send a sign-in code by SMS if a patient of `organization` has the mobile `phone`.

    Returns the mobile in its canonical form whether or not one was sent, so callers cannot
    answer differently. Raises ValidationFailed for a number that is not a CN mobile, and
    RateLimited (counted for known and unknown numbers alike).
    """
    _require_tenant(organization)
    phone = normalize_mobile(phone)
    # In this order, so that a refused request does not use up a later allowance: an
    # address over its limit does not block the numbers it tried.
    if not ratelimit.hit(CODE_PER_ADDRESS_HOUR, client_ip):
        raise _too_many_codes()
    if not ratelimit.hit(CODE_PER_PHONE_MINUTE, phone):
        raise RateLimited(
            _("A code was sent less than a minute ago. Please wait before asking again."),
            field="phone",
        )
    if not ratelimit.hit(CODE_PER_PHONE_HOUR, phone):
        raise _too_many_codes()
    patients = _patients_with_mobile(phone)
    if not patients:
        return phone
    code = _new_code()
    now = timezone.now()
    try:
        with transaction.atomic():
            PortalLoginCode.objects.create(
                organization=organization,
                phone=phone,
                code_hash=_code_hash(organization.pk, phone, code),
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
            message_send(
                organization=organization,
                channel=ChannelType.SMS,
                recipient=phone,
                template_code=LOGIN_CODE_TEMPLATE,
                kind=MessageKind.VERIFICATION,
                context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
                patient=patients[0],
                expires_at=now + CODE_LIFETIME,
            )
    except ValidationFailed:
        # No active template: the organization must fix its message centre. The patient is
        # told what an unknown number is told; the log names neither the number nor the code.
        logger.error(
            "portal sign-in code not sent: organization %s has no active %s SMS template",
            organization.pk,
            LOGIN_CODE_TEMPLATE,
        )
    return phone


@dataclass(frozen=True)
class SignIn:
    """Who proved control of a mobile: the patients registered with it."""

    organization_id: int
    phone: str
    patient_ids: tuple[int, ...]


def _wrong_code() -> ValidationFailed:
    return ValidationFailed(
        _("The code is wrong or no longer valid. Check the SMS, or ask for a new code."),
        field="code",
        code=PortalErrorCode.CODE_INVALID,
    )


def login_code_verify(
    *, organization: Organization, phone: str, code: str, client_ip: str
) -> SignIn:
    """Check the latest code sent to `phone`: right, unused, not expired and with fewer than
    five wrong tries. A right code is used up; a wrong one counts a try."""
    _require_tenant(organization)
    if not ratelimit.hit(VERIFY_PER_ADDRESS_HOUR, client_ip):
        raise RateLimited(_("Too many attempts. Please wait a while and try again."), field="code")
    phone = normalize_mobile(phone)
    code = (code or "").strip()
    if not _CODE.fullmatch(code):
        raise ValidationFailed(
            _("Enter the 6-digit code from the SMS."),
            field="code",
            code=PortalErrorCode.CODE_INVALID,
        )
    now = timezone.now()
    signed_in = False
    # The try is counted in its own transaction, committed before the refusal is raised.
    with transaction.atomic():
        latest = (
            PortalLoginCode.objects.select_for_update()
            .filter(phone=phone)
            .order_by("-created_at", "-id")
            .first()
        )
        usable = (
            latest is not None
            and latest.used_at is None
            and latest.expires_at > now
            and latest.attempts < CODE_MAX_ATTEMPTS
        )
        if latest is not None and usable:
            if constant_time_compare(latest.code_hash, _code_hash(organization.pk, phone, code)):
                latest.used_at = now
                latest.save(update_fields=["used_at"])
                signed_in = True
            else:
                latest.attempts += 1
                latest.save(update_fields=["attempts"])
    patients = _patients_with_mobile(phone) if signed_in else []
    if not patients:
        raise _wrong_code()
    return SignIn(
        organization_id=organization.pk, phone=phone, patient_ids=tuple(p.pk for p in patients)
    )


def login_codes_purge(*, older_than: timedelta = timedelta(days=7)) -> int:
    """Delete sign-in codes that expired more than `older_than` ago, in every organization
    (an operations task). Returns how many went."""
    deleted, _rows = PortalLoginCode.all_tenants.filter(
        expires_at__lt=timezone.now() - older_than
    ).delete()
    return deleted


# --- online booking -------------------------------------------------------------------


def _duration_text(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return gettext("%(hours)d hours") % {"hours": hours} if hours != 1 else gettext("1 hour")
    return gettext("%(minutes)d minutes") % {"minutes": minutes}


def _check_bookable_time(clinic: Clinic, policy: PortalSettings, start: datetime) -> None:
    if not policy.portal_enabled:
        raise ValidationFailed(
            gettext("%(clinic)s does not take online bookings at the moment.")
            % {"clinic": clinic.name},
            code=PortalErrorCode.BOOKING_CLOSED,
        )
    if start < rules.earliest_start(rules=policy):
        raise ValidationFailed(
            gettext(
                "Online bookings must start at least %(notice)s from now. For an earlier "
                "time, please call the clinic."
            )
            % {"notice": _duration_text(policy.min_notice_minutes)},
            field="start",
            code=PortalErrorCode.TOO_SOON,
        )
    _first, last = rules.booking_days(clinic=clinic, rules=policy)
    if local(start, clinic).date() > last:
        raise ValidationFailed(
            gettext("Online bookings are open for the next %(days)d days only.")
            % {"days": policy.book_days_ahead},
            field="start",
            code=PortalErrorCode.TOO_FAR_AHEAD,
        )


def change_refusal(appointment: Appointment) -> ValidationFailed | None:
    """Why the patient may not cancel or move `appointment` online now; None if they may."""
    policy = rules.clinic_rules(clinic=appointment.clinic)
    if appointment.status not in rules.CHANGEABLE_STATUSES:
        return ValidationFailed(
            _("This booking can no longer be changed online."),
            code=PortalErrorCode.NOT_CHANGEABLE,
        )
    if appointment.start - timezone.now() < timedelta(hours=policy.cancel_until_hours):
        return ValidationFailed(
            gettext(
                "Bookings can be cancelled or moved online until %(hours)d hours before the "
                "visit. Please call the clinic."
            )
            % {"hours": policy.cancel_until_hours},
            code=PortalErrorCode.TOO_LATE_TO_CHANGE,
        )
    return None


def _check_changeable(appointment: Appointment) -> None:
    refusal = change_refusal(appointment)
    if refusal is not None:
        raise refusal


SLOT_TAKEN_MESSAGE = _("Sorry, this time has just been taken. Please choose another time.")


def _slot_taken() -> Conflict:
    return Conflict(
        SLOT_TAKEN_MESSAGE,
        field="start",
        code=PortalErrorCode.SLOT_TAKEN,
    )


def _check_household_may_book(patient: Patient, start: datetime, end: datetime) -> None:
    """Called with the patient's row locked, so two taps of the same button book once."""
    upcoming = Appointment.objects.filter(
        patient=patient, status__in=ACTIVE_STATUSES, end__gt=timezone.now()
    )
    if upcoming.filter(start__lt=end, end__gt=start).exists():
        raise ValidationFailed(
            gettext("%(name)s already has a booking at this time.") % {"name": patient.name},
            field="patient_id",
            code=PortalErrorCode.PATIENT_BUSY,
        )
    online = upcoming.filter(source=AppointmentSource.PORTAL).count()
    if online >= MAX_UPCOMING_ONLINE_BOOKINGS:
        raise ValidationFailed(
            gettext(
                "%(name)s already has %(count)d upcoming online bookings. Please cancel one "
                "first, or call the clinic."
            )
            % {"name": patient.name, "count": online},
            field="patient_id",
            code=PortalErrorCode.TOO_MANY_BOOKINGS,
        )


def online_appointment_book(
    *,
    clinic: Clinic,
    patient: Patient,
    appointment_type: AppointmentType,
    start: datetime,
    doctor: Staff | None,
    note: str = "",
    recall_token: str = "",
    voucher: Coupon | None = None,
    entitlement: Entitlement | None = None,
) -> Appointment:
    """Book `patient` at `start` from the portal, with `doctor` or, given none, any doctor
    free then. `start` must be one of the free times the portal offers the patient; a time
    taken since raises Conflict(SLOT_TAKEN) with a message for the patient.

    A booking opened from a recall link (`recall_token`) closes that recall as booked when
    it is the same patient's and still open; any other token is ignored.

    Booked with a `voucher` (the patient's service voucher, or a combo card and the
    `entitlement` to use), the voucher is reserved for the appointment in the same
    transaction; a voucher that cannot be booked refuses the booking (promotions'
    VoucherError codes, with messages for the patient)."""
    policy = rules.clinic_rules(clinic=clinic)
    start = local(start, clinic)
    _check_bookable_time(clinic, policy, start)
    if not appointment_type.is_active:
        raise NotFound(_("This service cannot be booked online."))
    candidates = rules.doctors_free_at(
        clinic=clinic,
        rules=policy,
        patient=patient,
        start=start,
        appointment_type=appointment_type,
        doctor=doctor,
    )
    if not candidates:
        raise _slot_taken()
    last_error: DomainError | None = None
    for candidate in candidates:
        try:
            with transaction.atomic():
                list(Patient.objects.select_for_update().filter(pk=patient.pk).values("pk"))
                _check_household_may_book(
                    patient, start, start + timedelta(minutes=appointment_type.duration_minutes)
                )
                appointment = appointment_book(
                    clinic=clinic,
                    patient=patient,
                    doctor=candidate,
                    start=start,
                    appointment_type=appointment_type,
                    source=AppointmentSource.PORTAL,
                    note=note,
                    actor=None,
                )
                if voucher is not None:
                    voucher_book(coupon=voucher, entitlement=entitlement, appointment=appointment)
                recall = recall_for_token(token=recall_token) if recall_token else None
                if recall is not None and recall.is_open and recall.patient_id == patient.pk:
                    recall_link_booking(recall=recall, appointment=appointment)
                return appointment
        except (Conflict, ValidationFailed) as e:
            if str(e.code) in VOUCHER_ERRORS:
                raise  # the voucher, not the time: another doctor would not help
            if isinstance(e, ValidationFailed) and is_for_patients(e):
                raise
            # Someone else was quicker, or the doctor's hours changed since the list was
            # shown: try the next doctor free then.
            last_error = e
    raise _slot_taken() from last_error


def online_appointment_cancel(*, appointment: Appointment, reason: str) -> Appointment:
    """The patient cancels, until `cancel_until_hours` before the visit."""
    _check_changeable(appointment)
    reason = gettext("Cancelled online by the patient: %(reason)s") % {
        "reason": (reason or "").strip()[:100] or gettext("no reason given")
    }
    try:
        return appointment_cancel(appointment=appointment, actor=None, reason=reason)
    except Conflict as e:
        if e.code == SchedulingErrorCode.INVALID_TRANSITION:
            raise ValidationFailed(
                _("This booking can no longer be changed online."),
                code=PortalErrorCode.NOT_CHANGEABLE,
            ) from e
        raise


def online_appointment_reschedule(*, appointment: Appointment, start: datetime) -> Appointment:
    """The patient moves a booking to another free time of the same doctor, by the rules of
    cancelling (until `cancel_until_hours` before) and of booking (notice and horizon)."""
    clinic = appointment.clinic
    policy = rules.clinic_rules(clinic=clinic)
    start = local(start, clinic)
    _check_changeable(appointment)
    _check_bookable_time(clinic, policy, start)
    minutes = int((appointment.end - appointment.start).total_seconds() // 60)
    free = rules.doctors_free_at(
        clinic=clinic,
        rules=policy,
        patient=appointment.patient,
        start=start,
        minutes=minutes,
        doctor=appointment.doctor,
    )
    if not free:
        raise _slot_taken()
    try:
        return appointment_reschedule(
            appointment=appointment,
            start=start,
            actor=None,
            by_patient=True,
            reason=gettext("Moved online by the patient"),
        )
    except Conflict as e:
        if e.code == SchedulingErrorCode.INVALID_TRANSITION:
            raise ValidationFailed(
                _("This booking can no longer be changed online."),
                code=PortalErrorCode.NOT_CHANGEABLE,
            ) from e
        raise _slot_taken() from e
    except ValidationFailed as e:
        raise _slot_taken() from e


# --- the clinic's rules ---------------------------------------------------------------

PORTAL_SETTINGS_FIELDS = (
    "portal_enabled",
    "cancel_until_hours",
    "book_days_ahead",
    "min_notice_minutes",
)


@transaction.atomic
def portal_settings_save(*, actor: Staff | None, clinic: Clinic, **values: Any) -> PortalSettings:
    """Set a clinic's online-booking rules (those not given keep their value), audited."""
    unknown = set(values) - set(PORTAL_SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"unexpected portal settings: {sorted(unknown)}")
    if clinic.organization_id != current_tenant().organization_id:
        raise NotFound(_("Not found."))
    row = PortalSettings.objects.select_for_update().filter(clinic=clinic).first()
    created = row is None
    if row is None:
        row = PortalSettings(organization_id=clinic.organization_id, clinic=clinic)
    before = snapshot(row)
    for key, value in values.items():
        setattr(row, key, value)
    try:
        row.full_clean(exclude=["organization", "clinic"], validate_constraints=False)
    except DjangoValidationError as e:
        fields = {k: list(v) for k, v in e.message_dict.items()}
        first = next(iter(fields.values()))[0]
        raise ValidationFailed(first, fields=fields) from e
    after = snapshot(row)
    if not created and not changed_fields(before, after):
        return row
    row.save()
    audit_record(
        action=AuditEntry.Action.CREATE if created else AuditEntry.Action.UPDATE,
        instance=row,
        actor=actor,
        clinic=clinic,
        before=None if created else before,
        after=snapshot(row),
        summary=gettext("Online booking rules of %(clinic)s saved") % {"clinic": clinic.name},
    )
    return row
