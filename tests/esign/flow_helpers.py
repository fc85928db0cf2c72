"""Builders and fixtures shared by the signing-flow tests (documents, enrolment, signing,
records, the API and the pages): a signer's "browser" in Python (a P-256 key, a PKCS#10
request, WebCrypto-style P1363 signatures), a two-party consent PDF with its signature
boxes, the SMS codes from the outbox, and a world with an enrolled doctor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import pytest
from django.core.cache import cache as django_cache

from chairside.core.models import Organization, Staff
from chairside.core.resident_id import make_resident_id
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Certificate, Document, SignerSlot, SigningSession
from chairside.esign.services.documents import SignerSpec, document_create
from chairside.esign.services.enrolment import enrolment_submit
from chairside.esign.services.identity import staff_code_request
from chairside.messaging.models import OutboxMessage
from chairside.messaging.services import default_templates_install
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.conftest import World
from tests.esign.browser import Browser

PATIENT_MOBILE = "13900000011"
DOCTOR_MOBILE = "13800000003"
PATIENT_ID = make_resident_id("110101", date(1990, 3, 7), 123)
DOCTOR_ID = make_resident_id("310101", date(1985, 6, 1), 457)
LOCAL = "127.0.0.1"


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    boxes: dict[str, tuple[int, list[float]]]


CONSENT_HTML = """<!doctype html><html lang="zh-hans"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 20mm }
html { font-family: "Noto Sans CJK SC", sans-serif; font-size: 11pt; line-height: 1.6 }
.box { width: 180pt; height: 60pt; border: 0.6px dashed #999; margin: 4mm 0 }
</style></head><body>
<h1>拔牙知情同意书</h1>
<p>患者：张小明　　病历号：P000001</p>
<p>拔牙术后可能出现疼痛、肿胀、出血、干槽症等情况。医生已向我说明手术的必要性、风险及替代方案，
我已充分理解并同意接受治疗。</p>
<p>患者签名</p><div class="box" id="patient"></div>
<p>医生签名</p><div class="box" id="doctor"></div>
<p>机构盖章</p><div class="box" id="seal"></div>
</body></html>"""


@cache
def consent() -> Rendered:
    """A one-page Chinese consent (PDF/A-3b) and its patient, doctor and seal boxes."""
    from weasyprint import HTML

    document = HTML(string=CONSENT_HTML).render()
    boxes: dict[str, tuple[int, list[float]]] = {}
    for number, page in enumerate(document.pages):
        height = page.height * 0.75
        for name, (x1, y1, x2, y2) in page.anchors.items():
            boxes[name] = (
                number,
                [x1 * 0.75, height - y2 * 0.75, x2 * 0.75, height - y1 * 0.75],
            )
    return Rendered(pdf=document.write_pdf(pdf_variant="pdf/a-3b"), boxes=boxes)


def specs(roles: tuple[str, ...] = ("patient", "doctor", "seal"), **kw: Any) -> list[SignerSpec]:
    rendered = consent()
    out = []
    for role in roles:
        page, box = rendered.boxes[role]
        out.append(
            SignerSpec(
                role=role,
                field_name=role,
                page=page,
                box=box,
                staff=kw.get(f"{role}_staff"),
                requires_id_number=role == "patient" and kw.get("requires_id_number", False),
            )
        )
    return out


def last_code(org: Organization, phone: str, template: str) -> str:
    message = (
        OutboxMessage.all_tenants.filter(organization=org, recipient=phone, template_code=template)
        .order_by("-id")
        .first()
    )
    assert message is not None, f"no {template} SMS to {phone}"
    return str(message.params["code"])


@dataclass
class Esign:
    world: World
    patient: Patient
    doctor: Staff  # with a mobile; enrolled by `enrolled` below
    doctor_browser: Browser = field(default_factory=Browser)
    certificate: Certificate | None = None

    def document(self, roles: tuple[str, ...] = ("patient", "doctor", "seal"), **kw: Any):  # type: ignore[no-untyped-def]
        with tenant_scope(self.world.org, self.world.clinic1):
            return document_create(
                clinic=self.world.clinic1,
                patient=self.patient,
                title="拔牙知情同意书",
                source=Document.Source.FORM,
                source_id=kw.pop("source_id", 1),
                pdf=consent().pdf,
                data={"consent": True, "tooth": "48"},
                signers=specs(roles, **kw),
                created_by=self.world.frontdesk,
            )


def enrol(esign: Esign, staff: Staff, browser: Browser, id_number: str = DOCTOR_ID) -> Certificate:
    world = esign.world
    django_cache.clear()  # one code a minute per mobile: these enrolments are minutes apart
    with tenant_scope(world.org, world.clinic1):
        staff_code_request(staff=staff, clinic=world.clinic1, client_ip=LOCAL)
        return enrolment_submit(
            actor=staff,
            clinic=world.clinic1,
            csr_der=browser.csr_der(),
            code=last_code(world.org, staff.phone or "", "esign.enrol_code"),
            name=staff.display_name,
            id_number=id_number,
            client=client(),
        )


def client() -> Any:
    from chairside.esign.services.documents import ClientInfo

    return ClientInfo(ip=LOCAL, user_agent="pytest")


@pytest.fixture
def esign(world: World) -> Esign:
    django_cache.clear()  # rate limits of earlier tests
    default_templates_install(organization=world.org, sms_sign="微笑齿科")
    default_templates_install(organization=world.org_b, sms_sign="别家口腔")
    Staff.all_tenants.filter(pk=world.doctor.pk).update(phone=DOCTOR_MOBILE)
    world.doctor.refresh_from_db()
    with tenant_scope(world.org, world.clinic1):
        patient = patient_create(
            actor=world.frontdesk,
            clinic=world.clinic1,
            name="张小明",
            phone=PATIENT_MOBILE,
            id_number=PATIENT_ID,
        )
    return Esign(world=world, patient=patient, doctor=world.doctor)


@pytest.fixture
def enrolled(esign: Esign) -> Esign:
    esign.certificate = enrol(esign, esign.doctor, esign.doctor_browser)
    return esign


def slot_of(document: Document, role: str) -> SignerSlot:
    return SignerSlot.all_tenants.get(document=document, role=role)


def session_of(pk: int) -> SigningSession:
    return SigningSession.all_tenants.get(pk=pk)


def signed_version(e: Esign):  # type: ignore[no-untyped-def]
    """A first-visit record of the patient by the doctor, signed in the record system;
    returns its version 1."""
    from chairside.clinical.models import RecordVersion
    from chairside.clinical.services.records import record_create, record_sign, record_update_draft

    world = e.world
    with tenant_scope(world.org, world.clinic1):
        record = record_create(
            actor=e.doctor, clinic=world.clinic1, patient=e.patient, visit_type="first_visit"
        )
        record_update_draft(
            actor=e.doctor,
            clinic=world.clinic1,
            record=record,
            sections={
                "complaint": "右下后牙冷热敏感两周",
                "examination": "46 咬合面深龋，探诊敏感。",
                "diagnosis": "46 深龋",
                "treatment": "46 去腐，树脂充填。",
            },
            findings=[{"teeth": [46], "finding": "caries", "note": "近中邻面"}],
        )
        record_sign(actor=e.doctor, clinic=world.clinic1, record=record)
        return RecordVersion.objects.select_related("record").get(record=record, number=1)
