"""Forms made for patients (F1, F2): make one from a template's latest version with the
placeholders frozen, fill it while it is a draft, send it for signing (rendered to PDF and
handed to esign with one signer per box), void it, and follow esign's document events.

draft → signing → completed; draft or signing → void.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from chairside.core.audit import audit_record, snapshot
from chairside.core.clock import clinic_today
from chairside.core.errors import Conflict, FieldErrors, NotFound, ValidationFailed
from chairside.core.models import AuditEntry, Clinic, Staff
from chairside.esign import events
from chairside.esign.models import Document
from chairside.esign.selectors.documents import get_document, latest_revision
from chairside.esign.services.documents import (
    SignerSpec,
    document_create,
    document_downloaded,
    document_number_reserve,
    document_void,
)
from chairside.forms import placeholders
from chairside.forms.blocks import clean_data, data_fields
from chairside.forms.errors import FormsErrorCode
from chairside.forms.models import FormInstance, FormTemplate, FormTemplateVersion
from chairside.forms.pdf import render_instance_pdf, signature_field_name
from chairside.forms.selectors.instances import treatment_item_choices
from chairside.forms.selectors.templates import latest_version
from chairside.patients.models import Patient

MAX_TREATMENT_ITEMS = 30
MAX_TREATMENT_TEXT = 200
MAX_REASON = 200


def _same_organization(clinic: Clinic, *objects: Any) -> None:
    for obj in objects:
        if obj is not None and getattr(obj, "organization_id", None) != clinic.organization_id:
            raise NotFound(_("Not found."))


def _lock_template(template: FormTemplate) -> FormTemplate:
    return FormTemplate.objects.select_for_update().get(pk=template.pk)


def _lock(instance: FormInstance) -> FormInstance:
    # Only the form's own row is locked (the doctor is a nullable join).
    return (
        FormInstance.objects.select_for_update(of=("self",))
        .select_related("version__template", "clinic", "patient", "doctor")
        .get(pk=instance.pk)
    )


def _names_doctor(version: FormTemplateVersion) -> bool:
    if "doctor" in version.signers:
        return True
    texts = [b.get("text", "") + b.get("label", "") for b in version.blocks]
    return any("doctor.name" in placeholders.placeholders_in(t) for t in texts)


def _treatment_texts(
    patient: Patient, plan_item_ids: Sequence[int], typed: Sequence[str]
) -> list[str]:
    errors = FieldErrors()
    if len(plan_item_ids) + len(typed) > MAX_TREATMENT_ITEMS:
        errors.add(
            "treatment_items",
            _("At most %(count)d treatment items.") % {"count": MAX_TREATMENT_ITEMS},
        )
    texts: list[str] = []
    if plan_item_ids:
        with translation.override("zh-hans"):
            choices = {c.id: c.text for c in treatment_item_choices(patient)}
        for item_id in dict.fromkeys(plan_item_ids):
            if item_id not in choices:
                errors.add(
                    "plan_item_ids",
                    _("Choose treatment items from this patient's open treatment plans."),
                )
                break
            texts.append(choices[item_id])
    for text in typed:
        text = (text or "").strip()
        if len(text) > MAX_TREATMENT_TEXT:
            errors.add(
                "treatment_items",
                _("A treatment item is too long (at most %(count)d characters).")
                % {"count": MAX_TREATMENT_TEXT},
            )
        elif text:
            texts.append(text)
    errors.raise_if_any()
    return texts


@transaction.atomic
def form_instance_create(
    *,
    actor: Staff,
    clinic: Clinic,
    template: FormTemplate,
    patient: Patient,
    doctor: Staff | None = None,
    plan_item_ids: Sequence[int] = (),
    treatment_items: Sequence[str] = (),
    data: dict[str, Any] | None = None,
) -> FormInstance:
    """A draft form for `patient` from the template's latest version, its placeholders
    resolved and frozen now (the patient's later changes do not alter it)."""
    _same_organization(clinic, template, patient, doctor)
    template = _lock_template(template)
    if not template.is_active:
        raise Conflict(
            _("This form template is not active."), code=FormsErrorCode.TEMPLATE_INACTIVE
        )
    version = latest_version(template)
    if doctor is None and _names_doctor(version):
        raise ValidationFailed(
            _("Choose the doctor: this form names or needs the doctor."), field="doctor"
        )
    texts = _treatment_texts(patient, plan_item_ids, treatment_items)
    cleaned = clean_data(version.blocks, data or {}, complete=False)
    context = placeholders.resolve(
        patient=patient,
        clinic=clinic,
        doctor=doctor,
        treatment_items=texts,
        today=clinic_today(clinic),
    )
    instance = FormInstance.objects.create(
        organization_id=clinic.organization_id,
        clinic=clinic,
        patient=patient,
        version=version,
        doctor=doctor,
        data=cleaned,
        context=context,
        created_by=actor,
        created_at=timezone.now(),
    )
    audit_record(
        action=AuditEntry.Action.CREATE,
        instance=instance,
        actor=actor,
        clinic=clinic,
        after={"template": template.code, "version": version.number, "patient": patient.pk},
        summary=_("Form %(title)s made for the patient") % {"title": version.title},
    )
    return instance


def _require_draft(instance: FormInstance) -> None:
    if instance.status != FormInstance.Status.DRAFT:
        raise Conflict(
            _("This form was sent for signing; it can no longer be changed."),
            code=FormsErrorCode.NOT_DRAFT,
        )


@transaction.atomic
def form_instance_fill(
    *, actor: Staff, clinic: Clinic, instance: FormInstance, data: dict[str, Any]
) -> FormInstance:
    """Replace a draft's values (each checked by its field's kind; required ones may still
    be empty until the form is sent)."""
    _same_organization(clinic, instance)
    instance = _lock(instance)
    _require_draft(instance)
    before = instance.data
    instance.data = clean_data(instance.version.blocks, data, complete=False)
    instance.save(update_fields=["data", "updated_at"])
    # The answers stay encrypted in the form: the audit log names the fields that changed.
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=instance,
        actor=actor,
        clinic=clinic,
        after={
            "changed_fields": sorted(
                k
                for k in before.keys() | instance.data.keys()
                if before.get(k) != instance.data.get(k)
            )
        },
        summary=_("Form %(title)s filled in") % {"title": instance.version.title},
    )
    return instance


