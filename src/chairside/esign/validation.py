"""Verifying signed PDFs (F3, F4): each signature's integrity, its signer's certificate at
the moment of signing (the RFC 3161 time-stamp, not the signer's clock), revocation, and
what was changed in the file after it.

Trust comes from our own records by default — the CA of the signer's organization, found
through the signer's certificate, with that CA's CRL, and Chairside's TSA root with its CRL
— never from the network. `trust_roots` and `crls` may be given instead, for verifying an
evidence package offline.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from enum import StrEnum

from asn1crypto import cms, crl, x509
from django.utils.translation import gettext_lazy as _
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from chairside.core.models import Organization
from chairside.esign import pki, tsa
from chairside.esign.models import Certificate, CertificateAuthority

logger = logging.getLogger(__name__)


class Problem(StrEnum):
    """Why a signature (or the file) is not valid: stable codes."""

    NOT_READABLE = "not_readable"
    CANNOT_VALIDATE = "cannot_validate"
    NO_TRUSTED_TIMESTAMP = "no_trusted_timestamp"
    CONTENT_CHANGED = "content_changed"
    SIGNATURE_INVALID = "signature_invalid"
    REVOKED = "revoked"
    NOT_VALID_AT_SIGNING_TIME = "not_valid_at_signing_time"
    UNTRUSTED = "untrusted"
    MODIFIED_AFTER_SIGNING = "modified_after_signing"


MODIFICATION_LEVELS = {
    ModificationLevel.NONE: "none",
    # Only validation data and document time-stamps were added: the content is unchanged.
    ModificationLevel.LTA_UPDATES: "none",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}
# What each level means to a reader (the verification page and `chairside verify`).
MODIFICATION_TEXT = {
    "none": _("No change to the document after this signature."),
    "form_filling": _("After this signature: only further signatures were added."),
    "annotations": _("After this signature: only annotations were added."),
    "other": _("The document was modified after this signature."),
}
COVERAGE = {
    SignatureCoverageLevel.UNCLEAR: "unclear",
    SignatureCoverageLevel.CONTIGUOUS_BLOCK_FROM_START: "contiguous_block",
    SignatureCoverageLevel.ENTIRE_REVISION: "entire_revision",
    SignatureCoverageLevel.ENTIRE_FILE: "entire_file",
}


@dataclass
class SignatureReport:
    """One signature, judged at its signing time."""

    field: str
    signer_name: str = ""
    # "staff", "patient" or "seal" (from the certificate), "" for a foreign certificate.
    kind: str = ""
    organization_name: str = ""
    certificate_serial: str = ""
    # For a patient's one-event certificate: the document revision it was issued for.
    document_sha256: str = ""
    # From the signature's RFC 3161 time-stamp; None without a trusted one.
    signing_time: datetime | None = None
    timestamp_trusted: bool = False
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    revoked: bool = False
    # When the certificate was revoked, even if after signing (the signature stays valid).
    revoked_at: datetime | None = None
    expired: bool = False
    modification_level: str = "other"
    docmdp_ok: bool = False
    coverage: str = "unclear"
    problems: list[Problem] = dataclass_field(default_factory=list)


@dataclass
class TimestampReport:
    """A document time-stamp of the archive step (PAdES B-LTA)."""

    field: str
    time: datetime | None = None
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    modification_level: str = "other"
    coverage: str = "unclear"


@dataclass
class PdfReport:
    sha256: str
    readable: bool = True
    signatures: list[SignatureReport] = dataclass_field(default_factory=list)
    document_timestamps: list[TimestampReport] = dataclass_field(default_factory=list)
    problems: list[Problem] = dataclass_field(default_factory=list)

    @property
    def valid(self) -> bool:
        """Signed, every signature valid, every document time-stamp valid."""
        return (
            self.readable
            and bool(self.signatures)
            and all(s.valid for s in self.signatures)
            and all(t.valid for t in self.document_timestamps)
        )

    @property
    def archived(self) -> bool:
        return any(t.valid for t in self.document_timestamps)


# --- trust material from our records ----------------------------------------------------------


def tsa_trust() -> tuple[x509.Certificate, x509.Certificate, crl.CertificateList]:
    """Chairside's TSA certificate, its root and the root's CRL."""
    tsa_pem, root_pem = tsa.tsa_chain_pems()
    return (
        pki.asn1_certificate(tsa_pem),
        pki.asn1_certificate(root_pem),
        crl.CertificateList.load(tsa.tsa_crl_der()),
    )


def organization_trust(organization: Organization) -> tuple[x509.Certificate, crl.CertificateList]:
    ca = x509.Certificate.load(pki.ca_certificate_der(organization))
    return ca, crl.CertificateList.load(pki.crl_der(organization))


def validation_context(
    *,
    trust_roots: list[x509.Certificate],
    crls: list[crl.CertificateList],
    other_certs: list[x509.Certificate] = (),  # type: ignore[assignment]
    moment: datetime | None = None,
) -> ValidationContext:
    """Offline, revocation checked (hard fail when a certificate names a CRL we lack);
    at `moment`, revocation data issued later still counts (a CRL lists every revocation
    with its date, so it answers for the past too)."""
    return ValidationContext(
        trust_roots=trust_roots,
        other_certs=list(other_certs),
        crls=crls,
        allow_fetching=False,
        revocation_mode="hard-fail",
        moment=moment,
        retroactive_revinfo=True,
    )


def archive_context(organization: Organization) -> ValidationContext:
    """What the archive step embeds: the organization's CA and the TSA, with their CRLs."""
    ca, ca_crl = organization_trust(organization)
    tsa_cert, tsa_root, tsa_crl = tsa_trust()
    return validation_context(
        trust_roots=[ca, tsa_root], crls=[ca_crl, tsa_crl], other_certs=[tsa_cert]
    )


