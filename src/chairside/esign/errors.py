"""Error codes and domain errors of e-signatures, beside the shared ones in core.errors.

Other parts of the app may add classes at the end of this module."""

from __future__ import annotations

from enum import StrEnum

from chairside.core.errors import DomainError


class EsignErrorCode(StrEnum):
    CERTIFICATE_REQUEST_INVALID = "certificate_request_invalid"
    CERTIFICATE_NOT_USABLE = "certificate_not_usable"
    SIGNATURE_INVALID = "signature_invalid"
    TSA_UNAVAILABLE = "tsa_unavailable"
    PDF_INVALID = "pdf_invalid"


class CertificateRequestInvalid(DomainError):
    """The browser's certificate request is malformed, not P-256, or not signed by its key."""

    status = 400
    code = EsignErrorCode.CERTIFICATE_REQUEST_INVALID


class CertificateNotUsable(DomainError):
    """A certificate cannot sign: no key on the server, revoked or out of its validity."""

    status = 400
    code = EsignErrorCode.CERTIFICATE_NOT_USABLE


class SignatureInvalid(DomainError):
    """The signature sent back does not verify with the signer's certificate."""

    status = 400
    code = EsignErrorCode.SIGNATURE_INVALID


class PdfInvalid(DomainError):
    """The file is not a PDF pyHanko can sign or read."""

    status = 400
    code = EsignErrorCode.PDF_INVALID


class TsaUnavailable(DomainError):
    """The time-stamping authority did not answer or refused: signing fails, with no
    fallback to an unattested time."""

    status = 503
    code = EsignErrorCode.TSA_UNAVAILABLE


# --- signing flow (documents, identity checks, enrolment, signing sessions) -------------


class FlowErrorCode(StrEnum):
    RATE_LIMITED = "esign_rate_limited"
    CODE_INVALID = "esign_code_invalid"
    IDENTITY_FAILED = "esign_identity_failed"
    NOT_YOUR_TURN = "esign_not_your_turn"
    NOT_SIGNING = "esign_not_signing"
    SESSION_EXPIRED = "esign_session_expired"
    NO_CERTIFICATE = "esign_no_certificate"
    NO_MOBILE = "esign_no_mobile"


class SigningRateLimited(DomainError):
    """Too many codes asked for or tried from one phone, person or address."""

    status = 429
    code = FlowErrorCode.RATE_LIMITED


class CodeInvalid(DomainError):
    """The SMS code is wrong, used up, expired or tried too often."""

    status = 400
    code = FlowErrorCode.CODE_INVALID


class IdentityCheckFailed(DomainError):
    """The resident ID number or the name does not match the person."""

    status = 400
    code = FlowErrorCode.IDENTITY_FAILED


class NotYourTurn(DomainError):
    """The slot is not the document's next one to sign, or belongs to someone else."""

    status = 409
    code = FlowErrorCode.NOT_YOUR_TURN


class NotSigning(DomainError):
    """The document is completed or void: nothing more can be signed or sent."""

    status = 409
    code = FlowErrorCode.NOT_SIGNING


class SessionExpired(DomainError):
    """The prepared signature ran out of time or was already finished: start again."""

    status = 409
    code = FlowErrorCode.SESSION_EXPIRED


class NoCertificate(DomainError):
    """The staff member has no usable enrolled certificate: enrol a key first."""

    status = 409
    code = FlowErrorCode.NO_CERTIFICATE


class NoMobile(DomainError):
    """The person has no mobile number on file to send a code or a link to."""

    status = 400
    code = FlowErrorCode.NO_MOBILE
