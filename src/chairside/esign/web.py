"""What the e-signature pages and API share: where a request came from (for the evidence
log and the rate limits) and the PDF / evidence-package downloads."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from chairside.esign.services.documents import ClientInfo


def client_ip(request: HttpRequest) -> str:
    """The caller's address. Behind N trusted reverse proxies (CHAIRSIDE_TRUSTED_PROXIES = N),
    the N-th address from the right of X-Forwarded-For."""
    proxies = int(getattr(settings, "CHAIRSIDE_TRUSTED_PROXIES", 0) or 0)
    if proxies > 0:
        chain = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",")]
        chain = [a for a in chain if a]
        if len(chain) >= proxies:
            return chain[-proxies]
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def client_info(request: HttpRequest) -> ClientInfo:
    return ClientInfo(ip=client_ip(request), user_agent=request.headers.get("User-Agent", ""))


def file_response(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
