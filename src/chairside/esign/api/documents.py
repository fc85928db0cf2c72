"""API of signed documents: the list and one document with its slots, revisions and
evidence events, voiding, the PDF and the evidence package, the patient's signing link,
e-signing a medical record version, and a staff member's signature (prepare → preview →
finish, with the key in their browser) or the clinic seal.

Documents belong to the organization (a doctor at another clinic may read them with
esign.view); a doctor slot that names nobody is for the doctors of the document's clinic.
"""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router
from ninja.responses import Status

from chairside.core.access import Access
from chairside.core.api_auth import AUTH_ERRORS, LOOKUP_ERRORS, access_of, error_responses
from chairside.core.errors import NotFound
from chairside.core.pagination import paginate
from chairside.core.schemas import PathId
from chairside.core.web import file_response
from chairside.esign.errors import NotYourTurn
from chairside.esign.models import Document, SignerSlot, SigningSession
from chairside.esign.package import build_package
from chairside.esign.schemas.documents import (
    DocumentDetailOut,
    DocumentOut,
    DocumentPage,
    DocumentQuery,
    DocumentVoidIn,
    FinishIn,
    FromRecordIn,
    PrepareIn,
    PreviewOut,
    SessionOut,
    SigningLinkIn,
    SigningLinkOut,
    decode,
    detail,
    masked,
)
from chairside.esign.selectors import documents as selectors
from chairside.esign.selectors.records import get_record_version
from chairside.esign.services import documents as services
from chairside.esign.services import records, signing
from chairside.esign.web import client_info

router = Router(tags=["esign"])

WRITE_ERRORS = error_responses(400, 401, 403, 404, 409)
PDF_RESPONSE = {
    "description": "The document's latest revision.",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}
ZIP_RESPONSE = {
    "description": "The evidence package (ZIP) with a README on verifying it offline.",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
}


def document_detail_of(document_id: int) -> DocumentDetailOut:
    document = selectors.get_document(document_id=document_id)
    return detail(
        document,
        list(selectors.document_revisions(document)),
        list(selectors.document_events(document)),
    )


def require_doctor_here(access: Access, document: Document, slot: SignerSlot) -> None:
    """A doctor slot naming nobody is for the doctors of the document's clinic."""
    access.require("esign.sign")
    if slot.staff_id is None and document.clinic_id != access.clinic.pk:
        raise NotYourTurn(
            _("This signature is for a doctor of the document's clinic: switch to that clinic.")
        )


@router.get(
    "/signed-documents",
    response={200: DocumentPage, **AUTH_ERRORS},
    summary="List signed documents",
)
def document_list(request: HttpRequest, filters: Query[DocumentQuery]) -> DocumentPage:
    access_of(request).require("esign.view")
    page = paginate(
        selectors.document_list(
            status=filters.status or "",
            source=filters.source or "",
            query=filters.q,
            patient_id=filters.patient_id,
        ),
        page=filters.page,
        page_size=filters.page_size,
    )
    return DocumentPage.of(page, [DocumentOut.of(d) for d in page.items])


@router.get(
    "/signed-documents/awaiting-me",
    response={200: list[DocumentOut], **AUTH_ERRORS},
    summary="Documents waiting for my signature (or the clinic seal)",
)
def awaiting_me(request: HttpRequest) -> list[DocumentOut]:
    access = access_of(request)
    access.require("esign.view")
    documents = selectors.waiting_for(
        staff=access.staff,
        clinic=access.clinic,
        can_sign=access.can("esign.sign"),
        can_seal=access.can("esign.manage"),
    )
    return [DocumentOut.of(d) for d in documents]


@router.post(
    "/signed-documents/from-record",
    response={201: DocumentDetailOut, **WRITE_ERRORS},
    summary="Make the document to e-sign a signed medical record version",
)
def from_record(request: HttpRequest, payload: FromRecordIn) -> Status[DocumentDetailOut]:
    access = access_of(request)
    access.require("esign.sign")
    version = get_record_version(version_id=payload.version_id)
    document = records.record_document_create(
        actor=access.staff, clinic=access.clinic, version=version
    )
    return Status(201, document_detail_of(document.pk))


@router.get(
    "/signed-documents/{int:document_id}",
    response={200: DocumentDetailOut, **LOOKUP_ERRORS},
    summary="A signed document with its signers, revisions and evidence",
)
def document_detail(request: HttpRequest, document_id: PathId) -> DocumentDetailOut:
    access_of(request).require("esign.view")
    return document_detail_of(document_id)


@router.post(
    "/signed-documents/{int:document_id}/void",
    response={200: DocumentDetailOut, **WRITE_ERRORS},
    summary="Void a document awaiting signatures",
)
def document_void(
    request: HttpRequest, document_id: PathId, payload: DocumentVoidIn
) -> DocumentDetailOut:
    access = access_of(request)
    access.require("esign.manage")
    document = selectors.get_document(document_id=document_id)
    services.document_void(
        actor=access.staff, clinic=access.clinic, document=document, reason=payload.reason
    )
    return document_detail_of(document_id)


