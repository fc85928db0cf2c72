"""Sets the tenant for each console request from the signed-in staff member's chosen clinic."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from chairside.core.access import build_access
from chairside.core.tenancy import activate_tenant, reset_tenant

ACTIVE_CLINIC_SESSION_KEY = "chairside_clinic_id"


class TenantMiddleware:
    """Resolve `request.access` for signed-in staff; always reset the tenant afterwards.

    API requests with a bearer token get their tenant from the API auth class instead; the
    reset here covers them too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = activate_tenant(None)
        try:
            request.access = None  # type: ignore[attr-defined]
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                access = build_access(user, request.session.get(ACTIVE_CLINIC_SESSION_KEY))
                if access is None and ACTIVE_CLINIC_SESSION_KEY in request.session:
                    # The chosen clinic is no longer theirs: fall back to their first clinic.
                    del request.session[ACTIVE_CLINIC_SESSION_KEY]
                    access = build_access(user)
                request.access = access  # type: ignore[attr-defined]
                if access is not None:
                    activate_tenant(access.tenant)
            return self.get_response(request)
        finally:
            reset_tenant(token)
