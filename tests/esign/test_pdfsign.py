"""Signing with a key the server never sees: prepare → the browser signs the DER signed
attributes (ECDSA P-256, IEEE P1363 back) → finish, time-stamped; the clinic seal; the
archive step (B-LTA); the file stays PDF/A-3b with its Chinese text."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, crl
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.dss import DocumentSecurityStore

from chairside.esign import pdfsign, pki, tsa
from chairside.esign.errors import (
    CertificateNotUsable,
    PdfInvalid,
    SignatureInvalid,
    TsaUnavailable,
)
from chairside.esign.models import Certificate
from chairside.esign.validation import validate_pdf
from tests.conftest import World
from tests.esign.crypto_helpers import (
    DOCTOR_BOX,
    PATIENT_BOX,
    SEAL_BOX,
    Browser,
    consent_pdf,
    handwriting_png,
    issue,
    make_patient,
    run,
    sign,
    write,
)

pytestmark = pytest.mark.django_db


def _reader(pdf: bytes) -> PdfFileReader:
    import io

    return PdfFileReader(io.BytesIO(pdf))


def _prepare(pdf: bytes, cert: Certificate, **kwargs: object) -> pdfsign.Prepared:
    options: dict[str, object] = {
        "field_name": "doctor",
        "page": 0,
        "box": DOCTOR_BOX,
        "appearance_png": None,
        "appearance_text": "李医生 医生\n2026-11-25 10:05",
    }
    options.update(kwargs)
    return pdfsign.prepare(pdf, certificate=cert, **options)  # type: ignore[arg-type]


def test_prepare_reserves_the_signature_and_gives_the_attributes_to_sign(
    world: World, in_org_a: object
) -> None:
    pdf = consent_pdf()
    _browser, cert = issue(world.clinic1, staff=world.doctor)

    prepared = _prepare(pdf, cert)

    assert prepared.prepared_pdf.startswith(pdf)  # an incremental revision
    zero, start, end, rest = prepared.byte_range
    assert zero == 0
    assert start + (end - start) + rest == len(prepared.prepared_pdf)
    written = re.search(
        rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", prepared.prepared_pdf
    )
    assert written is not None
    assert [int(v) for v in written.groups()] == prepared.byte_range
    pdf_bytes = prepared.prepared_pdf
    assert hashlib.sha256(pdf_bytes[:start] + pdf_bytes[end:]).digest() == prepared.document_digest
    assert set(pdf_bytes[start + 1 : end - 1]) == {ord("0")}  # the empty, reserved /Contents
    attrs = cms.CMSAttributes.load(prepared.signed_attributes)
    by_type = {attr["type"].native: attr["values"][0] for attr in attrs}
    assert by_type["message_digest"].native == prepared.document_digest
    assert by_type["content_type"].native == "data"
    assert "signing_certificate_v2" in by_type  # PAdES: the certificate is bound in
    assert "signing_time" not in by_type  # PAdES: the time comes from the time-stamp
    assert 150 < len(prepared.signed_attributes) < 400


def test_finish_embeds_a_time_stamped_signature_that_validates(
    world: World, in_org_a: object
) -> None:
    pdf = consent_pdf()
    browser, cert = issue(world.clinic1, staff=world.doctor)
    prepared = _prepare(pdf, cert)

    signed = pdfsign.finish(
        prepared, certificate=cert, signature=browser.sign(prepared.signed_attributes)
    )

    assert signed.startswith(pdf)
    report = validate_pdf(signed)
    assert report.valid
    [signature] = report.signatures
    assert signature.field == "doctor"
    assert signature.signer_name == "李医生"
    assert signature.kind == "staff"
    assert signature.intact
    assert signature.trusted
    assert signature.timestamp_trusted
    assert signature.signing_time is not None
    assert signature.modification_level == "none"
    assert signature.coverage == "entire_file"
    embedded = _reader(signed).embedded_regular_signatures[0]
    assert embedded.signer_info["unsigned_attrs"][0]["type"].native == "signature_time_stamp_token"


def _der_to_p1363(der: bytes) -> bytes:
    r, s = decode_dss_signature(der)
    return pdfsign.p1363(r, s)


@pytest.mark.parametrize(
    "make_signature",
    [
        pytest.param(lambda browser, attrs: bytes(64), id="zeros"),
        pytest.param(lambda browser, attrs: browser.sign(attrs)[:63], id="too-short"),
        pytest.param(lambda browser, attrs: browser.sign(attrs + b"x"), id="other-data"),
        pytest.param(lambda browser, attrs: Browser().sign(attrs), id="other-key"),
        pytest.param(
            # the classic mistake: hashing first, then letting WebCrypto hash again
            lambda browser, attrs: browser.sign(hashlib.sha256(attrs).digest()),
            id="double-hashed",
        ),
        pytest.param(
            lambda browser, attrs: browser.key.sign(attrs, ec.ECDSA(hashes.SHA256())),
            id="der-not-p1363",
        ),
    ],
)
def test_a_wrong_signature_is_refused_before_anything_is_written(
    world: World, in_org_a: object, make_signature: object
) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    prepared = _prepare(consent_pdf(), cert)
    with pytest.raises(SignatureInvalid):
        pdfsign.finish(
            prepared,
            certificate=cert,
            signature=make_signature(browser, prepared.signed_attributes),  # type: ignore[operator]
        )


def test_a_signature_for_another_certificate_is_refused(world: World, in_org_a: object) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    _other_browser, other = issue(world.clinic1, name="王医生")
    prepared = _prepare(consent_pdf(), cert)
    with pytest.raises(SignatureInvalid):
        pdfsign.finish(
            prepared, certificate=other, signature=browser.sign(prepared.signed_attributes)
        )


def test_a_tampered_prepared_state_is_refused(world: World, in_org_a: object) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    prepared = _prepare(consent_pdf(), cert)
    changed = prepared.prepared_pdf.replace(b"/Title", b"/Titlf", 1)
    assert changed != prepared.prepared_pdf
    tampered = pdfsign.Prepared(
        prepared_pdf=changed,
        byte_range=prepared.byte_range,
        document_digest=prepared.document_digest,
        signed_attributes=prepared.signed_attributes,
    )
    with pytest.raises(SignatureInvalid, match="changed"):
        pdfsign.finish(
            tampered, certificate=cert, signature=browser.sign(prepared.signed_attributes)
        )


def test_a_failing_tsa_fails_the_signature(
    world: World, in_org_a: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    prepared = _prepare(consent_pdf(), cert)

    def broken(query_der: bytes, *, authority: object = None) -> bytes:
        raise OSError("TSA down")

    monkeypatch.setattr(tsa, "respond", broken)
    with pytest.raises(TsaUnavailable):
        pdfsign.finish(
            prepared, certificate=cert, signature=browser.sign(prepared.signed_attributes)
        )


def test_the_signature_stays_pdf_a_with_embedded_fonts_and_chinese_text(
    world: World, in_org_a: object, tmp_path: Path
) -> None:
    patient = make_patient(world.clinic1, world.boss)
    pdf = consent_pdf()
    patient_browser, patient_cert = issue(
        world.clinic1, kind=Certificate.Kind.PATIENT, name="张小明", patient=patient
    )
    doctor_browser, doctor_cert = issue(world.clinic1, staff=world.doctor)
    signed = sign(
        pdf, patient_browser, patient_cert, field="patient", box=PATIENT_BOX, png=handwriting_png()
    )
    signed = sign(signed, doctor_browser, doctor_cert, field="doctor", box=DOCTOR_BOX)
    signed = pdfsign.archive(signed, organization=world.org)
    path = write(tmp_path / "signed.pdf", signed)

    fonts = run("pdffonts", str(path)).stdout.decode().splitlines()[2:]
    assert fonts, "the document has its fonts"
    assert all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    text = run("pdftotext", str(path), "-").stdout.decode()
    assert "种植牙手术知情同意书" in text
    assert "张小明" in text

    reader = _reader(signed)
    assert signed.startswith(b"%PDF-1.7")
    assert "/Version" not in reader.root  # the catalog does not claim PDF 2.0
    assert set(reader.root["/Extensions"].keys()) == {"/ESIC"}
    xmp = reader.root["/Metadata"].get_object().data.decode()
    info_producer = str(reader.trailer["/Info"]["/Producer"])
    xmp_producer = re.search(r'pdf:Producer="([^"]*)"|<pdf:Producer>([^<]*)<', xmp)
    assert xmp_producer is not None
    assert info_producer == (xmp_producer.group(1) or xmp_producer.group(2))
    assert "pdfaid:part" in xmp or "<pdfaid:part>" in xmp  # still declares PDF/A


def test_appearances_are_drawn_in_the_signature_boxes(world: World, in_org_a: object) -> None:
    patient = make_patient(world.clinic1, world.boss)
    patient_browser, patient_cert = issue(
        world.clinic1, kind=Certificate.Kind.PATIENT, name="张小明", patient=patient
    )
    doctor_browser, doctor_cert = issue(world.clinic1, staff=world.doctor)
    signed = sign(
        consent_pdf(),
        patient_browser,
        patient_cert,
        field="patient",
        box=PATIENT_BOX,
        png=handwriting_png(),
    )
    signed = sign(signed, doctor_browser, doctor_cert, field="doctor", box=DOCTOR_BOX)

    reader = _reader(signed)
    widgets = {
        str(annot.get_object()["/T"]): annot.get_object()
        for annot in reader.root["/Pages"]["/Kids"][0]["/Annots"]
    }
    patient_widget, doctor_widget = widgets["patient"], widgets["doctor"]
    assert [float(v) for v in patient_widget["/Rect"]] == PATIENT_BOX
    assert [float(v) for v in doctor_widget["/Rect"]] == DOCTOR_BOX
    assert int(patient_widget["/F"]) & 4  # printed
    patient_ap = patient_widget["/AP"]["/N"]
    doctor_ap = doctor_widget["/AP"]["/N"]
    assert _has_image(patient_ap)  # the drawn signature
    assert b" f Q" in _all_streams(doctor_ap)  # the text as glyph outlines, no font needed
    assert "/Font" not in doctor_ap.get("/Resources", {})


def _all_streams(xobject: object) -> bytes:
    data = xobject.data  # type: ignore[attr-defined]
    resources = xobject.get("/Resources", {})  # type: ignore[attr-defined]
    for child in resources.get("/XObject", {}).values():
        child = child.get_object()
        if child.get("/Subtype") == "/Form":
            data += _all_streams(child)
    return data  # type: ignore[no-any-return]


def _has_image(xobject: object) -> bool:
    resources = xobject.get("/Resources", {})  # type: ignore[attr-defined]
    for child in resources.get("/XObject", {}).values():
        child = child.get_object()
        if child.get("/Subtype") == "/Image" or (
            child.get("/Subtype") == "/Form" and _has_image(child)
        ):
            return True
    return False


def test_a_picture_that_is_not_png_is_refused(world: World, in_org_a: object) -> None:
    _browser, cert = issue(world.clinic1, staff=world.doctor)
    with pytest.raises(PdfInvalid):
        _prepare(consent_pdf(), cert, appearance_png=b"<svg/>")


def test_a_file_that_is_not_a_pdf_is_refused(world: World, in_org_a: object) -> None:
    _browser, cert = issue(world.clinic1, staff=world.doctor)
    with pytest.raises(PdfInvalid):
        _prepare(b"%PDF-1.7 nothing here", cert)


def test_an_already_signed_field_cannot_be_signed_again(world: World, in_org_a: object) -> None:
    browser, cert = issue(world.clinic1, staff=world.doctor)
    signed = sign(consent_pdf(), browser, cert, field="doctor", box=DOCTOR_BOX)
    with pytest.raises(PdfInvalid):
        _prepare(signed, cert, field_name="doctor")


def test_the_clinic_seal_signs_on_the_server(world: World, in_org_a: object) -> None:
    seal = pki.seal_certificate(world.clinic1)
    signed = pdfsign.sign_with_seal(
        consent_pdf(),
        certificate=seal,
        field_name="seal",
        page=0,
        box=SEAL_BOX,
        appearance_text="Downtown Clinic 电子印章",
    )
    report = validate_pdf(signed)
    assert report.valid
    assert report.signatures[0].kind == "seal"
    assert report.signatures[0].signer_name == "Downtown Clinic 电子印章"


def test_only_a_seal_certificate_signs_on_the_server(world: World, in_org_a: object) -> None:
    _browser, cert = issue(world.clinic1, staff=world.doctor)
    with pytest.raises(CertificateNotUsable):
        pdfsign.sign_with_seal(
            consent_pdf(),
            certificate=cert,
            field_name="seal",
            page=0,
            box=SEAL_BOX,
            appearance_text="x",
        )
    seal = pki.seal_certificate(world.clinic1)
    pki.revoke(seal, reason="key rotation", by=None)
    with pytest.raises(CertificateNotUsable):
        pdfsign.sign_with_seal(
            consent_pdf(),
            certificate=seal,
            field_name="seal",
            page=0,
            box=SEAL_BOX,
            appearance_text="x",
        )


def test_the_archive_step_adds_validation_data_and_a_document_time_stamp(
    world: World, in_org_a: object
) -> None:
    patient = make_patient(world.clinic1, world.boss)
    patient_browser, patient_cert = issue(
        world.clinic1,
        kind=Certificate.Kind.PATIENT,
        name="张小明",
        patient=patient,
        valid_for=timedelta(minutes=30),
    )
    doctor_browser, doctor_cert = issue(world.clinic1, staff=world.doctor)
    signed = sign(consent_pdf(), patient_browser, patient_cert, field="patient", box=PATIENT_BOX)
    signed = sign(signed, doctor_browser, doctor_cert, field="doctor", box=DOCTOR_BOX)

    archived = pdfsign.archive(signed, organization=world.org)

    assert archived.startswith(signed)
    reader = _reader(archived)
    store = DocumentSecurityStore.read_dss(reader)
    certs = {cert.subject.native["common_name"] for cert in store.load_certs()}
    assert {"张小明", "李医生", "Smile Chain 电子签名 CA", "Chairside 时间戳服务"} <= certs
    crls = [crl.CertificateList.load(ref.get_object().data) for ref in store.crls]
    crl_issuers = {c["tbs_cert_list"]["issuer"].native["common_name"] for c in crls}
    assert crl_issuers == {"Smile Chain 电子签名 CA", "Chairside 时间戳根 CA"}
    [timestamp] = reader.embedded_timestamp_signatures
    assert timestamp.field_name == "Archive1"
    report = validate_pdf(archived)
    assert report.valid
    assert report.archived
    assert [s.modification_level for s in report.signatures] == ["form_filling", "none"]
    assert report.document_timestamps[0].coverage == "entire_file"


def test_preview_gives_one_png_per_page(world: World, in_org_a: object) -> None:
    _browser, cert = issue(world.clinic1, staff=world.doctor)
    prepared = _prepare(consent_pdf(pages=2), cert)
    pages = pdfsign.preview_pngs(prepared.prepared_pdf, dpi=40)
    assert len(pages) == 2
    assert all(page.startswith(b"\x89PNG\r\n\x1a\n") for page in pages)
    with pytest.raises(PdfInvalid):
        pdfsign.preview_pngs(b"not a pdf")
