"""Chairside's RFC 3161 time-stamping authority: tokens OpenSSL accepts, refusals of bad
queries, the HTTP endpoint, its certificates and CRL, and the time-stampers signing uses."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from asn1crypto import algos, cms, core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.db import connection
from django.test import Client

from chairside.esign import tsa
from chairside.esign.errors import TsaUnavailable
from chairside.esign.models import PlatformKey
from tests.esign.crypto_helpers import run, write

pytestmark = pytest.mark.django_db


def _query(
    digest: bytes, *, algorithm: str = "sha256", cert_req: bool = True, nonce: int | None = 42
) -> bytes:
    request = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": algorithm}),
            "hashed_message": digest,
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        request["nonce"] = nonce
    return tsp.TimeStampReq(request).dump()  # type: ignore[no-any-return]


def _reply(der: bytes) -> tsp.TimeStampResp:
    return tsp.TimeStampResp.load(der)


def _chain_files(tmp_path: Path) -> tuple[Path, Path]:
    tsa_pem, root_pem = tsa.tsa_chain_pems()
    return write(tmp_path / "tsa.pem", tsa_pem.encode()), write(
        tmp_path / "root.pem", root_pem.encode()
    )


def test_a_granted_token_verifies_with_openssl(db: None, tmp_path: Path) -> None:
    data = "知情同意书 rev 3".encode()
    reply = _reply(tsa.respond(_query(hashlib.sha256(data).digest())))

    assert reply["status"]["status"].native == "granted"
    token = reply["time_stamp_token"]
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    assert tst_info["nonce"].native == 42
    assert tst_info["policy"].native == tsa.POLICY_OID
    assert tst_info["message_imprint"]["hashed_message"].native == hashlib.sha256(data).digest()
    assert len(token["content"]["certificates"]) == 1  # the TSA's, as asked

    tsa_file, root_file = _chain_files(tmp_path)
    token_file = write(tmp_path / "token.der", token.dump())
    data_file = write(tmp_path / "data.bin", data)
    ok = run(
        "openssl", "ts", "-verify", "-token_in", "-in", str(token_file), "-data", str(data_file),
        "-CAfile", str(root_file), "-untrusted", str(tsa_file),
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert b"Verification: OK" in ok.stdout

    other = write(tmp_path / "other.bin", data + b".")
    refused = run(
        "openssl", "ts", "-verify", "-token_in", "-in", str(token_file), "-data", str(other),
        "-CAfile", str(root_file), "-untrusted", str(tsa_file),
    )  # fmt: skip
    assert refused.returncode != 0
    assert b"message imprint mismatch" in refused.stderr


def test_openssl_queries_are_answered_over_http(db: None, tmp_path: Path) -> None:
    data = write(tmp_path / "data.bin", os.urandom(100))
    query = tmp_path / "query.tsq"
    made = run(
        "openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)
    )
    assert made.returncode == 0, made.stderr

    response = Client().post(
        "/esign/tsa", data=query.read_bytes(), content_type="application/timestamp-query"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/timestamp-reply"
    reply = write(tmp_path / "reply.tsr", response.content)
    tsa_file, root_file = _chain_files(tmp_path)
    verified = run(
        "openssl", "ts", "-verify", "-in", str(reply), "-queryfile", str(query),
        "-CAfile", str(root_file), "-untrusted", str(tsa_file),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_the_endpoint_takes_only_timestamp_queries(db: None) -> None:
    client = Client()
    assert client.get("/esign/tsa").status_code == 405
    wrong_type = client.post("/esign/tsa", data=b"x", content_type="application/octet-stream")
    assert wrong_type.status_code == 415
    huge = client.post("/esign/tsa", data=b"0" * 5000, content_type="application/timestamp-query")
    assert huge.status_code == 413


@pytest.mark.parametrize(
    ("query", "failure"),
    [
        (b"\x30\x03\x02\x01\x01", "bad_data_format"),
        (b"garbage", "bad_data_format"),
        (_query(hashlib.md5(b"x").digest(), algorithm="md5"), "bad_alg"),  # noqa: S324
        (_query(hashlib.sha1(b"x").digest(), algorithm="sha1"), "bad_alg"),  # noqa: S324
        (_query(b"short", algorithm="sha256"), "bad_data_format"),
    ],
    ids=["truncated", "garbage", "md5", "sha1", "wrong-length"],
)
def test_bad_queries_are_rejected_with_a_reason(db: None, query: bytes, failure: str) -> None:
    der = tsa.respond(query)
    assert len(core.load(der)) == 1  # the status only, no token
    reply = tsp.PKIStatusInfo.load(core.load(der)[0].dump())
    assert reply["status"].native == "rejection"
    assert failure in reply["fail_info"].native


def test_an_unknown_policy_is_rejected(db: None) -> None:
    request = tsp.TimeStampReq.load(_query(hashlib.sha256(b"x").digest()))
    request["req_policy"] = "1.2.3.4"
    status = tsp.PKIStatusInfo.load(core.load(tsa.respond(request.dump()))[0].dump())
    assert status["fail_info"].native == {"unaccepted_policy"}


def test_without_cert_req_the_token_carries_no_certificate(db: None) -> None:
    reply = _reply(tsa.respond(_query(hashlib.sha256(b"x").digest(), cert_req=False, nonce=None)))
    signed_data = reply["time_stamp_token"]["content"]
    assert reply["status"]["status"].native == "granted"
    assert not signed_data["certificates"]
    assert signed_data["encap_content_info"]["content"].parsed["nonce"].native is None


def test_the_tsa_certificate_is_for_time_stamping_only(db: None) -> None:
    tsa_pem, root_pem = tsa.tsa_chain_pems()
    cert = x509.load_pem_x509_certificate(tsa_pem.encode())
    root = x509.load_pem_x509_certificate(root_pem.encode())

    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical
    assert list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    assert cert.issuer == root.subject
    assert root.issuer == root.subject
    root_key = root.public_key()
    assert isinstance(root_key, ec.EllipticCurvePublicKey)
    root_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == "http://127.0.0.1:8000/esign/tsa.crl"
    # made once: the same pair afterwards
    assert tsa.tsa_chain_pems() == [tsa_pem, root_pem]
    assert PlatformKey.objects.count() == 2


def test_the_tsa_keys_are_encrypted_at_rest(db: None) -> None:
    tsa.tsa_chain_pems()
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM esign_platformkey")
        stored = [row[0] for row in cursor.fetchall()]
    assert len(stored) == 2
    assert all("PRIVATE KEY" not in value for value in stored)


def test_the_tsa_root_publishes_a_signed_crl(db: None) -> None:
    response = Client().get("/esign/tsa.crl")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    root = x509.load_pem_x509_certificate(tsa.tsa_chain_pems()[1].encode())
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.issuer == root.subject
    assert len(list(crl)) == 0


def test_the_in_process_time_stamper_asks_the_responder(db: None) -> None:
    stamper = tsa.timestamper()
    assert isinstance(stamper, tsa.LocalTimeStamper)
    digest = hashlib.sha256(b"tree head").digest()
    token = cms.ContentInfo.load(tsa.timestamp_token(digest))
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    assert tst_info["message_imprint"]["hashed_message"].native == digest
    assert tsa.token_time(token) == tst_info["gen_time"].native


def test_a_failing_responder_is_tsa_unavailable(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(query_der: bytes, *, authority: object = None) -> bytes:
        raise OSError("TSA disk full")

    monkeypatch.setattr(tsa, "respond", broken)
    with pytest.raises(TsaUnavailable):
        tsa.timestamp_token(hashlib.sha256(b"x").digest())


def test_a_refusing_responder_is_tsa_unavailable(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tsa, "_check_request", lambda req: ("system_failure", "maintenance"))
    with pytest.raises(TsaUnavailable):
        tsa.timestamp_token(hashlib.sha256(b"x").digest())


def test_with_a_tsa_url_the_http_time_stamper_is_used(
    db: None, settings: pytest.FixtureRequest
) -> None:
    settings.CHAIRSIDE_TSA_URL = "http://127.0.0.1:9/tsa"  # type: ignore[attr-defined]
    stamper = tsa.timestamper()
    assert isinstance(stamper, tsa.RemoteTimeStamper)
    assert stamper.url == "http://127.0.0.1:9/tsa"
    # nothing listens there: signing must fail, never fall back to a local time
    with pytest.raises(TsaUnavailable):
        tsa.timestamp_token(hashlib.sha256(b"x").digest())
