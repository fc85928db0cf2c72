"""Errors that business code raises; the API and the pages turn them into 4xx answers."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Stable, machine-readable codes shared by every app (apps add their own enums)."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    CONFLICT = "conflict"
    LOCKED_OUT = "locked_out"
    NO_TENANT = "no_tenant"
    INVALID_PHONE = "invalid_phone"
    INVALID_RESIDENT_ID = "invalid_resident_id"
    INVALID_TOOTH = "invalid_tooth"
    INVALID_MONEY = "invalid_money"


class DomainError(Exception):
    """A rule of the clinic was broken; carries a code, a human message and field errors.

    `message` may be a lazy translation: it is rendered in the request's language when
    the error is shown.
    """

    status = 400
    code: str = ErrorCode.INVALID

    def __init__(
        self,
        message: Any,
        *,
        code: str | None = None,
        field: str | None = None,
        fields: dict[str, list[Any]] | None = None,
    ) -> None:
        super().__init__(message)  # rendered lazily, in the language of whoever shows it
        self.message = message
        if code is not None:
            self.code = code
        self.fields: dict[str, list[Any]] = dict(fields or {})
        if field is not None:
            self.fields.setdefault(field, []).append(message)


class ValidationFailed(DomainError):
    status = 400
    code = ErrorCode.INVALID


class FieldErrors:
    """Collects every problem of a form so the user sees them all at once."""

    def __init__(self) -> None:
        self.fields: dict[str, list[Any]] = {}

    def add(self, field: str, message: Any) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        """Raise ValidationFailed with every field's messages, led by the first one."""
        if self.fields:
            first = next(iter(self.fields.values()))[0]
            raise ValidationFailed(first, fields=self.fields)


class NotFound(DomainError):
    status = 404
    code = ErrorCode.NOT_FOUND


class PermissionDenied(DomainError):
    status = 403
    code = ErrorCode.PERMISSION_DENIED


class Conflict(DomainError):
    status = 409
    code = ErrorCode.CONFLICT
