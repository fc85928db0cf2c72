"""Chairside's own RFC 3161 time-stamping authority, and the time-stamper signing uses.

One TSA serves the whole installation (PlatformKey rows "tsa_root" and "tsa", made on first
use, keys encrypted at rest). Signing calls `respond` in process by default; with
`settings.CHAIRSIDE_TSA_URL` set it asks that TSA over HTTP instead (an accredited TSA in
production). Any failure raises `TsaUnavailable`: a signature never gets an unattested time.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from chairside.esign.errors import TsaUnavailable
from chairside.esign.models import PlatformKey
from chairside.esign.pki import (
    asn1_certificate,
    certificate_pem,
    load_certificate,
    load_private_key,
    private_key_pem,
)

logger = logging.getLogger(__name__)

ROOT_VALIDITY = timedelta(days=7305)
TSA_VALIDITY = timedelta(days=3652)
# Our TSA policy: an OID under the UUID arc (2.25), which needs no registration.
POLICY_OID = "2.25." + str(uuid.UUID("6b0f3c1e-3a52-4f5e-9d43-8f1b7f0c2a61").int)
ACCEPTED_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}
HTTP_TIMEOUT_SECONDS = 10
TSA_CRL_VALIDITY = timedelta(days=7)
TSA_CRL_REISSUE_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Authority:
    """The TSA's key and certificates, loaded once per signing (no database access inside
    pyHanko's event loop)."""

    key: ec.EllipticCurvePrivateKey
    certificate: asn1_x509.Certificate
    root: asn1_x509.Certificate


def _now() -> datetime:
    return timezone.now()


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chairside"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=signer,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def _make_root() -> tuple[str, str]:
    """(certificate pem, key pem) of a new TSA root."""
    now = timezone.now().replace(microsecond=0)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name("Chairside 时间戳根 CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    return certificate_pem(root), private_key_pem(root_key)


def _make_tsa(root_row: PlatformKey) -> tuple[str, str]:
    """(certificate pem, key pem) of a new TSA certificate issued by the root."""
    now = timezone.now().replace(microsecond=0)
    root = load_certificate(root_row.certificate_pem)
    root_key = load_private_key(root_row.private_key_pem)
    root_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name("Chairside 时间戳服务"))
        .issuer_name(root.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(min(now + TSA_VALIDITY, root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signer=True), critical=True)
        # RFC 3161 2.3: the TSA certificate has exactly this extended key usage, critical.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(root_ski), False
        )
        # Where the root's CRL is: verifiers that require revocation data for every
        # certificate (AdES validation) find it there, and in an archived PDF's DSS.
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        full_name=[x509.UniformResourceIdentifier(tsa_crl_url())],
                        relative_name=None,
                        reasons=None,
                        crl_issuer=None,
                    )
                ]
            ),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    return certificate_pem(tsa), private_key_pem(tsa_key)


def _create_once(name: str, make: Callable[[], tuple[str, str]]) -> PlatformKey:
    found = PlatformKey.objects.filter(name=name).first()
    if found is not None:
        return found
    cert_pem, key_pem = make()
    try:
        with transaction.atomic():
            return PlatformKey.objects.create(  # type: ignore[no-any-return]
                name=name, certificate_pem=cert_pem, private_key_pem=key_pem
            )
    except IntegrityError:  # a concurrent request made it first: use theirs
        return PlatformKey.objects.get(name=name)  # type: ignore[no-any-return]


def _rows() -> dict[str, PlatformKey]:
    """The TSA root and TSA rows, made on first use. The TSA certificate is always issued
    by the root row that won, so concurrent first uses agree on one pair."""
    names = [PlatformKey.Name.TSA_ROOT, PlatformKey.Name.TSA]
    rows = {row.name: row for row in PlatformKey.objects.filter(name__in=names)}
    if len(rows) == len(names):
        return rows
    root = _create_once(PlatformKey.Name.TSA_ROOT, _make_root)
    tsa_row = _create_once(PlatformKey.Name.TSA, lambda: _make_tsa(root))
    return {root.name: root, tsa_row.name: tsa_row}


