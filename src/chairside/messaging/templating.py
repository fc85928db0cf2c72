"""The text of messages: `{name}` placeholders, rendering and SMS length.

Templates are edited by clinic staff, so the syntax is Python's format syntax cut down to
plain names: no indexes, attributes, conversions or format specs that could reach into
objects or fail at send time.
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

# China's carriers count every character (Chinese or not) the same: 70 fit one SMS, the
# signature included; a longer text is split and billed per 67.
SMS_SINGLE_LENGTH = 70
SMS_PART_LENGTH = 67
SMS_SIGN_MIN, SMS_SIGN_MAX = 2, 18

# What carriers accept as the opt-out line of a marketing SMS.
OPT_OUT_PHRASES = ("拒收请回复R", "回T退订", "退订回T", "回TD退订")


class PlaceholderError(ValueError):
    """The text is not a valid template; `reason` is "braces" or "form"."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def placeholders(text: str) -> set[str]:
    """The variable names used in `text`; raises PlaceholderError on anything but `{name}`."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as e:  # a single { or }
        raise PlaceholderError("braces") from e
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if spec or conversion or not field.isidentifier():
            raise PlaceholderError("form", "{" + field + "}")
        names.add(field)
    return names


def render(text: str, values: Mapping[str, str]) -> str:
    """`text` with its placeholders filled; every placeholder must have a value."""
    return text.format_map(values)


def format_value(value: object, *, tz: ZoneInfo, language: str) -> str:
    """A context value as the patient should read it: times in the clinic's zone."""
    if isinstance(value, datetime):
        local = value.astimezone(tz)
        if language == "zh-hans":
            return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
        return f"{local:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        if language == "zh-hans":
            return f"{value.year}年{value.month}月{value.day}日"
        return value.isoformat()
    return str(value)


def sms_text(*, sign: str, body: str) -> str:
    """The SMS as the phone shows it: 【signature】 then the text."""
    return f"【{sign}】{body}"


def sms_segments(text: str) -> int:
    """How many SMS the carrier bills for `text` (signature included)."""
    if len(text) <= SMS_SINGLE_LENGTH:
        return 1
    return math.ceil(len(text) / SMS_PART_LENGTH)


def has_opt_out(text: str) -> bool:
    return any(phrase in text for phrase in OPT_OUT_PHRASES)
