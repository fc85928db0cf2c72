"""Signed documents: making one from a rendered PDF (the forms app and medical records call
`document_create`), sending the patient the signing link, voiding, and downloads.

Every step goes into the organization's evidence log (esign.evidence) with who did it and
from where; the log never holds health data, only numbers, hashes and roles.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from chairside.core.audit import audit_record, snapshot
from chairside.core.errors import ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.phone import mask_mobile
from chairside.esign import evidence
from chairside.esign.errors import NoMobile, NotSigning, NotYourTurn
from chairside.esign.events import VOIDED, DocumentEvent, announce
from chairside.esign.models import Document, DocumentRevision, EvidenceEvent, SignerSlot
from chairside.esign.selectors.documents import current_slot, token_hash
from chairside.messaging.models import ChannelType, MessageKind
from chairside.messaging.services import message_send
from chairside.patients.models import Patient

# "CS" and 12 characters: 11 random ones (about 54 bits) and a check character, from the
# alphabet of coupon codes (no 0/O, 1/I/L): printed on the PDF, typed into the public
# verification page.
NUMBER_PREFIX = "CS"
NUMBER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_NUMBER_BODY = 11
_VALUE = {ch: i for i, ch in enumerate(NUMBER_ALPHABET)}
LINK_LIFETIME = timedelta(days=7)
MAX_PDF = 20 * 1024 * 1024
SIGN_REQUEST_TEMPLATE = "esign.sign_request"


@dataclass(frozen=True)
class ClientInfo:
    """Where a step came from: the evidence's "where and how" (address and browser)."""

    ip: str = ""
    user_agent: str = ""

    def details(self) -> dict[str, str]:
        return {"ip": self.ip[:45], "user_agent": self.user_agent[:200]}


@dataclass(kw_only=True)
class SignerSpec:
    """One signature a new document needs, in the order given: who (a role, and for a
    doctor optionally the one who must sign), whether the patient's resident ID is checked,
    and where the visible signature goes (PDF field name, 0-based page, box in PDF points
    with the origin at the bottom left: [x1, y1, x2, y2])."""

    role: str
    staff: Staff | None = None
    requires_id_number: bool = False
    field_name: str
    page: int
    box: list[float] = field(default_factory=list)


def actor_label(staff: Staff | None = None, patient: Patient | None = None) -> str:
    """Who did it, as the evidence log writes it."""
    if staff is not None:
        return f"staff:{staff.pk}"
    if patient is not None:
        return f"patient:{patient.pk}"
    return "system"


# --- numbers ------------------------------------------------------------------------------


def _check_character(body: str) -> str:
    total = sum(position * _VALUE[ch] for position, ch in enumerate(body, start=1))
    # (len(body) + 1) * check == -total (mod 31); 31 is prime, so the weight is invertible.
    inverse = pow(len(body) + 1, -1, len(NUMBER_ALPHABET))
    return NUMBER_ALPHABET[(-total * inverse) % len(NUMBER_ALPHABET)]


def number_generate() -> str:
    body = "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(_NUMBER_BODY))
    return NUMBER_PREFIX + body + _check_character(body)


def number_normalize(text: str) -> str:
    return "".join(text.split()).replace("-", "").upper()


def number_is_valid(text: str) -> bool:
    """Whether `text` is a well-formed document number (a typo fails the check character)."""
    number = number_normalize(text)
    body = number[len(NUMBER_PREFIX) :]
    if not number.startswith(NUMBER_PREFIX) or len(body) != _NUMBER_BODY + 1:
        return False
    if any(ch not in _VALUE for ch in body):
        return False
    return _check_character(body[:-1]) == body[-1]


def document_number_reserve() -> str:
    """An unused document number, for a rendering that prints its own number before the
    document exists (document_create(number=...))."""
    return _new_number()


def _new_number() -> str:
    for _attempt in range(20):
        number = number_generate()
        if not Document.all_tenants.filter(number=number).exists():
            return number
    raise RuntimeError("could not draw an unused document number")  # pragma: no cover


# --- creating ---------------------------------------------------------------------------