def load_authority() -> Authority:
    rows = _rows()
    tsa_row = rows[PlatformKey.Name.TSA]
    root_row = rows[PlatformKey.Name.TSA_ROOT]
    return Authority(
        key=load_private_key(tsa_row.private_key_pem),
        certificate=asn1_certificate(tsa_row.certificate_pem),
        root=asn1_certificate(root_row.certificate_pem),
    )


def tsa_chain_pems() -> list[str]:
    """PEM of the TSA certificate and of its root, in that order."""
    rows = _rows()
    return [
        rows[PlatformKey.Name.TSA].certificate_pem,
        rows[PlatformKey.Name.TSA_ROOT].certificate_pem,
    ]


def tsa_crl_url() -> str:
    return settings.CHAIRSIDE_PUBLIC_URL.rstrip("/") + reverse("esign:tsa_crl")


def tsa_crl_der() -> bytes:
    """The TSA root's CRL (it has revoked nothing), re-issued daily; its number is the
    issuing time in seconds, which only grows."""
    root_row = _rows()[PlatformKey.Name.TSA_ROOT]
    fingerprint = hashlib.sha256(root_row.certificate_pem.encode()).hexdigest()[:32]
    cache_key = f"esign:tsa-crl:{fingerprint}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    root = load_certificate(root_row.certificate_pem)
    key = load_private_key(root_row.private_key_pem)
    now = timezone.now().replace(microsecond=0)
    ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(root.subject)
        .last_update(now)
        .next_update(now + TSA_CRL_VALIDITY)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    der = crl.public_bytes(serialization.Encoding.DER)
    cache.set(cache_key, der, timeout=int(TSA_CRL_REISSUE_AFTER.total_seconds()))
    return der


_T = TypeVar("_T")


def run_sync(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run pyHanko's async API from sync code (Django views, tasks); from inside a running
    event loop it runs on a worker thread with a loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


# --- the responder ---------------------------------------------------------------------------


def _rejection(failure: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": tsp.PKIStatus("rejection"),
            "status_string": [text],
            "fail_info": tsp.PKIFailureInfo({failure}),
        }
    )
    return _Rejection({"status": status}).dump()  # type: ignore[no-any-return]


class _Rejection(core.Sequence):  # type: ignore[misc]
    """TimeStampResp without its (optional) token: asn1crypto's own class requires one."""

    _fields = [("status", tsp.PKIStatusInfo)]


def _check_request(req: tsp.TimeStampReq) -> tuple[str, str] | None:
    """A (failure info, text) pair when the request cannot be granted."""
    if req["version"].native != "v1":
        return "bad_request", "unsupported version"
    imprint = req["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm not in ACCEPTED_DIGESTS:
        return "bad_alg", "unsupported hash algorithm"
    if len(imprint["hashed_message"].native) != ACCEPTED_DIGESTS[algorithm]:
        return "bad_data_format", "message imprint has the wrong length"
    policy = req["req_policy"].native
    if policy is not None and policy != POLICY_OID:
        return "unaccepted_policy", "unknown policy"
    if req["extensions"].native:
        return "unaccepted_extension", "extensions are not supported"
    return None


def _token(authority: Authority, req: tsp.TimeStampReq, gen_time: datetime) -> cms.ContentInfo:
    tst_info: dict[str, Any] = {
        "version": "v1",
        "policy": POLICY_OID,
        "message_imprint": req["message_imprint"],
        "serial_number": int.from_bytes(os.urandom(16), "big") >> 1,
        "gen_time": core.GeneralizedTime(gen_time.astimezone(UTC)),
        "accuracy": {"seconds": 1},
        "ordering": False,
        "tsa": asn1_x509.GeneralName(name="directory_name", value=authority.certificate.subject),
    }
    if req["nonce"].native is not None:
        tst_info["nonce"] = req["nonce"]
    tst_info_der = tsp.TSTInfo(tst_info).dump()
    signed_attrs = cms.CMSAttributes(
        [
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("message_digest", hashlib.sha256(tst_info_der).digest()),
            simple_cms_attribute(
                "signing_certificate_v2", as_signing_certificate_v2(authority.certificate)
            ),
        ]
    )
    signature = authority.key.sign(signed_attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value=cms.IssuerAndSerialNumber(
                    {
                        "issuer": authority.certificate.issuer,
                        "serial_number": authority.certificate.serial_number,
                    }
                ),
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        }
    )
    signed_data: dict[str, Any] = {
        "version": "v3",
        "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
        "encap_content_info": {
            "content_type": "tst_info",
            "content": cms.ParsableOctetString(tst_info_der),
        },
        "signer_infos": [signer_info],
    }
    if req["cert_req"].native:
        signed_data["certificates"] = [authority.certificate]
    return cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})


