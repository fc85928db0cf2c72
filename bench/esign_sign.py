"""Rendering and signing a two-page consent on the server, step by step.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench_esign \
        .venv/bin/python bench/esign_sign.py [--rounds 20]

On a migrated PostgreSQL database (it adds an organization "esign-bench" when missing) each
round renders a two-page consent with WeasyPrint (PDF/A-3b, Chinese text), then signs it as
the flow does: the patient (a fresh 30-minute certificate from a browser-made request, the
preview pages, prepare with a drawn signature, finish with the time-stamp), the doctor
(an enrolled certificate, text appearance), the clinic seal (server key), the archive step
(DSS + document time-stamp, PAdES B-LTA), and a full verification of the result. The
browser's ECDSA signature is made in Python and not timed. Prints p50/p95 per step and the
file size after each revision.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import django

# The tests' stand-in for the signer's browser (WebCrypto in Python).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from PIL import Image, ImageDraw

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

from create_patients import percentile  # noqa: E402
from django.db import connection  # noqa: E402
from tests.esign.browser import Browser  # noqa: E402

from chairside.core.models import Clinic, Organization, Staff  # noqa: E402
from chairside.core.services import clinic_create, organization_create, staff_create  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.esign import pdfsign, pki  # noqa: E402
from chairside.esign.models import Certificate  # noqa: E402
from chairside.esign.validation import validate_pdf  # noqa: E402
from chairside.patients.models import Patient  # noqa: E402
from chairside.patients.services import patient_create  # noqa: E402

PATIENT_BOX = [60.0, 90.0, 260.0, 150.0]
DOCTOR_BOX = [320.0, 90.0, 520.0, 150.0]
SEAL_BOX = [320.0, 20.0, 520.0, 80.0]

PARAGRAPH = (
    "种植牙手术是在牙槽骨内植入人工牙根，待骨结合后进行上部修复的治疗方法。"
    "术中及术后可能出现疼痛、肿胀、出血、感染、神经损伤、上颌窦穿通、种植体松动或脱落等情况，"
    "医生已就上述风险、替代方案（活动义齿、固定桥）及费用向本人作了说明。"
)
CONSENT = """<!doctype html><html lang="zh-Hans"><head><meta charset="utf-8">
<title>知情同意书</title><style>
@page {{ size: A4; margin: 20mm }}
body {{ font-family: "Noto Sans CJK SC", sans-serif; font-size: 10.5pt; line-height: 1.7 }}
h1 {{ font-size: 16pt; text-align: center }} h2 {{ font-size: 12pt }}
.page2 {{ page-break-before: always }}
</style></head><body>
<h1>种植牙手术知情同意书</h1>
<p>患者姓名：{name}　性别：男　年龄：46　病历号：{record}</p>
<h2>一、治疗方案</h2>{body}
<h2>二、可能的风险</h2>{body}
<div class="page2"><h2>三、术后注意事项</h2>{body}{body}
<h2>四、患者声明</h2><p>本人已阅读并理解以上内容，同意接受治疗。</p>
<p>患者签名：　　　　　　　　　　医生签名：</p></div>
</body></html>"""


def handwriting_png() -> bytes:
    image = Image.new("RGBA", (600, 180), (255, 255, 255, 0))
    points = [(20, 120), (120, 40), (220, 140), (340, 50), (460, 130), (580, 60)]
    ImageDraw.Draw(image).line(points, fill=(0, 0, 80, 255), width=8)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Steps:
    """Wall-clock seconds per named step, over the rounds."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.samples.setdefault(name, []).append(time.perf_counter() - started)