def canonical_json(data: dict[str, Any]) -> str:
    """The form data as the evidence package holds it: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_signers(clinic: Clinic, signers: list[SignerSpec]) -> None:
    if not signers:
        raise ValidationFailed(_("A document needs at least one signer."), field="signers")
    for spec in signers:
        if spec.role not in SignerSlot.Role.values:
            raise ValidationFailed(_("Unknown signer role."), field="signers")
        if spec.staff is not None and (
            spec.role != SignerSlot.Role.DOCTOR
            or spec.staff.organization_id != clinic.organization_id
        ):
            raise ValidationFailed(_("Only a doctor's signature names a staff member."))
        if len(spec.box) != 4 or not spec.box[0] < spec.box[2] or not spec.box[1] < spec.box[3]:
            raise ValidationFailed(_("Each signature needs a box on the page."), field="signers")
        if spec.page < 0 or not spec.field_name:
            raise ValidationFailed(_("Each signature needs a page and a field name."))
    names = [spec.field_name for spec in signers]
    if len(set(names)) != len(names):
        raise ValidationFailed(_("Each signature needs its own field name."), field="signers")


@transaction.atomic
def document_create(
    *,
    clinic: Clinic,
    patient: Patient,
    title: str,
    source: str,
    source_id: int,
    pdf: bytes,
    data: dict[str, Any],
    signers: list[SignerSpec],
    created_by: Staff | None,
    number: str = "",
) -> Document:
    """Store a rendered PDF as revision 1 of a new document with one slot per signer, in
    the order given (patient, doctor, seal), and log "created". `number` is one from
    document_number_reserve() that the rendering already prints; else one is drawn."""
    if patient.organization_id != clinic.organization_id:
        raise ValidationFailed(_("That belongs to another organization."))
    if source not in Document.Source.values:
        raise ValidationFailed(_("Unknown document source."), field="source")
    if not pdf.startswith(b"%PDF-") or len(pdf) > MAX_PDF:
        raise ValidationFailed(_("The rendering is not a PDF."), field="pdf")
    _check_signers(clinic, signers)
    if number and not number_is_valid(number):
        raise ValidationFailed(_("That is not a valid document number."), field="number")
    data_json = canonical_json(data)
    now = timezone.now()
    document = Document.objects.create(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        number=number or _new_number(),
        title=title.strip()[:200],
        source=source,
        source_id=source_id,
        data_json=data_json,
        data_sha256=sha256_hex(data_json.encode()),
        created_by=created_by,
        created_at=now,
    )
    revision = DocumentRevision.objects.create(
        organization_id=clinic.organization_id,
        document=document,
        number=1,
        kind=DocumentRevision.Kind.RENDERED,
        pdf=pdf,
        sha256=sha256_hex(pdf),
        created_at=now,
    )
    for order, spec in enumerate(signers, start=1):
        SignerSlot.objects.create(
            organization_id=clinic.organization_id,
            document=document,
            order=order,
            role=spec.role,
            staff=spec.staff,
            requires_id_number=spec.requires_id_number and spec.role == SignerSlot.Role.PATIENT,
            field_name=spec.field_name[:40],
            page=spec.page,
            box=[round(float(v), 2) for v in spec.box],
        )
    evidence.record(
        organization=organization_of(document.organization_id),
        kind=EvidenceEvent.Kind.CREATED,
        actor=actor_label(created_by),
        document=document,
        details={
            "number": document.number,
            "revision": 1,
            "revision_sha256": revision.sha256,
            "data_sha256": document.data_sha256,
            "signers": ",".join(spec.role for spec in signers),
        },
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=document,
        actor=created_by,
        clinic=clinic,
        after={k: v for k, v in snapshot(document).items() if k != "data_json"},
        summary=_("Document %(number)s created for signing") % {"number": document.number},
    )
    return document


def organization_of(organization_id: int) -> Organization:
    """The organization a document, certificate or staff member belongs to, for the
    evidence log and messages."""
    return Organization.objects.get(pk=organization_id)


def lock_document(document: Document) -> Document:
    """The document row, fresh and locked until the transaction ends, so two steps that
    change one document run one after the other."""
    return Document.objects.select_for_update().get(pk=document.pk)  # type: ignore[no-any-return]


def require_signing(document: Document) -> None:
    if document.status != Document.Status.SIGNING:
        raise NotSigning(_("This document is no longer awaiting signatures."))


# --- the patient's link -------------------------------------------------------------------


def sign_url(token: str) -> str:
    base = str(getattr(settings, "CHAIRSIDE_PUBLIC_URL", "")).rstrip("/")
    return base + reverse("esign:sign", args=[token])


@dataclass(frozen=True)
class SigningLink:
    token: str
    url: str
    slot: SignerSlot


@transaction.atomic
def signing_link_issue(
    *, actor: Staff, clinic: Clinic, document: Document, send_sms: bool
) -> SigningLink:
    """A new link to the patient's signature (the one before stops working): sent by SMS
    to the patient's mobile on file, or opened on the clinic's tablet (`send_sms` False).

    Only when it is the patient's turn."""
    document = lock_document(document)
    require_signing(document)
    slot = current_slot(document)
    if slot is None or slot.role != SignerSlot.Role.PATIENT:
        raise NotYourTurn(_("It is not the patient's turn to sign this document."))
    patient = Patient.objects.get(pk=document.patient_id)
    if send_sms and not patient.phone:
        raise NoMobile(_("The patient has no mobile number on file."), field="phone")
    token = secrets.token_urlsafe(16)
    now = timezone.now()
    slot.link_token_hash = token_hash(token)
    slot.link_expires_at = now + LINK_LIFETIME
    slot.save(update_fields=["link_token_hash", "link_expires_at"])
    url = sign_url(token)
    organization = organization_of(document.organization_id)
    if send_sms:
        message_send(
            organization=organization,
            channel=ChannelType.SMS,
            recipient=patient.phone,
            template_code=SIGN_REQUEST_TEMPLATE,
            kind=MessageKind.NOTIFICATION,
            context={"url": url, "document_number": document.number},
            clinic=Clinic.objects.get(pk=document.clinic_id),
            patient=patient,
        )
    evidence.record(
        organization=organization,
        kind=EvidenceEvent.Kind.SENT,
        actor=actor_label(actor),
        document=document,
        details={
            "slot": slot.order,
            "role": slot.role,
            "channel": "sms" if send_sms else "device",
            "to": mask_mobile(patient.phone) if send_sms else "",
            "link_expires_at": slot.link_expires_at.isoformat(),
        },
    )
    return SigningLink(token=token, url=url, slot=slot)


