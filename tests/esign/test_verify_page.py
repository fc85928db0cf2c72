"""The public verification page /verify/: a document number or an uploaded PDF gives the
match against the registered final revision, each signer (masked), signing time,
modification level and validity — never the title, the patient's name or the form data.
Rate-limited, 20 MB at most, clear errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from chairside.core.services import clinic_create, organization_create, staff_create
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import DocumentRevision
from chairside.esign.services.documents import number_generate
from chairside.esign.verification import mask_name
from chairside.esign.views import verify as verify_view
from tests.esign.evidence_helpers import Signed, signed_consent

pytestmark = pytest.mark.django_db

URL = reverse("esign:verify")
HEALTH_DATA = ("种植", "知情同意书", "张小明", "小明", "青霉素", "P000001")


@pytest.fixture(scope="module")
def signed(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Signed]:
    """One completed two-signer consent for the whole module: built in an outer
    transaction (each test runs in a savepoint inside it) and rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            org = organization_create(slug="verify-page", name="Verify Chain")
            clinic = clinic_create(organization=org, code="v1", name="Verify Clinic")
            doctor = staff_create(
                organization=org,
                username="verify-doctor",
                display_name="李明华",
                phone="13800000041",
                roles=[("doctor", clinic)],
            )
            desk = staff_create(
                organization=org, username="verify-desk", display_name="前台", roles=[]
            )
            yield signed_consent(org, clinic, doctor, desk)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    cache.clear()


@pytest.fixture
def client() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def revision(signed: Signed, number: int | None = None) -> bytes:
    with tenant_scope(signed.document.organization_id):
        revisions = DocumentRevision.objects.filter(document=signed.document).order_by("-number")
        row = revisions.filter(number=number).first() if number else revisions.first()
        return bytes(row.pdf)


def upload(client: Client, data: bytes, name: str = "consent.pdf") -> Any:
    return client.post(URL, {"pdf": SimpleUploadedFile(name, data, "application/pdf")})


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def assert_no_health_data(body: str) -> None:
    for word in HEALTH_DATA:
        assert word not in body, word


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张小明", "张*明"),
        ("张三", "张*"),
        ("欧阳娜娜", "欧**娜"),
        ("李", "*"),
        ("Dr. Li", "D** *i"),
        ("", ""),
    ],
)
def test_names_are_masked(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_the_page_offers_both_checks_to_anyone(client: Client) -> None:
    response = client.get(URL)

    assert response.status_code == 200
    body = text(response)
    assert 'name="number"' in body
    assert 'type="file" name="pdf"' in body
    assert "at most 20 MB" in body
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_a_number_shows_the_signers_masked_and_valid(client: Client, signed: Signed) -> None:
    response = client.get(URL, {"number": signed.document.number.lower()})

    body = text(response)
    assert response.status_code == 200
    number = signed.document.number
    assert (
        f"Document {number} is registered, and every signature of its final revision is valid."
        in body
    )
    assert "Patient · 张*明" in body
    assert "Doctor · 李*华" in body
    assert body.count(">Valid<") == 2
    assert "After this signature: only further signatures were added." in body
    assert "No change to the document after this signature." in body
    assert "Signed (time-stamped)" in body
    assert "Completed" in body
    assert_no_health_data(body)


def test_the_final_pdf_matches_the_registered_final_revision(
    client: Client, signed: Signed
) -> None:
    response = upload(client, revision(signed))

    body = text(response)
    assert response.status_code == 200
    assert (
        f"This file is the registered final revision of document {signed.document.number}, "
        "and every signature is valid." in body
    )
    assert "Patient · 张*明" in body
    assert_no_health_data(body)


def test_an_earlier_revision_is_named_as_such(client: Client, signed: Signed) -> None:
    response = upload(client, revision(signed, 2))  # the patient's signature only

    body = text(response)
    assert (
        f"This file is revision 2 of document {signed.document.number}, not its final revision (4)."
        in body
    )
    assert body.count(">Valid<") == 1


def test_a_changed_pdf_is_not_registered_and_its_signatures_fail(
    client: Client, signed: Signed
) -> None:
    pdf = bytearray(revision(signed))
    pdf[len(pdf) // 3] ^= 0x01

    response = upload(client, bytes(pdf))

    body = text(response)
    assert "This file is not registered here" in body
    assert "Not valid" in body
    assert "the document was changed after it was signed." in body
    assert signed.document.number not in body  # nothing leaks about which document it was


def test_a_malformed_number_is_refused_with_a_reason(client: Client) -> None:
    response = client.get(URL, {"number": "CS12345"})

    assert response.status_code == 400
    assert "This is not a valid document number" in text(response)


def test_an_unknown_number_says_so(client: Client, signed: Signed) -> None:
    response = client.get(URL, {"number": number_generate()})

    assert response.status_code == 404
    assert "No document has this number." in text(response)


def test_a_file_that_is_not_a_pdf_is_refused(client: Client) -> None:
    response = upload(client, b"GIF89a....", name="x.pdf")

    assert response.status_code == 400
    assert "This file is not a PDF." in text(response)


def test_no_file_is_refused(client: Client) -> None:
    response = client.post(URL, {})

    assert response.status_code == 400
    assert "Choose a PDF file to check." in text(response)


def test_a_file_over_20_mb_is_refused_before_it_is_read(client: Client) -> None:
    big = b"%PDF-1.7\n" + b"0" * (20 * 1024 * 1024)

    response = upload(client, big)

    assert response.status_code == 413
    assert "The file is too large: at most 20 MB." in text(response)


def test_uploads_are_rate_limited_per_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_view, "UPLOADS_PER_HOUR", 2)

    codes = [upload(client, b"not a pdf").status_code for _ in range(3)]
    other = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="10.1.1.1")

    assert codes == [400, 400, 429]
    assert "Too many files checked from here." in text(upload(client, b"x"))
    assert upload(other, b"x").status_code == 400


def test_number_lookups_are_rate_limited_per_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(verify_view, "LOOKUPS_PER_HOUR", 1)

    first = client.get(URL, {"number": number_generate()})
    second = client.get(URL, {"number": number_generate()})

    assert (first.status_code, second.status_code) == (404, 429)


def test_the_page_speaks_chinese_by_default(signed: Signed) -> None:
    response = Client().get(URL, {"number": signed.document.number})

    assert response.status_code == 200
    assert '<html lang="zh-hans">' in response.content.decode()
