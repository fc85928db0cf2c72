"""What every API operation shares: who is calling (token or session), in which clinic, and
one error shape, {code, message, fields}, for every 4xx answer.

The auth classes build the caller's `Access` and set the tenant before the handler runs;
`TenantMiddleware` resets it after the response, so nothing leaks into the next request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as RequestInvalid
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from pydantic import Field

from chairside.core.access import Access, build_access
from chairside.core.errors import DomainError, ErrorCode, PermissionDenied, ValidationFailed
from chairside.core.models import Staff
from chairside.core.services import api_token_resolve
from chairside.core.tenancy import activate_tenant

CLINIC_HEADER = "X-Clinic-Id"

# The largest id a database key holds (PostgreSQL bigint); larger numbers are invalid input,
# not a database error.
MAX_ID = 2**63 - 1


class ApiError(Schema):
    """The body of every 4xx answer."""

    code: str = Field(description="Stable machine-readable code, e.g. not_found.")
    message: str = Field(description="What went wrong, in the request's language.")
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Problems per input field, if any."
    )


def error_responses(*statuses: int) -> dict[int, type[ApiError]]:
    """The `response=` entries of an operation's error answers (for an honest OpenAPI)."""
    return dict.fromkeys(statuses, ApiError)


# Every authenticated operation can answer these: bad input or X-Clinic-Id (400), no or
# wrong credentials (401), no permission in the acting clinic (403).
AUTH_ERRORS = error_responses(400, 401, 403)
# ... and operations that look an object up by id (or its sub-resources) also 404.
LOOKUP_ERRORS = error_responses(400, 401, 403, 404)


# --- who is calling -------------------------------------------------------------------


def _requested_clinic(request: HttpRequest) -> int | None:
    raw = request.headers.get(CLINIC_HEADER)
    if raw is None or not raw.strip():
        return None
    try:
        clinic_id = int(raw.strip())
    except ValueError:
        clinic_id = 0
    if not 1 <= clinic_id <= MAX_ID:
        raise ValidationFailed(
            _("%(header)s must be a clinic id (a whole number).") % {"header": CLINIC_HEADER},
            field=CLINIC_HEADER,
        )
    return clinic_id


def enter(request: HttpRequest, staff: Staff, default: Access | None = None) -> Access:
    """Resolve the caller's access in the requested clinic and make it the request's tenant."""
    clinic_id = _requested_clinic(request)
    access = default if clinic_id is None and default is not None else None
    if access is None:
        access = build_access(staff, clinic_id)
    if access is None:
        if clinic_id is not None:
            raise PermissionDenied(_("You do not work in this clinic."), field=CLINIC_HEADER)
        raise PermissionDenied(_("Your account has no role in any clinic."))
    request.access = access  # type: ignore[attr-defined]
    activate_tenant(access.tenant)
    return access


class StaffTokenAuth(HttpBearer):
    """`Authorization: Bearer <token>` from POST /auth/token."""

    def authenticate(self, request: HttpRequest, token: str) -> Access | None:
        staff = api_token_resolve(key=token)
        if staff is None:
            return None
        return enter(request, staff)


class StaffSessionAuth(APIKeyCookie):
    """The console's signed-in session; unsafe methods need the CSRF token, as in the pages."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Access | None:
        user = getattr(request, "user", None)
        # Anonymous callers get 401 (not a CSRF 403): there is no session to protect.
        if user is None or not user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and _csrf_fails(request):
            raise PermissionDenied(
                _("The security token is missing or out of date. Reload the page and try again.")
            )
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> Access | None:
        staff = request.user
        assert isinstance(staff, Staff)
        # The middleware has already resolved the session's chosen clinic.
        return enter(request, staff, default=getattr(request, "access", None))


def _csrf_fails(request: HttpRequest) -> bool:
    middleware = CsrfViewMiddleware(lambda r: HttpResponse())
    request.csrf_processing_done = False  # type: ignore[attr-defined]
    middleware.process_request(request)
    return middleware.process_view(request, lambda r: HttpResponse(), (), {}) is not None


def access_of(request: HttpRequest) -> Access:
    """The caller's access, as the auth classes stored it."""
    access = getattr(request, "auth", None)
    assert isinstance(access, Access), "operation without authentication"
    return access


