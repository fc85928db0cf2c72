"""The organization's certificate authority (F3): issues staff, patient and seal certificates
from certificate requests, revokes them and publishes its CRL.

The CA never sees a signer's private key: a staff member's or patient's browser sends a
PKCS#10 request signed by its own key (proof of possession). Only the CA key and the clinic
seal's key are held here, both belonging to the organization and encrypted at rest.

`settings.CHAIRSIDE_CA` names the backend; the default is `OrganizationCa`, the
organization's own CA. A licensed CA (电子认证服务机构) plugs in through the same methods.
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.cache import cache as django_cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from chairside.core.audit import audit_record
from chairside.core.models import AuditEntry, Clinic, Organization, Staff
from chairside.core.tenancy import current_tenant_or_none, tenant_scope
from chairside.esign.errors import CertificateNotUsable, CertificateRequestInvalid
from chairside.esign.models import Certificate, CertificateAuthority

if TYPE_CHECKING:
    from chairside.patients.models import Patient


CA_VALIDITY = timedelta(days=3652)
SEAL_VALIDITY = timedelta(days=730)
# A seal certificate this close to its end is replaced rather than used.
SEAL_RENEW_BEFORE = timedelta(days=30)
# Certificates start a little in the past so a signer's clock a minute behind is no problem.
BACKDATE = timedelta(minutes=1)
CRL_VALIDITY = timedelta(days=7)
# A cached CRL is re-issued once it is this old (or at once after a revocation).
CRL_REISSUE_AFTER = timedelta(days=1)
# X.520 "description": a patient's certificate names the document revision it signs.
DESCRIPTION_OID = x509.ObjectIdentifier("2.5.4.13")


class CaBackend(Protocol):
    """What a certificate authority does for Chairside (settings.CHAIRSIDE_CA)."""

    def ca_certificate_der(self, organization: Organization) -> bytes: ...

    def issue_from_csr(
        self,
        *,
        organization: Organization,
        csr_der: bytes,
        kind: str,
        subject_name: str,
        staff: Staff | None = None,
        patient: Patient | None = None,
        valid_for: timedelta,
        document_sha256: str = "",
    ) -> Certificate: ...

    def seal_certificate(self, clinic: Clinic) -> Certificate: ...

    def revoke(self, certificate: Certificate, *, reason: str, by: Staff | None) -> None: ...

    def crl_der(self, organization: Organization) -> bytes: ...


# --- helpers shared with tsa, pdfsign and validation -------------------------------------


def load_private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError("Chairside keys are ECDSA keys.")
    return key


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def asn1_certificate(pem: str) -> asn1_x509.Certificate:
    """A PEM certificate as asn1crypto reads it (what pyHanko and certvalidator take)."""
    return asn1_x509.Certificate.load(
        load_certificate(pem).public_bytes(serialization.Encoding.DER)
    )


def certificate_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def spki_sha256(public_key: ec.EllipticCurvePublicKey) -> str:
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()


def serial_hex(serial: int) -> str:
    return format(serial, "x")


def _name(
    *, common_name: str, organization: str, unit: str = "", description: str = ""
) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]),
    ]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]))
    if description:
        attributes.append(x509.NameAttribute(DESCRIPTION_OID, description))
    return x509.Name(attributes)


def crl_url(organization_id: int) -> str:
    path = reverse("esign:ca_crl", kwargs={"org_id": organization_id})
    return settings.CHAIRSIDE_PUBLIC_URL.rstrip("/") + path


def _crl_cache_key(authority: CertificateAuthority) -> str:
    # Names the CA itself, not only the organization: a CRL never answers for another key.
    fingerprint = hashlib.sha256(authority.certificate_pem.encode()).hexdigest()[:32]
    return f"esign:crl:{authority.organization_id}:{fingerprint}"


# --- the organization's own CA --------------------------------------------------------------


class OrganizationCa:
    """The default backend: a P-256 root per organization, kept in CertificateAuthority."""

    def authority(self, organization: Organization) -> CertificateAuthority:
        """The organization's CA row, created (key, self-signed root) on first use."""
        found = CertificateAuthority.all_tenants.filter(organization=organization).first()
        if found is not None:
            return found  # type: ignore[no-any-return]
        key = ec.generate_private_key(ec.SECP256R1())
        now = timezone.now().replace(microsecond=0)
        subject = _name(
            common_name=f"{organization.name} 电子签名 CA", organization=organization.name
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        try:
            # The CA is the organization's own row, made on its behalf whoever asks first
            # (a public verification, or another organization's staff checking a file).
            with tenant_scope(organization), transaction.atomic():
                return CertificateAuthority.all_tenants.create(  # type: ignore[no-any-return]
                    organization=organization,
                    certificate_pem=certificate_pem(cert),
                    private_key_pem=private_key_pem(key),
                )
        except IntegrityError:
            # Another request created it first: use theirs.
            return CertificateAuthority.all_tenants.get(organization=organization)  # type: ignore[no-any-return]

    def ca_certificate_der(self, organization: Organization) -> bytes:
        cert = load_certificate(self.authority(organization).certificate_pem)
        return cert.public_bytes(serialization.Encoding.DER)

    def _issue(
        self,
        *,
        organization: Organization,
        public_key: ec.EllipticCurvePublicKey,
        kind: str,
        subject_name: str,
        valid_for: timedelta,
        document_sha256: str = "",
    ) -> x509.Certificate:
        authority = self.authority(organization)
        ca_cert = load_certificate(authority.certificate_pem)
        ca_key = load_private_key(authority.private_key_pem)
        now = timezone.now().replace(microsecond=0)
        ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateBuilder()
            .subject_name(
                _name(
                    common_name=subject_name,
                    organization=organization.name,
                    unit=kind,
                    description=document_sha256,
                )
            )
            .issuer_name(ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(min(now + valid_for, ca_cert.not_valid_after_utc))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,  # non-repudiation
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .add_extension(
                x509.CRLDistributionPoints(
                    [
                        x509.DistributionPoint(
                            full_name=[x509.UniformResourceIdentifier(crl_url(organization.pk))],
                            relative_name=None,
                            reasons=None,
                            crl_issuer=None,
                        )
                    ]
                ),
                critical=False,
            )
        )
        return builder.sign(ca_key, hashes.SHA256())

    def issue_from_csr(
        self,
        *,
        organization: Organization,
        csr_der: bytes,
        kind: str,
        subject_name: str,
        staff: Staff | None = None,
        patient: Patient | None = None,
        valid_for: timedelta,
        document_sha256: str = "",
    ) -> Certificate:
        if kind not in Certificate.Kind.values:
            raise ValueError(f"Unknown certificate kind {kind!r}.")
        if valid_for <= timedelta(0):
            raise ValueError("A certificate must be valid for some time.")
        try:
            csr = x509.load_der_x509_csr(csr_der)
        except ValueError:
            raise CertificateRequestInvalid(
                _("The certificate request could not be read. Reload the page and try again.")
            ) from None
        try:
            public_key = csr.public_key()
        except ValueError:
            public_key = None  # type: ignore[assignment]
        if not (
            isinstance(public_key, ec.EllipticCurvePublicKey)
            and isinstance(public_key.curve, ec.SECP256R1)
        ):
            raise CertificateRequestInvalid(
                _("The certificate request must use an ECDSA P-256 key.")
            )
        try:
            signature_ok = csr.is_signature_valid
        except (InvalidSignature, ValueError):
            signature_ok = False
        if not signature_ok:
            raise CertificateRequestInvalid(
                _("The certificate request is not signed by its own key.")
            )
        cert = self._issue(
            organization=organization,
            public_key=public_key,
            kind=kind,
            subject_name=subject_name,
            valid_for=valid_for,
            document_sha256=document_sha256,
        )
        return _store(
            organization=organization,
            cert=cert,
            kind=kind,
            subject_name=subject_name,
            staff=staff,
            patient=patient,
            document_sha256=document_sha256,
        )

    def seal_certificate(self, clinic: Clinic) -> Certificate:
        organization = clinic.organization
        usable = (
            Certificate.all_tenants.filter(
                organization_id=clinic.organization_id,
                kind=Certificate.Kind.SEAL,
                clinic=clinic,
                revoked_at__isnull=True,
                not_after__gt=timezone.now() + SEAL_RENEW_BEFORE,
            )
            .exclude(seal_private_key_pem="")
            .order_by("-not_after", "-id")
        )
        found = usable.first()
        if found is not None:
            return found  # type: ignore[no-any-return]
        authority = self.authority(organization)
        with transaction.atomic():
            # One seal at a time per organization: the second request finds the first's.
            CertificateAuthority.all_tenants.select_for_update().get(pk=authority.pk)
            found = usable.first()
            if found is not None:
                return found  # type: ignore[no-any-return]
            key = ec.generate_private_key(ec.SECP256R1())
            subject_name = f"{clinic.name} 电子印章"
            cert = self._issue(
                organization=organization,
                public_key=key.public_key(),
                kind=Certificate.Kind.SEAL,
                subject_name=subject_name,
                valid_for=SEAL_VALIDITY,
            )
            return _store(
                organization=organization,
                cert=cert,
                kind=Certificate.Kind.SEAL,
                subject_name=subject_name,
                clinic=clinic,
                seal_key_pem=private_key_pem(key),
            )

    def revoke(self, certificate: Certificate, *, reason: str, by: Staff | None) -> None:
        with transaction.atomic():
            row = Certificate.all_tenants.select_for_update().get(pk=certificate.pk)
            if row.revoked_at is not None:
                certificate.revoked_at = row.revoked_at
                certificate.revocation_reason = row.revocation_reason
                return
            row.revoked_at = timezone.now()
            row.revocation_reason = reason[:200]
            row.save(update_fields=["revoked_at", "revocation_reason"])
            certificate.revoked_at = row.revoked_at
            certificate.revocation_reason = row.revocation_reason
            tenant = current_tenant_or_none()
            scope = tenant_scope(row.organization_id) if tenant is None else nullcontext()
            with scope:
                audit_record(
                    action=AuditEntry.Action.UPDATE,
                    instance=row,
                    actor=by,
                    clinic=row.clinic,
                    after={"revoked_at": row.revoked_at.isoformat(), "reason": reason[:200]},
                    summary=f"Certificate {row.serial} revoked",
                )

    def crl_der(self, organization: Organization) -> bytes:
        """The current CRL: re-issued (with the next CRL number) daily or after a revocation."""
        authority = self.authority(organization)
        key = _crl_cache_key(authority)
        # Cheap check that no certificate was revoked since the cached CRL was made (the
        # cache may be per process).
        revocations = Certificate.all_tenants.filter(
            organization=organization, revoked_at__isnull=False
        ).aggregate(count=Count("id"), last=Max("revoked_at"))
        fingerprint = (revocations["count"], revocations["last"])
        cached = django_cache.get(key)
        now = timezone.now()
        if (
            cached is not None
            and cached["fingerprint"] == fingerprint
            and now - cached["issued_at"] < CRL_REISSUE_AFTER
        ):
            return cached["der"]  # type: ignore[no-any-return]
        with tenant_scope(organization), transaction.atomic():
            authority = CertificateAuthority.all_tenants.select_for_update().get(pk=authority.pk)
            number = authority.next_crl_number
            authority.next_crl_number = number + 1
            authority.save(update_fields=["next_crl_number"])
            der = build_crl(authority, number=number, now=now)
        django_cache.set(
            key,
            {"der": der, "issued_at": now, "fingerprint": fingerprint},
            timeout=int(CRL_REISSUE_AFTER.total_seconds()),
        )
        return der


def build_crl(authority: CertificateAuthority, *, number: int, now: datetime) -> bytes:
    """A CRL signed by `authority` listing every revoked certificate it issued."""
    ca_cert = load_certificate(authority.certificate_pem)
    ca_key = load_private_key(authority.private_key_pem)
    this_update = now.replace(microsecond=0)
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(this_update)
        .next_update(this_update + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
    )
    revoked = Certificate.all_tenants.filter(
        organization_id=authority.organization_id, revoked_at__isnull=False
    ).values_list("serial", "revoked_at")
    for serial, revoked_at in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(int(serial, 16))
            .revocation_date(revoked_at.replace(microsecond=0))
            .build()
        )
    crl = builder.sign(ca_key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def _store(
    *,
    organization: Organization,
    cert: x509.Certificate,
    kind: str,
    subject_name: str,
    staff: Staff | None = None,
    patient: Patient | None = None,
    clinic: Clinic | None = None,
    document_sha256: str = "",
    seal_key_pem: str = "",
) -> Certificate:
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    return Certificate.all_tenants.create(  # type: ignore[no-any-return]
        organization=organization,
        kind=kind,
        serial=serial_hex(cert.serial_number),
        subject_name=subject_name[:200],
        staff=staff,
        patient=patient,
        clinic=clinic,
        certificate_pem=certificate_pem(cert),
        spki_sha256=spki_sha256(public_key),
        document_sha256=document_sha256,
        seal_private_key_pem=seal_key_pem,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


# --- the module's interface (the contract other parts of esign code against) -------------


@cache
def _backend_class(path: str) -> Any:
    return import_string(path)


def ca_backend() -> CaBackend:
    return _backend_class(settings.CHAIRSIDE_CA)()  # type: ignore[no-any-return]


def organization_ca(organization: Organization) -> CertificateAuthority:
    """The organization's own CA row (get or create)."""
    return OrganizationCa().authority(organization)


def ca_certificate_der(organization: Organization) -> bytes:
    return ca_backend().ca_certificate_der(organization)


def issue_from_csr(
    *,
    organization: Organization,
    csr_der: bytes,
    kind: str,
    subject_name: str,
    staff: Staff | None = None,
    patient: Patient | None = None,
    valid_for: timedelta,
    document_sha256: str = "",
) -> Certificate:
    """Verify the request's own signature (proof of possession, P-256 only) and issue a
    certificate whose subject comes from our records, never from the request."""
    return ca_backend().issue_from_csr(
        organization=organization,
        csr_der=csr_der,
        kind=kind,
        subject_name=subject_name,
        staff=staff,
        patient=patient,
        valid_for=valid_for,
        document_sha256=document_sha256,
    )


def seal_certificate(clinic: Clinic) -> Certificate:
    """The clinic seal's certificate (get or create); its key is made and kept here."""
    return ca_backend().seal_certificate(clinic)


def revoke(certificate: Certificate, *, reason: str, by: Staff | None) -> None:
    ca_backend().revoke(certificate, reason=reason, by=by)


def crl_der(organization: Organization) -> bytes:
    return ca_backend().crl_der(organization)


def check_usable(certificate: Certificate) -> None:
    """Refuse to start or finish a signature with a revoked or out-of-date certificate."""
    now = timezone.now()
    if certificate.revoked_at is not None:
        raise CertificateNotUsable(_("This certificate has been revoked."))
    if not certificate.not_before <= now < certificate.not_after:
        raise CertificateNotUsable(_("This certificate is not valid now. Enrol again."))
