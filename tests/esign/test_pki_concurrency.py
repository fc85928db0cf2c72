"""First uses and revocations at the same moment, on PostgreSQL with real threads: one CA per
organization, one TSA key pair, one seal per clinic, and no two different CRLs share a
number."""

from __future__ import annotations

import pytest
from cryptography import x509
from django.core.cache import cache
from django.db import connection

from chairside.core.tenancy import tenant_scope
from chairside.esign import pki, tsa
from chairside.esign.models import Certificate, CertificateAuthority, PlatformKey
from tests.concurrency import run_concurrently
from tests.conftest import World
from tests.esign.crypto_helpers import issue

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_first_uses_make_one_ca(world: World) -> None:
    assert connection.vendor == "postgresql"
    results = run_concurrently(lambda _i: pki.organization_ca(world.org).pk, 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert CertificateAuthority.all_tenants.filter(organization=world.org).count() == 1


def test_concurrent_first_uses_make_one_tsa_pair(db: None) -> None:
    results = run_concurrently(lambda _i: tuple(tsa.tsa_chain_pems()), 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert PlatformKey.objects.count() == 2
    tsa_pem, root_pem = results[0]
    tsa_cert = x509.load_pem_x509_certificate(tsa_pem.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())
    tsa_cert.verify_directly_issued_by(root)


def test_concurrent_seal_requests_make_one_seal(world: World) -> None:
    pki.organization_ca(world.org)

    def seal(_i: int) -> int:
        with tenant_scope(world.org, world.clinic1):
            return pki.seal_certificate(world.clinic1).pk  # type: ignore[no-any-return]

    results = run_concurrently(seal, 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Certificate.all_tenants.filter(kind=Certificate.Kind.SEAL).count() == 1


def test_concurrent_revocations_give_distinctly_numbered_crls(world: World) -> None:
    with tenant_scope(world.org, world.clinic1):
        certs = [issue(world.clinic1, name=f"医生{i}")[1] for i in range(6)]
    cache.clear()

    def revoke_and_publish(i: int) -> bytes:
        with tenant_scope(world.org, world.clinic1):
            pki.revoke(certs[i], reason="test", by=None)
        return pki.crl_der(world.org)

    results = run_concurrently(revoke_and_publish, 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    numbers: dict[int, bytes] = {}
    for der in results:
        crl = x509.load_der_x509_crl(der)
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        assert numbers.setdefault(number, der) == der  # one number, one CRL
    final = x509.load_der_x509_crl(pki.crl_der(world.org))
    assert {r.serial_number for r in final} == {int(c.serial, 16) for c in certs}
