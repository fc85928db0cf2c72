"""Making a signed document (revision 1, slots in order, the data's canonical JSON and its
hash, an unguessable number, the "created" event), the patient's link by SMS, voiding, and
the listeners other apps register."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chairside.core.errors import ValidationFailed
from chairside.core.tenancy import tenant_scope
from chairside.esign import events
from chairside.esign.errors import NoMobile, NotSigning, NotYourTurn
from chairside.esign.models import Document, DocumentRevision, EvidenceEvent, SignerSlot
from chairside.esign.services.documents import (
    NUMBER_ALPHABET,
    SignerSpec,
    document_create,
    document_void,
    number_generate,
    number_is_valid,
    signing_link_issue,
)
from chairside.messaging.models import OutboxMessage
from chairside.patients.models import Patient
from chairside.patients.services import patient_create
from tests.esign.flow_helpers import Esign, consent, specs

received: list[events.DocumentEvent] = []


def remember(event: events.DocumentEvent) -> None:
    received.append(event)


@pytest.fixture
def listening(settings: Any) -> list[events.DocumentEvent]:
    settings.CHAIRSIDE_ESIGN_LISTENERS = ["tests.esign.test_documents.remember"]
    received.clear()
    yield received
    received.clear()


def test_a_document_starts_with_its_rendering_slots_and_evidence(esign: Esign) -> None:
    document = esign.document(requires_id_number=True)
    with tenant_scope(esign.world.org):
        revision = DocumentRevision.objects.get(document=document)
        slots = list(SignerSlot.objects.filter(document=document).order_by("order"))
        event = EvidenceEvent.objects.get(document=document)

    assert document.status == Document.Status.SIGNING
    assert number_is_valid(document.number)
    assert revision.number == 1
    assert revision.kind == "rendered"
    assert bytes(revision.pdf) == consent().pdf
    assert revision.sha256 == hashlib.sha256(consent().pdf).hexdigest()
    assert [(s.order, s.role) for s in slots] == [(1, "patient"), (2, "doctor"), (3, "seal")]
    assert slots[0].requires_id_number
    assert slots[0].box == [round(v, 2) for v in consent().boxes["patient"][1]]
    assert document.data_json == '{"consent":true,"tooth":"48"}'
    assert document.data_sha256 == hashlib.sha256(document.data_json.encode()).hexdigest()
    assert event.kind == "created"
    assert event.details["revision_sha256"] == revision.sha256
    assert event.details["data_sha256"] == document.data_sha256
    assert event.details["signers"] == "patient,doctor,seal"
    assert event.actor == f"staff:{esign.world.frontdesk.pk}"


def test_the_data_json_is_canonical_whatever_the_key_order(esign: Esign) -> None:
    with tenant_scope(esign.world.org, esign.world.clinic1):
        made = [
            document_create(
                clinic=esign.world.clinic1,
                patient=esign.patient,
                title="同意书",
                source="form",
                source_id=1,
                pdf=consent().pdf,
                data=data,
                signers=specs(("patient",)),
                created_by=None,
            )
            for data in ({"b": "二", "a": [1, 2]}, {"a": [1, 2], "b": "二"})
        ]
    assert made[0].data_json == made[1].data_json == '{"a":[1,2],"b":"二"}'
    assert json.loads(made[0].data_json) == {"a": [1, 2], "b": "二"}


@pytest.mark.parametrize(
    "change",
    [
        {"signers": []},
        {"pdf": b"not a pdf"},
        {"source": "email"},
        {"signers": [SignerSpec(role="witness", field_name="w", page=0, box=[1, 1, 2, 2])]},
        {"signers": [SignerSpec(role="patient", field_name="p", page=0, box=[5, 5, 1, 1])]},
        {
            "signers": [
                SignerSpec(role="patient", field_name="same", page=0, box=[1, 1, 9, 9]),
                SignerSpec(role="doctor", field_name="same", page=0, box=[1, 20, 9, 29]),
            ]
        },
    ],
    ids=["no-signers", "not-pdf", "source", "role", "box", "field-names"],
)
def test_a_malformed_document_is_refused(esign: Esign, change: dict[str, Any]) -> None:
    values: dict[str, Any] = {
        "clinic": esign.world.clinic1,
        "patient": esign.patient,
        "title": "同意书",
        "source": "form",
        "source_id": 1,
        "pdf": consent().pdf,
        "data": {},
        "signers": specs(("patient",)),
        "created_by": None,
        **change,
    }
    with tenant_scope(esign.world.org, esign.world.clinic1):
        with pytest.raises(ValidationFailed):
            document_create(**values)
        assert Document.objects.count() == 0
        assert EvidenceEvent.objects.count() == 0


def test_another_organizations_patient_or_doctor_is_refused(esign: Esign) -> None:
    with tenant_scope(esign.world.org_b, esign.world.clinic_b):
        patient_b = patient_create(
            actor=esign.world.boss_b, clinic=esign.world.clinic_b, name="外人"
        )
    with tenant_scope(esign.world.org, esign.world.clinic1), pytest.raises(ValidationFailed):
        document_create(
            clinic=esign.world.clinic1,
            patient=patient_b,
            title="x",
            source="form",
            source_id=1,
            pdf=consent().pdf,
            data={},
            signers=specs(("patient",)),
            created_by=None,
        )
    with tenant_scope(esign.world.org, esign.world.clinic1), pytest.raises(ValidationFailed):
        document_create(
            clinic=esign.world.clinic1,
            patient=esign.patient,
            title="x",
            source="form",
            source_id=1,
            pdf=consent().pdf,
            data={},
            signers=specs(("doctor",), doctor_staff=esign.world.boss_b),
            created_by=None,
        )


@given(st.text(alphabet=NUMBER_ALPHABET, min_size=11, max_size=11), st.data())
def test_one_wrong_character_in_a_number_is_caught(body: str, data: st.DataObject) -> None:
    number = number_generate()
    assert number_is_valid(number)
    assert number_is_valid(number.lower())
    position = data.draw(st.integers(min_value=2, max_value=len(number) - 1))
    other = data.draw(st.sampled_from([c for c in NUMBER_ALPHABET if c != number[position]]))
    typo = number[:position] + other + number[position + 1 :]
    assert not number_is_valid(typo)
    assert len(number) == 14
    assert number.startswith("CS")


def test_the_link_goes_by_sms_to_the_patients_mobile_on_file(esign: Esign) -> None:
    document = esign.document()
    with tenant_scope(esign.world.org, esign.world.clinic1):
        link = signing_link_issue(
            actor=esign.world.frontdesk,
            clinic=esign.world.clinic1,
            document=document,
            send_sms=True,
        )
        message = OutboxMessage.objects.get(template_code="esign.sign_request")
        event = EvidenceEvent.objects.get(document=document, kind="sent")
        slot = SignerSlot.objects.get(pk=link.slot.pk)
    assert message.recipient == "13900000011"
    assert link.url in message.body
    assert link.url.endswith(f"/sign/{link.token}/")
    assert link.token not in slot.link_token_hash
    assert event.details["channel"] == "sms"
    assert event.details["to"] == "139****0011"


def test_no_link_without_a_mobile_or_when_it_is_not_the_patients_turn(esign: Esign) -> None:
    with tenant_scope(esign.world.org, esign.world.clinic1):
        Patient.objects.filter(pk=esign.patient.pk).update(phone="")
    document = esign.document()
    doctor_first = esign.document(roles=("doctor", "patient"))
    with tenant_scope(esign.world.org, esign.world.clinic1):
        with pytest.raises(NoMobile):
            signing_link_issue(
                actor=esign.world.frontdesk,
                clinic=esign.world.clinic1,
                document=document,
                send_sms=True,
            )
        with pytest.raises(NotYourTurn):
            signing_link_issue(
                actor=esign.world.frontdesk,
                clinic=esign.world.clinic1,
                document=doctor_first,
                send_sms=False,
            )


def test_voiding_tells_the_listeners_and_cannot_be_repeated(
    esign: Esign, listening: list[events.DocumentEvent]
) -> None:
    document = esign.document()
    with tenant_scope(esign.world.org, esign.world.clinic1):
        document_void(
            actor=esign.world.boss, clinic=esign.world.clinic1, document=document, reason="重开"
        )
        with pytest.raises(NotSigning):
            document_void(
                actor=esign.world.boss,
                clinic=esign.world.clinic1,
                document=document,
                reason="again",
            )
    assert [(e.kind, e.document.pk) for e in listening] == [("voided", document.pk)]


def test_a_listener_that_fails_rolls_the_action_back(esign: Esign, settings: Any) -> None:
    settings.CHAIRSIDE_ESIGN_LISTENERS = ["tests.esign.test_documents.explode"]
    document = esign.document()
    with tenant_scope(esign.world.org, esign.world.clinic1):
        with pytest.raises(RuntimeError):
            document_void(
                actor=esign.world.boss,
                clinic=esign.world.clinic1,
                document=document,
                reason="重开",
            )
        assert Document.objects.get(pk=document.pk).status == "signing"


def explode(event: events.DocumentEvent) -> None:
    raise RuntimeError("listener failed")
