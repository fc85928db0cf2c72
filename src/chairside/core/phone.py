"""Mainland China mobile numbers: one canonical 11-digit form, and masking for display (of a
number, and of a name shown to someone who should not learn it)."""

from __future__ import annotations

import unicodedata

import phonenumbers
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberType

from chairside.core.errors import ErrorCode, ValidationFailed

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def _invalid_phone() -> ValidationFailed:
    return ValidationFailed(
        _("Enter a valid mainland China mobile number, such as 138 0013 8000."),
        code=ErrorCode.INVALID_PHONE,
        field="phone",
    )


def normalize_mobile(text: str) -> str:
    """The 11-digit national number of a CN mobile written in any usual way.

    Accepts spaces, dashes, brackets, a +86 / 0086 / 86 prefix and full-width characters;
    landlines, foreign numbers and anything unparsable raise ValidationFailed(INVALID_PHONE).
    """
    if not isinstance(text, str):
        raise _invalid_phone()
    # NFKC turns full-width "＋８６" into ASCII before phonenumbers sees it.
    cleaned = unicodedata.normalize("NFKC", text).strip()
    try:
        number = phonenumbers.parse(cleaned, "CN")
    except phonenumbers.NumberParseException:
        raise _invalid_phone() from None
    if (
        number.extension
        or not phonenumbers.is_valid_number_for_region(number, "CN")
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise _invalid_phone()
    national = str(number.national_number)
    if len(national) != 11:
        raise _invalid_phone()
    return national


def mask_mobile(number: str) -> str:
    """Show "13800138000" as "138****8000"; never raises, so templates can use it freely."""
    try:
        digits = normalize_mobile(number)
    except ValidationFailed:
        digits = number.strip() if isinstance(number, str) else ""
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def masked_name(name: str) -> str:
    """The surname (the first character) and stars: 张三 -> 张**. The star count is fixed so
    that the length of the given name is not told either."""
    name = name.strip()
    return f"{name[:1]}**" if name else "**"