def slot_opened(*, slot: SignerSlot, client: ClientInfo) -> None:
    """The patient opened the signing link (logged once per browser session by the page)."""
    document = slot.document
    evidence.record(
        organization=organization_of(document.organization_id),
        kind=EvidenceEvent.Kind.OPENED,
        actor=actor_label(patient=document.patient),
        document=document,
        details={"slot": slot.order, "role": slot.role, **client.details()},
    )


# --- voiding and downloads --------------------------------------------------------------


@transaction.atomic
def document_void(*, actor: Staff, clinic: Clinic, document: Document, reason: str) -> Document:
    """Stop a document that is still awaiting signatures; its links stop working."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for voiding."), field="reason")
    document = lock_document(document)
    require_signing(document)
    before = snapshot(document)
    document.status = Document.Status.VOID
    document.voided_at = timezone.now()
    document.void_reason = reason[:200]
    document.save(update_fields=["status", "voided_at", "void_reason"])
    SignerSlot.objects.filter(document=document).update(link_token_hash="", link_expires_at=None)
    evidence.record(
        organization=organization_of(document.organization_id),
        kind=EvidenceEvent.Kind.VOIDED,
        actor=actor_label(actor),
        document=document,
        # The reason is free text a clerk typed and may name a condition: the log, which
        # travels in evidence packages, keeps only its hash; the document keeps the text.
        details={"reason_sha256": hashlib.sha256(document.void_reason.encode()).hexdigest()},
    )
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=document,
        actor=actor,
        clinic=clinic,
        before={k: before[k] for k in ("status", "voided_at", "void_reason")},
        after={k: snapshot(document)[k] for k in ("status", "voided_at", "void_reason")},
        summary=_("Document %(number)s voided") % {"number": document.number},
    )
    announce(DocumentEvent(kind=VOIDED, document=document))
    return document


def document_downloaded(
    *, actor: Staff, document: Document, what: str, revision: int | None = None
) -> None:
    """Log a download of the PDF ("pdf", with its revision) or the evidence package."""
    evidence.record(
        organization=organization_of(document.organization_id),
        kind=EvidenceEvent.Kind.DOWNLOADED,
        actor=actor_label(actor),
        document=document,
        details={"what": what, **({"revision": revision} if revision is not None else {})},
    )
