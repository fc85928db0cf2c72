"""Error codes of the patient portal. A portal page shows a message to the patient only when
its code is one of these: other apps' messages are written for staff and may name other
patients (a doctor's clash names whom the doctor is seeing)."""

from __future__ import annotations

from enum import StrEnum

from chairside.core.errors import DomainError


class PortalErrorCode(StrEnum):
    RATE_LIMITED = "portal_rate_limited"
    CODE_INVALID = "portal_code_invalid"
    BOOKING_CLOSED = "portal_booking_closed"
    TOO_SOON = "portal_too_soon"
    TOO_FAR_AHEAD = "portal_too_far_ahead"
    TOO_LATE_TO_CHANGE = "portal_too_late_to_change"
    SLOT_TAKEN = "portal_slot_taken"
    NOT_CHANGEABLE = "portal_not_changeable"
    PATIENT_BUSY = "portal_patient_busy"
    TOO_MANY_BOOKINGS = "portal_too_many_bookings"


class RateLimited(DomainError):
    """Too many requests of one kind from one phone number or one address."""

    status = 429
    code = PortalErrorCode.RATE_LIMITED


def is_for_patients(error: DomainError) -> bool:
    """Whether `error.message` was written for the patient (see the module docstring)."""
    return str(error.code) in {c.value for c in PortalErrorCode}
