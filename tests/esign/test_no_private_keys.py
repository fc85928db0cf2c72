"""No signer's private key ever reaches the server (PRC Electronic Signature Law art. 13):
after a doctor enrols and a patient and the doctor sign through the pages and the API with
keys held in "the browser", no table holds either key in any form — raw scalar, hex,
base64, decimal, PEM or DER (PKCS#8 and SEC 1) — neither in the raw columns nor in the
decrypted values of encrypted fields."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from django.apps import apps
from django.db import connection
from django.test import Client

from chairside.core.crypto import EncryptedTextField
from chairside.core.tenancy import tenant_scope
from chairside.esign.models import Document, DocumentRevision
from tests.apiclient import ApiClient
from tests.esign.flow_helpers import Browser, Esign, slot_of
from tests.esign.test_views_patient import link, sign_as_patient


def needles(key: ec.EllipticCurvePrivateKey) -> tuple[list[bytes], list[str]]:
    """The key as bytes and as text, in every form it could have been stored in."""
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    ders = [
        key.private_bytes(Encoding.DER, form, NoEncryption())
        for form in (PrivateFormat.PKCS8, PrivateFormat.TraditionalOpenSSL)
    ]
    pems = [
        key.private_bytes(Encoding.PEM, form, NoEncryption()).decode()
        for form in (PrivateFormat.PKCS8, PrivateFormat.TraditionalOpenSSL)
    ]
    text = [
        scalar.hex(),
        scalar.hex().upper(),
        base64.b64encode(scalar).decode(),
        base64.urlsafe_b64encode(scalar).decode().rstrip("="),
        str(key.private_numbers().private_value),
        *(base64.b64encode(der).decode() for der in ders),
        # Each full line of a PEM body holds key bytes (the first line's tail included).
        *(line for pem in pems for line in pem.splitlines() if len(line) == 64),
    ]
    return [scalar, *ders], text


def found_in(value: Any, binary: list[bytes], text: list[str]) -> bool:
    if isinstance(value, memoryview):
        value = bytes(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, bytes):
        return any(b in value for b in binary) or any(t.encode() in value for t in text)
    if isinstance(value, str):
        return any(t in value for t in text) or any(b.decode("latin-1") in value for b in binary)
    return False


def raw_rows() -> list[tuple[str, tuple[Any, ...]]]:
    rows: list[tuple[str, tuple[Any, ...]]] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows.extend((table, row) for row in cursor.fetchall())
    return rows


def decrypted_values() -> list[tuple[str, Any]]:
    """Every encrypted field's plain value, through the models."""
    values: list[tuple[str, Any]] = []
    for model in apps.get_models():
        fields = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if not fields:
            continue
        manager = getattr(model, "all_tenants", model._base_manager)
        for row in manager.values_list(*fields):
            values.extend((model._meta.label, v) for v in row)
    return values


def test_no_signers_private_key_is_stored_anywhere(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("patient", "doctor"))
    patient_browser = Browser()

    # The patient signs on the public page, with their key in "the browser".
    base = link(e, document)
    status, done = sign_as_patient(e, Client(), base, browser=patient_browser)
    assert status == 200, done
    # The doctor signs through the API with the enrolled key.
    api = ApiClient(e.doctor)
    slot = slot_of(document, "doctor")
    session = api.post(f"/signed-documents/{document.pk}/slots/{slot.pk}/prepare", {})
    api.post(f"/signing-sessions/{session.json['id']}/preview")
    signature = e.doctor_browser.sign_b64(base64.b64decode(session.json["signed_attributes"]))
    finished = api.post(f"/signing-sessions/{session.json['id']}/finish", {"signature": signature})
    assert finished.json["status"] == "completed", finished

    with tenant_scope(e.world.org):
        assert Document.objects.get(pk=document.pk).status == "completed"
        assert DocumentRevision.objects.filter(document=document).count() == 4
    rows = raw_rows()
    plain = decrypted_values()
    assert len(rows) > 100  # the scan really read the database
    # The decrypted scan sees what the server does hold: the organization CA's key.
    assert any(label == "esign.CertificateAuthority" and value for label, value in plain)
    for who, key in (("patient", patient_browser.key), ("doctor", e.doctor_browser.key)):
        binary, text = needles(key)
        leaks = [table for table, row in rows if any(found_in(v, binary, text) for v in row)]
        leaks += [label for label, value in plain if found_in(value, binary, text)]
        assert leaks == [], f"the {who}'s private key is stored in {sorted(set(leaks))}"


def test_the_scan_would_find_a_key_that_was_stored(enrolled: Esign) -> None:
    # The detector itself: a key written into a column in any of its forms is found.
    browser = Browser()
    binary, text = needles(browser.key)
    pem = browser.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    for stored in (pem, binary[0], text[0], base64.b64encode(binary[1]).decode(), {"k": text[4]}):
        assert found_in(stored, binary, text), stored
    assert not found_in(
        Browser().key.private_numbers().private_value.to_bytes(32, "big"), binary, text
    )