def _our_certificate(signer: x509.Certificate) -> Certificate | None:
    serial = pki.serial_hex(signer.serial_number)
    row = Certificate.all_tenants.filter(serial=serial).select_related("organization").first()
    return row  # type: ignore[no-any-return]


def _issuer_matches(signer: x509.Certificate, ca: x509.Certificate) -> bool:
    return (
        signer.authority_key_identifier is not None
        and signer.authority_key_identifier == ca.key_identifier
        and signer.issuer == ca.subject
    )


def _organization_for(
    signer: x509.Certificate,
    row: Certificate,
    ca_certificates: dict[int, x509.Certificate | None],
) -> Organization | None:
    """The organization whose CA issued `signer`: through `row`, our record of it, checked
    against the CA's key identifier. `ca_certificates` keeps each organization's CA (None
    without one) for the file's other signatures."""
    organization_id = row.organization_id
    if organization_id not in ca_certificates:
        authority = CertificateAuthority.all_tenants.filter(organization_id=organization_id).first()
        ca_certificates[organization_id] = (
            None if authority is None else pki.asn1_certificate(authority.certificate_pem)
        )
    ca = ca_certificates[organization_id]
    if ca is None or not _issuer_matches(signer, ca):
        return None
    return row.organization  # type: ignore[no-any-return]


# --- validation -------------------------------------------------------------------------------


def validate_pdf(
    pdf: bytes,
    *,
    trust_roots: list[x509.Certificate] | None = None,
    crls: list[crl.CertificateList] | None = None,
) -> PdfReport:
    """Judge every signature and document time-stamp of `pdf`. With `trust_roots` (and
    `crls`) given, nothing is read from the database."""
    report = PdfReport(sha256=hashlib.sha256(pdf).hexdigest())
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_regular_signatures
        timestamps = reader.embedded_timestamp_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        report.readable = False
        report.problems.append(Problem.NOT_READABLE)
        logger.info("Not a readable PDF: %s", exc)
        return report
    explicit = trust_roots is not None
    if explicit:
        roots, revocation = list(trust_roots or []), list(crls or [])
        tsa_certs: list[x509.Certificate] = []
    else:
        tsa_cert, tsa_root, tsa_crl = tsa_trust()
        roots, revocation, tsa_certs = [tsa_root], [tsa_crl], [tsa_cert]
    org_trust: dict[int, tuple[x509.Certificate, crl.CertificateList]] = {}
    ca_certificates: dict[int, x509.Certificate | None] = {}
    for signature in signatures:
        sig_roots, sig_crls = list(roots), list(revocation)
        row = None if explicit else _our_certificate(signature.signer_cert)
        if row is not None:
            organization = _organization_for(signature.signer_cert, row, ca_certificates)
            if organization is not None:
                if organization.pk not in org_trust:
                    org_trust[organization.pk] = organization_trust(organization)
                ca, ca_crl = org_trust[organization.pk]
                sig_roots.append(ca)
                sig_crls.append(ca_crl)
        report.signatures.append(
            tsa.run_sync(_signature_report(signature, sig_roots, sig_crls, tsa_certs, row))
        )
    for timestamp in timestamps:
        report.document_timestamps.append(
            tsa.run_sync(_timestamp_report(timestamp, roots, revocation, tsa_certs))
        )
    return report


SUBJECT_OIDS = {
    "common_name": "2.5.4.3",
    "organizational_unit_name": "2.5.4.11",
    "organization_name": "2.5.4.10",
    "description": "2.5.4.13",
}


def _subject_attribute(cert: x509.Certificate, name: str) -> str:
    """The last value of a subject attribute (by OID: asn1crypto has no name for some)."""
    found = ""
    for rdn in cert.subject.chosen:
        for attribute in rdn:
            if attribute["type"].dotted == SUBJECT_OIDS[name]:
                found = str(attribute["value"].native or "")
    return found


