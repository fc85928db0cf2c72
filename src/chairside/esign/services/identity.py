"""Proving who is about to enrol a key or sign: a 6-digit SMS code to the mobile on file
(the staff member's, or the patient's), and, where asked, the patient's resident ID number
checked against the one the clinic holds.

Only a keyed hash of a code is kept. A code lives ten minutes and allows five wrong tries;
asking for codes is limited per mobile (one a minute, five an hour) and per address, and
checking is limited per address, like the portal's sign-in codes.
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from chairside.core.crypto import blind_index
from chairside.core.errors import DomainError
from chairside.core.models import Clinic, Organization, Staff
from chairside.core.ratelimit import Limit, hit
from chairside.core.resident_id import parse_resident_id
from chairside.esign import evidence
from chairside.esign.errors import (
    CodeInvalid,
    IdentityCheckFailed,
    NoMobile,
    SigningRateLimited,
)
from chairside.esign.models import EvidenceEvent, IdentityCheck, SignerSlot
from chairside.esign.services.documents import ClientInfo, actor_label, require_signing
from chairside.messaging.models import ChannelType, MessageKind
from chairside.messaging.services import message_send
from chairside.patients.models import Patient

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
# A verified check lets its browser start a signature for this long.
VERIFIED_FOR = timedelta(minutes=30)
ENROL_CODE_TEMPLATE = "esign.enrol_code"
SIGN_CODE_TEMPLATE = "esign.sign_code"
_CODE = re.compile(rf"\d{{{CODE_DIGITS}}}")

# The portal's sign-in code numbers, with counters of their own (the "esign-" names).
CODE_PER_PHONE_MINUTE = Limit("esign-code-phone-minute", 1, 60)
CODE_PER_PHONE_HOUR = Limit("esign-code-phone-hour", 5, 60 * 60)
CODE_PER_ADDRESS_HOUR = Limit("esign-code-address-hour", 20, 60 * 60)
VERIFY_PER_ADDRESS_HOUR = Limit("esign-verify-address-hour", 30, 60 * 60)


def _code_hash(check_purpose: str, owner: str, phone: str, code: str) -> str:
    # Keyed with SECRET_KEY: a million possible codes are no secret behind a plain hash.
    return salted_hmac(
        "chairside.esign.code", f"{check_purpose}:{owner}:{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def _owner(check: IdentityCheck) -> str:
    return f"staff:{check.staff_id}" if check.staff_id else f"slot:{check.slot_id}"


def _too_many() -> SigningRateLimited:
    return SigningRateLimited(
        _("Too many codes were requested. Please wait a while and try again."), field="code"
    )


def _limit_sending(phone: str, client_ip: str) -> None:
    if not hit(CODE_PER_ADDRESS_HOUR, client_ip or "-"):
        raise _too_many()
    if not hit(CODE_PER_PHONE_MINUTE, phone):
        raise SigningRateLimited(
            _("A code was sent less than a minute ago. Please wait before asking again."),
            field="code",
        )
    if not hit(CODE_PER_PHONE_HOUR, phone):
        raise _too_many()


def _send_code(
    *,
    organization: Organization,
    clinic: Clinic | None,
    patient: Patient | None,
    template: str,
    check: IdentityCheck,
) -> None:
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    check.code_hash = _code_hash(check.purpose, _owner(check), check.phone, code)
    check.save()
    message_send(
        organization=organization,
        channel=ChannelType.SMS,
        recipient=check.phone,
        template_code=template,
        kind=MessageKind.VERIFICATION,
        context={"code": code, "minutes": int(CODE_LIFETIME.total_seconds() // 60)},
        clinic=clinic,
        patient=patient,
        expires_at=check.expires_at,
    )


def _new_check(**values: object) -> IdentityCheck:
    now = timezone.now()
    return IdentityCheck(created_at=now, expires_at=now + CODE_LIFETIME, **values)


@transaction.atomic
def staff_code_request(*, staff: Staff, clinic: Clinic, client_ip: str) -> IdentityCheck:
    """Send a key-enrolment code to the staff member's own mobile."""
    if not staff.phone:
        raise NoMobile(
            _("Your staff profile has no mobile number; ask an administrator to add it."),
            field="code",
        )
    _limit_sending(staff.phone, client_ip)
    check = _new_check(
        organization_id=staff.organization_id,
        purpose=IdentityCheck.Purpose.ENROL,
        staff=staff,
        phone=staff.phone,
    )
    _send_code(
        organization=Organization.objects.get(pk=staff.organization_id or 0),
        clinic=clinic,
        patient=None,
        template=ENROL_CODE_TEMPLATE,
        check=check,
    )
    return check


@transaction.atomic
def patient_code_request(*, slot: SignerSlot, client_ip: str) -> IdentityCheck:
    """Send a signing code to the patient's mobile on file (never to a number typed in)."""
    document = slot.document
    require_signing(document)
    patient = Patient.objects.get(pk=document.patient_id)
    if not patient.phone:
        raise NoMobile(
            _("The clinic has no mobile number for you. Please ask the front desk."),
            field="code",
        )
    _limit_sending(patient.phone, client_ip)
    check = _new_check(
        organization_id=document.organization_id,
        purpose=IdentityCheck.Purpose.SIGN,
        slot=slot,
        phone=patient.phone,
    )
    _send_code(
        organization=Organization.objects.get(pk=document.organization_id),
        clinic=Clinic.objects.get(pk=document.clinic_id),
        patient=patient,
        template=SIGN_CODE_TEMPLATE,
        check=check,
    )
    return check


