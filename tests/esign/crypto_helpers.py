"""Playing the signer's browser in Python: a P-256 key, a PKCS#10 request, ECDSA over the DER
signed attributes returned as WebCrypto does (IEEE P1363 r||s); and a small PDF/A-3b with
Chinese text rendered by WeasyPrint."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw

from chairside.core.models import Clinic, Staff
from chairside.esign import pdfsign, pki
from chairside.esign.models import Certificate
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.esign.browser import Browser

# Where the fixture document reserves its signature boxes (PDF points, origin bottom-left).
PATIENT_BOX = [60.0, 120.0, 260.0, 180.0]
DOCTOR_BOX = [320.0, 120.0, 520.0, 180.0]
SEAL_BOX = [320.0, 40.0, 520.0, 100.0]

CONSENT_HTML = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>知情同意书</title>
<style>
@page { size: A4; margin: 20mm; }
body { font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; line-height: 1.6; }
h1 { font-size: 16pt; text-align: center; }
</style></head>
<body>
<h1>种植牙手术知情同意书</h1>
<p>患者姓名：张小明　病历号：000123</p>
<p>本人已了解种植手术的目的、方法、风险及替代方案，自愿接受治疗。</p>
{extra}
<p>患者签名：　　　　　　　医生签名：</p>
</body></html>
"""


def make_patient(clinic: Clinic, actor: Staff, name: str = "张小明") -> Patient:
    return patient_create(actor=actor, clinic=clinic, name=name, phone="13900000012")


def issue(
    clinic: Clinic,
    *,
    kind: str = Certificate.Kind.STAFF,
    name: str = "李医生",
    browser: Browser | None = None,
    staff: Staff | None = None,
    patient: Patient | None = None,
    valid_for: timedelta = timedelta(days=730),
    document_sha256: str = "",
) -> tuple[Browser, Certificate]:
    browser = browser or Browser()
    cert = pki.issue_from_csr(
        organization=clinic.organization,
        csr_der=browser.csr_der(),
        kind=kind,
        subject_name=name,
        staff=staff,
        patient=patient,
        valid_for=valid_for,
        document_sha256=document_sha256,
    )
    return browser, cert


@cache
def consent_pdf(pages: int = 1) -> bytes:
    """A small consent, PDF/A-3b, Chinese text in an embedded subset font."""
    from weasyprint import HTML

    extra = "".join(
        f'<p style="page-break-before: always">第{n + 2}页：术后注意事项。</p>'
        for n in range(pages - 1)
    )
    html = CONSENT_HTML.replace("{extra}", extra)
    return HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")  # type: ignore[no-any-return]


def handwriting_png() -> bytes:
    image = Image.new("RGBA", (300, 90), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.line(
        [(10, 60), (60, 20), (110, 70), (170, 25), (230, 65), (290, 30)],
        fill=(0, 0, 80, 255),
        width=4,
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sign(
    pdf: bytes,
    browser: Browser,
    cert: Certificate,
    *,
    field: str,
    box: list[float],
    png: bytes | None = None,
    text: str = "",
) -> bytes:
    prepared = pdfsign.prepare(
        pdf,
        certificate=cert,
        field_name=field,
        page=0,
        box=box,
        appearance_png=png,
        appearance_text=text or f"{cert.subject_name}\n2026-11-25 10:00",
    )
    return pdfsign.finish(
        prepared, certificate=cert, signature=browser.sign(prepared.signed_attributes)
    )


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=120, check=False)  # noqa: S603


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