def _claimed_signing_time(signature: EmbeddedPdfSignature) -> datetime | None:
    """The genTime of the signature's time-stamp token, before it is validated."""
    for tst_signed_data in extract_tst_data_iter(signature.signer_info, signed=False):
        tst_info = tst_signed_data["encap_content_info"]["content"].parsed
        return tst_info["gen_time"].native  # type: ignore[no-any-return]
    return None


async def _signature_report(
    signature: EmbeddedPdfSignature,
    roots: list[x509.Certificate],
    crls: list[crl.CertificateList],
    other_certs: list[x509.Certificate],
    row: Certificate | None,
) -> SignatureReport:
    cert = signature.signer_cert
    report = SignatureReport(
        field=signature.field_name,
        signer_name=_subject_attribute(cert, "common_name"),
        kind=_subject_attribute(cert, "organizational_unit_name"),
        organization_name=_subject_attribute(cert, "organization_name"),
        certificate_serial=pki.serial_hex(cert.serial_number),
        document_sha256=_subject_attribute(cert, "description"),
    )
    if row is not None:
        report.revoked_at = row.revoked_at
    claimed = _claimed_signing_time(signature)
    context = validation_context(
        trust_roots=roots, crls=crls, other_certs=other_certs, moment=claimed
    )
    try:
        status = await async_validate_pdf_signature(
            signature, signer_validation_context=context, ts_validation_context=context
        )
    except Exception as exc:  # noqa: BLE001 - a damaged signature is reported, never a crash
        logger.info("Signature %s could not be validated: %s", signature.field_name, exc)
        report.problems.append(Problem.CANNOT_VALIDATE)
        return report
    timestamp = status.timestamp_validity
    report.timestamp_trusted = bool(
        timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    )
    if report.timestamp_trusted and timestamp is not None:
        report.signing_time = timestamp.timestamp
    else:
        report.problems.append(Problem.NO_TRUSTED_TIMESTAMP)
    report.intact = bool(status.intact)
    report.trusted = bool(status.trusted)
    report.revoked = bool(status.revoked)
    at = report.signing_time or claimed
    if at is not None:
        not_before = cert["tbs_certificate"]["validity"]["not_before"].native
        not_after = cert["tbs_certificate"]["validity"]["not_after"].native
        report.expired = not (not_before <= at <= not_after)
    diff = status.modification_level
    report.modification_level = (
        MODIFICATION_LEVELS.get(diff, "other") if diff is not None else "other"
    )
    report.coverage = COVERAGE.get(status.coverage, "unclear") if status.coverage else "unclear"
    report.docmdp_ok = bool(
        status.docmdp_ok
        if status.docmdp_ok is not None
        else status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    )
    if not report.intact:
        report.problems.append(Problem.CONTENT_CHANGED)
    elif not status.valid:
        report.problems.append(Problem.SIGNATURE_INVALID)
    if report.revoked:
        report.problems.append(Problem.REVOKED)
    if report.expired:
        report.problems.append(Problem.NOT_VALID_AT_SIGNING_TIME)
    if not report.trusted and not report.revoked and not report.expired:
        report.problems.append(Problem.UNTRUSTED)
    if not report.docmdp_ok:
        report.problems.append(Problem.MODIFIED_AFTER_SIGNING)
    report.valid = (
        report.intact
        and bool(status.valid)
        and report.trusted
        and report.timestamp_trusted
        and not report.revoked
        and not report.expired
        and report.docmdp_ok
    )
    return report


async def _timestamp_report(
    timestamp: EmbeddedPdfSignature,
    roots: list[x509.Certificate],
    crls: list[crl.CertificateList],
    other_certs: list[x509.Certificate],
) -> TimestampReport:
    report = TimestampReport(field=timestamp.field_name)
    context = validation_context(trust_roots=roots, crls=crls, other_certs=other_certs)
    try:
        status = await async_validate_pdf_timestamp(timestamp, validation_context=context)
    except Exception as exc:  # noqa: BLE001 - as above
        logger.info("Time-stamp %s could not be validated: %s", timestamp.field_name, exc)
        return report
    report.time = status.timestamp
    report.intact = bool(status.intact)
    report.trusted = bool(status.trusted)
    diff = status.modification_level
    report.modification_level = (
        MODIFICATION_LEVELS.get(diff, "other") if diff is not None else "other"
    )
    report.coverage = COVERAGE.get(status.coverage, "unclear") if status.coverage else "unclear"
    report.valid = (
        report.intact
        and bool(status.valid)
        and report.trusted
        and report.modification_level == "none"
    )
    return report


def token_from_signature(signature: EmbeddedPdfSignature) -> cms.ContentInfo | None:
    """The RFC 3161 token in the signature's unsigned attributes (for openssl ts -verify)."""
    attrs = signature.signer_info["unsigned_attrs"]
    if attrs.native is None:
        return None
    for attr in attrs:
        if attr["type"].native == "signature_time_stamp_token":
            return attr["values"][0]  # type: ignore[no-any-return]
    return None
