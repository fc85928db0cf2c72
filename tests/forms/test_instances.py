"""Forms made for patients: placeholders frozen at creation, treatment items from the
patient's plans or typed, filling a draft, sending it for signing (an esign document with
one slot per signer at the rendered boxes), voiding, and following esign's events."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from django.db import connection

from chairside.core.errors import Conflict, NotFound, ValidationFailed
from chairside.core.models import AuditEntry
from chairside.core.tenancy import tenant_scope
from chairside.esign.events import COMPLETED, DocumentEvent, announce
from chairside.esign.models import Document, DocumentRevision, SignerSlot
from chairside.forms.models import FormInstance
from chairside.forms.pdf import render_instance_pdf
from chairside.forms.services.instances import (
    form_instance_create,
    form_instance_fill,
    form_instance_send,
    form_instance_void,
)
from chairside.patients.services import patient_update
from tests.conftest import World
from tests.forms.conftest import IMPLANT_DATA, Forms, make_form


def test_a_form_freezes_its_placeholders(world: World, forms: Forms) -> None:
    form = make_form(world, forms, treatment_items=["植骨（如需）"])

    with tenant_scope(world.org, world.clinic1):
        patient_update(actor=world.boss, clinic=world.clinic1, patient=forms.patient, name="陈小明")
        form.refresh_from_db()

    assert form.status == FormInstance.Status.DRAFT
    assert form.context == {
        "patient.name": "陈晓明",
        "patient.gender": "男",
        "patient.age": "46",
        "patient.record_number": forms.patient.record_no,
        "today": "2026年9月14日",
        "clinic.name": "Downtown Clinic",
        "doctor.name": "Dr. Li",
        "treatment.items": "种植体植入（36）；植骨（如需）",
    }
    assert form.data == IMPLANT_DATA
    assert form.version.template_id == forms.implant.pk


def test_treatment_items_come_from_this_patients_open_plans(world: World, forms: Forms) -> None:
    with tenant_scope(world.org, world.clinic1):
        other = form_instance_create(
            actor=world.frontdesk,
            clinic=world.clinic1,
            template=forms.questionnaire,
            patient=forms.patient,
        )
    with pytest.raises(ValidationFailed) as caught:
        make_form(world, forms, plan_item_ids=[forms.implant_item.pk, other.pk + 10_000])

    assert caught.value.fields == {
        "plan_item_ids": ["Choose treatment items from this patient's open treatment plans."]
    }


def test_two_plan_items_are_listed_in_the_order_chosen(world: World, forms: Forms) -> None:
    form = make_form(world, forms, plan_item_ids=[forms.filling_item.pk, forms.implant_item.pk])

    assert form.context["treatment.items"] == "树脂充填（46,47）×2；种植体植入（36）"


def test_a_form_naming_the_doctor_needs_one(world: World, forms: Forms) -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_form(world, forms, doctor=None)

    assert caught.value.fields == {
        "doctor": ["Choose the doctor: this form names or needs the doctor."]
    }


def test_an_inactive_template_makes_no_forms(world: World, forms: Forms) -> None:
    with tenant_scope(world.org):
        forms.implant.is_active = False
        forms.implant.save()

    with pytest.raises(Conflict):
        make_form(world, forms)


def test_another_organizations_template_or_patient_is_not_found(world: World, forms: Forms) -> None:
    with tenant_scope(world.org, world.clinic1):
        with pytest.raises(NotFound):
            form_instance_create(
                actor=world.frontdesk,
                clinic=world.clinic1,
                template=forms.implant_b,
                patient=forms.patient,
                doctor=world.doctor,
            )
        with pytest.raises(NotFound):
            form_instance_create(
                actor=world.frontdesk,
                clinic=world.clinic1,
                template=forms.implant,
                patient=forms.patient_b,
                doctor=world.doctor,
            )
        assert not FormInstance.objects.exists()


def test_a_draft_is_filled_and_each_value_checked(world: World, forms: Forms) -> None:
    form = make_form(world, forms, forms.questionnaire, data={})

    with tenant_scope(world.org, world.clinic1):
        filled = form_instance_fill(
            actor=world.frontdesk,
            clinic=world.clinic1,
            instance=form,
            data={"allergy": "有", "allergy_detail": "青霉素", "systolic": 135, "diabetes": True},
        )
        with pytest.raises(ValidationFailed) as caught:
            form_instance_fill(
                actor=world.frontdesk,
                clinic=world.clinic1,
                instance=form,
                data={"allergy": "也许"},
            )
        form.refresh_from_db()

    assert filled.data == {
        "allergy": "有",
        "allergy_detail": "青霉素",
        "systolic": "135",
        "diabetes": True,
    }
    assert form.data == filled.data
    assert caught.value.fields == {"data.allergy": ["Choose one of the options."]}


def test_answers_are_encrypted_at_rest_and_the_audit_names_only_the_fields(
    world: World, forms: Forms
) -> None:
    form = make_form(world, forms, forms.questionnaire, data={})
    with tenant_scope(world.org, world.clinic1):
        form_instance_fill(
            actor=world.frontdesk,
            clinic=world.clinic1,
            instance=form,
            data={"allergy": "有", "allergy_detail": "青霉素"},
        )
        sent = _send(world, make_form(world, forms))
        entry = AuditEntry.objects.filter(
            entity_type="forms.forminstance", entity_id=str(form.pk), action="update"
        ).latest("id")

    with connection.cursor() as cursor:
        cursor.execute("SELECT data, context FROM forms_forminstance WHERE id = %s", [form.pk])
        data, context = cursor.fetchone()
        cursor.execute("SELECT data_json FROM esign_document WHERE id = %s", [sent.document_id])
        (document_data,) = cursor.fetchone()
    for stored in (data, context, document_data):
        for plain in ("青霉素", forms.patient.name, "allergy", "patient.name"):
            assert plain not in stored
    assert entry.after == {"changed_fields": ["allergy", "allergy_detail"]}
    assert "青霉素" not in json.dumps(entry.before, ensure_ascii=False)


def _send(world: World, form: FormInstance) -> FormInstance:
    with tenant_scope(world.org, world.clinic1):
        return form_instance_send(actor=world.frontdesk, clinic=world.clinic1, instance=form)


def test_sending_makes_a_document_with_a_slot_per_signer_at_its_box(
    world: World, forms: Forms
) -> None:
    form = make_form(world, forms)
    with tenant_scope(world.org, world.clinic1):
        expected = render_instance_pdf(
            FormInstance.objects.select_related("version", "clinic").get(pk=form.pk)
        )

    sent = _send(world, form)

    assert sent.status == FormInstance.Status.SIGNING
    with tenant_scope(world.org):
        document = Document.objects.get(pk=sent.document_id)
        slots = list(SignerSlot.objects.filter(document=document).order_by("order"))
        revision = DocumentRevision.objects.get(document=document)
        data = json.loads(document.data_json)
    assert (document.source, document.source_id, document.title) == (
        "form",
        form.pk,
        "种植知情同意书",
    )
    assert document.patient_id == forms.patient.pk
    assert [(s.role, s.staff_id, s.field_name) for s in slots] == [
        ("patient", None, "sig_patient"),
        ("doctor", world.doctor.pk, "sig_doctor"),
        ("seal", None, "sig_seal"),
    ]
    for slot in slots:
        page, box = expected.signature_boxes[slot.role]
        assert (slot.page, slot.box) == (page, box)
    assert bytes(revision.pdf).startswith(b"%PDF-")
    assert data["template"] == "implant-consent"
    assert data["context"]["patient.name"] == "陈晓明"
    assert {f["key"]: f["value"] for f in data["fields"]}["bone_graft"] == IMPLANT_DATA[
        "bone_graft"
    ]


def test_the_sent_pdf_prints_the_document_number(
    world: World, forms: Forms, tmp_path: Path
) -> None:
    sent = _send(world, make_form(world, forms))
    with tenant_scope(world.org):
        document = Document.objects.get(pk=sent.document_id)
        path = tmp_path / "sent.pdf"
        path.write_bytes(bytes(DocumentRevision.objects.get(document=document).pdf))

    text = subprocess.run(  # noqa: S603 - Poppler on our own file
        ["/usr/bin/pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout

    assert f"文书编号：{document.number}" in text


def test_a_form_with_empty_required_fields_is_not_sent(world: World, forms: Forms) -> None:
    form = make_form(world, forms, data={"understood": False})

    with pytest.raises(ValidationFailed) as caught:
        _send(world, form)

    assert caught.value.code == "form_incomplete"
    assert caught.value.fields == {
        "data.bone_graft": ["This field is required."],
        "data.understood": ["Tick this box."],
    }
    with tenant_scope(world.org):
        form.refresh_from_db()
        assert form.status == FormInstance.Status.DRAFT
        assert not Document.objects.exists()


def test_a_sent_form_is_no_longer_filled_or_sent(world: World, forms: Forms) -> None:
    form = _send(world, make_form(world, forms))

    with tenant_scope(world.org, world.clinic1):
        with pytest.raises(Conflict):
            form_instance_fill(
                actor=world.frontdesk, clinic=world.clinic1, instance=form, data=IMPLANT_DATA
            )
        with pytest.raises(Conflict):
            form_instance_send(actor=world.frontdesk, clinic=world.clinic1, instance=form)
        assert Document.objects.count() == 1


def test_a_draft_is_voided_with_a_reason(world: World, forms: Forms) -> None:
    form = make_form(world, forms)

    with tenant_scope(world.org, world.clinic1):
        with pytest.raises(ValidationFailed):
            form_instance_void(
                actor=world.frontdesk, clinic=world.clinic1, instance=form, reason=" "
            )
        voided = form_instance_void(
            actor=world.frontdesk, clinic=world.clinic1, instance=form, reason="选错模板"
        )

    assert voided.status == FormInstance.Status.VOID


def test_voiding_a_form_awaiting_signatures_voids_its_document(world: World, forms: Forms) -> None:
    form = _send(world, make_form(world, forms))

    with tenant_scope(world.org, world.clinic1):
        voided = form_instance_void(
            actor=world.frontdesk, clinic=world.clinic1, instance=form, reason="患者改期"
        )
        document = Document.objects.get(pk=form.document_id)

    assert voided.status == FormInstance.Status.VOID
    assert (document.status, document.void_reason) == ("void", "患者改期")


def test_the_form_follows_its_document(world: World, forms: Forms) -> None:
    form = _send(world, make_form(world, forms))
    with tenant_scope(world.org):
        document = Document.objects.get(pk=form.document_id)

    # esign announces from its own pages, public ones included: no tenant is set.
    announce(DocumentEvent(kind="signed", document=document))
    with tenant_scope(world.org):
        form.refresh_from_db()
        assert form.status == FormInstance.Status.SIGNING
    announce(DocumentEvent(kind=COMPLETED, document=document))

    with tenant_scope(world.org):
        form.refresh_from_db()
        assert form.status == FormInstance.Status.COMPLETED
        assert AuditEntry.objects.filter(
            entity_type="forms.forminstance", entity_id=str(form.pk), actor=None
        ).exists()
        with pytest.raises(Conflict):
            form_instance_void(
                actor=world.frontdesk, clinic=world.clinic1, instance=form, reason="晚了"
            )


def test_a_document_of_another_source_is_ignored(world: World, forms: Forms) -> None:
    form = _send(world, make_form(world, forms))
    with tenant_scope(world.org):
        document = Document.objects.get(pk=form.document_id)
    document.source = Document.Source.RECORD

    announce(DocumentEvent(kind=COMPLETED, document=document))

    with tenant_scope(world.org):
        form.refresh_from_db()
        assert form.status == FormInstance.Status.SIGNING
