"""Machine-readable error codes of forms, beside the shared ones in core.errors."""

from enum import StrEnum


class FormsErrorCode(StrEnum):
    TEMPLATE_INACTIVE = "form_template_inactive"
    NOT_DRAFT = "form_not_draft"
    ALREADY_CLOSED = "form_closed"
    INCOMPLETE = "form_incomplete"
    SIGNING_UNAVAILABLE = "form_signing_unavailable"
