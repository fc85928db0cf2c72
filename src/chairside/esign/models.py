"""Certificates, signed documents and their evidence (F3–F5).

The signer's private key never reaches the server: staff keys live in their own browser
(WebCrypto, non-extractable), a patient's key exists for one signing event in the browser
and is dropped afterwards. The server holds only certificates, the PDF revisions and the
signing state between "prepare" and "finish". The two keys the server does hold — the
organization's certificate authority and the clinic seal — belong to the organization, not
to a person, and are encrypted at rest.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from chairside.core.crypto import EncryptedTextField
from chairside.core.models import Clinic, Staff
from chairside.core.tenancy import TenantModel
from chairside.patients.models import Patient


class CertificateAuthority(TenantModel):
    """The organization's own CA: issues staff, patient and seal certificates and its CRL."""

    certificate_pem = models.TextField()
    private_key_pem = EncryptedTextField()
    next_crl_number = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="esign_one_ca_per_org"),
        ]


class PlatformKey(models.Model):
    """Installation-wide keys of Chairside itself: the time-stamping authority and its root.

    Not tenant data: one TSA serves every organization (as an accredited TSA would)."""

    class Name(models.TextChoices):
        TSA_ROOT = "tsa_root", _("Time-stamping root")
        TSA = "tsa", _("Time-stamping authority")

    name = models.CharField(max_length=20, choices=Name.choices, unique=True)
    certificate_pem = models.TextField()
    private_key_pem = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.get_name_display()


class Certificate(TenantModel):
    """An X.509 certificate issued by the organization's CA."""

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff")
        PATIENT = "patient", _("Patient")
        SEAL = "seal", _("Clinic seal")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    serial = models.CharField(_("serial number"), max_length=40, unique=True)
    subject_name = models.CharField(_("subject"), max_length=200)
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT)
    patient = models.ForeignKey(Patient, null=True, blank=True, on_delete=models.PROTECT)
    clinic = models.ForeignKey(Clinic, null=True, blank=True, on_delete=models.PROTECT)
    certificate_pem = models.TextField()
    # SHA-256 of the DER SubjectPublicKeyInfo: how a browser finds its key for a certificate.
    spki_sha256 = models.CharField(max_length=64, db_index=True)
    # A patient's one-event certificate names the document revision it was issued for.
    document_sha256 = models.CharField(max_length=64, blank=True, default="")
    # Only the clinic seal's key is held by the server (the organization's, encrypted).
    seal_private_key_pem = EncryptedTextField(blank=True, default="")
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation_reason = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["organization", "kind", "staff"]),
        ]

    def __str__(self) -> str:
        return f"{self.subject_name} ({self.serial})"


class Document(TenantModel):
    """A PDF that signers sign in order; each signature is a new revision of the file."""

    class Status(models.TextChoices):
        SIGNING = "signing", _("Awaiting signatures")
        COMPLETED = "completed", _("Completed")
        VOID = "void", _("Void")

    class Source(models.TextChoices):
        FORM = "form", _("Form")
        RECORD = "record", _("Medical record")

    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT)
    # Public and unique across organizations: the verification page looks it up.
    number = models.CharField(_("document number"), max_length=24, unique=True)
    title = models.CharField(_("title"), max_length=200)
    source = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.PositiveBigIntegerField()
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SIGNING
    )
    # Canonical JSON of the data shown in the document, and its SHA-256 (evidence package).
    data_sha256 = models.CharField(max_length=64, blank=True, default="")
    # Those canonical JSON bytes themselves (UTF-8), copied into the evidence package.
    data_json = EncryptedTextField(blank=True, default="")
    created_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("signed document")
        verbose_name_plural = _("signed documents")
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[Any]] = [
            models.Index(fields=["organization", "source", "source_id"]),
            models.Index(fields=["organization", "patient", "-created_at"]),
            models.Index(fields=["organization", "status", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class DocumentRevision(TenantModel):
    """One state of the PDF: the rendering, then one revision per signature, then the
    archive revision (validation data and a document time-stamp, PAdES B-LTA)."""

    class Kind(models.TextChoices):
        RENDERED = "rendered", _("Rendered")
        SIGNATURE = "signature", _("Signature")
        ARCHIVE = "archive", _("Archive time-stamp")

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["document", "number"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["document", "number"], name="esign_revision_unique"),
        ]


class SignerSlot(TenantModel):
    """One signature a document needs, in order (patient, then doctor, then the seal)."""

    class Role(models.TextChoices):
        PATIENT = "patient", _("Patient")
        DOCTOR = "doctor", _("Doctor")
        SEAL = "seal", _("Clinic seal")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SIGNED = "signed", _("Signed")

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="slots")
    order = models.PositiveSmallIntegerField()
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    # Who must sign: the patient (role patient) or a named doctor; null staff = any doctor
    # of the clinic with esign.sign.
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT)
    requires_id_number = models.BooleanField(default=False)
    # Where the visible signature goes: PDF field name, page (0-based), box in PDF points.
    field_name = models.CharField(max_length=40)
    page = models.PositiveSmallIntegerField(default=0)
    box = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    certificate = models.ForeignKey(
        Certificate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    # Secret part of the link sent to the patient (/sign/<token>/); hashed.
    link_token_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    # The link stops opening the slot after this (a new link can be sent).
    link_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["document", "order"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["document", "order"], name="esign_slot_order"),
        ]


