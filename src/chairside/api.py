"""The JSON API, version 1: routers of each app mounted under /api/v1/.

Docs at /api/v1/docs and the OpenAPI document at /api/v1/openapi.json need no sign-in.
Every operation answers errors as {code, message, fields} (see core.api_auth), unknown
addresses under /api/v1/ included.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Router
from ninja.openapi.schema import OpenAPISchema

from chairside.billing.api import router as billing_router
from chairside.clinical.api import router as clinical_router
from chairside.core.api import router as core_router
from chairside.core.api_auth import (
    CLINIC_HEADER,
    MAX_ID,
    StaffSessionAuth,
    StaffTokenAuth,
    install_error_handlers,
    method_not_allowed_body,
)
from chairside.core.errors import NotFound
from chairside.esign.api import router as esign_router
from chairside.forms.api import router as forms_router
from chairside.membership.api import router as membership_router
from chairside.messaging.api import router as messaging_router
from chairside.patients.api import router as patients_router
from chairside.promotions.api import router as promotions_router
from chairside.scheduling.api import router as scheduling_router

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class ChairsideAPI(NinjaAPI):
    """NinjaAPI with JSON 405s and the acting-clinic header documented on every operation."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for url in urls:
            if isinstance(url, URLPattern):
                url.callback = self._json_method_not_allowed(url.callback)
        return urls

    def _json_method_not_allowed(self, view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response: HttpResponse = view(request, *args, **kwargs)
            if isinstance(response, HttpResponseNotAllowed):
                allowed = response["Allow"]
                response = self.create_response(
                    request, method_not_allowed_body(request), status=405
                )
                response["Allow"] = allowed
            return response

        return wrapper

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        header = {
            "in": "header",
            "name": CLINIC_HEADER,
            "required": False,
            "description": "The clinic to act in (default: the caller's first clinic).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        }
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                if operation.get("security"):
                    operation.setdefault("parameters", []).append(header)
        return schema


api = ChairsideAPI(
    title="Chairside API",
    version="1",
    description=(
        "Practice management for dental clinics and chains. Authenticate with "
        "`Authorization: Bearer <token>` from POST /api/v1/auth/token (or the console's "
        f"session and CSRF token); pick the acting clinic with `{CLINIC_HEADER}`."
    ),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[StaffTokenAuth(), StaffSessionAuth()],
)
install_error_handlers(api)
api.add_router("/", core_router)
api.add_router("/", patients_router)
api.add_router("/", scheduling_router)
api.add_router("/", messaging_router)
api.add_router("/", billing_router)
api.add_router("/", clinical_router)
api.add_router("/", membership_router)
api.add_router("/", promotions_router)
api.add_router("/", esign_router)
api.add_router("/", forms_router)

# Last, so that it only catches addresses no router claims.
_unknown = Router()


@_unknown.api_operation(_ALL_METHODS, "/{path:rest}", auth=None, include_in_schema=False)
def unknown_endpoint(request: HttpRequest, rest: str) -> None:
    raise NotFound(_("There is no such API address."))


api.add_router("/", _unknown)
