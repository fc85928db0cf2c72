"""Any change to a signed document or signature is detected; a later legitimate signer
leaves earlier signatures valid; revoked and expired certificates invalidate a signature
made with them; a signature revoked only after signing stays valid."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from chairside.esign import pdfsign, pki, tsa
from chairside.esign.models import Certificate
from chairside.esign.validation import Problem, organization_trust, tsa_trust, validate_pdf
from tests.conftest import World
from tests.esign.crypto_helpers import (
    DOCTOR_BOX,
    PATIENT_BOX,
    SEAL_BOX,
    consent_pdf,
    handwriting_png,
    issue,
    make_patient,
    sign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient_signed(world: World, in_org_a: object) -> bytes:
    patient = make_patient(world.clinic1, world.boss)
    browser, cert = issue(
        world.clinic1,
        kind=Certificate.Kind.PATIENT,
        name="张小明",
        patient=patient,
        valid_for=timedelta(minutes=30),
    )
    return sign(
        consent_pdf(), browser, cert, field="patient", box=PATIENT_BOX, png=handwriting_png()
    )


def _flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def test_the_untouched_file_is_valid(patient_signed: bytes) -> None:
    report = validate_pdf(patient_signed)
    assert report.valid
    assert report.signatures[0].intact


@pytest.mark.parametrize("where", ["title", "middle", "last-signed-byte", "first-byte"])
def test_one_flipped_byte_in_the_signed_content_is_detected(
    patient_signed: bytes, where: str
) -> None:
    original_length = len(consent_pdf())
    offset = {
        "title": patient_signed.index(b"/Title") + 8,
        "middle": original_length // 2,
        "last-signed-byte": patient_signed.rindex(b"/Contents <") - 3,
        "first-byte": 5,  # the version in the header
    }[where]
    tampered = _flip(patient_signed, offset)

    report = validate_pdf(tampered)

    assert not report.valid
    assert not report.signatures or not report.signatures[0].intact


def test_a_flipped_byte_in_the_signature_itself_is_detected(patient_signed: bytes) -> None:
    # A byte inside the CMS (hex) near its end: the time-stamp token and signature value.
    contents_start = patient_signed.rindex(b"/Contents <") + len(b"/Contents <")
    contents_end = patient_signed.index(b">", contents_start)
    hex_cms = patient_signed[contents_start:contents_end].rstrip(b"0")
    offset = contents_start + len(hex_cms) - 20
    digit = b"1" if patient_signed[offset : offset + 1] == b"0" else b"0"
    tampered = patient_signed[:offset] + digit + patient_signed[offset + 1 :]

    report = validate_pdf(tampered)

    assert not report.valid


def _edit_page(pdf: bytes) -> bytes:
    """An incremental update that draws over the page: what a forger would append."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    stream = generic.StreamObject(stream_data=b"q 1 1 1 rg 50 700 300 40 re f Q")
    writer.add_stream_to_page(0, writer.add_object(stream))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_an_update_that_edits_the_page_after_signing_is_reported(patient_signed: bytes) -> None:
    edited = _edit_page(patient_signed)
    assert edited.startswith(patient_signed)

    report = validate_pdf(edited)

    [signature] = report.signatures
    assert signature.intact  # the signed revision itself is untouched...
    assert signature.modification_level == "other"  # ...but the page was changed after it
    assert not signature.docmdp_ok
    assert not signature.valid
    assert not report.valid
    assert Problem.MODIFIED_AFTER_SIGNING in signature.problems


def test_a_second_signer_leaves_the_first_signature_valid(
    world: World, patient_signed: bytes
) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    both = sign(patient_signed, browser, cert, field="doctor", box=DOCTOR_BOX)
    seal = pki.seal_certificate(world.clinic1)
    sealed = pdfsign.sign_with_seal(
        both, certificate=seal, field_name="seal", page=0, box=SEAL_BOX, appearance_text="印章"
    )

    for pdf, count in ((both, 2), (sealed, 3)):
        report = validate_pdf(pdf)
        assert report.valid
        assert len(report.signatures) == count
        first, *_, last = report.signatures
        assert first.field == "patient"
        assert first.valid
        assert first.modification_level == "form_filling"
        assert first.docmdp_ok
        assert first.coverage == "entire_revision"
        assert last.modification_level == "none"
        assert last.coverage == "entire_file"


def test_editing_the_page_after_the_second_signer_invalidates_both(
    world: World, patient_signed: bytes
) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    both = sign(patient_signed, browser, cert, field="doctor", box=DOCTOR_BOX)
    report = validate_pdf(_edit_page(both))
    assert [s.modification_level for s in report.signatures] == ["other", "other"]
    assert not any(s.valid for s in report.signatures)


