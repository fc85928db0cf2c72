"""Signing a document, one slot at a time and strictly in order (F3): the patient, then the
doctor, then the clinic seal.

A person's signature takes two requests (pyHanko's interrupted signing, esign.pdfsign):
`*_prepare` reserves the signature in a new incremental revision, with the drawn
handwriting (if any) as its visible appearance, and keeps the state in a SigningSession
(15 minutes); the signer previews the pages of exactly that prepared PDF; the browser
signs the DER of the signed attributes with the key only it holds and `session_finish`
embeds the signature with a time-stamp as a new revision. The seal is applied in one step
with the clinic's server-held seal key. When the last slot is signed, the archive revision
adds validation data and a document time-stamp (PAdES B-LTA) and the document completes.

Every step is logged in the evidence log. The document row is locked while a revision is
written, so two finishes of one slot give exactly one revision.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chairside.core.clock import local
from chairside.core.errors import ValidationFailed
from chairside.core.models import Clinic, Staff
from chairside.esign import evidence, pdfsign, pki
from chairside.esign.errors import NoCertificate, NotYourTurn, SessionExpired
from chairside.esign.events import COMPLETED, SIGNED, DocumentEvent, announce
from chairside.esign.models import (
    Certificate,
    Document,
    DocumentRevision,
    EvidenceEvent,
    IdentityCheck,
    SignerSlot,
    SigningSession,
)
from chairside.esign.selectors.certificates import active_staff_certificate
from chairside.esign.selectors.documents import current_slot, latest_revision
from chairside.esign.services.documents import (
    ClientInfo,
    actor_label,
    lock_document,
    organization_of,
    require_signing,
    sha256_hex,
)
from chairside.patients.models import Patient

SESSION_LIFETIME = timedelta(minutes=15)
PATIENT_CERTIFICATE_LIFETIME = timedelta(minutes=30)
MAX_HANDWRITING = 200 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_HANDWRITING_SIDE = 2000


def _turn(document: Document, slot: SignerSlot, role: str) -> SignerSlot:
    """The slot, fresh from the database, if it is its turn and of `role`."""
    require_signing(document)
    current = current_slot(document)
    if current is None or current.pk != slot.pk:
        raise NotYourTurn(_("It is not this signature's turn: the signers sign in order."))
    if current.role != role:
        raise NotYourTurn(_("This signature is for someone else."))
    return current


def check_handwriting(png: bytes | None) -> None:
    """A drawn signature must be a PNG of at most 200 KB and a sane size."""
    if png is None:
        return
    if len(png) > MAX_HANDWRITING:
        raise ValidationFailed(
            _("The drawn signature is too large (at most 200 KB)."), field="handwriting"
        )
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR" or len(png) < 33:
        raise ValidationFailed(_("The drawn signature must be a PNG image."), field="handwriting")
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    if not (0 < width <= MAX_HANDWRITING_SIDE and 0 < height <= MAX_HANDWRITING_SIDE):
        raise ValidationFailed(_("The drawn signature has an odd size."), field="handwriting")


def appearance_text(*, role: str, name: str, clinic: Clinic) -> str:
    """The visible text of a signature without a drawing (in the documents' language)."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(SignerSlot.Role(role).label)
        when = local(timezone.now(), clinic).strftime("%Y-%m-%d %H:%M")
        return f"{label}：{name}\n{when}"


def _prepare(
    *,
    document: Document,
    slot: SignerSlot,
    certificate: Certificate,
    handwriting_png: bytes | None,
    name: str,
) -> SigningSession:
    revision = latest_revision(document)
    prepared = pdfsign.prepare(
        bytes(revision.pdf),
        certificate=certificate,
        field_name=slot.field_name,
        page=slot.page,
        box=list(slot.box),
        appearance_png=handwriting_png,
        appearance_text=appearance_text(
            role=slot.role, name=name, clinic=Clinic.objects.get(pk=document.clinic_id)
        ),
    )
    now = timezone.now()
    return SigningSession.objects.create(  # type: ignore[no-any-return]
        organization_id=document.organization_id,
        slot=slot,
        certificate=certificate,
        prepared_pdf=prepared.prepared_pdf,
        byte_range=list(prepared.byte_range),
        document_digest=prepared.document_digest.hex(),
        signed_attributes=prepared.signed_attributes,
        preview_sha256=sha256_hex(prepared.prepared_pdf),
        created_at=now,
        expires_at=now + SESSION_LIFETIME,
    )


@transaction.atomic
def patient_prepare(
    *,
    slot: SignerSlot,
    identity_check: IdentityCheck | None,
    csr_der: bytes,
    handwriting_png: bytes | None,
) -> SigningSession:
    """Issue the patient's one-event certificate for the key of `csr_der` (naming the
    patient and the SHA-256 of the revision being signed) and prepare their signature.
    `identity_check` is this browser's verified SMS (and ID) check."""
    check_handwriting(handwriting_png)
    document = lock_document(slot.document)
    slot = _turn(document, slot, SignerSlot.Role.PATIENT)
    if identity_check is None or identity_check.slot_id != slot.pk:
        raise NotYourTurn(_("Confirm the SMS code first."))
    patient = Patient.objects.get(pk=document.patient_id)
    revision = latest_revision(document)
    certificate = pki.issue_from_csr(
        organization=organization_of(document.organization_id),
        csr_der=csr_der,
        kind=Certificate.Kind.PATIENT,
        subject_name=patient.name,
        patient=patient,
        valid_for=PATIENT_CERTIFICATE_LIFETIME,
        document_sha256=revision.sha256,
    )
    return _prepare(
        document=document,
        slot=slot,
        certificate=certificate,
        handwriting_png=handwriting_png,
        name=patient.name,
    )


def require_doctor(slot: SignerSlot, actor: Staff) -> None:
    named = slot.staff
    if named is not None and named.pk != actor.pk:
        raise NotYourTurn(_("This signature is for %(name)s.") % {"name": named.display_name})


@transaction.atomic
def staff_prepare(
    *, actor: Staff, slot: SignerSlot, handwriting_png: bytes | None
) -> SigningSession:
    """Prepare a doctor's signature with their enrolled certificate; the browser finds the
    key by the certificate's spki_sha256. A doctor slot naming nobody is for any doctor of
    the document's clinic (the caller checks esign.sign there)."""
    check_handwriting(handwriting_png)
    document = lock_document(slot.document)
    slot = _turn(document, slot, SignerSlot.Role.DOCTOR)
    require_doctor(slot, actor)
    certificate = active_staff_certificate(actor)
    if certificate is None:
        raise NoCertificate(_("You have no signing key yet: enrol one first."))
    return _prepare(
        document=document,
        slot=slot,
        certificate=certificate,
        handwriting_png=handwriting_png,
        name=actor.display_name,
    )


def _usable_session(session: SigningSession) -> SigningSession:
    if session.finished_at is not None or session.expires_at <= timezone.now():
        raise SessionExpired(_("This signing step has expired. Please start again."))
    return session


def session_preview(*, session: SigningSession, actor: str, client: ClientInfo) -> list[bytes]:
    """The pages of the prepared PDF as PNG images: what the signer confirms. Logged as
    "previewed" with the digest that will be signed."""
    _usable_session(session)
    pages = pdfsign.preview_pngs(bytes(session.prepared_pdf))
    document = session.slot.document
    evidence.record(
        organization=organization_of(document.organization_id),
        kind=EvidenceEvent.Kind.PREVIEWED,
        actor=actor,
        document=document,
        details={
            "slot": session.slot.order,
            "session": session.pk,
            "pages": len(pages),
            "preview_sha256": session.preview_sha256,
            "document_digest": session.document_digest,
            **client.details(),
        },
    )
    return pages


def _was_previewed(session: SigningSession) -> bool:
    return EvidenceEvent.objects.filter(  # type: ignore[no-any-return]
        document_id=session.slot.document_id,
        kind=EvidenceEvent.Kind.PREVIEWED,
        details__session=session.pk,
    ).exists()


def _new_revision(document: Document, pdf: bytes, kind: str) -> DocumentRevision:
    latest = latest_revision(document)
    return DocumentRevision.objects.create(  # type: ignore[no-any-return]
        organization_id=document.organization_id,
        document=document,
        number=latest.number + 1,
        kind=kind,
        pdf=pdf,
        sha256=sha256_hex(pdf),
    )


def _slot_signed(
    *,
    document: Document,
    slot: SignerSlot,
    certificate: Certificate,
    pdf: bytes,
    actor: str,
    details: dict[str, str | int],
) -> Document:
    revision = _new_revision(document, pdf, DocumentRevision.Kind.SIGNATURE)
    slot.status = SignerSlot.Status.SIGNED
    slot.certificate = certificate
    slot.signed_at = timezone.now()
    slot.link_token_hash = ""
    slot.link_expires_at = None
    slot.save(
        update_fields=["status", "certificate", "signed_at", "link_token_hash", "link_expires_at"]
    )
    evidence.record(
        organization=organization_of(document.organization_id),
        kind=EvidenceEvent.Kind.SIGNED,
        actor=actor,
        document=document,
        details={
            "slot": slot.order,
            "role": slot.role,
            "certificate_serial": certificate.serial,
            "revision": revision.number,
            "revision_sha256": revision.sha256,
            **details,
        },
    )
    announce(DocumentEvent(kind=SIGNED, document=document, slot=slot))
    if not SignerSlot.objects.filter(document=document, status=SignerSlot.Status.PENDING).exists():
        _complete(document)
    return document


def _complete(document: Document) -> None:
    organization = organization_of(document.organization_id)
    latest = latest_revision(document)
    archived = pdfsign.archive(bytes(latest.pdf), organization=organization)
    revision = _new_revision(document, archived, DocumentRevision.Kind.ARCHIVE)
    document.status = Document.Status.COMPLETED
    document.completed_at = timezone.now()
    document.save(update_fields=["status", "completed_at"])
    evidence.record(
        organization=organization,
        kind=EvidenceEvent.Kind.COMPLETED,
        actor="system",
        document=document,
        details={"revision": revision.number, "revision_sha256": revision.sha256},
    )
    evidence.sign_tree_head(organization)
    announce(DocumentEvent(kind=COMPLETED, document=document))


@transaction.atomic
def session_finish(
    *,
    session: SigningSession,
    signature: bytes,
    actor: Staff | None,
    client: ClientInfo,
) -> Document:
    """Embed the browser's signature (64-byte P1363 r||s over the signed attributes) with a
    time-stamp as the slot's revision. Exactly once per session; the slot must still be the
    document's turn and the document unchanged since the preview."""
    document = lock_document(session.slot.document)
    session = SigningSession.objects.select_for_update().get(pk=session.pk)
    _usable_session(session)
    slot = _turn(document, session.slot, session.slot.role)
    if slot.role == SignerSlot.Role.DOCTOR:
        if actor is None:
            raise NotYourTurn(_("This signature is for someone else."))
        require_doctor(slot, actor)
        if session.certificate.staff_id != actor.pk:
            raise NotYourTurn(_("This signature is for someone else."))
    certificate = Certificate.objects.get(pk=session.certificate_id)
    pki.check_usable(certificate)
    revision = latest_revision(document)
    prepared_pdf = bytes(session.prepared_pdf)
    if not prepared_pdf.startswith(bytes(revision.pdf)):
        raise SessionExpired(_("The document changed since this step began. Please start again."))
    if not _was_previewed(session):
        raise SessionExpired(_("Look at the preview before signing."))
    signed = pdfsign.finish(
        pdfsign.Prepared(
            prepared_pdf=prepared_pdf,
            byte_range=list(session.byte_range),
            document_digest=bytes.fromhex(session.document_digest),
            signed_attributes=bytes(session.signed_attributes),
        ),
        certificate=certificate,
        signature=signature,
    )
    session.finished_at = timezone.now()
    session.save(update_fields=["finished_at"])
    who = (
        actor_label(actor)
        if actor is not None
        else actor_label(patient=Patient.objects.get(pk=document.patient_id))
    )
    return _slot_signed(
        document=document,
        slot=slot,
        certificate=certificate,
        pdf=signed,
        actor=who,
        details={
            "session": session.pk,
            "preview_sha256": session.preview_sha256,
            "document_digest": session.document_digest,
            "signed_attributes_sha256": hashlib.sha256(
                bytes(session.signed_attributes)
            ).hexdigest(),
            **client.details(),
        },
    )


@transaction.atomic
def seal_apply(*, actor: Staff, slot: SignerSlot, client: ClientInfo) -> Document:
    """Apply the clinic seal (the organization's server-held key) when it is its turn; the
    caller checks esign.manage."""
    document = lock_document(slot.document)
    slot = _turn(document, slot, SignerSlot.Role.SEAL)
    clinic = Clinic.objects.get(pk=document.clinic_id)
    certificate = pki.seal_certificate(clinic)
    revision = latest_revision(document)
    signed = pdfsign.sign_with_seal(
        bytes(revision.pdf),
        certificate=certificate,
        field_name=slot.field_name,
        page=slot.page,
        box=list(slot.box),
        appearance_text=appearance_text(role=slot.role, name=clinic.name, clinic=clinic),
    )
    return _slot_signed(
        document=document,
        slot=slot,
        certificate=certificate,
        pdf=signed,
        actor=actor_label(actor),
        details={"applied_by": actor_label(actor), **client.details()},
    )
