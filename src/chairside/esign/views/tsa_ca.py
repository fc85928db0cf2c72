"""Public endpoints of the certificate and time-stamping authorities: anyone verifying a
signed PDF fetches the CA certificate and CRL here, and RFC 3161 clients post queries."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from chairside.core.models import Organization
from chairside.esign import pki, tsa
from chairside.esign.models import CertificateAuthority

# An RFC 3161 query is a few hundred bytes.
MAX_QUERY_BYTES = 4096


@csrf_exempt
@require_POST
def tsa_query(request: HttpRequest) -> HttpResponse:
    content_type = request.content_type or ""
    if content_type != "application/timestamp-query":
        return HttpResponse(
            "Send an RFC 3161 query as application/timestamp-query.",
            status=415,
            content_type="text/plain",
        )
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_QUERY_BYTES:
        return HttpResponse("Query too large.", status=413, content_type="text/plain")
    reply = tsa.respond(request.body[:MAX_QUERY_BYTES])
    return HttpResponse(reply, content_type="application/timestamp-reply")


def _organization(org_id: int) -> Organization:
    # Only organizations that have a CA publish anything: a GET never creates one.
    if not CertificateAuthority.all_tenants.filter(organization_id=org_id).exists():
        raise Http404
    return Organization.objects.get(pk=org_id)


@require_safe
@cache_control(public=True, max_age=86400)
def ca_certificate(request: HttpRequest, org_id: int) -> HttpResponse:
    der = pki.ca_certificate_der(_organization(org_id))
    response = HttpResponse(der, content_type="application/pkix-cert")
    response["Content-Disposition"] = f'attachment; filename="chairside-ca-{org_id}.crt"'
    return response


@require_safe
@cache_control(public=True, max_age=3600)
def ca_crl(request: HttpRequest, org_id: int) -> HttpResponse:
    der = pki.crl_der(_organization(org_id))
    response = HttpResponse(der, content_type="application/pkix-crl")
    response["Content-Disposition"] = f'attachment; filename="chairside-ca-{org_id}.crl"'
    return response


@require_safe
@cache_control(public=True, max_age=3600)
def tsa_crl(request: HttpRequest) -> HttpResponse:
    der = tsa.tsa_crl_der()
    response = HttpResponse(der, content_type="application/pkix-crl")
    response["Content-Disposition"] = 'attachment; filename="chairside-tsa.crl"'
    return response