def test_a_certificate_revoked_before_signing_makes_the_signature_invalid(
    world: World, in_org_a: object
) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    pki.revoke(cert, reason="phone stolen", by=world.boss)
    # pdfsign does not look at our records (the signing flow refuses revoked certificates
    # first); the verifier must catch it anyway.
    signed = sign(consent_pdf(), browser, cert, field="doctor", box=DOCTOR_BOX)

    [signature] = validate_pdf(signed).signatures

    assert signature.intact
    assert signature.revoked
    assert not signature.trusted
    assert not signature.valid
    assert Problem.REVOKED in signature.problems


def test_a_certificate_revoked_after_signing_leaves_the_signature_valid(
    world: World, in_org_a: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    signed = sign(consent_pdf(), browser, cert, field="doctor", box=DOCTOR_BOX)
    later = timezone.now() + timedelta(seconds=5)
    monkeypatch.setattr(timezone, "now", lambda: later)  # revoked after the time-stamp
    pki.revoke(cert, reason="left the clinic", by=world.boss)
    monkeypatch.undo()

    [signature] = validate_pdf(signed).signatures

    assert signature.valid
    assert not signature.revoked
    assert signature.revoked_at == later


def test_a_signature_made_after_the_certificate_expired_is_invalid(
    world: World, in_org_a: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = make_patient(world.clinic1, world.boss)
    browser, cert = issue(
        world.clinic1,
        kind=Certificate.Kind.PATIENT,
        name="张小明",
        patient=patient,
        valid_for=timedelta(minutes=30),
    )
    prepared = pdfsign.prepare(
        consent_pdf(),
        certificate=cert,
        field_name="patient",
        page=0,
        box=PATIENT_BOX,
        appearance_png=None,
        appearance_text="张小明",
    )
    # The signer finishes an hour later: the TSA attests a time after the certificate ended.
    an_hour_later = timezone.now() + timedelta(hours=1)
    monkeypatch.setattr(tsa, "_now", lambda: an_hour_later)
    signed = pdfsign.finish(
        prepared, certificate=cert, signature=browser.sign(prepared.signed_attributes)
    )
    monkeypatch.undo()

    [signature] = validate_pdf(signed).signatures

    assert signature.intact
    assert signature.expired
    assert not signature.valid
    assert signature.signing_time is not None
    assert signature.signing_time > cert.not_after
    assert Problem.NOT_VALID_AT_SIGNING_TIME in signature.problems


def test_a_short_lived_certificate_stays_valid_after_it_expires(
    world: World, in_org_a: object
) -> None:
    # Judged at its time-stamp, a patient's one-event certificate keeps validating after it
    # ends (here after 15 seconds rather than 30 minutes).
    patient = make_patient(world.clinic1, world.boss)
    browser, cert = issue(
        world.clinic1,
        kind=Certificate.Kind.PATIENT,
        name="张小明",
        patient=patient,
        valid_for=timedelta(seconds=15),
    )
    signed = sign(consent_pdf(), browser, cert, field="patient", box=PATIENT_BOX)
    time.sleep(max(0.0, (cert.not_after - timezone.now()).total_seconds()) + 1)
    assert timezone.now() > cert.not_after

    report = validate_pdf(signed)

    assert report.valid
    assert not report.signatures[0].expired


def test_explicit_trust_roots_verify_offline_and_other_roots_do_not(
    world: World, patient_signed: bytes
) -> None:
    ca, ca_crl = organization_trust(world.org)
    _tsa_cert, tsa_root, tsa_crl = tsa_trust()

    ours = validate_pdf(patient_signed, trust_roots=[ca, tsa_root], crls=[ca_crl, tsa_crl])
    assert ours.valid
    assert ours.signatures[0].trusted

    other_ca, other_crl = organization_trust(world.org_b)
    theirs = validate_pdf(
        patient_signed, trust_roots=[other_ca, tsa_root], crls=[other_crl, tsa_crl]
    )
    assert not theirs.valid
    assert not theirs.signatures[0].trusted
    assert theirs.signatures[0].intact


def test_a_certificate_of_another_ca_is_not_trusted(world: World) -> None:
    from chairside.core.tenancy import tenant_scope

    with tenant_scope(world.org_b, world.clinic_b):
        browser, cert = issue(world.clinic_b, name="外院医生")
        signed = sign(consent_pdf(), browser, cert, field="doctor", box=DOCTOR_BOX)
    # Our records trust org B's own CA for org B's certificate...
    assert validate_pdf(signed).valid
    # ...but a certificate merely claiming to be ours is not trusted.
    ca, ca_crl = organization_trust(world.org)
    _tsa_cert, tsa_root, tsa_crl = tsa_trust()
    report = validate_pdf(signed, trust_roots=[ca, tsa_root], crls=[ca_crl, tsa_crl])
    assert not report.signatures[0].trusted


def test_something_that_is_not_a_pdf_is_reported_unreadable(db: None) -> None:
    report = validate_pdf(b"PK\x03\x04 a zip file")
    assert not report.readable
    assert not report.valid
    assert not report.signatures
    unsigned = validate_pdf(consent_pdf())
    assert unsigned.readable
    assert not unsigned.valid
    assert not unsigned.signatures
