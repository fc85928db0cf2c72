"""Signing in order (F3): the patient with a one-event key after the SMS code (and ID), the
doctor with the enrolled key, the clinic seal; each a new revision, the archive revision
at the end, every signature valid, and nothing signed out of turn or twice."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image

from chairside.core.errors import ValidationFailed
from chairside.core.tenancy import tenant_scope
from chairside.esign.errors import (
    CodeInvalid,
    IdentityCheckFailed,
    NoCertificate,
    NotSigning,
    NotYourTurn,
    SessionExpired,
    SignatureInvalid,
)
from chairside.esign.models import (
    Certificate,
    Document,
    DocumentRevision,
    EvidenceEvent,
    IdentityCheck,
    SignerSlot,
    SigningSession,
)
from chairside.esign.services.documents import document_void
from chairside.esign.services.identity import patient_code_request, patient_identity_verify
from chairside.esign.services.signing import (
    patient_prepare,
    seal_apply,
    session_finish,
    session_preview,
    staff_prepare,
)
from tests.esign.flow_helpers import (
    LOCAL,
    PATIENT_ID,
    PATIENT_MOBILE,
    Browser,
    Esign,
    client,
    last_code,
    slot_of,
)

PATIENT_CODE = "esign.sign_code"


def verify_patient(e: Esign, document: Document, id_number: str = "") -> IdentityCheck:
    slot = slot_of(document, "patient")
    patient_code_request(slot=slot, client_ip=LOCAL)
    return patient_identity_verify(
        slot=slot,
        code=last_code(e.world.org, PATIENT_MOBILE, PATIENT_CODE),
        id_number=id_number,
        client=client(),
    )


def patient_signs(
    e: Esign, document: Document, *, handwriting: bytes | None = None, id_number: str = ""
) -> Document:
    check = verify_patient(e, document, id_number)
    browser = Browser()
    session = patient_prepare(
        slot=slot_of(document, "patient"),
        identity_check=check,
        csr_der=browser.csr_der(),
        handwriting_png=handwriting,
    )
    session_preview(session=session, actor=f"patient:{e.patient.pk}", client=client())
    return session_finish(
        session=session,
        signature=browser.sign(bytes(session.signed_attributes)),
        actor=None,
        client=client(),
    )


def doctor_signs(e: Esign, document: Document) -> Document:
    session = staff_prepare(actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=None)
    session_preview(session=session, actor=f"staff:{e.doctor.pk}", client=client())
    return session_finish(
        session=session,
        signature=e.doctor_browser.sign(bytes(session.signed_attributes)),
        actor=e.doctor,
        client=client(),
    )


def drawing() -> bytes:
    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    for x in range(20, 280):
        image.putpixel((x, 50 + (x % 20) - 10), (0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_patient_doctor_and_seal_sign_in_order_and_the_document_completes(
    enrolled: Esign,
) -> None:
    e = enrolled
    document = e.document()
    with tenant_scope(e.world.org, e.world.clinic1):
        patient_signs(e, document, handwriting=drawing())
        doctor_signs(e, document)
        seal_apply(actor=e.world.boss, slot=slot_of(document, "seal"), client=client())

        document.refresh_from_db()
        revisions = list(DocumentRevision.objects.filter(document=document).order_by("number"))
        kinds = [r.kind for r in revisions]
        events = list(
            EvidenceEvent.objects.filter(document=document)
            .order_by("index")
            .values_list("kind", flat=True)
        )
        patient_cert = slot_of(document, "patient").certificate
    assert document.status == Document.Status.COMPLETED
    assert document.completed_at is not None
    assert kinds == ["rendered", "signature", "signature", "signature", "archive"]
    # Each revision extends the one before (incremental updates, nothing rewritten).
    for before, after in itertools.pairwise(revisions):
        assert bytes(after.pdf).startswith(bytes(before.pdf))
    assert events.count("signed") == 3
    assert events[0] == "created"
    assert events[-1] == "completed"
    assert {"identity_verified", "previewed"} <= set(events)
    # The patient's certificate names the revision the patient signed.
    assert patient_cert is not None
    assert patient_cert.kind == Certificate.Kind.PATIENT
    assert patient_cert.document_sha256 == revisions[0].sha256
    assert (patient_cert.not_after - patient_cert.not_before).total_seconds() <= 30 * 60 + 60

    from chairside.esign.validation import validate_pdf

    report = validate_pdf(bytes(revisions[-1].pdf))
    people = [s for s in report.signatures if s.field in {"patient", "doctor", "seal"}]
    assert [s.field for s in people] == ["patient", "doctor", "seal"]
    assert all(s.intact and s.valid and s.trusted for s in people), people


def test_the_doctor_cannot_sign_before_the_patient(enrolled: Esign) -> None:
    e = enrolled
    document = e.document()
    with tenant_scope(e.world.org, e.world.clinic1):
        with pytest.raises(NotYourTurn):
            staff_prepare(actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=None)
        with pytest.raises(NotYourTurn):
            seal_apply(actor=e.world.boss, slot=slot_of(document, "seal"), client=client())
        assert SigningSession.objects.count() == 0
        assert DocumentRevision.objects.filter(document=document).count() == 1


def test_a_doctor_slot_naming_someone_else_is_refused(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("doctor",), doctor_staff=e.world.boss)
    with tenant_scope(e.world.org, e.world.clinic1), pytest.raises(NotYourTurn):
        staff_prepare(actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=None)


def test_a_doctor_without_an_enrolled_key_cannot_prepare(esign: Esign) -> None:
    document = esign.document(roles=("doctor",))
    with tenant_scope(esign.world.org, esign.world.clinic1), pytest.raises(NoCertificate):
        staff_prepare(actor=esign.doctor, slot=slot_of(document, "doctor"), handwriting_png=None)


def test_preparing_needs_this_browsers_verified_code(enrolled: Esign) -> None:
    e = enrolled
    document = e.document()
    with tenant_scope(e.world.org, e.world.clinic1), pytest.raises(NotYourTurn):
        patient_prepare(
            slot=slot_of(document, "patient"),
            identity_check=None,
            csr_der=Browser().csr_der(),
            handwriting_png=None,
        )


def test_a_wrong_code_counts_and_five_wrong_tries_use_the_code_up(esign: Esign) -> None:
    document = esign.document()
    slot = slot_of(document, "patient")
    with tenant_scope(esign.world.org, esign.world.clinic1):
        patient_code_request(slot=slot, client_ip=LOCAL)
        right = last_code(esign.world.org, PATIENT_MOBILE, PATIENT_CODE)
        wrong = "000000" if right != "000000" else "111111"
        for _ in range(5):
            with pytest.raises(CodeInvalid):
                patient_identity_verify(slot=slot, code=wrong, id_number="", client=client())
        with pytest.raises(CodeInvalid):
            patient_identity_verify(slot=slot, code=right, id_number="", client=client())
        assert IdentityCheck.objects.get(slot=slot).attempts == 5
        assert not EvidenceEvent.objects.filter(kind="identity_verified").exists()


def test_only_a_keyed_hash_of_the_code_is_stored(esign: Esign) -> None:
    document = esign.document()
    slot = slot_of(document, "patient")
    with tenant_scope(esign.world.org, esign.world.clinic1):
        check = patient_code_request(slot=slot, client_ip=LOCAL)
        code = last_code(esign.world.org, PATIENT_MOBILE, PATIENT_CODE)
        stored = IdentityCheck.objects.get(pk=check.pk)
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert stored.phone == PATIENT_MOBILE


def test_a_slot_asking_for_the_id_number_checks_it_against_the_one_on_file(
    esign: Esign,
) -> None:
    document = esign.document(requires_id_number=True)
    slot = slot_of(document, "patient")
    with tenant_scope(esign.world.org, esign.world.clinic1):
        patient_code_request(slot=slot, client_ip=LOCAL)
        code = last_code(esign.world.org, PATIENT_MOBILE, PATIENT_CODE)
        with pytest.raises(IdentityCheckFailed):
            patient_identity_verify(
                slot=slot, code=code, id_number="11010119900307999X", client=client()
            )
        check = patient_identity_verify(
            slot=slot, code=code, id_number=PATIENT_ID.lower(), client=client()
        )
    assert check.id_number_checked
    assert check.verified_at is not None


def test_two_finishes_of_one_session_sign_once(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("patient", "doctor"))
    with tenant_scope(e.world.org, e.world.clinic1):
        check = verify_patient(e, document)
        browser = Browser()
        session = patient_prepare(
            slot=slot_of(document, "patient"),
            identity_check=check,
            csr_der=browser.csr_der(),
            handwriting_png=None,
        )
        session_preview(session=session, actor="public", client=client())
        signature = browser.sign(bytes(session.signed_attributes))
        session_finish(session=session, signature=signature, actor=None, client=client())
        with pytest.raises(SessionExpired):
            session_finish(session=session, signature=signature, actor=None, client=client())
        assert DocumentRevision.objects.filter(document=document).count() == 2


def test_a_signature_by_another_key_is_refused_and_nothing_is_written(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("patient",))
    with tenant_scope(e.world.org, e.world.clinic1):
        check = verify_patient(e, document)
        session = patient_prepare(
            slot=slot_of(document, "patient"),
            identity_check=check,
            csr_der=Browser().csr_der(),
            handwriting_png=None,
        )
        session_preview(session=session, actor="public", client=client())
        with pytest.raises(SignatureInvalid):
            session_finish(
                session=session,
                signature=Browser().sign(bytes(session.signed_attributes)),
                actor=None,
                client=client(),
            )
        assert DocumentRevision.objects.filter(document=document).count() == 1
        assert slot_of(document, "patient").status == SignerSlot.Status.PENDING


def test_finishing_without_a_preview_is_refused(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("doctor",))
    with tenant_scope(e.world.org, e.world.clinic1):
        session = staff_prepare(
            actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=None
        )
        with pytest.raises(SessionExpired):
            session_finish(
                session=session,
                signature=e.doctor_browser.sign(bytes(session.signed_attributes)),
                actor=e.doctor,
                client=client(),
            )


@pytest.mark.parametrize(
    "png",
    [b"GIF89a" + b"\x00" * 100, b"\x89PNG\r\n\x1a\n" + b"\x00" * (200 * 1024)],
    ids=["not-png", "too-large"],
)
def test_the_drawing_must_be_a_small_png(enrolled: Esign, png: bytes) -> None:
    e = enrolled
    document = e.document(roles=("doctor",))
    with tenant_scope(e.world.org, e.world.clinic1), pytest.raises(ValidationFailed):
        staff_prepare(actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=png)


def test_a_void_document_cannot_be_signed(enrolled: Esign) -> None:
    e = enrolled
    document = e.document(roles=("doctor",))
    with tenant_scope(e.world.org, e.world.clinic1):
        session = staff_prepare(
            actor=e.doctor, slot=slot_of(document, "doctor"), handwriting_png=None
        )
        session_preview(session=session, actor="x", client=client())
        document_void(
            actor=e.world.boss, clinic=e.world.clinic1, document=document, reason="写错了"
        )
        with pytest.raises(NotSigning):
            session_finish(
                session=session,
                signature=e.doctor_browser.sign(bytes(session.signed_attributes)),
                actor=e.doctor,
                client=client(),
            )
