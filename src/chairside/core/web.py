"""What web pages and API endpoints of several apps share: where a request came from, and
file downloads."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def client_ip(request: HttpRequest) -> str:
    """The caller's address (for rate limits and evidence logs). Behind N trusted reverse
    proxies (CHAIRSIDE_TRUSTED_PROXIES = N), the N-th address from the right of
    X-Forwarded-For."""
    proxies = int(getattr(settings, "CHAIRSIDE_TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        chain = [a for a in chain if a]
        if len(chain) >= proxies:
            return chain[-proxies]
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def file_response(
    content: bytes, *, content_type: str, filename: str, inline: bool = False
) -> HttpResponse:
    """A download (or, with `inline`, a file the browser shows); never kept by caches, as
    these files hold patients' data."""
    response = HttpResponse(content, content_type=content_type)
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
