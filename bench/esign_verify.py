"""Evidence package: build one for a two-signer consent, then time its offline verification.

    CHAIRSIDE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chairside_bench \
        .venv/bin/python bench/esign_verify.py [--rounds 30] [--keep package.zip]

On a migrated database it creates an organization, a consent (one page, Chinese, PDF/A-3b)
and signs it through the signing services — the patient with a fresh key (SMS code,
one-event certificate), the doctor with an enrolled key, both keys P-256 held by a Python
"browser" — so the archive step and the tree head run as in production. It then times
`build_package` and `verify_package` (the ZIP alone, no database), and the public page's
look-up of the document number (database + validation, no cache), printing p50/p95 and the
package's size. Everything it wrote to the database is rolled back at the end.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
django.setup()

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from chairside.core.models import Clinic, Organization, Staff  # noqa: E402
from chairside.core.resident_id import make_resident_id  # noqa: E402
from chairside.core.services import clinic_create, organization_create, staff_create  # noqa: E402
from chairside.core.tenancy import tenant_scope  # noqa: E402
from chairside.esign import package, verification  # noqa: E402
from chairside.esign.models import Document, SignerSlot  # noqa: E402
from chairside.esign.services.documents import ClientInfo, SignerSpec, document_create  # noqa: E402
from chairside.esign.services.enrolment import enrolment_submit  # noqa: E402
from chairside.esign.services.identity import (  # noqa: E402
    patient_code_request,
    patient_identity_verify,
    staff_code_request,
)
from chairside.esign.services.signing import (  # noqa: E402
    patient_prepare,
    session_finish,
    session_preview,
    staff_prepare,
)
from chairside.messaging.models import OutboxMessage  # noqa: E402
from chairside.messaging.services import default_templates_install  # noqa: E402
from chairside.patients.services import patient_create  # noqa: E402

CONSENT_HTML = """<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 20mm }
html { font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; line-height: 1.6 }
.box { width: 180pt; height: 60pt; border: 0.6px dashed #999; margin: 4mm 0 }
</style></head><body>
<h1>种植牙手术知情同意书</h1>
<p>患者：王芳　　病历号：B000001　　牙位：36</p>
<p>种植术后可能出现疼痛、肿胀、出血、感染、种植体松动等情况。医生已向我说明手术的必要性、
风险及替代方案，我已充分理解并同意接受治疗。</p>
<p>患者签名</p><div class="box" id="patient"></div>
<p>医生签名</p><div class="box" id="doctor"></div>
</body></html>"""
LOCAL = "127.0.0.1"
CLIENT = ClientInfo(ip=LOCAL, user_agent="bench")


class Browser:
    """A signer's browser: a P-256 key; signatures come back as WebCrypto's r||s."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def csr_der(self) -> bytes:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "browser")])
        request = x509.CertificateSigningRequestBuilder().subject_name(name)
        return request.sign(self.key, hashes.SHA256()).public_bytes(Encoding.DER)

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _code(organization: Organization, phone: str, template: str) -> str:
    message = (
        OutboxMessage.all_tenants.filter(
            organization=organization, recipient=phone, template_code=template
        )
        .order_by("-id")
        .first()
    )
    if message is None:
        sys.exit(f"No {template} SMS was queued.")
    return str(message.params["code"])


def _consent() -> tuple[bytes, dict[str, tuple[int, list[float]]]]:
    from weasyprint import HTML

    rendered = HTML(string=CONSENT_HTML).render()
    boxes: dict[str, tuple[int, list[float]]] = {}
    for number, page in enumerate(rendered.pages):
        height = page.height * 0.75
        for name, (x1, y1, x2, y2) in page.anchors.items():
            boxes[name] = (number, [x1 * 0.75, height - y2 * 0.75, x2 * 0.75, height - y1 * 0.75])
    return rendered.write_pdf(pdf_variant="pdf/a-3b"), boxes


def signed_document() -> Document:
    """A consent signed by the patient and the doctor (completed: archive + tree head)."""
    tag = uuid.uuid4().hex[:8]
    organization = organization_create(slug=f"bench-esign-{tag}", name="Bench Dental")
    clinic: Clinic = clinic_create(organization=organization, code="b1", name="Bench Clinic")
    doctor: Staff = staff_create(
        organization=organization,
        username=f"bench-doctor-{tag}",
        display_name="李明华",
        phone="13800000091",
        roles=[("doctor", clinic)],
    )
    pdf, boxes = _consent()
    with tenant_scope(organization, clinic):
        default_templates_install(organization=organization, sms_sign="Bench")
        patient = patient_create(actor=doctor, clinic=clinic, name="王芳", phone="13900000091")
        document = document_create(
            clinic=clinic,
            patient=patient,
            title="种植知情同意书",
            source=Document.Source.FORM,
            source_id=1,
            pdf=pdf,
            data={"consent": True, "tooth": "36"},
            signers=[
                SignerSpec(role=role, field_name=role, page=boxes[role][0], box=boxes[role][1])
                for role in ("patient", "doctor")
            ],
            created_by=doctor,
        )
        doctor_browser = Browser()
        staff_code_request(staff=doctor, clinic=clinic, client_ip=LOCAL)
        enrolment_submit(
            actor=doctor,
            clinic=clinic,
            csr_der=doctor_browser.csr_der(),
            code=_code(organization, doctor.phone or "", "esign.enrol_code"),
            name=doctor.display_name,
            id_number=make_resident_id("310101", date(1985, 6, 1), 457),
            client=CLIENT,
        )
        slot = SignerSlot.objects.get(document=document, role="patient")
        patient_code_request(slot=slot, client_ip=LOCAL)
        check = patient_identity_verify(
            slot=slot,
            code=_code(organization, patient.phone, "esign.sign_code"),
            id_number="",
            client=CLIENT,
        )
        browser = Browser()
        session = patient_prepare(
            slot=slot, identity_check=check, csr_der=browser.csr_der(), handwriting_png=None
        )
        session_preview(session=session, actor=f"patient:{patient.pk}", client=CLIENT)
        session_finish(
            session=session,
            signature=browser.sign(bytes(session.signed_attributes)),
            actor=None,
            client=CLIENT,
        )
        slot = SignerSlot.objects.get(document=document, role="doctor")
        session = staff_prepare(actor=doctor, slot=slot, handwriting_png=None)
        session_preview(session=session, actor=f"staff:{doctor.pk}", client=CLIENT)
        session_finish(
            session=session,
            signature=doctor_browser.sign(bytes(session.signed_attributes)),
            actor=doctor,
            client=CLIENT,
        )
        document.refresh_from_db()
    return document


def timed(action: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def line(label: str, samples: list[float]) -> str:
    return (
        f"{label:<44} p50 {percentile(samples, 0.5):7.1f} ms   "
        f"p95 {percentile(samples, 0.95):7.1f} ms   ({len(samples)} rounds)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--keep", default="", help="write the package to this path")
    args = parser.parse_args()
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    if connection.vendor != "postgresql":
        print("Note: SQLite — figures are indicative; the README's are from PostgreSQL.")

    with transaction.atomic():
        cache.clear()
        started = time.perf_counter()
        document = signed_document()
        signing = time.perf_counter() - started
        with tenant_scope(document.organization_id):
            build, data = timed(lambda: package.build_package(document), max(3, args.rounds // 5))
        verify, report = timed(lambda: package.verify_package(data), args.rounds)

        def look_up() -> Any:
            cache.clear()  # the page caches a validation for five minutes
            return verification.report_for_number(document.number)

        lookup, public = timed(look_up, args.rounds)
        transaction.set_rollback(True)

    if not report.ok or not public.ok:
        sys.exit(f"The package or the page did not verify: {report.findings}")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sizes = {i.filename.rsplit("/", 1)[-1]: i.file_size for i in archive.infolist()}
    if args.keep:
        Path(args.keep).write_bytes(data)

    print(f"created and signed by patient + doctor, completed: {signing:.2f} s (once)")
    print(line("build_package", build))
    print(line("verify_package (ZIP only, offline)", verify))
    print(line("public page look-up of the number", lookup))
    print(
        f"package: {len(data) / 1024:.0f} KB zipped, {sum(sizes.values()) / 1024:.0f} KB "
        f"unpacked; signed.pdf {sizes['signed.pdf'] / 1024:.0f} KB; "
        f"{report.events} events, log of {report.tree_size} entries"
    )


if __name__ == "__main__":
    main()
