"""Builders shared by the evidence, package and verification-page tests: bare documents for
the log, and a real two-signer consent signed through the signing services with a Python
"browser" (a P-256 key, a PKCS#10 request, WebCrypto-style r||s signatures)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from functools import cache

from chairside.core.models import Clinic, Organization, Staff
from chairside.core.resident_id import make_resident_id
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document, SignerSlot
from chairside.messaging.models import OutboxMessage
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.esign.browser import Browser

PATIENT_NAME = "张小明"
PATIENT_MOBILE = "13900000021"
DOCTOR_MOBILE = "13800000023"
DOCTOR_ID = make_resident_id("310101", date(1985, 6, 1), 457)
LOCAL = "127.0.0.1"

CONSENT_HTML = """<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 20mm }
html { font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; line-height: 1.6 }
.box { width: 180pt; height: 60pt; border: 0.6px dashed #999; margin: 4mm 0 }
</style></head><body>
<h1>种植牙手术知情同意书</h1>
<p>患者：张小明　　病历号：P000001　　牙位：36</p>
<p>种植术后可能出现疼痛、肿胀、出血、感染、种植体松动等情况。医生已向我说明手术的必要性、
风险及替代方案，我已充分理解并同意接受治疗。</p>
<p>患者签名</p><div class="box" id="patient"></div>
<p>医生签名</p><div class="box" id="doctor"></div>
</body></html>"""

FORM_DATA = {"consent": True, "tooth": "36", "allergies": "青霉素"}


def make_patient(clinic: Clinic, actor: Staff, name: str = PATIENT_NAME) -> Patient:
    return patient_create(actor=actor, clinic=clinic, name=name, phone=PATIENT_MOBILE)


def make_document(clinic: Clinic, patient: Patient, *, title: str = "种植知情同意书") -> Document:
    """A bare document row (what document_create makes, without the PDF work)."""
    return Document.objects.create(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        number="CS" + secrets.token_hex(6).upper(),
        title=title,
        source=Document.Source.FORM,
        source_id=1,
    )


@cache
def consent() -> tuple[bytes, dict[str, tuple[int, list[float]]]]:
    """A one-page Chinese consent (PDF/A-3b) and its signature boxes in PDF points."""
    from weasyprint import HTML

    rendered = HTML(string=CONSENT_HTML).render()
    boxes: dict[str, tuple[int, list[float]]] = {}
    for number, page in enumerate(rendered.pages):
        height = page.height * 0.75
        for name, (x1, y1, x2, y2) in page.anchors.items():
            boxes[name] = (number, [x1 * 0.75, height - y2 * 0.75, x2 * 0.75, height - y1 * 0.75])
    return rendered.write_pdf(pdf_variant="pdf/a-3b"), boxes


def _code(organization: Organization, phone: str, template: str) -> str:
    message = (
        OutboxMessage.all_tenants.filter(
            organization=organization, recipient=phone, template_code=template
        )
        .order_by("-id")
        .first()
    )
    assert message is not None, f"no {template} SMS to {phone}"
    return str(message.params["code"])


@dataclass
class Signed:
    document: Document
    patient: Patient
    doctor: Staff


def signed_consent(
    organization: Organization, clinic: Clinic, doctor: Staff, creator: Staff
) -> Signed:
    """A consent created, signed by the patient (with a drawn signature) and by the doctor
    through the signing services, then completed (archive revision, tree head)."""
    from django.core.cache import cache as django_cache

    from chairside.esign.services.documents import ClientInfo, SignerSpec, document_create
    from chairside.esign.services.enrolment import enrolment_submit
    from chairside.esign.services.identity import (
        patient_code_request,
        patient_identity_verify,
        staff_code_request,
    )
    from chairside.esign.services.signing import (
        patient_prepare,
        session_finish,
        session_preview,
        staff_prepare,
    )
    from chairside.messaging.services import default_templates_install

    django_cache.clear()  # rate limits of earlier tests
    client = ClientInfo(ip=LOCAL, user_agent="pytest")
    pdf, boxes = consent()
    with tenant_scope(organization, clinic):
        default_templates_install(organization=organization, sms_sign="微笑齿科")
        if not doctor.phone:
            Staff.all_tenants.filter(pk=doctor.pk).update(phone=DOCTOR_MOBILE)
            doctor.refresh_from_db()
        patient = make_patient(clinic, creator)
        document = document_create(
            clinic=clinic,
            patient=patient,
            title="种植知情同意书",
            source=Document.Source.FORM,
            source_id=1,
            pdf=pdf,
            data=FORM_DATA,
            signers=[
                SignerSpec(role=role, field_name=role, page=boxes[role][0], box=boxes[role][1])
                for role in ("patient", "doctor")
            ],
            created_by=creator,
        )
        doctor_browser = Browser()
        staff_code_request(staff=doctor, clinic=clinic, client_ip=LOCAL)
        enrolment_submit(
            actor=doctor,
            clinic=clinic,
            csr_der=doctor_browser.csr_der(),
            code=_code(organization, doctor.phone or "", "esign.enrol_code"),
            name=doctor.display_name,
            id_number=DOCTOR_ID,
            client=client,
        )

        slot = SignerSlot.objects.get(document=document, role="patient")
        patient_code_request(slot=slot, client_ip=LOCAL)
        check = patient_identity_verify(
            slot=slot,
            code=_code(organization, patient.phone, "esign.sign_code"),
            id_number="",
            client=client,
        )
        patient_browser = Browser()
        session = patient_prepare(
            slot=slot, identity_check=check, csr_der=patient_browser.csr_der(), handwriting_png=None
        )
        session_preview(session=session, actor=f"patient:{patient.pk}", client=client)
        session_finish(
            session=session,
            signature=patient_browser.sign(bytes(session.signed_attributes)),
            actor=None,
            client=client,
        )

        slot = SignerSlot.objects.get(document=document, role="doctor")
        session = staff_prepare(actor=doctor, slot=slot, handwriting_png=None)
        session_preview(session=session, actor=f"staff:{doctor.pk}", client=client)
        session_finish(
            session=session,
            signature=doctor_browser.sign(bytes(session.signed_attributes)),
            actor=doctor,
            client=client,
        )
        document.refresh_from_db()
    return Signed(document=document, patient=patient, doctor=doctor)
