"""Doctors e-sign their medical records (F5): a signed version becomes a PDF/A-3b with the
rendering's SHA-256 on it and one doctor slot for the version's signer, who signs it with
the enrolled key; the PDF validates and keeps its Chinese text."""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from chairside.clinical.models import RecordVersion
from chairside.clinical.services.records import record_amend, record_create
from chairside.core.errors import Conflict
from chairside.core.tenancy import tenant_scope
from chairside.esign.errors import NotYourTurn
from chairside.esign.models import Document, DocumentRevision, SignerSlot
from chairside.esign.services.records import record_document_create
from chairside.esign.services.signing import session_finish, session_preview, staff_prepare
from tests.esign.flow_helpers import Esign, client, signed_version

POPPLER = Path("/usr/bin")


def _tool(pdf: bytes, tool: str, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "record.pdf"
        path.write_bytes(pdf)
        out = [] if tool == "pdffonts" else ["-"]
        return subprocess.run(  # noqa: S603 - fixed Poppler tools on our own file
            [str(POPPLER / tool), *args, str(path), *out],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def pdf_text(pdf: bytes) -> str:
    return _tool(pdf, "pdftotext", "-layout")


def fonts_embedded(pdf: bytes) -> bool:
    rows = _tool(pdf, "pdffonts").splitlines()[2:]
    # name type encoding emb sub uni object ID: "emb" is the fifth column from the end.
    return bool(rows) and all(row.split()[-5] == "yes" for row in rows)


def test_a_signed_version_is_e_signed_by_its_doctor(enrolled: Esign) -> None:
    e = enrolled
    version = signed_version(e)
    with tenant_scope(e.world.org, e.world.clinic1):
        document = record_document_create(actor=e.doctor, clinic=e.world.clinic1, version=version)
        again = record_document_create(actor=e.doctor, clinic=e.world.clinic1, version=version)
        slot = SignerSlot.objects.get(document=document)
        rendered = bytes(DocumentRevision.objects.get(document=document, number=1).pdf)
        session = staff_prepare(actor=e.doctor, slot=slot, handwriting_png=None)
        session_preview(session=session, actor="x", client=client())
        session_finish(
            session=session,
            signature=e.doctor_browser.sign(bytes(session.signed_attributes)),
            actor=e.doctor,
            client=client(),
        )
        document.refresh_from_db()
        final = bytes(DocumentRevision.objects.filter(document=document).last().pdf)

    assert again.pk == document.pk
    assert document.source == Document.Source.RECORD
    assert document.source_id == version.pk
    assert document.status == Document.Status.COMPLETED
    assert slot.role == "doctor"
    assert slot.staff_id == e.doctor.pk
    assert document.data_json.count(version.digest) == 1
    text = pdf_text(rendered)
    assert "病历" in text
    assert "46 深龋" in text
    assert "右下后牙冷热敏感两周" in text
    assert version.digest in text.replace("\n", "").replace(" ", "")
    assert fonts_embedded(rendered)
    assert "46 深龋" in pdf_text(final)

    from chairside.esign.validation import validate_pdf

    report = validate_pdf(final)
    doctor = next(s for s in report.signatures if s.field == "doctor")
    assert doctor.intact
    assert doctor.valid
    assert doctor.trusted


def test_only_the_versions_signer_e_signs_it(enrolled: Esign) -> None:
    version = signed_version(enrolled)
    with tenant_scope(enrolled.world.org, enrolled.world.clinic1), pytest.raises(NotYourTurn):
        record_document_create(
            actor=enrolled.world.boss, clinic=enrolled.world.clinic1, version=version
        )


def test_a_draft_is_not_e_signed(enrolled: Esign) -> None:
    e = enrolled
    with tenant_scope(e.world.org, e.world.clinic1):
        record = record_create(
            actor=e.doctor, clinic=e.world.clinic1, patient=e.patient, visit_type="follow_up"
        )
        draft = RecordVersion.objects.get(record=record)
        with pytest.raises(Conflict):
            record_document_create(actor=e.doctor, clinic=e.world.clinic1, version=draft)


def test_an_amendment_is_e_signed_by_its_author(enrolled: Esign) -> None:
    e = enrolled
    version = signed_version(e)
    with tenant_scope(e.world.org, e.world.clinic1):
        amendment = record_amend(
            actor=e.doctor,
            clinic=e.world.clinic1,
            record=version.record,
            sections={"complaint": "右下后牙冷热敏感两周", "diagnosis": "46 深龋（近髓）"},
            findings=[],
            reason="补充诊断",
        )
        document = record_document_create(actor=e.doctor, clinic=e.world.clinic1, version=amendment)
    assert document.source_id == amendment.pk
    assert "version 2" in document.title or "第2版" in document.title


def test_the_record_pdf_is_pdf_a(enrolled: Esign) -> None:
    from chairside.esign.record_pdf import render_version_pdf

    version = signed_version(enrolled)
    with tenant_scope(enrolled.world.org):
        rendered = render_version_pdf(version)
    xmp = PdfReader(io.BytesIO(rendered.pdf)).trailer["/Root"]["/Metadata"].get_data()
    assert rendered.pdf.startswith(b"%PDF-1.7")
    assert re.search(rb"pdfaid:part[^0-9]{1,3}3", xmp)
    assert re.search(rb"pdfaid:conformance[^A-Z]{1,3}B", xmp)
    x1, y1, x2, y2 = rendered.box
    assert x2 - x1 == pytest.approx(200, abs=1)
    assert y2 - y1 == pytest.approx(64, abs=1)