def respond(query_der: bytes, *, authority: Authority | None = None) -> bytes:
    """Answer one RFC 3161 TimeStampReq (DER) with a TimeStampResp (DER): a token, or a
    rejection saying why. `authority` spares a database read when the caller has it."""
    try:
        req = tsp.TimeStampReq.load(query_der)
        req.native  # noqa: B018 - parses the whole request, raising on malformed input
    except (ValueError, TypeError):
        return _rejection("bad_data_format", "malformed request")
    problem = _check_request(req)
    if problem is not None:
        return _rejection(*problem)
    if authority is None:
        authority = load_authority()
    token = _token(authority, req, _now())
    granted = tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")})
    return tsp.TimeStampResp({"status": granted, "time_stamp_token": token}).dump()


# --- the time-stampers pyHanko uses ----------------------------------------------------------


class LocalTimeStamper(TimeStamper):
    """Asks Chairside's own TSA, in process (no HTTP loopback)."""

    def __init__(self, authority: Authority) -> None:
        super().__init__(include_nonce=True)
        self.authority = authority
        # The root is not in the token: give it to pyHanko for the DSS and path building.
        self.cert_registry.register(authority.root)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(respond(req.dump(), authority=self.authority))

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except Exception as exc:
            logger.warning("Time-stamping failed: %s", exc)
            raise TsaUnavailable(_("The time-stamping service is unavailable.")) from exc


class RemoteTimeStamper(HTTPTimeStamper):
    """Asks the TSA at settings.CHAIRSIDE_TSA_URL (RFC 3161 over HTTP)."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            return await super().async_timestamp(message_digest, md_algorithm)
        except Exception as exc:
            logger.warning("Time-stamping at %s failed: %s", self.url, exc)
            raise TsaUnavailable(_("The time-stamping service is unavailable.")) from exc


# Time-stampers are kept per TSA: pyHanko asks each one for a sample token once, to size the
# space a signature reserves, and remembers it.
_stampers: dict[str, TimeStamper] = {}


def timestamper() -> TimeStamper:
    """The time-stamper for signatures and document time-stamps (read in a sync context:
    it loads the TSA key before pyHanko's event loop runs)."""
    url = settings.CHAIRSIDE_TSA_URL
    if url:
        key = f"remote:{url}"
        if key not in _stampers:
            _stampers[key] = RemoteTimeStamper(url, timeout=HTTP_TIMEOUT_SECONDS)
        return _stampers[key]
    authority = load_authority()
    key = "local:" + hashlib.sha256(authority.certificate.dump()).hexdigest()
    stamper = _stampers.get(key)
    if not isinstance(stamper, LocalTimeStamper):
        stamper = _stampers[key] = LocalTimeStamper(authority)
    return stamper


def timestamp_token(message_digest: bytes, md_algorithm: str = "sha256") -> bytes:
    """An RFC 3161 token (DER ContentInfo) over a digest, e.g. an evidence tree head."""
    stamper = timestamper()
    token = run_sync(stamper.async_timestamp(message_digest, md_algorithm))
    return token.dump()  # type: ignore[no-any-return]


def token_time(token: cms.ContentInfo | bytes) -> datetime:
    """The genTime of a time-stamp token."""
    if isinstance(token, bytes):
        token = cms.ContentInfo.load(token)
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    return tst_info["gen_time"].native  # type: ignore[no-any-return]