class SigningSession(TenantModel):
    """State kept between "prepare" and "finish" of one signature (pyHanko's interrupted
    signing): the prepared PDF with its reserved signature, the digest of the byte range
    and the DER of the signed attributes the browser signs."""

    slot = models.ForeignKey(SignerSlot, on_delete=models.PROTECT, related_name="sessions")
    certificate = models.ForeignKey(Certificate, on_delete=models.PROTECT, related_name="+")
    prepared_pdf = models.BinaryField()
    byte_range = models.JSONField(default=list)
    document_digest = models.CharField(max_length=64)
    signed_attributes = models.BinaryField()
    # SHA-256 of the prepared PDF the signer previewed (its pages are what they saw).
    preview_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]


class IdentityCheck(TenantModel):
    """An SMS code (and, where asked, a resident ID check) proving who is about to enrol or
    sign. Only a hash of the code is kept."""

    class Purpose(models.TextChoices):
        ENROL = "enrol", _("Key enrolment")
        SIGN = "sign", _("Signing")

    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.CASCADE)
    slot = models.ForeignKey(SignerSlot, null=True, blank=True, on_delete=models.CASCADE)
    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    id_number_checked = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)


class EvidenceLog(TenantModel):
    """The organization's append-only evidence log: a Merkle tree over EvidenceEvent leaves.
    This row is locked to number the next leaf."""

    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization"], name="esign_one_log_per_org"),
        ]


class EvidenceEvent(TenantModel):
    """One leaf of the evidence log. Never updated or deleted."""

    class Kind(models.TextChoices):
        CREATED = "created", pgettext_lazy("evidence event", "Created")
        SENT = "sent", pgettext_lazy("evidence event", "Sent")
        OPENED = "opened", pgettext_lazy("evidence event", "Opened")
        IDENTITY_VERIFIED = (
            "identity_verified",
            pgettext_lazy("evidence event", "Identity verified"),
        )
        PREVIEWED = "previewed", pgettext_lazy("evidence event", "Previewed")
        SIGNED = "signed", pgettext_lazy("evidence event", "Signed")
        COMPLETED = "completed", pgettext_lazy("evidence event", "Completed")
        DOWNLOADED = "downloaded", pgettext_lazy("evidence event", "Downloaded")
        VOIDED = "voided", pgettext_lazy("evidence event", "Voided")
        ENROLLED = "enrolled", pgettext_lazy("evidence event", "Key enrolled")
        REVOKED = "revoked", pgettext_lazy("evidence event", "Certificate revoked")

    # 0-based leaf index in the organization's log.
    index = models.PositiveBigIntegerField()
    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    # Who: "staff:12", "patient:5", "system", "public"; never health data in details.
    actor = models.CharField(max_length=40)
    details = models.JSONField(default=dict)
    # Hash of the previous event of the same document ("" for the first): deleting or
    # reordering one is caught even without the tree.
    previous_sha256 = models.CharField(max_length=64, blank=True, default="")
    leaf_sha256 = models.CharField(max_length=64)

    class Meta:
        ordering: ClassVar[list[str]] = ["index"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "index"], name="esign_event_index"),
        ]


class TreeHead(TenantModel):
    """A time-stamped root of the evidence log at a given size (signed tree head)."""

    size = models.PositiveBigIntegerField()
    root_sha256 = models.CharField(max_length=64)
    # RFC 3161 token over the root hash.
    timestamp_token = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar[list[str]] = ["-size"]
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["organization", "size"], name="esign_tree_head_size"),
        ]