@router.get(
    "/signed-documents/{int:document_id}/pdf",
    response={**LOOKUP_ERRORS},
    summary="Download the document's latest PDF",
    openapi_extra={"responses": {"200": PDF_RESPONSE}},
)
def document_pdf(request: HttpRequest, document_id: PathId) -> HttpResponse:
    access = access_of(request)
    access.require("esign.view")
    document = selectors.get_document(document_id=document_id)
    revision = selectors.latest_revision(document)
    services.document_downloaded(
        actor=access.staff, document=document, what="pdf", revision=revision.number
    )
    return file_response(
        bytes(revision.pdf), content_type="application/pdf", filename=f"{document.number}.pdf"
    )


@router.get(
    "/signed-documents/{int:document_id}/evidence-package",
    response={**LOOKUP_ERRORS},
    summary="Download the document's evidence package",
    openapi_extra={"responses": {"200": ZIP_RESPONSE}},
)
def evidence_package(request: HttpRequest, document_id: PathId) -> HttpResponse:
    access = access_of(request)
    access.require("esign.view")
    document = selectors.get_document(document_id=document_id)
    services.document_downloaded(actor=access.staff, document=document, what="package")
    return file_response(
        build_package(document),
        content_type="application/zip",
        filename=f"{document.number}-evidence.zip",
    )


@router.post(
    "/signed-documents/{int:document_id}/signing-link",
    response={200: SigningLinkOut, **WRITE_ERRORS},
    summary="Send the patient the signing link, or open it on this device",
)
def signing_link(
    request: HttpRequest, document_id: PathId, payload: SigningLinkIn
) -> SigningLinkOut:
    access = access_of(request)
    access.require("forms.fill")
    document = selectors.get_document(document_id=document_id)
    link = services.signing_link_issue(
        actor=access.staff, clinic=access.clinic, document=document, send_sms=payload.send_sms
    )
    assert link.slot.link_expires_at is not None
    return SigningLinkOut(
        url=None if payload.send_sms else link.url,
        sent_to=masked(document.patient.phone) if payload.send_sms else None,
        expires_at=link.slot.link_expires_at,
    )


@router.post(
    "/signed-documents/{int:document_id}/slots/{int:slot_id}/prepare",
    response={201: SessionOut, **WRITE_ERRORS},
    summary="Prepare my signature (a doctor's, with my enrolled key)",
)
def prepare(
    request: HttpRequest, document_id: PathId, slot_id: PathId, payload: PrepareIn
) -> Status[SessionOut]:
    access = access_of(request)
    access.require("esign.sign")
    document = selectors.get_document(document_id=document_id)
    slot = selectors.get_slot(document=document, slot_id=slot_id)
    require_doctor_here(access, document, slot)
    session = signing.staff_prepare(
        actor=access.staff, slot=slot, handwriting_png=decode(payload.handwriting_png)
    )
    return Status(201, SessionOut.of(session))


@router.post(
    "/signed-documents/{int:document_id}/slots/{int:slot_id}/seal",
    response={200: DocumentDetailOut, **WRITE_ERRORS},
    summary="Apply the clinic seal",
)
def seal(request: HttpRequest, document_id: PathId, slot_id: PathId) -> DocumentDetailOut:
    access = access_of(request)
    access.require("esign.manage")
    document = selectors.get_document(document_id=document_id)
    slot = selectors.get_slot(document=document, slot_id=slot_id)
    signing.seal_apply(actor=access.staff, slot=slot, client=client_info(request))
    return document_detail_of(document_id)


def _my_session(access: Access, session_id: int) -> SigningSession:
    """A session of a staff signature prepared by `access.staff` (others' are 404)."""
    session = selectors.get_session(session_id=session_id)
    if session.certificate.staff_id != access.staff.pk:
        raise NotFound(_("Signing session not found."))
    return session


@router.post(
    "/signing-sessions/{int:session_id}/preview",
    response={200: PreviewOut, **WRITE_ERRORS},
    summary="The pages I am about to sign, and the digest",
)
def preview(request: HttpRequest, session_id: PathId) -> PreviewOut:
    access = access_of(request)
    access.require("esign.sign")
    session = _my_session(access, session_id)
    pages = signing.session_preview(
        session=session,
        actor=services.actor_label(access.staff),
        client=client_info(request),
    )
    return PreviewOut(
        pages=["data:image/png;base64," + base64.b64encode(p).decode() for p in pages],
        document_digest=session.document_digest,
        preview_sha256=session.preview_sha256,
    )


@router.post(
    "/signing-sessions/{int:session_id}/finish",
    response={200: DocumentDetailOut, **WRITE_ERRORS},
    summary="Finish my signature with the browser's signature of the signed attributes",
)
def finish(request: HttpRequest, session_id: PathId, payload: FinishIn) -> DocumentDetailOut:
    access = access_of(request)
    access.require("esign.sign")
    session = _my_session(access, session_id)
    document = signing.session_finish(
        session=session,
        signature=base64.b64decode(payload.signature),
        actor=access.staff,
        client=client_info(request),
    )
    return document_detail_of(document.pk)
