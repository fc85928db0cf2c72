"""Reading signed documents: the list and one document, its slots in order, the slot whose
turn it is, its revisions and evidence events, the slot a patient's link opens, and what
waits for a staff member's signature (the doctor's phone page "待我签署")."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from chairside.core.errors import NotFound
from chairside.core.models import Clinic, Staff
from chairside.esign.models import (
    Document,
    DocumentRevision,
    EvidenceEvent,
    SignerSlot,
    SigningSession,
)

Status = Document.Status


def token_hash(token: str) -> str:
    """How a signing link's secret is stored (a plain hash: the token is 128 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _with_slots(documents: QuerySet[Document]) -> QuerySet[Document]:
    return documents.select_related("patient", "clinic").prefetch_related(
        Prefetch(
            "slots",
            queryset=SignerSlot.objects.select_related("staff", "certificate").order_by("order"),
        )
    )


def document_list(
    *,
    status: str = "",
    source: str = "",
    query: str = "",
    patient_id: int | None = None,
    clinic: Clinic | None = None,
) -> QuerySet[Document]:
    """The organization's documents, newest first, with patient, clinic and slots (three
    queries for a page). `query` matches the number or the patient's name."""
    documents = Document.objects.all()
    if status:
        documents = documents.filter(status=status)
    if source:
        documents = documents.filter(source=source)
    if patient_id is not None:
        documents = documents.filter(patient_id=patient_id)
    if clinic is not None:
        documents = documents.filter(clinic=clinic)
    query = query.strip()
    if query:
        documents = documents.filter(
            Q(number__iexact=query) | Q(patient__name__icontains=query) | Q(title__icontains=query)
        )
    return _with_slots(documents).order_by("-created_at", "-id")


def get_document(*, document_id: int) -> Document:
    """The organization's document, or the same 404 whether missing or another's."""
    document = _with_slots(Document.objects.filter(pk=document_id)).first()
    if document is None:
        raise NotFound(_("Document not found."))
    return document  # type: ignore[no-any-return]


def document_slots(document: Document) -> list[SignerSlot]:
    """The slots in signing order (prefetched by the selectors above)."""
    return sorted(document.slots.all(), key=lambda s: s.order)


def current_slot(document: Document) -> SignerSlot | None:
    """The slot whose turn it is: the first pending one while the document is signing."""
    if document.status != Status.SIGNING:
        return None
    return next(
        (s for s in document_slots(document) if s.status == SignerSlot.Status.PENDING), None
    )


def latest_revision(document: Document) -> DocumentRevision:
    revision = DocumentRevision.objects.filter(document=document).order_by("-number").first()
    if revision is None:  # pragma: no cover - document_create always writes revision 1
        raise NotFound(_("Document not found."))
    return revision  # type: ignore[no-any-return]


def document_revisions(document: Document) -> QuerySet[DocumentRevision]:
    """Every revision, oldest first, without the PDF bytes."""
    return DocumentRevision.objects.filter(document=document).defer("pdf").order_by("number")


def get_revision(*, document: Document, number: int) -> DocumentRevision:
    revision = DocumentRevision.objects.filter(document=document, number=number).first()
    if revision is None:
        raise NotFound(_("Revision not found."))
    return revision  # type: ignore[no-any-return]


def document_events(document: Document) -> QuerySet[EvidenceEvent]:
    return EvidenceEvent.objects.filter(document=document).order_by("index")


def slot_for_token(token: str) -> SignerSlot | None:
    """The pending patient slot a signing link opens, in any organization (the link is the
    only credential of a public page); None for an unknown, replaced or expired link."""
    if not token or len(token) > 64:
        return None
    slot = (
        SignerSlot.all_tenants.select_related("document", "document__patient", "document__clinic")
        .filter(
            link_token_hash=token_hash(token),
            role=SignerSlot.Role.PATIENT,
            link_expires_at__gt=timezone.now(),
        )
        .first()
    )
    return slot  # type: ignore[no-any-return]


def get_slot(*, document: Document, slot_id: int) -> SignerSlot:
    slot = next((s for s in document.slots.all() if s.pk == slot_id), None)
    if slot is None:
        raise NotFound(_("Signature not found."))
    return slot


def _is_current() -> Any:
    earlier_pending = SignerSlot.objects.filter(
        document=OuterRef("document"),
        status=SignerSlot.Status.PENDING,
        order__lt=OuterRef("order"),
    )
    return ~Exists(earlier_pending)


def waiting_for(*, staff: Staff, clinic: Clinic, can_sign: bool, can_seal: bool) -> list[Document]:
    """Documents whose turn is a signature of `staff`: a doctor slot naming them (in any
    clinic), a doctor slot naming nobody in `clinic` (with esign.sign), and the clinic seal
    in `clinic` (with esign.manage). Oldest first: they have waited longest."""
    mine = Q(role=SignerSlot.Role.DOCTOR, staff=staff)
    if can_sign:
        mine |= Q(role=SignerSlot.Role.DOCTOR, staff__isnull=True, document__clinic=clinic)
    if can_seal:
        mine |= Q(role=SignerSlot.Role.SEAL, document__clinic=clinic)
    slots = SignerSlot.objects.filter(
        mine, status=SignerSlot.Status.PENDING, document__status=Status.SIGNING
    ).filter(_is_current())
    document_ids = slots.values("document_id")
    return list(_with_slots(Document.objects.filter(pk__in=document_ids)).order_by("created_at"))


def get_session(*, session_id: int) -> SigningSession:
    session = (
        SigningSession.objects.select_related("slot", "slot__document", "certificate")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        raise NotFound(_("Signing session not found."))
    return session  # type: ignore[no-any-return]


def record_document(*, version_id: int) -> Document | None:
    """The document (not void) made to e-sign a medical record version, if any."""
    return (  # type: ignore[no-any-return]
        Document.objects.filter(source=Document.Source.RECORD, source_id=version_id)
        .exclude(status=Status.VOID)
        .order_by("-id")
        .first()
    )