def setup() -> tuple[Organization, Clinic, Staff, Patient]:
    organization = Organization.objects.filter(slug="esign-bench").first()
    if organization is None:
        organization = organization_create(slug="esign-bench", name="签名测试口腔")
        clinic = clinic_create(organization=organization, code="main", name="测试门诊")
        staff_create(
            organization=organization,
            username="esign-bench-doctor",
            display_name="李医生",
            roles=[("doctor", clinic)],
        )
    with tenant_scope(organization):
        clinic = Clinic.objects.get(code="main")
        doctor = Staff.objects.get(username="esign-bench-doctor")
        patient = Patient.objects.filter(name="张小明").first() or patient_create(
            actor=doctor, clinic=clinic, name="张小明", phone="13900000099"
        )
    return organization, clinic, doctor, patient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Run this on PostgreSQL (set CHAIRSIDE_DATABASE_URL).")
    from weasyprint import HTML

    organization, clinic, doctor, patient = setup()
    html = CONSENT.format(name="张小明", record="000123", body=f"<p>{PARAGRAPH}</p>" * 2)
    png = handwriting_png()
    steps = Steps()
    sizes: dict[str, list[int]] = {}
    with tenant_scope(organization, clinic):
        doctor_browser = Browser()
        doctor_cert = pki.issue_from_csr(
            organization=organization,
            csr_der=doctor_browser.csr_der(),
            kind=Certificate.Kind.STAFF,
            subject_name=doctor.display_name,
            staff=doctor,
            valid_for=timedelta(days=730),
        )
        seal = pki.seal_certificate(clinic)
        # Warm up: fonts, the TSA key, the first WeasyPrint layout.
        HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
        warm = HTML(string="<p>预热</p>").write_pdf(pdf_variant="pdf/a-3b")
        warm = pdfsign.sign_with_seal(
            warm, certificate=seal, field_name="w", page=0, box=SEAL_BOX, appearance_text="预热"
        )
        pdfsign.preview_pngs(pdfsign.archive(warm, organization=organization))
        for _ in range(args.rounds):
            with steps.step("render (WeasyPrint, 2 pages)"):
                pdf = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
            sizes.setdefault("rendered", []).append(len(pdf))
            browser = Browser()
            csr = browser.csr_der()
            with steps.step("patient: issue certificate"):
                cert = pki.issue_from_csr(
                    organization=organization,
                    csr_der=csr,
                    kind=Certificate.Kind.PATIENT,
                    subject_name=patient.name,
                    patient=patient,
                    valid_for=timedelta(minutes=30),
                    document_sha256="ab" * 32,
                )
            with steps.step("patient: prepare (drawn signature)"):
                prepared = pdfsign.prepare(
                    pdf,
                    certificate=cert,
                    field_name="patient",
                    page=1,
                    box=PATIENT_BOX,
                    appearance_png=png,
                    appearance_text="",
                )
            with steps.step("patient: preview PNGs (2 pages, 110 dpi)"):
                pdfsign.preview_pngs(prepared.prepared_pdf)
            signature = browser.sign(prepared.signed_attributes)
            with steps.step("patient: finish (+ time-stamp)"):
                pdf = pdfsign.finish(prepared, certificate=cert, signature=signature)
            sizes.setdefault("patient signed", []).append(len(pdf))
            with steps.step("doctor: prepare (text)"):
                prepared = pdfsign.prepare(
                    pdf,
                    certificate=doctor_cert,
                    field_name="doctor",
                    page=1,
                    box=DOCTOR_BOX,
                    appearance_png=None,
                    appearance_text="李医生 主治医师\n2026-11-25 10:05",
                )
            signature = doctor_browser.sign(prepared.signed_attributes)
            with steps.step("doctor: finish (+ time-stamp)"):
                pdf = pdfsign.finish(prepared, certificate=doctor_cert, signature=signature)
            sizes.setdefault("doctor signed", []).append(len(pdf))
            with steps.step("seal: prepare + finish"):
                pdf = pdfsign.sign_with_seal(
                    pdf,
                    certificate=seal,
                    field_name="seal",
                    page=1,
                    box=SEAL_BOX,
                    appearance_text="测试门诊 电子印章",
                )
            sizes.setdefault("sealed", []).append(len(pdf))
            with steps.step("archive (DSS + document time-stamp)"):
                pdf = pdfsign.archive(pdf, organization=organization)
            sizes.setdefault("archived (B-LTA)", []).append(len(pdf))
            with steps.step("verify (validate_pdf, 3 signatures + 1 TS)"):
                report = validate_pdf(pdf)
            if not report.valid:
                sys.exit(f"The signed consent does not validate: {report}")
    report_figures(steps.samples, sizes, args.rounds)


def ms(values: list[float], share: float) -> str:
    return f"{percentile(values, share) * 1000:8.1f}"


def report_figures(
    samples: dict[str, list[float]], sizes: dict[str, list[int]], rounds: int
) -> None:
    print(f"{rounds} rounds, milliseconds")
    print(f"{'step':48} {'p50':>8} {'p95':>8}")
    signing = [0.0] * rounds
    for step, values in samples.items():
        print(f"{step:48} {ms(values, 0.5)} {ms(values, 0.95)}")
        if not step.startswith(("render", "verify")):
            signing = [a + b for a, b in zip(signing, values, strict=True)]
    print(f"{'all signing steps (no render, no verify)':48} {ms(signing, 0.5)} {ms(signing, 0.95)}")
    print("\nfile size, KB (median)")
    for name, values in sizes.items():
        print(f"{name:44} {percentile([v / 1024 for v in values], 0.5):8.1f}")


if __name__ == "__main__":
    main()
