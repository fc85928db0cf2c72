"""Standard tools accept our files: pyHanko's CLI validates a two-signer B-LTA consent
against our CA (checking revocation at our CRL endpoint, or, with nothing reachable, from
the validation data embedded by the archive step), and OpenSSL verifies our time-stamp
tokens and rejects them for other data."""

from __future__ import annotations

import io
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from chairside.core.tenancy import tenant_scope
from chairside.esign import pdfsign, pki, tsa
from chairside.esign.models import Certificate
from chairside.esign.validation import token_from_signature
from tests.conftest import World
from tests.esign.crypto_helpers import (
    DOCTOR_BOX,
    PATIENT_BOX,
    consent_pdf,
    handwriting_png,
    issue,
    make_patient,
    run,
    sign,
    write,
)

PYHANKO = str(Path(sys.executable).parent / "pyhanko")
# Nothing listens on the discard port: any attempt to fetch revocation data fails.
UNREACHABLE = "http://127.0.0.1:9"


def _two_signers_archived(world: World) -> bytes:
    with tenant_scope(world.org, world.clinic1):
        patient = make_patient(world.clinic1, world.boss)
        patient_browser, patient_cert = issue(
            world.clinic1,
            kind=Certificate.Kind.PATIENT,
            name="张小明",
            patient=patient,
            valid_for=timedelta(minutes=30),
            document_sha256="cd" * 32,
        )
        doctor_browser, doctor_cert = issue(world.clinic1, staff=world.doctor)
        pdf = sign(
            consent_pdf(2),
            patient_browser,
            patient_cert,
            field="patient",
            box=PATIENT_BOX,
            png=handwriting_png(),
        )
        pdf = sign(pdf, doctor_browser, doctor_cert, field="doctor", box=DOCTOR_BOX)
        return pdfsign.archive(pdf, organization=world.org)


def _trust_files(tmp_path: Path, world: World) -> list[str]:
    ca = write(tmp_path / "ca.pem", pki.organization_ca(world.org).certificate_pem.encode())
    tsa_root = write(tmp_path / "tsa-root.pem", tsa.tsa_chain_pems()[1].encode())
    return ["--trust-replace", "--trust", str(ca), "--trust", str(tsa_root)]


@pytest.mark.django_db(transaction=True)
def test_pyhanko_validates_the_archived_file_checking_our_crl_endpoint(
    live_server: Any, world: World, settings: Any, tmp_path: Path
) -> None:
    settings.CHAIRSIDE_PUBLIC_URL = live_server.url  # the CRLs are fetched from here
    pdf = write(tmp_path / "consent.pdf", _two_signers_archived(world))

    result = run(
        PYHANKO, "sign", "validate", "--pretty-print", *_trust_files(tmp_path, world), str(pdf)
    )

    output = result.stdout.decode()
    assert result.returncode == 0, output + result.stderr.decode()
    assert output.count("The signature is judged VALID.") == 2
    assert "INVALID" not in output
    assert "张小明" in output
    assert "李医生" in output


@pytest.mark.django_db
def test_pyhanko_ades_validates_the_archived_file_offline(
    world: World, settings: Any, tmp_path: Path
) -> None:
    settings.CHAIRSIDE_PUBLIC_URL = UNREACHABLE
    pdf = write(tmp_path / "consent.pdf", _two_signers_archived(world))

    result = run(PYHANKO, "sign", "adesverify", *_trust_files(tmp_path, world), str(pdf))

    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    verdicts = {line.split(":", 1)[0]: line for line in lines if line.count(":") >= 2}
    assert set(verdicts) == {"patient", "doctor"}
    for verdict in verdicts.values():
        # trusted from the CRLs and certificates embedded by the archive step alone
        assert "INTACT:TRUSTED" in verdict
        assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in verdict
    assert "EXTENDED_WITH_FORM_FILLING" in verdicts["patient"]


@pytest.mark.django_db
def test_openssl_verifies_the_signature_time_stamp_and_rejects_other_data(
    world: World, tmp_path: Path
) -> None:
    pdf = _two_signers_archived(world)
    signature = PdfFileReader(io.BytesIO(pdf)).embedded_regular_signatures[0]
    token = token_from_signature(signature)
    assert token is not None
    tsa_pem, root_pem = tsa.tsa_chain_pems()
    chain = [
        "-CAfile", str(write(tmp_path / "root.pem", root_pem.encode())),
        "-untrusted", str(write(tmp_path / "tsa.pem", tsa_pem.encode())),
    ]  # fmt: skip
    token_file = write(tmp_path / "token.der", token.dump())
    # The signature time-stamp is over the signature value (RFC 3161 in CMS unsigned attrs).
    value = signature.signer_info["signature"].native
    good = write(tmp_path / "signature-value.bin", value)
    bad = write(tmp_path / "altered.bin", value[:-1] + bytes([value[-1] ^ 1]))

    accepted = run("openssl", "ts", "-verify", "-token_in", "-in", str(token_file),
                   "-data", str(good), *chain)  # fmt: skip
    rejected = run("openssl", "ts", "-verify", "-token_in", "-in", str(token_file),
                   "-data", str(bad), *chain)  # fmt: skip

    assert accepted.returncode == 0, accepted.stderr
    assert b"Verification: OK" in accepted.stdout
    assert rejected.returncode != 0
    assert b"message imprint mismatch" in rejected.stderr


@pytest.mark.django_db
def test_openssl_verifies_the_document_time_stamp_over_the_file(
    world: World, tmp_path: Path
) -> None:
    pdf = _two_signers_archived(world)
    [timestamp] = PdfFileReader(io.BytesIO(pdf)).embedded_timestamp_signatures
    start, first, end, rest = (int(v) for v in timestamp.byte_range)
    covered = pdf[start : start + first] + pdf[end : end + rest]
    tsa_pem, root_pem = tsa.tsa_chain_pems()
    chain = [
        "-CAfile", str(write(tmp_path / "root.pem", root_pem.encode())),
        "-untrusted", str(write(tmp_path / "tsa.pem", tsa_pem.encode())),
    ]  # fmt: skip
    token_file = write(tmp_path / "doc-timestamp.der", timestamp.pkcs7_content)
    good = write(tmp_path / "covered.bin", covered)
    changed = bytearray(covered)
    changed[len(changed) // 3] ^= 1  # one byte of the consent
    bad = write(tmp_path / "changed.bin", bytes(changed))

    accepted = run("openssl", "ts", "-verify", "-token_in", "-in", str(token_file),
                   "-data", str(good), *chain)  # fmt: skip
    rejected = run("openssl", "ts", "-verify", "-token_in", "-in", str(token_file),
                   "-data", str(bad), *chain)  # fmt: skip

    assert accepted.returncode == 0, accepted.stderr
    assert b"Verification: OK" in accepted.stdout
    assert rejected.returncode != 0
    assert b"message imprint mismatch" in rejected.stderr
