"""The public verification page, /verify/: anyone may upload a signed PDF or enter a
document number and learn whether the file is the registered final revision, who signed
(masked names), when, and whether each signature is valid and what changed after it.

No sign-in. Rate-limited per address (uploads cost a signature validation each), uploads of
at most 20 MB. Never shows health data or the document's title.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from chairside.core.ratelimit import Limit, hit
from chairside.core.web import client_ip
from chairside.esign.services.documents import number_is_valid, number_normalize
from chairside.esign.verification import PublicReport, report_for_number, report_for_pdf

MAX_UPLOAD = 20 * 1024 * 1024
# Multipart framing around the file.
MAX_BODY = MAX_UPLOAD + 64 * 1024
UPLOADS_PER_HOUR = 20
LOOKUPS_PER_HOUR = 120


def _allowed(kind: str, count: int, address: str) -> bool:
    """Count one request of `address` in this hour's window; refusals count too."""
    # The limit is built per call: tests lower the numbers above.
    return hit(Limit(f"esign-verify-{kind}", count, 3600), address)


def _page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("number", "")
    context.setdefault("error", "")
    context.setdefault("report", None)
    context["max_mb"] = MAX_UPLOAD // (1024 * 1024)
    response = render(request, "esign/verify.html", context, status=status)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _upload(request: HttpRequest) -> HttpResponse:
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        # Refused before Django reads the body.
        return _page(
            request,
            413,
            error=_("The file is too large: at most %(mb)s MB.") % {"mb": MAX_UPLOAD // 2**20},
        )
    if not _allowed("upload", UPLOADS_PER_HOUR, client_ip(request)):
        return _page(
            request, 429, error=_("Too many files checked from here. Try again in an hour.")
        )
    upload = request.FILES.get("pdf")
    if upload is None:
        return _page(request, 400, error=_("Choose a PDF file to check."))
    if upload.size is not None and upload.size > MAX_UPLOAD:
        return _page(
            request,
            413,
            error=_("The file is too large: at most %(mb)s MB.") % {"mb": MAX_UPLOAD // 2**20},
        )
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return _page(
            request,
            413,
            error=_("The file is too large: at most %(mb)s MB.") % {"mb": MAX_UPLOAD // 2**20},
        )
    if not data.startswith(b"%PDF-"):
        return _page(request, 400, error=_("This file is not a PDF."))
    report = report_for_pdf(data)
    return _page(request, report=report, uploaded=upload.name or "")


def _lookup(request: HttpRequest, text: str) -> HttpResponse:
    number = number_normalize(text)[:40]
    if not number_is_valid(number):
        return _page(
            request,
            400,
            number=number,
            error=_("This is not a valid document number: check it against the document."),
        )
    if not _allowed("lookup", LOOKUPS_PER_HOUR, client_ip(request)):
        return _page(
            request,
            429,
            number=number,
            error=_("Too many look-ups from here. Try again in an hour."),
        )
    report: PublicReport | None = report_for_number(number)
    if report is None:
        return _page(request, 404, number=number, error=_("No document has this number."))
    return _page(request, number=number, report=report)


@never_cache
@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """GET: the two forms, or the report of ?number=; POST: the report of an uploaded PDF."""
    if request.method == "POST":
        return _upload(request)
    text = request.GET.get("number", "")
    if text.strip():
        return _lookup(request, text)
    return _page(request)


urlpatterns = [
    path("verify/", verify_page, name="verify"),
]
