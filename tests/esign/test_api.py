"""The e-signature API: signed documents (list, detail, void, downloads, the patient's link,
a record version to e-sign), a doctor's signature through prepare → preview → finish with
the key in "the browser", the seal, key enrolment and certificates; every operation
isolated by organization."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chairside.core.tenancy import tenant_scope
from chairside.esign.models import (
    Certificate,
    Document,
    DocumentRevision,
    EvidenceEvent,
    SignerSlot,
    SigningSession,
)
from chairside.esign.services.signing import staff_prepare
from chairside.messaging.models import OutboxMessage
from tests.apiclient import ApiClient, Endpoint, documented_operations
from tests.core.test_api import is_error
from tests.esign.flow_helpers import (
    DOCTOR_ID,
    DOCTOR_MOBILE,
    Browser,
    Esign,
    last_code,
    signed_version,
    slot_of,
)

MISSING = 987654
MINE = ("/signed-documents", "/signing-sessions", "/key-enrolment", "/certificates")

ENROL = {"csr": "{csr}", "code": "123456", "name": "Dr. Li", "id_number": DOCTOR_ID}
ENDPOINTS = [
    Endpoint("GET", "/signed-documents"),
    Endpoint("GET", "/signed-documents/awaiting-me"),
    Endpoint("POST", "/signed-documents/from-record", {"version_id": "{version}"}),
    Endpoint("GET", "/signed-documents/{document}"),
    Endpoint("POST", "/signed-documents/{document}/void", {"reason": "写错了"}),
    Endpoint("GET", "/signed-documents/{document}/pdf"),
    Endpoint("GET", "/signed-documents/{document}/evidence-package"),
    Endpoint("POST", "/signed-documents/{document}/signing-link", {"send_sms": True}),
    Endpoint("POST", "/signed-documents/{doctor_document}/slots/{doctor_slot}/prepare", {}),
    Endpoint("POST", "/signed-documents/{seal_document}/slots/{seal_slot}/seal"),
    Endpoint("POST", "/signing-sessions/{session}/preview"),
    Endpoint("POST", "/signing-sessions/{session}/finish", {"signature": "AAAA"}),
    Endpoint("POST", "/key-enrolment/code"),
    Endpoint("POST", "/key-enrolment", ENROL),
    Endpoint("GET", "/certificates"),
    Endpoint("POST", "/certificates/{certificate}/revoke", {"reason": "丢失手机"}),
]
# What names an object of organization A: another organization gets 404, as for a
# missing one, and changes nothing.
FOREIGN = [e for e in ENDPOINTS if "{" in e.path or (e.body and "{version}" in str(e.body))]


@dataclass
class Objects:
    document: Document  # patient, doctor, seal: the patient's turn
    doctor_document: Document  # the doctor's turn
    seal_document: Document  # the seal's turn
    session: SigningSession
    certificate: Certificate
    version_id: int

    def ids(self) -> dict[str, Any]:
        return {
            "document": self.document.pk,
            "doctor_document": self.doctor_document.pk,
            "doctor_slot": slot_of(self.doctor_document, "doctor").pk,
            "seal_document": self.seal_document.pk,
            "seal_slot": slot_of(self.seal_document, "seal").pk,
            "session": self.session.pk,
            "certificate": self.certificate.pk,
            "version": self.version_id,
            "csr": Browser().csr_b64(),
        }


@pytest.fixture
def objects(enrolled: Esign) -> Objects:
    e = enrolled
    assert e.certificate is not None
    doctor_document = e.document(roles=("doctor",), source_id=2)
    with tenant_scope(e.world.org, e.world.clinic1):
        session = staff_prepare(
            actor=e.doctor, slot=slot_of(doctor_document, "doctor"), handwriting_png=None
        )
    return Objects(
        document=e.document(),
        doctor_document=doctor_document,
        seal_document=e.document(roles=("seal",), source_id=3),
        session=session,
        certificate=e.certificate,
        version_id=signed_version(e).pk,
    )


def _counts(e: Esign) -> dict[str, int]:
    with tenant_scope(e.world.org):
        return {
            "documents": Document.objects.count(),
            "void": Document.objects.filter(status="void").count(),
            "revisions": DocumentRevision.objects.count(),
            "sessions": SigningSession.objects.count(),
            "signed": SignerSlot.objects.filter(status="signed").count(),
            "certificates": Certificate.objects.count(),
            "revoked": Certificate.objects.filter(revoked_at__isnull=False).count(),
            "events": EvidenceEvent.objects.count(),
            "messages": OutboxMessage.objects.count(),
        }


def test_every_esign_operation_is_covered(db: None) -> None:
    documented = {
        op
        for op in documented_operations(tags={"esign"})
        if any(op.split()[1] == p or op.split()[1].startswith(p + "/") for p in MINE)
    }
    assert documented == {e.shape for e in ENDPOINTS}


@pytest.mark.parametrize("endpoint", FOREIGN, ids=str)
def test_another_organizations_objects_are_404(
    enrolled: Esign, objects: Objects, endpoint: Endpoint
) -> None:
    before = _counts(enrolled)
    api = ApiClient(enrolled.world.boss_b)
    ids = objects.ids()

    foreign = endpoint.call(api, ids)
    missing = endpoint.call(api, {k: MISSING if isinstance(v, int) else v for k, v in ids.items()})

    assert foreign.status == 404, foreign
    assert is_error(foreign.json, "not_found")
    assert foreign.json == missing.json
    assert _counts(enrolled) == before


def test_lists_of_another_organization_show_nothing_of_ours(
    enrolled: Esign, objects: Objects
) -> None:
    api = ApiClient(enrolled.world.boss_b)

    assert api.get("/signed-documents").json["total"] == 0
    assert api.get("/signed-documents/awaiting-me").json == []
    assert api.get("/certificates").json["total"] == 0


def test_the_list_filters_and_pages_in_a_flat_number_of_queries(
    enrolled: Esign, objects: Objects
) -> None:
    api = ApiClient(enrolled.world.boss)
    api.get("/signed-documents")  # the token's first use is written once
    with CaptureQueriesContext(connection) as few:
        three = api.get("/signed-documents")
    for _ in range(3):
        enrolled.document(source_id=9)
    with CaptureQueriesContext(connection) as many:
        six = api.get("/signed-documents")

    assert len(three.json["items"]) == 3
    assert len(six.json["items"]) == 6
    assert len(many) == len(few)
    assert api.get("/signed-documents", page_size=2).json["pages"] == 3
    assert api.get("/signed-documents", status="signing", q="张小明").json["total"] == 6
    assert api.get("/signed-documents", status="completed").json["total"] == 0
    newest = six.json["items"][0]
    assert newest["next_role"] == "patient"
    assert api.get("/signed-documents", q=newest["number"]).json["total"] == 1


def test_a_doctor_signs_through_the_api_with_the_key_in_the_browser(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("doctor",))
    slot = slot_of(document, "doctor")
    api = ApiClient(e.doctor)
    assert [d["id"] for d in api.get("/signed-documents/awaiting-me").json] == [document.pk]

    session = api.post(
        f"/signed-documents/{document.pk}/slots/{slot.pk}/prepare", {"handwriting_png": None}
    )
    assert session.status == 201, session
    assert session.json["spki_sha256"] == e.certificate.spki_sha256  # type: ignore[union-attr]
    preview = api.post(f"/signing-sessions/{session.json['id']}/preview")
    assert preview.status == 200, preview
    assert preview.json["pages"][0].startswith("data:image/png;base64,")
    signature = e.doctor_browser.sign_b64(base64.b64decode(session.json["signed_attributes"]))
    done = api.post(f"/signing-sessions/{session.json['id']}/finish", {"signature": signature})

    assert done.status == 200, done
    assert done.json["status"] == "completed"
    assert [r["kind"] for r in done.json["revisions"]] == ["rendered", "signature", "archive"]
    assert done.json["slots"][0]["status"] == "signed"
    assert api.get("/signed-documents/awaiting-me").json == []


def test_another_staff_members_session_is_404(enrolled: Esign, objects: Objects) -> None:
    api = ApiClient(enrolled.world.boss)
    answer = api.post(f"/signing-sessions/{objects.session.pk}/preview")
    assert answer.status == 404


def test_a_doctor_cannot_sign_out_of_turn(enrolled: Esign, objects: Objects) -> None:
    slot = slot_of(objects.document, "doctor")
    answer = ApiClient(enrolled.doctor).post(
        f"/signed-documents/{objects.document.pk}/slots/{slot.pk}/prepare", {}
    )
    assert answer.status == 409
    assert is_error(answer.json, "esign_not_your_turn")


def test_the_seal_needs_esign_manage(enrolled: Esign, objects: Objects) -> None:
    slot = slot_of(objects.seal_document, "seal")
    path = f"/signed-documents/{objects.seal_document.pk}/slots/{slot.pk}/seal"
    refused = ApiClient(enrolled.doctor).post(path)
    applied = ApiClient(enrolled.world.boss).post(path)

    assert refused.status == 403
    assert applied.status == 200, applied
    assert applied.json["status"] == "completed"


def test_staff_enrol_through_the_api(esign: Esign) -> None:
    api = ApiClient(esign.doctor)
    code = api.post("/key-enrolment/code")
    assert code.status == 200, code
    assert code.json["sent_to"] == "138****0003"
    browser = Browser()
    answer = api.post(
        "/key-enrolment",
        {
            "csr": browser.csr_b64(),
            "code": last_code(esign.world.org, DOCTOR_MOBILE, "esign.enrol_code"),
            "name": "Dr. Li",
            "id_number": DOCTOR_ID,
        },
    )
    assert answer.status == 201, answer
    assert answer.json["kind"] == "staff"
    assert answer.json["subject_name"] == "Dr. Li"
    mine = api.get("/certificates")
    assert [c["id"] for c in mine.json["items"]] == [answer.json["id"]]


def test_enrolment_with_a_name_that_is_not_mine_is_refused(esign: Esign) -> None:
    api = ApiClient(esign.doctor)
    api.post("/key-enrolment/code")
    answer = api.post(
        "/key-enrolment",
        {
            "csr": Browser().csr_b64(),
            "code": last_code(esign.world.org, DOCTOR_MOBILE, "esign.enrol_code"),
            "name": "李四",
            "id_number": DOCTOR_ID,
        },
    )
    assert answer.status == 400
    assert is_error(answer.json, "esign_identity_failed")


def test_without_esign_manage_only_my_certificates_are_listed_and_revocable(
    enrolled: Esign, objects: Objects
) -> None:
    boss_certificate = _enrol_boss(enrolled)
    doctor = ApiClient(enrolled.doctor)

    listed = doctor.get("/certificates").json["items"]
    others = doctor.post(f"/certificates/{boss_certificate.pk}/revoke", {"reason": "x"})
    own = doctor.post(f"/certificates/{objects.certificate.pk}/revoke", {"reason": "丢失手机"})

    assert [c["id"] for c in listed] == [objects.certificate.pk]
    assert others.status == 404
    assert own.status == 200, own
    assert own.json["revoked_at"] is not None
    assert own.json["revocation_reason"] == "丢失手机"


def _enrol_boss(e: Esign) -> Certificate:
    from tests.esign.flow_helpers import enrol

    return enrol(e, e.world.boss, Browser(), id_number=DOCTOR_ID)


def test_the_signing_link_is_sent_to_the_patients_mobile(enrolled: Esign, objects: Objects) -> None:
    api = ApiClient(enrolled.world.frontdesk)
    answer = api.post(f"/signed-documents/{objects.document.pk}/signing-link", {"send_sms": True})

    assert answer.status == 200, answer
    assert answer.json["url"] is None
    assert answer.json["sent_to"] == "139****0011"
    message = OutboxMessage.all_tenants.get(template_code="esign.sign_request")
    assert "/sign/" in message.params["url"]
    assert objects.document.number in message.body


def test_the_pdf_download_is_the_latest_revision_and_logged(
    enrolled: Esign, objects: Objects
) -> None:
    api = ApiClient(enrolled.world.boss)
    answer = api.client.get(
        f"/api/v1/signed-documents/{objects.document.pk}/pdf", headers=api.headers
    )

    assert answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    with tenant_scope(enrolled.world.org):
        assert EvidenceEvent.objects.filter(document=objects.document, kind="downloaded").exists()
