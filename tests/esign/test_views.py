"""Staff pages of e-signatures: the document list and detail with downloads, voiding, the
patient's link and the seal; the doctor's signing page, "awaiting my signature" with record
versions to e-sign, the enrolment page and the certificates with revocation."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Certificate, Document, EvidenceEvent
from chairside.esign.selectors.documents import slot_for_token
from tests.conftest import PASSWORD
from tests.esign.flow_helpers import Esign, signed_version, slot_of


def client_for(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_list_shows_documents_with_whose_turn_it_is(enrolled: Esign) -> None:
    enrolled.document()
    client = client_for("boss")
    with CaptureQueriesContext(connection) as one:
        client.get("/esign/")
    for _ in range(3):
        enrolled.document(roles=("doctor", "seal"))
    with CaptureQueriesContext(connection) as four:
        page = client.get("/esign/")

    text = page.content.decode()
    assert page.status_code == 200
    assert text.count("拔牙知情同意书") == 4
    assert "张小明" in text
    assert "Awaiting signatures" in text
    assert len(four) == len(one)
    filtered = client.get("/esign/", {"status": "completed"}).content.decode()
    assert "No documents match the search." in filtered


def test_the_detail_shows_signers_revisions_and_evidence(enrolled: Esign) -> None:
    document = enrolled.document()
    page = client_for("boss").get(f"/esign/documents/{document.pk}/")

    text = page.content.decode()
    assert page.status_code == 200
    assert document.number in text
    assert "Their turn" in text
    assert "Send the signing link by SMS" in text
    assert "Void the document" in text
    assert "Created" in text  # the evidence event


def test_another_organizations_document_is_404(enrolled: Esign) -> None:
    document = enrolled.document()
    client = client_for("boss-b")
    for path in ("", "pdf/", "package/", "sign/"):
        assert client.get(f"/esign/documents/{document.pk}/{path}").status_code == 404
    assert client.post(f"/esign/documents/{document.pk}/void/", {"reason": "x"}).status_code == 404
    with tenant_scope(enrolled.world.org):
        assert Document.objects.get(pk=document.pk).status == "signing"


def test_voiding_needs_esign_manage_and_a_reason(enrolled: Esign) -> None:
    document = enrolled.document()
    path = f"/esign/documents/{document.pk}/void/"

    refused = client_for("doctor").post(path, {"reason": "写错了"})
    done = client_for("boss").post(path, {"reason": "写错了"})

    assert refused.status_code == 403
    assert done.status_code == 302
    with tenant_scope(enrolled.world.org):
        document.refresh_from_db()
        assert document.status == "void"
        assert document.void_reason == "写错了"
        voided = EvidenceEvent.objects.get(document=document, kind="voided")
        # The log travels in evidence packages: it names the reason's hash, not its text.
        assert voided.details == {"reason_sha256": hashlib.sha256("写错了".encode()).hexdigest()}


def test_signing_on_this_device_opens_the_patients_page(enrolled: Esign) -> None:
    document = enrolled.document()
    client = client_for("frontdesk")
    answer = client.post(f"/esign/documents/{document.pk}/link/", {"where": "here"})

    assert answer.status_code == 302
    match = re.fullmatch(r"/sign/([A-Za-z0-9_-]+)/", answer["Location"])
    assert match is not None
    slot = slot_for_token(match[1])
    assert slot is not None
    assert slot.document_id == document.pk
    # The patient's page opens without a staff sign-in.
    assert Client().get(answer["Location"]).status_code == 200


def test_the_seal_is_applied_from_the_detail_page(enrolled: Esign) -> None:
    document = enrolled.document(roles=("seal",))
    answer = client_for("boss").post(f"/esign/documents/{document.pk}/seal/")

    assert answer.status_code == 302
    with tenant_scope(enrolled.world.org):
        document.refresh_from_db()
    assert document.status == "completed"


def test_downloads_give_the_pdf_and_the_evidence_package(enrolled: Esign) -> None:
    document = enrolled.document()
    client = client_for("boss")
    pdf = client.get(f"/esign/documents/{document.pk}/pdf/")
    first = client.get(f"/esign/documents/{document.pk}/pdf/", {"revision": 1})
    package = client.get(f"/esign/documents/{document.pk}/package/")

    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    assert first.content == pdf.content
    assert package["Content-Type"] == "application/zip"
    assert package.content.startswith(b"PK")
    with tenant_scope(enrolled.world.org):
        kinds = list(
            EvidenceEvent.objects.filter(document=document, kind="downloaded").values_list(
                "details__what", flat=True
            )
        )
    assert sorted(kinds) == ["package", "pdf", "pdf"]


def test_awaiting_my_signature_lists_my_turns_and_records_to_e_sign(enrolled: Esign) -> None:
    mine = enrolled.document(roles=("doctor",))
    enrolled.document()  # the patient's turn first: not listed
    version = signed_version(enrolled)
    page = client_for("doctor").get("/esign/mine/")

    text = page.content.decode()
    assert page.status_code == 200
    assert f"/esign/documents/{mine.pk}/sign/" in text
    assert re.findall(r"/esign/documents/\d+/sign/", text) == [f"/esign/documents/{mine.pk}/sign/"]
    assert f"/esign/records/{version.pk}/sign/" in text
    assert "Active" in text


def test_e_signing_a_record_version_makes_its_document_once(enrolled: Esign) -> None:
    version = signed_version(enrolled)
    client = client_for("doctor")
    first = client.post(f"/esign/records/{version.pk}/sign/")
    second = client.post(f"/esign/records/{version.pk}/sign/")

    assert first.status_code == 302
    assert first["Location"] == second["Location"]
    with tenant_scope(enrolled.world.org):
        document = Document.objects.get(source="record", source_id=version.pk)
    assert first["Location"] == f"/esign/documents/{document.pk}/sign/"
    page = client.get(first["Location"])
    assert page.status_code == 200
    assert 'data-mode="staff"' in page.content.decode()


def test_the_enrolment_page_carries_the_api_addresses(esign: Esign) -> None:
    page = client_for("doctor").get("/esign/enrol/")

    text = page.content.decode()
    assert page.status_code == 200
    assert 'data-enrol-url="/api/v1/key-enrolment"' in text
    assert "Dr. Li" in text
    assert client_for("frontdesk").get("/esign/enrol/").status_code == 403


def test_certificates_are_listed_and_revoked_by_a_manager(enrolled: Esign) -> None:
    certificate = enrolled.certificate
    assert certificate is not None
    client = client_for("boss")
    page = client.get("/esign/certificates/")
    answer = client.post(f"/esign/certificates/{certificate.pk}/revoke/", {"reason": "离职"})

    assert page.status_code == 200
    assert "Dr. Li" in page.content.decode()
    assert answer.status_code == 302
    with tenant_scope(enrolled.world.org):
        certificate = Certificate.objects.get(pk=certificate.pk)
        assert certificate.revoked_at is not None
        assert EvidenceEvent.objects.filter(kind="revoked").count() == 1
    assert client_for("doctor").get("/esign/certificates/").status_code == 403


@pytest.mark.parametrize("path", ["/esign/", "/esign/mine/", "/esign/enrol/"])
def test_pages_ask_for_a_sign_in(db: None, path: str) -> None:
    answer = Client().get(path)
    assert answer.status_code == 302
    assert "/login" in answer["Location"] or "next=" in answer["Location"]


def test_a_slot_of_another_clinic_naming_nobody_is_not_signed_here(enrolled: Esign) -> None:
    document = enrolled.document(roles=("doctor",))
    with tenant_scope(enrolled.world.org):
        Document.objects.filter(pk=document.pk).update(clinic=enrolled.world.clinic2)
    page = client_for("doctor").get(f"/esign/documents/{document.pk}/sign/")
    assert "This document is not waiting for your signature." in page.content.decode()
    assert slot_of(document, "doctor").status == "pending"
