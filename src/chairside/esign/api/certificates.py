"""API of signing keys: enrolling mine (an SMS code, then the browser's certificate request
with my name and resident ID number), and the certificates with their revocation.

Without esign.manage a staff member sees and revokes only their own certificates.
"""

from __future__ import annotations

import base64

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.api_auth import AUTH_ERRORS, access_of, error_responses
from chairside.core.errors import NotFound
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.web import client_ip
from chairside.esign.schemas.documents import (
    CertificateOut,
    CertificatePage,
    CertificateQuery,
    CodeOut,
    KeyEnrolIn,
    RevokeIn,
    masked,
)
from chairside.esign.selectors import certificates as selectors
from chairside.esign.services import enrolment, identity
from chairside.esign.web import client_info

router = Router(tags=["esign"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)


@router.post(
    "/key-enrolment/code",
    response={200: CodeOut, **error_responses(400, 401, 403, 429)},
    summary="Send me the SMS code for enrolling a signing key",
)
def enrolment_code(request: HttpRequest) -> CodeOut:
    access = access_of(request)
    access.require("esign.sign")
    check = identity.staff_code_request(
        staff=access.staff, clinic=access.clinic, client_ip=client_ip(request)
    )
    return CodeOut(sent_to=masked(check.phone), expires_at=check.expires_at)


@router.post(
    "/key-enrolment",
    response={201: CertificateOut, **error_responses(400, 401, 403, 409, 429, 503)},
    summary="Enrol my signing key: the CA certifies the key of my browser's request",
)
def enrol(request: HttpRequest, payload: KeyEnrolIn) -> Status[CertificateOut]:
    access = access_of(request)
    access.require("esign.sign")
    certificate = enrolment.enrolment_submit(
        actor=access.staff,
        clinic=access.clinic,
        csr_der=base64.b64decode(payload.csr),
        code=payload.code,
        name=payload.name,
        id_number=payload.id_number,
        client=client_info(request),
    )
    return Status(201, CertificateOut.of(certificate))


@router.get(
    "/certificates",
    response={200: CertificatePage, **AUTH_ERRORS},
    summary="List certificates (mine, or everyone's with esign.manage)",
)
def certificate_list(request: HttpRequest, filters: Query[CertificateQuery]) -> CertificatePage:
    access = access_of(request)
    if not access.can("esign.manage"):
        access.require("esign.sign")
    staff_id = filters.staff_id if access.can("esign.manage") else access.staff.pk
    page = paginate(
        selectors.certificate_list(
            kind=filters.kind or "", staff_id=staff_id, active_only=filters.active
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return CertificatePage.of(page, [CertificateOut.of(c) for c in page.items])


@router.post(
    "/certificates/{int:certificate_id}/revoke",
    response={200: CertificateOut, **WRITE_ERRORS},
    summary="Revoke a certificate",
)
def certificate_revoke(
    request: HttpRequest, certificate_id: PathId, payload: RevokeIn
) -> CertificateOut:
    access = access_of(request)
    may_manage = access.can("esign.manage")
    if not may_manage:
        access.require("esign.sign")
    certificate = selectors.get_certificate(certificate_id=certificate_id)
    if not may_manage and certificate.staff_id != access.staff.pk:
        raise NotFound(_("Certificate not found."))
    enrolment.certificate_revoke(
        actor=access.staff, certificate=certificate, reason=payload.reason, may_manage=may_manage
    )
    return CertificateOut.of(selectors.get_certificate(certificate_id=certificate_id))
