"""A JSON client for API tests: a bearer token per staff member, an acting clinic, a language."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.test.client import RequestFactory

from chairside.core.models import Clinic, Staff
from chairside.core.services import api_token_issue
from chairside.core.tenancy import tenant_scope

API = "/api/v1"


class ApiResponse:
    def __init__(self, response: Any) -> None:
        self.raw = response
        self.status = response.status_code
        content = response.content
        self.json: Any = json.loads(content) if content else None

    def __repr__(self) -> str:
        return f"<ApiResponse {self.status} {self.json!r}>"


class ApiClient:
    """Calls /api/v1 as `staff` (bearer token), optionally in `clinic`, in `language`."""

    def __init__(
        self,
        staff: Staff | None = None,
        *,
        clinic: Clinic | int | str | None = None,
        language: str = "en",
        client: Client | None = None,
    ) -> None:
        self.client = client or Client()
        self.headers: dict[str, str] = {"Accept-Language": language}
        if staff is not None:
            assert staff.organization_id is not None
            with tenant_scope(staff.organization_id):
                key, _token = api_token_issue(staff=staff)
            self.headers["Authorization"] = f"Bearer {key}"
        if clinic is not None:
            self.headers["X-Clinic-Id"] = str(clinic.pk if isinstance(clinic, Clinic) else clinic)

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> ApiResponse:
        url = API + path
        if params:
            url += "?" + RequestFactory().get("", params).META["QUERY_STRING"]
        kwargs: dict[str, Any] = {"headers": self.headers}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return ApiResponse(getattr(self.client, method.lower())(url, **kwargs))

    def get(self, path: str, **params: Any) -> ApiResponse:
        return self.call("GET", path, **params)

    def post(self, path: str, body: Any = None) -> ApiResponse:
        return self.call("POST", path, body)

    def patch(self, path: str, body: Any = None) -> ApiResponse:
        return self.call("PATCH", path, body)

    def put(self, path: str, body: Any = None) -> ApiResponse:
        return self.call("PUT", path, body)

    def delete(self, path: str) -> ApiResponse:
        return self.call("DELETE", path)


@dataclass(frozen=True)
class Endpoint:
    """An operation with placeholders ({patient}, {tag}, ...) for the ids of test objects."""

    method: str
    path: str
    body: Any = None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def call(self, api: ApiClient, ids: Mapping[str, int]) -> ApiResponse:
        return api.call(self.method, self.path.format(**ids), _fill(self.body, ids))

    @property
    def shape(self) -> str:
        """The method and path with any placeholder as {}, to compare with the OpenAPI."""
        return f"{self.method} {PLACEHOLDER.sub('{}', self.path)}"


PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _fill(body: Any, ids: Mapping[str, int]) -> Any:
    if isinstance(body, dict):
        return {k: _fill(v, ids) for k, v in body.items()}
    if isinstance(body, str) and PLACEHOLDER.fullmatch(body):
        return ids[body[1:-1]]
    return body


def documented_operations(tags: set[str] | None = None) -> set[str]:
    """The operations of the OpenAPI document, as "METHOD /path/{}" under /api/v1: all of
    them, or those of the routers tagged with one of `tags` (each app's router has a tag)."""
    from chairside.api import api

    schema = api.get_openapi_schema(path_prefix="")
    return {
        f"{method.upper()} {PLACEHOLDER.sub('{}', path)}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if tags is None or tags & set(operation.get("tags", []))
    }