# --- errors ---------------------------------------------------------------------------


def _error(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: Any,
    fields: dict[str, list[Any]] | None = None,
) -> HttpResponse:
    body = {
        "code": str(code),
        "message": str(message),
        "fields": {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()},
    }
    response = api.create_response(request, body, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _limit(ctx: dict[str, Any], key: str) -> str:
    return str(ctx.get(key, ""))


# Pydantic's messages are English only; these are the ones a client will meet, translated.
_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: _("This field is required."),
    "int_parsing": lambda ctx: _("Enter a whole number."),
    "int_type": lambda ctx: _("Enter a whole number."),
    "int_from_float": lambda ctx: _("Enter a whole number."),
    "greater_than_equal": lambda ctx: _("Enter %(limit)s or more.") % {"limit": _limit(ctx, "ge")},
    "greater_than": lambda ctx: _("Enter more than %(limit)s.") % {"limit": _limit(ctx, "gt")},
    "less_than_equal": lambda ctx: _("Enter %(limit)s or less.") % {"limit": _limit(ctx, "le")},
    "less_than": lambda ctx: _("Enter less than %(limit)s.") % {"limit": _limit(ctx, "lt")},
    "string_type": lambda ctx: _("Enter text."),
    "string_too_long": lambda ctx: (
        _("This is too long (at most %(limit)d characters).")
        % {"limit": int(ctx.get("max_length", 0))}
    ),
    "string_too_short": lambda ctx: _("This is too short."),
    "date_type": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_parsing": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": lambda ctx: _("Enter a date as YYYY-MM-DD."),
    "bool_type": lambda ctx: _("Enter true or false."),
    "bool_parsing": lambda ctx: _("Enter true or false."),
    "enum": lambda ctx: _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")},
    "literal_error": lambda ctx: (
        _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    ),
    "list_type": lambda ctx: _("Enter a list."),
    "dict_type": lambda ctx: _("Enter an object."),
    "model_type": lambda ctx: _("Enter an object."),
    "model_attributes_type": lambda ctx: _("Enter an object."),
    "extra_forbidden": lambda ctx: _("This field is not allowed here."),
    "text_control_character": lambda ctx: _("Remove the control characters from this text."),
}


def _field_name(loc: Iterable[Any]) -> str:
    source, *rest = list(loc) or ["body"]
    if source == "body" and rest:
        rest = rest[1:]  # the handler's parameter name, not a field the client sent
    return ".".join(str(part) for part in rest) or str(source)


def _validation_fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        translate = _MESSAGES.get(str(error.get("type")))
        message = translate(error.get("ctx") or {}) if translate else str(error.get("msg", ""))
        fields.setdefault(_field_name(error.get("loc", ())), []).append(message)
    return fields


_HTTP_CODES = {
    400: ErrorCode.INVALID,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
}


def _http_message(exc: HttpError) -> str:
    if isinstance(exc, AuthenticationError) or exc.status_code == 401:
        return _("Sign in, or send a valid API token.")
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return _("The request body is not valid JSON.")
    if exc.status_code == 404:
        return _("Not found.")
    if exc.status_code == 429:
        return _("Too many requests. Wait a moment and try again.")
    return str(exc)


def install_error_handlers(api: NinjaAPI) -> None:
    """Make every 4xx of `api` an `ApiError`, its message in the request's language."""

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _error(api, request, exc.status, exc.code, exc.message, exc.fields)

    @api.exception_handler(RequestInvalid)
    def request_invalid(request: HttpRequest, exc: RequestInvalid) -> HttpResponse:
        fields = _validation_fields(exc.errors)
        first = next(iter(fields.values()), [_("The request is not valid.")])[0]
        return _error(api, request, 400, ErrorCode.INVALID, first, fields)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return _error(api, request, exc.status_code, code, _http_message(exc))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _error(api, request, 404, ErrorCode.NOT_FOUND, _("Not found."))


def method_not_allowed_body(request: HttpRequest) -> dict[str, Any]:
    """The body of a 405 (the Allow header lists the methods), shaped like every other error."""
    return {
        "code": "method_not_allowed",
        "message": _("This address does not accept %(method)s.") % {"method": request.method},
        "fields": {},
    }