def _wrong_code() -> CodeInvalid:
    return CodeInvalid(
        _("The code is wrong or no longer valid. Check the SMS, or ask for a new code."),
        field="code",
    )


def _check_code(*, checks: object, code: str, client_ip: str) -> IdentityCheck:
    """The newest code of `checks` if `code` is it (not used, not expired, tries left);
    a wrong code counts a try, committed even though the caller then fails."""
    if not hit(VERIFY_PER_ADDRESS_HOUR, client_ip or "-"):
        raise SigningRateLimited(
            _("Too many attempts. Please wait a while and try again."), field="code"
        )
    code = (code or "").strip()
    if not _CODE.fullmatch(code):
        raise CodeInvalid(_("Enter the 6-digit code from the SMS."), field="code")
    now = timezone.now()
    with transaction.atomic():
        latest = checks.select_for_update().order_by("-created_at", "-id").first()  # type: ignore[attr-defined]
        usable = (
            latest is not None
            and latest.verified_at is None
            and latest.expires_at > now
            and latest.attempts < CODE_MAX_ATTEMPTS
        )
        if latest is not None and usable:
            expected = _code_hash(latest.purpose, _owner(latest), latest.phone, code)
            if constant_time_compare(latest.code_hash, expected):
                return latest  # type: ignore[no-any-return]
            latest.attempts += 1
            latest.save(update_fields=["attempts"])
    raise _wrong_code()


def staff_code_check(*, staff: Staff, code: str, client_ip: str) -> IdentityCheck:
    """The staff member's newest enrolment code, if `code` is it; not used up yet (the
    enrolment uses it in its own transaction, so a failed enrolment keeps it)."""
    return _check_code(
        checks=IdentityCheck.objects.filter(purpose=IdentityCheck.Purpose.ENROL, staff=staff),
        code=code,
        client_ip=client_ip,
    )


def use_check(check: IdentityCheck) -> IdentityCheck:
    """Mark a right code used, inside the caller's transaction; a second use fails."""
    locked = IdentityCheck.objects.select_for_update().get(pk=check.pk)
    if locked.verified_at is not None:
        raise _wrong_code()
    locked.verified_at = timezone.now()
    locked.save(update_fields=["verified_at"])
    return locked  # type: ignore[no-any-return]


def _id_matches(patient: Patient, id_number: str) -> bool:
    try:
        number = parse_resident_id(id_number).number
    except DomainError:
        return False
    return bool(patient.id_number_digest) and constant_time_compare(
        blind_index(number), patient.id_number_digest
    )


def patient_identity_verify(
    *, slot: SignerSlot, code: str, id_number: str, client: ClientInfo
) -> IdentityCheck:
    """Check the patient's SMS code and, if the slot asks for it, their resident ID number
    against the one on file; log "identity_verified". The returned check is what lets this
    browser start the signature (for VERIFIED_FOR)."""
    document = slot.document
    require_signing(document)
    patient = Patient.objects.get(pk=document.patient_id)
    if slot.requires_id_number and not patient.id_number_digest:
        raise IdentityCheckFailed(
            _("The clinic has no resident ID number for you. Please ask the front desk."),
            field="id_number",
        )
    check = _check_code(
        checks=IdentityCheck.objects.filter(purpose=IdentityCheck.Purpose.SIGN, slot=slot),
        code=code,
        client_ip=client.ip,
    )
    if slot.requires_id_number and not _id_matches(patient, id_number):
        # A wrong ID number uses up a try of the code as a wrong code would.
        with transaction.atomic():
            IdentityCheck.objects.filter(pk=check.pk).update(attempts=check.attempts + 1)
        raise IdentityCheckFailed(
            _("The resident ID number does not match the clinic's records."), field="id_number"
        )
    with transaction.atomic():
        check = use_check(check)
        check.id_number_checked = slot.requires_id_number
        check.save(update_fields=["id_number_checked"])
        evidence.record(
            organization=Organization.objects.get(pk=document.organization_id),
            kind=EvidenceEvent.Kind.IDENTITY_VERIFIED,
            actor=actor_label(patient=patient),
            document=document,
            details={
                "slot": slot.order,
                "method": "sms+id_number" if slot.requires_id_number else "sms",
                **client.details(),
            },
        )
    return check


def fresh_patient_check(*, slot: SignerSlot, check_id: int | None) -> IdentityCheck | None:
    """The verified check of this browser (its id kept in the session) if it still opens
    the slot's signature."""
    if check_id is None:
        return None
    checks = IdentityCheck.objects.filter(
        pk=check_id,
        purpose=IdentityCheck.Purpose.SIGN,
        slot=slot,
        verified_at__gt=timezone.now() - VERIFIED_FOR,
    )
    if slot.requires_id_number:
        checks = checks.filter(id_number_checked=True)
    return checks.first()  # type: ignore[no-any-return]
