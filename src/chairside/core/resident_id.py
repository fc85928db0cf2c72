"""PRC resident ID numbers (居民身份证号): validation, the facts they encode, masking."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from chairside.core.errors import ErrorCode, ValidationFailed

Gender = Literal["male", "female"]

_CHINA = ZoneInfo("Asia/Shanghai")
# Anyone alive was born after this; earlier dates mean a mistyped year.
_EARLIEST_BIRTH = date(1900, 1, 1)
_FORMAT = re.compile(r"[0-9]{17}[0-9X]")
_WHITESPACE = re.compile(r"\s+")

# Module constants so callers and tests can tell the failures apart without rendering text.
MESSAGE_BAD_LENGTH: Promise = _("A resident ID number has 18 characters.")
MESSAGE_BAD_FORMAT: Promise = _("A resident ID number is 17 digits followed by a digit or X.")
MESSAGE_BAD_CHECKSUM: Promise = _(
    "The last character of this resident ID number does not match; check for a typo."
)
MESSAGE_IMPOSSIBLE_BIRTH_DATE: Promise = _(
    "The birth date in this resident ID number does not exist."
)
MESSAGE_FUTURE_BIRTH_DATE: Promise = _(
    "The birth date in this resident ID number is in the future."
)


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    birth_date: date
    gender: Gender
    region_code: str


def _fail(message: Promise) -> ValidationFailed:
    return ValidationFailed(message, code=ErrorCode.INVALID_RESIDENT_ID, field="id_number")


def _compact(text: str) -> str:
    # NFKC folds full-width digits and "ｘ" typed with a Chinese input method.
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text)).upper()


def parse_resident_id(text: str, *, today: date | None = None) -> ResidentId:
    """Validate an 18-character resident ID and read its birth date, gender and region.

    The region code is only checked to be six digits: the official list changes every
    year and numbers stay valid after their county is renamed. `today` defaults to the
    current date in China.
    """
    if not isinstance(text, str):
        raise _fail(MESSAGE_BAD_FORMAT)
    number = _compact(text)
    if len(number) != 18:
        raise _fail(MESSAGE_BAD_LENGTH)
    if not _FORMAT.fullmatch(number):
        raise _fail(MESSAGE_BAD_FORMAT)
    # The date is checked before the checksum: a mistyped date deserves the precise message.
    try:
        birth_date = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _fail(MESSAGE_IMPOSSIBLE_BIRTH_DATE) from None
    if birth_date < _EARLIEST_BIRTH:
        raise _fail(MESSAGE_IMPOSSIBLE_BIRTH_DATE)
    if birth_date > (today or datetime.now(_CHINA).date()):
        raise _fail(MESSAGE_FUTURE_BIRTH_DATE)
    if ric.calc_check_digit(number) != number[-1]:
        raise _fail(MESSAGE_BAD_CHECKSUM)
    # The sequence number's parity encodes gender: odd for men, even for women.
    gender: Gender = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, birth_date=birth_date, gender=gender, region_code=number[:6])


def make_resident_id(region: str, birth: date, sequence: int) -> str:
    """A well-formed number for `region` (6 digits), `birth` and `sequence` (0-999).

    An odd sequence gives a man's number, an even one a woman's. Meant for demo data:
    the result is valid but belongs to nobody only if the inputs are made up.
    """
    if not re.fullmatch(r"[0-9]{6}", region):
        raise ValueError(f"region must be six digits, not {region!r}")
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0-999, not {sequence}")
    if not 1000 <= birth.year <= 9999:
        raise ValueError(f"birth year must have four digits, not {birth.year}")
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    # calc_check_digit ignores the last character: it expects a complete number.
    return body + ric.calc_check_digit(body + "0")


def mask_resident_id(number: str) -> str:
    """Show "110101199003071234" as "110101********1234"; never raises."""
    compact = _compact(number) if isinstance(number, str) else ""
    if len(compact) <= 10:
        return "*" * len(compact)
    return compact[:6] + "*" * (len(compact) - 10) + compact[-4:]
