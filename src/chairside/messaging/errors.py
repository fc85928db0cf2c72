"""Error codes of the message centre, beside the shared ones in core.errors."""

from __future__ import annotations

from enum import StrEnum


class MessagingErrorCode(StrEnum):
    INVALID_TEMPLATE = "invalid_template"
    NO_TEMPLATE = "no_template"
    MISSING_VARIABLE = "missing_variable"
    INVALID_RECIPIENT = "invalid_recipient"
    NOT_CANCELLABLE = "not_cancellable"
