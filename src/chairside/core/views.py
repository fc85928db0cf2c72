"""Console pages of the core app (sign-in, clinic switcher, workbench) and the health check."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the database and the cache, for load balancers and monitoring."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as e:  # noqa: BLE001 - any failure means "down", reported, not raised
        checks["database"] = f"error: {type(e).__name__}"
    try:
        cache.set("chairside:healthz", "1", 5)
        checks["cache"] = "ok" if cache.get("chairside:healthz") == "1" else "error: no read-back"
    except Exception as e:  # noqa: BLE001
        checks["cache"] = f"error: {type(e).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks}, status=200 if healthy else 503
    )


def placeholder(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
