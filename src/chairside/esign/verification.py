"""What the public verification page (/verify/) reports about a document number or an
uploaded PDF: whether the file is the registered final revision, each signer (masked name,
role, signing time), the modification level and validity of each signature.

Nothing here is health data: never the document's title, the form data or the patient's
full name; signer names are masked (张*明). Lookups cross organizations on purpose (the
number or the file's hash is the only key a member of the public has) and then read the
document inside its own organization.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache

from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document, DocumentRevision, SignerSlot
from chairside.esign.package import signature_ok, signature_problem
from chairside.esign.selectors.documents import latest_revision
from chairside.esign.validation import MODIFICATION_TEXT

# Validating a PDF costs a few hundred milliseconds: a number looked up again within this
# time reuses the result (a revocation shows up after at most this long).
CACHE_SECONDS = 300
CACHE_PREFIX = "chairside:esign:verify"


def mask_name(name: str) -> str:
    """张小明 → 张*明, 张三 → 张*, and the same shape for Latin names (first and last
    character kept, spaces kept)."""
    name = name.strip()
    if len(name) <= 1:
        return "*" if name else ""
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "".join(" " if ch == " " else "*" for ch in name[1:-1]) + name[-1]


@dataclass(frozen=True)
class PublicSignature:
    """One signature as the public may see it."""

    field: str
    role: str  # patient, doctor, seal ("" when the file is not registered here)
    masked_name: str
    signing_time: datetime | None
    intact: bool
    trusted: bool
    revoked: bool
    expired: bool
    modification_level: str
    ok: bool
    problem: str

    @property
    def modification_text(self) -> str:
        return str(MODIFICATION_TEXT.get(self.modification_level, MODIFICATION_TEXT["other"]))


@dataclass
class PublicReport:
    """The page's answer. `match` is "final", "earlier" (an older revision of a registered
    document), "none" (the file is not registered) or "" for a number lookup."""

    number: str = ""
    status: str = ""
    match: str = ""
    revision: int | None = None
    final_revision: int | None = None
    sha256: str = ""
    final_sha256: str = ""
    completed_at: datetime | None = None
    signatures: list[PublicSignature] = field(default_factory=list)
    pending: int = 0  # signatures the document still waits for
    readable: bool = True

    @property
    def all_valid(self) -> bool:
        return self.readable and bool(self.signatures) and all(s.ok for s in self.signatures)

    @property
    def ok(self) -> bool:
        """The file (or the number's final revision) is registered, final and valid."""
        return self.match in ("", "final") and self.all_valid


def _public_signatures(
    pdf: bytes, slots: dict[str, SignerSlot]
) -> tuple[list[PublicSignature], bool]:
    digest = hashlib.sha256(pdf).hexdigest()
    key = f"{CACHE_PREFIX}:{digest}:{','.join(sorted(slots))}"
    cached = cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from chairside.esign import validation  # pyHanko's validation stack, loaded when used

    try:
        result = validation.validate_pdf(pdf)
    except Exception:  # noqa: BLE001 - whatever the upload is, the page says "unreadable"
        return [], False
    signatures = []
    for s in result.signatures:
        slot = slots.get(s.field)
        name = (
            slot.certificate.subject_name
            if slot is not None and slot.certificate is not None
            else str(s.signer_name or "")
        )
        role = slot.role if slot is not None else str(getattr(s, "role", "") or "")
        # The clinic's seal names the clinic, not a person: shown as it is.
        shown = name if role == SignerSlot.Role.SEAL else mask_name(name)
        ok = signature_ok(s)
        signatures.append(
            PublicSignature(
                field=str(s.field),
                role=role,
                masked_name=shown,
                signing_time=s.signing_time,
                intact=bool(s.intact),
                trusted=bool(s.trusted),
                revoked=bool(s.revoked),
                expired=bool(s.expired),
                modification_level=str(s.modification_level),
                ok=ok,
                problem="" if ok else signature_problem(s),
            )
        )
    cache.set(key, (signatures, True), timeout=CACHE_SECONDS)
    return signatures, True


def _slots(document: Document) -> dict[str, SignerSlot]:
    slots = SignerSlot.objects.filter(document=document).select_related("certificate")
    return {slot.field_name: slot for slot in slots}


def _document_report(
    document: Document, report: PublicReport
) -> tuple[DocumentRevision, dict[str, SignerSlot]]:
    final = latest_revision(document)
    slots = _slots(document)
    report.number = document.number
    report.status = document.status
    report.completed_at = document.completed_at
    report.final_revision = final.number
    report.final_sha256 = final.sha256
    report.pending = sum(1 for s in slots.values() if s.status == SignerSlot.Status.PENDING)
    return final, slots


def report_for_number(number: str) -> PublicReport | None:
    """The registered final revision of document `number` checked, or None if unknown."""
    document = Document.all_tenants.filter(number=number).first()
    if document is None:
        return None
    with tenant_scope(document.organization_id):
        report = PublicReport()
        final, slots = _document_report(document, report)
        report.revision, report.sha256 = final.number, final.sha256
        report.signatures, report.readable = _public_signatures(bytes(final.pdf), slots)
    return report


def report_for_pdf(pdf: bytes) -> PublicReport:
    """An uploaded file: is it a registered revision (the final one?), and are its
    signatures valid and its modifications allowed."""
    digest = hashlib.sha256(pdf).hexdigest()
    report = PublicReport(sha256=digest, match="none")
    revision = (
        DocumentRevision.all_tenants.filter(sha256=digest)
        .select_related("document")
        .order_by("-number")
        .first()
    )
    slots: dict[str, Any] = {}
    if revision is not None and bytes(revision.pdf) == pdf:
        with tenant_scope(revision.organization_id):
            final, slots = _document_report(revision.document, report)
        report.revision = revision.number
        report.match = "final" if final.pk == revision.pk else "earlier"
    report.signatures, report.readable = _public_signatures(pdf, slots)
    return report
