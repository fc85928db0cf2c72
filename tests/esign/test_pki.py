"""The organization's certificate authority: its root, certificates issued from browser
requests (subject from our records, proof of possession, P-256 only), the clinic seal, and
revocation published in a numbered, signed CRL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from cryptography.x509.oid import NameOID
from django.db import connection
from django.test import Client
from django.utils import timezone

from chairside.esign import pki
from chairside.esign.errors import CertificateNotUsable, CertificateRequestInvalid
from chairside.esign.models import Certificate, CertificateAuthority
from tests.conftest import World
from tests.esign.crypto_helpers import Browser, issue, make_patient

pytestmark = pytest.mark.django_db


def _cert(row: Certificate | CertificateAuthority) -> x509.Certificate:
    return x509.load_pem_x509_certificate(row.certificate_pem.encode())


def _names(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def test_the_organization_ca_is_a_p256_root_named_after_the_organization(world: World) -> None:
    authority = pki.organization_ca(world.org)
    cert = _cert(authority)

    assert _names(cert, NameOID.COMMON_NAME) == ["Smile Chain 电子签名 CA"]
    assert cert.issuer == cert.subject
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert isinstance(key.curve, ec.SECP256R1)
    key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=3650) < lifetime < timedelta(days=3660)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    # get or create: the same CA every time, one per organization
    assert pki.organization_ca(world.org).pk == authority.pk
    assert pki.ca_certificate_der(world.org) == cert.public_bytes(Encoding.DER)
    assert pki.organization_ca(world.org_b).pk != authority.pk


def test_ca_and_seal_keys_are_encrypted_at_rest(world: World, in_org_a: object) -> None:
    authority = pki.organization_ca(world.org)
    seal = pki.seal_certificate(world.clinic1)
    assert "PRIVATE KEY" in authority.private_key_pem  # decrypted when read through the model
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM esign_certificateauthority")
        stored_ca = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT seal_private_key_pem FROM esign_certificate WHERE id = %s", [seal.pk]
        )
        stored_seal = cursor.fetchone()[0]
    assert stored_ca
    assert all("PRIVATE KEY" not in value for value in stored_ca)
    assert stored_seal
    assert "PRIVATE KEY" not in stored_seal


def test_a_certificate_is_issued_for_the_browsers_key_with_our_subject(
    world: World, in_org_a: object
) -> None:
    browser = Browser()
    row = pki.issue_from_csr(
        organization=world.org,
        csr_der=browser.csr_der("Mallory, CEO of everything"),
        kind=Certificate.Kind.STAFF,
        subject_name="李医生",
        staff=world.doctor,
        valid_for=timedelta(days=730),
    )
    cert = _cert(row)
    ca = _cert(pki.organization_ca(world.org))

    # the subject is ours, never what the request claimed
    assert _names(cert, NameOID.COMMON_NAME) == ["李医生"]
    assert _names(cert, NameOID.ORGANIZATION_NAME) == ["Smile Chain"]
    assert _names(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["staff"]
    assert "Mallory" not in cert.subject.rfc4514_string()
    assert cert.issuer == ca.subject
    # the key is the browser's
    assert cert.public_key() == browser.key.public_key()
    assert row.spki_sha256 == pki.spki_sha256(browser.key.public_key())
    # signed by the organization's CA
    ca_key = ca.public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    ca_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not usage.value.key_cert_sign
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    own_ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert own_ski == x509.SubjectKeyIdentifier.from_public_key(browser.key.public_key())
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name[0].value for p in points] == [  # type: ignore[index]
        f"http://127.0.0.1:8000/esign/ca/{world.org.pk}.crl"
    ]
    assert row.serial == format(cert.serial_number, "x")
    assert cert.serial_number.bit_length() > 120  # random, not a counter
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert timedelta(days=730) <= lifetime <= timedelta(days=730, minutes=2)
    assert row.not_after == cert.not_valid_after_utc
    assert row.staff == world.doctor
    assert row.kind == Certificate.Kind.STAFF


def test_a_patients_certificate_names_the_document_and_lasts_thirty_minutes(
    world: World, in_org_a: object
) -> None:
    patient = make_patient(world.clinic1, world.boss)
    digest = "ab" * 32
    _browser, row = issue(
        world.clinic1,
        kind=Certificate.Kind.PATIENT,
        name="张小明",
        patient=patient,
        valid_for=timedelta(minutes=30),
        document_sha256=digest,
    )
    cert = _cert(row)
    description = cert.subject.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.13"))
    assert [a.value for a in description] == [digest]
    assert row.document_sha256 == digest
    assert row.patient == patient
    assert cert.not_valid_after_utc - timezone.now() <= timedelta(minutes=30)
    assert cert.not_valid_after_utc - timezone.now() > timedelta(minutes=29)


def test_the_crl_location_follows_the_public_url(
    world: World, in_org_a: object, settings: pytest.FixtureRequest
) -> None:
    settings.CHAIRSIDE_PUBLIC_URL = "https://sign.example.cn/"  # type: ignore[attr-defined]
    _browser, row = issue(world.clinic1)
    points = _cert(row).extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == f"https://sign.example.cn/esign/ca/{world.org.pk}.crl"


def _csr(key: object, *, tamper: bool = False) -> bytes:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    der = bytearray(request.public_bytes(Encoding.DER))
    if tamper:
        der[-5] ^= 0x01  # inside the signature value
    return bytes(der)


@pytest.mark.parametrize(
    ("make_request", "message"),
    [
        (lambda: b"not a certificate request", "could not be read"),
        (lambda: _csr(rsa.generate_private_key(65537, 2048)), "P-256"),
        (lambda: _csr(ec.generate_private_key(ec.SECP384R1())), "P-256"),
        (lambda: _csr(ec.generate_private_key(ec.SECP256R1()), tamper=True), "not signed"),
    ],
    ids=["garbage", "rsa", "p384", "bad-signature"],
)
def test_requests_that_do_not_prove_a_p256_key_are_refused(
    world: World, in_org_a: object, make_request: object, message: str
) -> None:
    with pytest.raises(CertificateRequestInvalid, match=message):
        pki.issue_from_csr(
            organization=world.org,
            csr_der=make_request(),  # type: ignore[operator]
            kind=Certificate.Kind.STAFF,
            subject_name="李医生",
            valid_for=timedelta(days=1),
        )
    assert not Certificate.objects.exists()


def test_a_request_signed_by_another_key_is_refused(world: World, in_org_a: object) -> None:
    # The request carries one public key but is signed with another: no proof of possession.
    holder, impostor = Browser(), Browser()
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(impostor.key, hashes.SHA256())
    )
    der = request.public_bytes(Encoding.DER)
    holder_point = holder.key.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )
    impostor_point = impostor.key.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )
    swapped = der.replace(impostor_point, holder_point)
    assert swapped != der
    with pytest.raises(CertificateRequestInvalid):
        pki.issue_from_csr(
            organization=world.org,
            csr_der=swapped,
            kind=Certificate.Kind.STAFF,
            subject_name="李医生",
            valid_for=timedelta(days=1),
        )


def test_the_clinic_seal_is_made_once_with_a_server_key(world: World, in_org_a: object) -> None:
    seal = pki.seal_certificate(world.clinic1)
    again = pki.seal_certificate(world.clinic1)
    other_clinic = pki.seal_certificate(world.clinic2)

    assert again.pk == seal.pk
    assert other_clinic.pk != seal.pk
    cert = _cert(seal)
    assert seal.kind == Certificate.Kind.SEAL
    assert seal.clinic == world.clinic1
    assert _names(cert, NameOID.COMMON_NAME) == ["Downtown Clinic 电子印章"]
    assert _names(cert, NameOID.ORGANIZATIONAL_UNIT_NAME) == ["seal"]
    key = pki.load_private_key(seal.seal_private_key_pem)
    assert cert.public_key() == key.public_key()
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.content_commitment


def test_a_revoked_seal_is_replaced(world: World, in_org_a: object) -> None:
    seal = pki.seal_certificate(world.clinic1)
    pki.revoke(seal, reason="key rotation", by=world.boss)
    replacement = pki.seal_certificate(world.clinic1)
    assert replacement.pk != seal.pk
    assert replacement.revoked_at is None


def _crl(der: bytes) -> x509.CertificateRevocationList:
    return x509.load_der_x509_crl(der)


def test_revocation_is_published_in_a_signed_numbered_crl(world: World, in_org_a: object) -> None:
    _b1, kept = issue(world.clinic1, name="王医生")
    _b2, lost = issue(world.clinic1, name="李医生", staff=world.doctor)
    ca = _cert(pki.organization_ca(world.org))
    first = _crl(pki.crl_der(world.org))
    assert pki.crl_der(world.org) == first.public_bytes(Encoding.DER)  # cached until a change
    assert first.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    assert first.issuer == ca.subject
    assert len(list(first)) == 0

    pki.revoke(lost, reason="phone lost", by=world.boss)
    lost.refresh_from_db()
    assert lost.revoked_at is not None
    assert lost.revocation_reason == "phone lost"
    second = _crl(pki.crl_der(world.org))

    assert second.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    number = second.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    first_number = first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > first_number
    revoked = second.get_revoked_certificate_by_serial_number(int(lost.serial, 16))
    assert revoked is not None
    assert second.get_revoked_certificate_by_serial_number(int(kept.serial, 16)) is None
    assert second.next_update_utc is not None
    assert second.next_update_utc - second.last_update_utc == timedelta(days=7)
    # revoking twice changes nothing
    at = lost.revoked_at
    pki.revoke(lost, reason="again", by=world.boss)
    lost.refresh_from_db()
    assert lost.revoked_at == at
    assert lost.revocation_reason == "phone lost"


def test_a_revoked_or_expired_certificate_is_not_usable(world: World, in_org_a: object) -> None:
    _browser, cert = issue(world.clinic1)
    pki.check_usable(cert)
    pki.revoke(cert, reason="left the clinic", by=None)
    with pytest.raises(CertificateNotUsable):
        pki.check_usable(cert)
    _browser, old = issue(world.clinic1)
    Certificate.objects.filter(pk=old.pk).update(not_after=timezone.now() - timedelta(seconds=1))
    old.refresh_from_db()
    with pytest.raises(CertificateNotUsable):
        pki.check_usable(old)


def test_no_signer_private_key_is_stored(world: World, in_org_a: object) -> None:
    patient = make_patient(world.clinic1, world.boss)
    staff_browser, _staff_cert = issue(world.clinic1, staff=world.doctor)
    patient_browser, _patient_cert = issue(
        world.clinic1, kind=Certificate.Kind.PATIENT, name="张小明", patient=patient
    )
    secrets = []
    for browser in (staff_browser, patient_browser):
        scalar = browser.key.private_numbers().private_value.to_bytes(32, "big")
        der = browser.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        secrets += [scalar.hex(), der.hex(), scalar.hex().upper()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM esign_certificate")
        dump = repr(cursor.fetchall())
    assert dump
    assert not any(secret in dump for secret in secrets)
    assert all(not row.seal_private_key_pem for row in Certificate.objects.exclude(kind="seal"))


# --- the public endpoints -----------------------------------------------------------------


def test_the_ca_certificate_and_crl_are_published(world: World, in_org_a: object) -> None:
    _browser, cert = issue(world.clinic1)
    pki.revoke(cert, reason="test", by=None)
    client = Client()

    crt = client.get(f"/esign/ca/{world.org.pk}.crt")
    assert crt.status_code == 200
    assert crt["Content-Type"] == "application/pkix-cert"
    assert crt.content == pki.ca_certificate_der(world.org)

    crl = client.get(f"/esign/ca/{world.org.pk}.crl")
    assert crl.status_code == 200
    assert crl["Content-Type"] == "application/pkix-crl"
    parsed = _crl(crl.content)
    assert parsed.get_revoked_certificate_by_serial_number(int(cert.serial, 16)) is not None
    assert client.post(f"/esign/ca/{world.org.pk}.crl").status_code == 405


def test_an_organization_without_a_ca_publishes_nothing(world: World) -> None:
    client = Client()
    assert client.get(f"/esign/ca/{world.org_b.pk}.crt").status_code == 404
    assert client.get(f"/esign/ca/{world.org_b.pk}.crl").status_code == 404
    assert client.get("/esign/ca/999999.crt").status_code == 404
    assert not CertificateAuthority.all_tenants.exists()  # a GET never creates a CA


def test_each_organization_publishes_its_own_ca(world: World) -> None:
    a = pki.ca_certificate_der(world.org)
    b = pki.ca_certificate_der(world.org_b)
    client = Client()
    assert client.get(f"/esign/ca/{world.org.pk}.crt").content == a
    assert client.get(f"/esign/ca/{world.org_b.pk}.crt").content == b
    assert a != b