def document_data(instance: FormInstance) -> dict[str, Any]:
    """What the signed document says, as data (kept by esign as canonical JSON)."""
    version = instance.version
    return {
        "form": instance.pk,
        "template": version.template.code,
        "version": version.number,
        "title": version.title,
        "context": instance.context,
        "fields": [
            {"key": f.key, "label": f.label, "kind": f.kind, "value": instance.data.get(f.key)}
            for f in data_fields(version.blocks)
        ],
    }


@transaction.atomic
def form_instance_send(*, actor: Staff, clinic: Clinic, instance: FormInstance) -> FormInstance:
    """Render the filled form to PDF and make it an esign document, one signer per signature
    box in the template's order (patient, doctor, seal); the form awaits signatures."""
    _same_organization(clinic, instance)
    instance = _lock(instance)
    _require_draft(instance)
    version = instance.version
    try:
        clean_data(version.blocks, instance.data, complete=True)
    except ValidationFailed as e:
        raise ValidationFailed(
            _("Fill in the required fields before sending the form for signing."),
            code=FormsErrorCode.INCOMPLETE,
            fields=e.fields,
        ) from e
    number = document_number_reserve()
    rendered = render_instance_pdf(instance, document_number=number)
    signers = []
    for role in version.signers:
        page, box = rendered.signature_boxes[role]
        signers.append(
            SignerSpec(
                role=role,
                staff=instance.doctor if role == "doctor" else None,
                requires_id_number=version.requires_id_number and role == "patient",
                field_name=signature_field_name(role),
                page=page,
                box=list(box),
            )
        )
    document = document_create(
        clinic=instance.clinic,
        patient=instance.patient,
        title=version.title,
        source=Document.Source.FORM,
        source_id=instance.pk,
        pdf=rendered.pdf,
        data=document_data(instance),
        signers=signers,
        created_by=actor,
        number=number,
    )
    before = snapshot(instance)
    instance.status = FormInstance.Status.SIGNING
    instance.document_id = document.pk
    instance.save(update_fields=["status", "document_id", "updated_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=instance,
        actor=actor,
        clinic=clinic,
        before={"status": before["status"]},
        after={"status": instance.status, "document": document.number},
        summary=_("Form %(title)s sent for signing (%(number)s)")
        % {"title": version.title, "number": document.number},
    )
    return instance


@transaction.atomic
def form_instance_void(
    *, actor: Staff, clinic: Clinic, instance: FormInstance, reason: str
) -> FormInstance:
    """Void a draft, or a form awaiting signatures (its esign document is voided too, and
    its signing links stop working). A completed form stays as signed."""
    _same_organization(clinic, instance)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for voiding."), field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationFailed(
            _("The reason is too long (at most %(count)d characters).") % {"count": MAX_REASON},
            field="reason",
        )
    instance = _lock(instance)
    if instance.status not in (FormInstance.Status.DRAFT, FormInstance.Status.SIGNING):
        raise Conflict(
            _("A signed or void form cannot be voided."), code=FormsErrorCode.ALREADY_CLOSED
        )
    before = instance.status
    if instance.status == FormInstance.Status.SIGNING and instance.document_id is not None:
        document = get_document(document_id=instance.document_id)
        if document.status == Document.Status.SIGNING:
            # esign announces "voided"; the listener below then voids this form.
            document_void(actor=actor, clinic=clinic, document=document, reason=reason)
    instance.refresh_from_db(fields=["status"])
    if instance.status != FormInstance.Status.VOID:
        instance.status = FormInstance.Status.VOID
        instance.save(update_fields=["status", "updated_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=instance,
        actor=actor,
        clinic=clinic,
        before={"status": before},
        after={"status": instance.status, "reason": reason},
        summary=_("Form %(title)s voided") % {"title": instance.version.title},
    )
    return instance


def form_instance_pdf(*, actor: Staff, instance: FormInstance) -> bytes:
    """The form as PDF: once sent, the document's latest revision (signed so far; the
    download goes into its evidence); a draft is rendered afresh and marked as a preview."""
    if instance.document_id is not None:
        document = get_document(document_id=instance.document_id)
        revision = latest_revision(document)
        document_downloaded(actor=actor, document=document, what="pdf", revision=revision.number)
        return bytes(revision.pdf)
    return render_instance_pdf(instance, preview=True).pdf


def form_instance_follow_document(*, document: Document, kind: str) -> FormInstance | None:
    """Make the form of an esign document follow it: "completed" or "voided" (called by the
    esign listener inside esign's transaction, in the document's organization)."""
    target = {
        events.COMPLETED: FormInstance.Status.COMPLETED,
        events.VOIDED: FormInstance.Status.VOID,
    }.get(kind)
    if target is None or document.source != Document.Source.FORM:
        return None
    instance = (
        FormInstance.objects.select_for_update()
        .filter(document_id=document.pk, pk=document.source_id)
        .first()
    )
    if instance is None or instance.status == target:
        return instance
    if instance.status != FormInstance.Status.SIGNING:
        return instance
    instance.status = target
    instance.save(update_fields=["status", "updated_at"])
    audit_record(
        action=AuditEntry.Action.UPDATE,
        instance=instance,
        actor=None,
        clinic=None,
        before={"status": FormInstance.Status.SIGNING},
        after={"status": target, "document": document.number},
        summary=_("Form followed its document %(number)s: %(status)s")
        % {"number": document.number, "status": kind},
    )
    return instance
