"""API schemas of signed documents, their slots, revisions and evidence events, signing
sessions and certificates."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from chairside.core.phone import mask_mobile
from chairside.core.schemas import ObjectId, PageOut, PageQuery, Text
from chairside.esign.models import (
    Certificate,
    Document,
    DocumentRevision,
    EvidenceEvent,
    SignerSlot,
    SigningSession,
)
from chairside.esign.selectors.documents import current_slot, document_slots

DocumentStatus = Literal["signing", "completed", "void"]
DocumentSource = Literal["form", "record"]
Role = Literal["patient", "doctor", "seal"]


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("Not base64.") from None
    return value


Base64 = Annotated[str, AfterValidator(_base64)]


def decode(value: str | None) -> bytes | None:
    return base64.b64decode(value) if value else None


class DocumentQuery(PageQuery):
    status: DocumentStatus | None = None
    source: DocumentSource | None = None
    patient_id: ObjectId | None = None
    q: Text = Field("", max_length=60, description="Document number, patient name or title.")


class SignerSlotOut(Schema):
    id: int
    order: int
    role: Role
    role_label: str
    staff_id: int | None
    staff_name: str | None
    requires_id_number: bool
    status: Literal["pending", "signed"]
    signed_at: datetime | None
    certificate_serial: str | None
    is_current: bool

    @staticmethod
    def of(slot: SignerSlot, current: SignerSlot | None) -> SignerSlotOut:
        return SignerSlotOut(
            id=slot.pk,
            order=slot.order,
            role=slot.role,  # type: ignore[arg-type]
            role_label=str(SignerSlot.Role(slot.role).label),
            staff_id=slot.staff_id,
            staff_name=slot.staff.display_name if slot.staff is not None else None,
            requires_id_number=slot.requires_id_number,
            status=slot.status,  # type: ignore[arg-type]
            signed_at=slot.signed_at,
            certificate_serial=slot.certificate.serial if slot.certificate is not None else None,
            is_current=current is not None and current.pk == slot.pk,
        )


class DocumentOut(Schema):
    id: int
    number: str
    title: str
    status: DocumentStatus
    status_label: str
    source: DocumentSource
    source_id: int
    patient_id: int
    patient_name: str
    clinic_id: int
    created_at: datetime
    completed_at: datetime | None
    voided_at: datetime | None
    next_role: Role | None = Field(description="Whose turn it is, while awaiting signatures.")

    @staticmethod
    def of(document: Document) -> DocumentOut:
        """`document` with its patient and slots loaded (see the selectors)."""
        current = current_slot(document)
        return DocumentOut(
            id=document.pk,
            number=document.number,
            title=document.title,
            status=document.status,  # type: ignore[arg-type]
            status_label=str(Document.Status(document.status).label),
            source=document.source,  # type: ignore[arg-type]
            source_id=document.source_id,
            patient_id=document.patient_id,
            patient_name=document.patient.name,
            clinic_id=document.clinic_id,
            created_at=document.created_at,
            completed_at=document.completed_at,
            voided_at=document.voided_at,
            next_role=current.role if current else None,  # type: ignore[arg-type]
        )


class DocumentPage(PageOut):
    items: list[DocumentOut]


class RevisionOut(Schema):
    number: int
    kind: Literal["rendered", "signature", "archive"]
    sha256: str
    created_at: datetime

    @staticmethod
    def of(revision: DocumentRevision) -> RevisionOut:
        return RevisionOut(
            number=revision.number,
            kind=revision.kind,  # type: ignore[arg-type]
            sha256=revision.sha256,
            created_at=revision.created_at,
        )


class EventOut(Schema):
    index: int
    kind: str
    kind_label: str
    at: datetime
    actor: str
    details: dict[str, Any]
    leaf_sha256: str

    @staticmethod
    def of(event: EvidenceEvent) -> EventOut:
        return EventOut(
            index=event.index,
            kind=event.kind,
            kind_label=str(EvidenceEvent.Kind(event.kind).label),
            at=event.at,
            actor=event.actor,
            details=event.details,
            leaf_sha256=event.leaf_sha256,
        )


class DocumentDetailOut(DocumentOut):
    data_sha256: str
    void_reason: str
    slots: list[SignerSlotOut]
    revisions: list[RevisionOut]
    events: list[EventOut]


class DocumentVoidIn(Schema):
    reason: Text = Field(min_length=1, max_length=200)


class SigningLinkIn(Schema):
    send_sms: bool = Field(
        True,
        description="Send the link to the patient's mobile on file; false: open it on this "
        "device (the clinic's tablet) and answer its address.",
    )


class SigningLinkOut(Schema):
    url: str | None = Field(description="Only when not sent by SMS.")
    sent_to: str | None = Field(description="The masked mobile it was sent to.")
    expires_at: datetime


class FromRecordIn(Schema):
    version_id: ObjectId


class PrepareIn(Schema):
    handwriting_png: Base64 | None = Field(
        None, max_length=280_000, description="The drawn signature, PNG, base64 (200 KB)."
    )


class SessionOut(Schema):
    id: int
    slot_id: int
    signed_attributes: str = Field(description="DER, base64: what the browser signs.")
    document_digest: str = Field(description="SHA-256 (hex) of the signed byte range.")
    preview_sha256: str = Field(description="SHA-256 (hex) of the prepared PDF previewed.")
    spki_sha256: str = Field(description="Which key signs: SHA-256 of its SubjectPublicKeyInfo.")
    expires_at: datetime

    @staticmethod
    def of(session: SigningSession) -> SessionOut:
        return SessionOut(
            id=session.pk,
            slot_id=session.slot_id,
            signed_attributes=base64.b64encode(bytes(session.signed_attributes)).decode(),
            document_digest=session.document_digest,
            preview_sha256=session.preview_sha256,
            spki_sha256=session.certificate.spki_sha256,
            expires_at=session.expires_at,
        )


class PreviewOut(Schema):
    pages: list[str] = Field(description="Each page as a data: URL of a PNG image.")
    document_digest: str
    preview_sha256: str


class FinishIn(Schema):
    signature: Base64 = Field(
        max_length=200, description="WebCrypto's ECDSA P-256 signature (64 bytes r||s), base64."
    )


class CodeOut(Schema):
    sent_to: str
    expires_at: datetime


class KeyEnrolIn(Schema):
    csr: Base64 = Field(max_length=6000, description="PKCS#10 request, DER, base64.")
    code: Text = Field(max_length=10)
    name: Text = Field(min_length=1, max_length=50)
    id_number: Text = Field(min_length=1, max_length=30)


class CertificateQuery(PageQuery):
    kind: Literal["staff", "patient", "seal"] | None = None
    staff_id: ObjectId | None = None
    active: bool = False


class CertificateOut(Schema):
    id: int
    kind: Literal["staff", "patient", "seal"]
    serial: str
    subject_name: str
    staff_id: int | None
    patient_id: int | None
    clinic_id: int | None
    spki_sha256: str
    not_before: datetime
    not_after: datetime
    revoked_at: datetime | None
    revocation_reason: str
    certificate_pem: str

    @staticmethod
    def of(certificate: Certificate) -> CertificateOut:
        return CertificateOut(
            id=certificate.pk,
            kind=certificate.kind,  # type: ignore[arg-type]
            serial=certificate.serial,
            subject_name=certificate.subject_name,
            staff_id=certificate.staff_id,
            patient_id=certificate.patient_id,
            clinic_id=certificate.clinic_id,
            spki_sha256=certificate.spki_sha256,
            not_before=certificate.not_before,
            not_after=certificate.not_after,
            revoked_at=certificate.revoked_at,
            revocation_reason=certificate.revocation_reason,
            certificate_pem=certificate.certificate_pem,
        )


class CertificatePage(PageOut):
    items: list[CertificateOut]


class RevokeIn(Schema):
    reason: Text = Field(min_length=1, max_length=200)


def detail(
    document: Document,
    revisions: list[DocumentRevision],
    events: list[EvidenceEvent],
) -> DocumentDetailOut:
    current = current_slot(document)
    return DocumentDetailOut(
        **DocumentOut.of(document).model_dump(),
        data_sha256=document.data_sha256,
        void_reason=document.void_reason,
        slots=[SignerSlotOut.of(s, current) for s in document_slots(document)],
        revisions=[RevisionOut.of(r) for r in revisions],
        events=[EventOut.of(e) for e in events],
    )


def masked(phone: str) -> str:
    return mask_mobile(phone)
